// SPDX-License-Identifier: Apache-2.0
/* The actor's flow control: how many unrolls it may send before it hears
 * from the learner again (issue 14).
 *
 * The learner's receiver never stops reading (learner/store.h: a full
 * store evicts its oldest unroll), so ZeroMQ's high-water marks no longer
 * make a fast actor wait; without a limit of its own an actor would burn
 * CPU acting for unrolls the learner then evicts, on a machine it may
 * share with the learner.  So every Params broadcast carries the
 * learner's advice: the room left in its store (store_free: capacity
 * minus queued unrolls when it was sent) and the environments of all the
 * actors it lists (actor_envs).  An actor's share of that room is
 * store_free * its environments / actor_envs, rounded up or down at
 * random so that many small shares add up to the room on average, and
 * each Params replaces the last share (it is a fresh view of the store,
 * counting what arrived since).  The actor acts and sends a round (one
 * unroll per environment) while its share is positive, and otherwise
 * waits on its SUB socket without using the CPU until a Params gives it
 * room: the learner's pace sets the actors', as back-pressure did, with
 * no socket ever stalled.  The learner broadcasts after every update
 * (at most every --publish-min-ms, 5 ms) and at least every publish
 * interval (100 ms), so a waiting actor learns of new room within one
 * update or 5 ms, and an idle learner's room is re-advertised at least
 * every interval (no deadlock: an empty store advertises all of it).
 *
 * Until its first advice (a Params with actor_envs 0: a learner before
 * this, or the Welcome's parameters) an actor is not limited. */
#ifndef IM_ACTOR_FLOW_H
#define IM_ACTOR_FLOW_H

#include <stdint.h>

typedef struct im_flow {
	int limited;    /* an advice was heard */
	int64_t credit; /* unrolls it may still send; < 0 after a round */
	uint64_t rng;   /* for the rounding of shares */
	uint64_t holds; /* rounds that had to wait for room */
} im_flow;

/* Not limited until the first advice; seed draws the roundings. */
void im_flow_init(im_flow *f, uint64_t seed);

/* A Params of the actor's learner came with store_free and actor_envs;
 * my_envs is the actor's own environments (counted at least once even if
 * the learner has not listed it yet).  actor_envs 0 lifts the limit. */
void im_flow_advise(im_flow *f, uint32_t store_free, uint32_t actor_envs,
		    uint32_t my_envs);

/* 1 when the actor may act and send its next round. */
int im_flow_may_send(const im_flow *f);

/* n unrolls were sent. */
void im_flow_sent(im_flow *f, uint32_t n);

#endif
