// SPDX-License-Identifier: Apache-2.0
/* The actor's flow control: how many unrolls it may send before it hears
 * from the learner again (issue 14; the count of unrolls in flight:
 * issue 11).
 *
 * The learner's receiver never stops reading (learner/store.h: a full
 * store evicts its oldest unroll), so ZeroMQ's high-water marks no longer
 * make a fast actor wait; without a limit of its own an actor would burn
 * CPU acting for unrolls the learner then evicts, on a machine it may
 * share with the learner.  So every Params broadcast carries the
 * learner's advice: the room left in its store (store_free: capacity
 * minus queued unrolls when it was measured), the environments of all
 * the actors it lists (actor_envs), and for each listed actor the
 * unroll_seq after the last of its unrolls the learner had received at
 * that moment (flow_actor_ids, flow_next_seqs: "marks").
 *
 * The rule.  An actor's share of the room is store_free * its
 * environments / actor_envs, rounded up or down at random so that many
 * small shares add up to the room on average.  From it the actor
 * subtracts its unrolls in flight: those it sent from its mark on, which
 * the learner had not received when it measured the room and which will
 * take room when they arrive:
 *
 *     credit = share - (next unroll_seq to send - mark)
 *
 * and each Params replaces the last credit (a fresh view of the store).
 * The actor acts and sends a round (one unroll per environment) while its
 * credit is positive, and otherwise waits on its SUB socket without using
 * the CPU until a Params gives it room.  The learner broadcasts after
 * every update (at most every --publish-min-ms, 5 ms) and at least every
 * publish interval (100 ms), so a waiting actor hears of new room within
 * one update or 5 ms, and an idle learner's room is re-advertised at
 * least every interval (no deadlock: an empty store advertises all of it,
 * and what was in flight has arrived or passed the horizon below).
 *
 * Why (issue 11): the rule before granted each Params' share afresh and
 * counted nothing in flight.  With a Params every ~5 ms and unrolls on
 * the way for longer than that (a round is acted before it is sent, and
 * the learner's receiver shares two cores with everything else), every
 * actor's unrolls on the way were granted again: 4-10% of the unrolls of
 * the MinAtar benchmark were evicted from a full store.  With the count
 * in flight the credits of all actors add up to the room the learner
 * measured, less what is already coming.  The count is exact, not an
 * estimate from the time between Params: the actor knows what it sent,
 * the learner what it received, and the mark joins the two.  Its cost is
 * a mark per actor that sent in the last 3 s in every Params (about
 * 10-20 bytes each; a Params is broadcast to all actors), at most
 * IM_WIRE_MAX_FLOW_MARKS (1024, about 20 KiB) whatever the number of
 * actors registered (learner/actors.h, im_actors_flow_marks), against
 * parameters of hundreds of kilobytes for the image networks.  A Params
 * with more marks, or longer than im_wire_params_max() of the model, is
 * refused (counted with the bad Params) before its marks are used.
 *
 * What was tried and not kept (tests/bench/README.md, "Flow control
 * counts the unrolls in flight"): sending a round only when the credit
 * holds all of it never overshoots, but an actor then sends one round
 * per broadcast where it could send two, and the store ran nearly empty
 * (median depth 6 of 60, the learner waiting for data); advertising the
 * room the learner will free before the unrolls land (one interval's
 * takes) granted that room again at every broadcast and evicted 22-41%.
 * A round started on a positive credit overshoots the room measured by
 * less than a round, which the learner's takes while the round is acted
 * make up for.
 *
 * Three cases keep it live:
 * - no marks at all (a learner before them, or nobody listed yet):
 *   nothing counted in flight, as before;
 * - marks without this actor, or a mark of 0 (not listed yet, nothing
 *   received since its Hello, or nothing for 3 s; the learner sends the
 *   one mark (0, 0) when no listed actor has one): everything it sent
 *   since its Welcome is in flight;
 * - an unroll lost on the way or refused by the learner never raises the
 *   mark until a later one is accepted: unrolls sent more than
 *   IM_FLOW_HORIZON_MS ago (up to twice that) are no longer counted.
 *
 * Until its first advice (a Params with actor_envs 0: a learner before
 * this, or the Welcome's parameters) an actor is not limited.  Old and new
 * programs work together (protocol version 2 either way): an old actor
 * ignores the marks, a new actor counts nothing in flight without them.
 *
 * What to watch (README, "MinAtar learning"): /status's
 * unrolls_evicted_full against unrolls_received (evictions from a full
 * store), the store's depth (a store near empty means the learner waits
 * for data), and the actor's exit line "rounds waited for room". */
#ifndef IM_ACTOR_FLOW_H
#define IM_ACTOR_FLOW_H

#include <stddef.h>
#include <stdint.h>

/* Unrolls sent longer ago than this (up to twice this) are no longer
 * counted in flight: they arrived or were lost. */
#define IM_FLOW_HORIZON_MS 1000u

typedef struct im_flow {
	int limited;    /* an advice was heard */
	int64_t credit; /* unrolls it may still send; < 0 after a round */
	uint64_t rng;   /* for the rounding of shares */
	uint64_t holds; /* rounds that had to wait for room */
	/* The unrolls in flight. */
	uint64_t next_seq; /* unroll_seq after the last one sent */
	int started;       /* an unroll was sent since the Welcome */
	uint64_t base_seq; /* the first unroll_seq sent since the Welcome */
	/* The horizon: unrolls below old_seq were sent at least
	 * IM_FLOW_HORIZON_MS ago; cur_seq was next_seq at cur_ms. */
	uint64_t old_seq, cur_seq, cur_ms;
	uint64_t in_flight; /* counted at the last advice */
} im_flow;

/* One Params' advice, as it concerns this actor. */
typedef struct im_flow_advice {
	uint32_t store_free;
	uint32_t actor_envs; /* 0: no advice */
	int counted;         /* the Params carried marks */
	uint64_t mark;       /* this actor's (0: none, or not listed) */
} im_flow_advice;

/* Not limited until the first advice; seed draws the roundings. */
void im_flow_init(im_flow *f, uint64_t seed);

/* A Welcome: not limited until this learner's first advice, and what is
 * sent from now on starts the count in flight afresh. */
void im_flow_welcome(im_flow *f);

/* Fills a->counted and a->mark from a Params' marks (borrowed arrays of
 * n_ids and n_seqs entries): counted when both have the same nonzero
 * length, mark that of actor_id (0 when it is not listed). */
void im_flow_find_mark(im_flow_advice *a, const uint64_t *ids, size_t n_ids,
		       const uint64_t *seqs, size_t n_seqs, uint64_t actor_id);

/* A Params of the actor's learner came with advice a at now_ms; my_envs
 * is the actor's own environments (counted at least once even if the
 * learner has not listed it yet).  actor_envs 0 lifts the limit. */
void im_flow_advise(im_flow *f, const im_flow_advice *a, uint32_t my_envs,
		    uint64_t now_ms);

/* 1 when the actor may act and send its next round. */
int im_flow_may_send(const im_flow *f);

/* The unroll numbered seq was sent at now_ms. */
void im_flow_sent(im_flow *f, uint64_t seq, uint64_t now_ms);

#endif
