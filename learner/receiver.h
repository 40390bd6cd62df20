// SPDX-License-Identifier: Apache-2.0
/* The learner's receiver: one thread that reads Trajectory messages from a
 * PULL socket, or a STREAM socket whose connections it speaks ZMTP to
 * (learner/stream.h: the learner's trajectory port without CURVE),
 * decodes each straight into a store slot, validates it against the run,
 * counts every rejection under its reason (and gives the slot back), and
 * queues accepted unrolls in the store.  Both sockets give the same
 * callbacks, validation and counters; a STREAM adds connection counters
 * (opened, refused, protocol errors, frames cut by a close).
 *
 * The input never stalls (issue 14): the store always has a slot for the
 * next message, and a valid unroll committed to a full store evicts the
 * oldest queued one (store.h), so the thread never waits for the learner
 * and keeps reading its socket whatever the store's state.  (It used to
 * wait for room, and ZeroMQ then stopped reading the connections: a peer
 * speaking raw ZMTP could abort the learner through a libzmq 4.3.4
 * assertion, common/transport.h; tests/learner/test_stall.c.  A flood
 * stops the input all the same, which is why the learner's port is a
 * STREAM without CURVE.)  The actors pace themselves instead
 * (actor/flow.h).
 *
 * Size limits: the receiver refuses as "oversized" any message larger than
 * im_validate_max_trajectory_bytes() for the run (counted); the socket's
 * ZMQ_MAXMSGSIZE (the learner sets twice that plus 64 KiB) cuts the
 * connection of a sender of anything larger still: on a PULL ZeroMQ does
 * not report it, so those are not counted; on a STREAM it is counted as
 * a protocol error (conns.errors). */
#ifndef IM_LEARNER_RECEIVER_H
#define IM_LEARNER_RECEIVER_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "stream.h"
#include "validate.h"

typedef struct im_receiver im_receiver;

typedef struct im_receiver_opts {
	/* A bound PULL or STREAM socket (told apart by ZMQ_TYPE).  From
	 * start to stop only the receiver thread touches it; it stays the
	 * caller's to close after stop. */
	void *sock;
	im_store *store;  /* borrowed */
	im_run_dims dims; /* copied */
	uint64_t run_id;
	uint64_t prev_run_id;    /* 0 if none */
	uint64_t max_policy_lag; /* 0: no limit */
	/* The learner's parameter version, read with atomic loads; borrowed
	 * and must outlive the receiver. */
	const uint64_t *param_version;
	int poll_ms;                /* stop-flag check interval; 0: 100 */
	uint32_t max_episode_steps; /* the environment's time limit; 0: none */
	/* Optional, passed to validation (im_validate_state.actor_lookup):
	 * nonzero, with what its handshake said, when the actor id may send
	 * trajectories. */
	int (*actor_lookup)(void *ctx, uint64_t actor_id,
			    im_validate_actor *out);
	/* Called on the receiver thread for each valid t just before it is
	 * queued in the store (after which a learner thread may take it), with
	 * its policy lag (learner version minus t->param_version), e.g. to
	 * account the actor's row.  t is valid during the call only.
	 * NULL: nothing. */
	void (*on_accept)(void *ctx, const Impala__Trajectory *t,
			  uint64_t lag);
	/* Called on the receiver thread for each rejected message, with a
	 * one-line detail (valid during the call).  It may log, rate-limited
	 * (im_log_ratelimit).  NULL: counted only. */
	void (*on_reject)(void *ctx, im_reject why, uint64_t actor_id,
			  const char *detail);
	/* On a STREAM socket: called on the receiver thread for each
	 * connection closed for a ZMTP protocol error (stream.h).  NULL:
	 * counted only. */
	void (*on_conn_error)(void *ctx, int rc, const char *why);
	uint32_t max_conns; /* STREAM: 0 is IM_STREAM_MAX_CONNS */
	void *ctx;          /* for the callbacks */
} im_receiver_opts;

typedef struct im_receiver_stats {
	uint64_t accepted;                 /* unrolls put into the store */
	uint64_t frames;                   /* their environment steps */
	uint64_t dropped[IM_REJECT_COUNT]; /* by reason; [OK] stays 0 */
	im_stream_stats conns;             /* STREAM socket's connections; 0 for PULL */
} im_receiver_stats;

/* Starts the thread.  *out is set only on success; IM_EINVAL, IM_ENOMEM,
 * IM_ESYS (thread creation). */
int im_receiver_start(im_receiver **out, const im_receiver_opts *o);

/* Asks the thread to stop, waits for it (at most about poll_ms after a
 * message in hand is dealt with) and frees.  Accepts NULL. */
void im_receiver_stop(im_receiver *r);

/* A consistent-enough copy of the counters (each read atomically).  A
 * message is counted only after its callback (on_accept or on_reject)
 * has returned, so once the counters show n messages, the callbacks of
 * all n have run and what they wrote is visible to the reader. */
void im_receiver_get_stats(im_receiver *r, im_receiver_stats *out);

#endif
