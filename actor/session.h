// SPDX-License-Identifier: Apache-2.0
/* The actor's conversation with a learner: the handshake (Hello ->
 * Welcome), parameter updates from the SUB socket, unrolls out through
 * PUSH, and a Goodbye when it stops.
 *
 * Liveness: the learner publishes Params at least every few hundred
 * milliseconds, so silence on the SUB socket for learner_timeout_ms means
 * the learner is gone; the actor then handshakes again (with backoff) and
 * carries on with the run it finds: the same run id (a resumed learner)
 * keeps its environments and counters, a new one resets them. */
#ifndef IM_ACTOR_SESSION_H
#define IM_ACTOR_SESSION_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "impala.pb-c.h"
#include "transport.h"

typedef struct im_session_opts {
	const char *learner; /* tcp://host:port (see transport.h) */
	uint64_t actor_id;
	const char *env; /* expected environment, or "" for any */
	uint32_t num_envs;
	int handshake_timeout_ms;    /* one Hello's wait for its Welcome */
	int learner_timeout_ms;      /* Params silence that means "gone" */
	int send_hwm;                /* PUSH high-water mark (messages) */
	volatile sig_atomic_t *stop; /* set by a signal handler */
	/* CURVE (Z85 keys, 40 characters; all NULL: plaintext): the actor's
	 * own key pair and the learner's public key.  Copied. */
	const char *curve_public, *curve_secret, *curve_server;
} im_session_opts;

typedef struct im_session im_session;

/* Creates the ZeroMQ context and the PUSH and SUB sockets (connected; ZeroMQ
 * reconnects them by itself).  *out is the caller's (im_session_free). */
int im_session_new(im_session **out, const im_session_opts *o);
/* Sends a Goodbye (best effort, bounded by a short linger) over the
 * connection that was welcomed, when a run was joined, then closes
 * everything. */
void im_session_free(im_session *s, const char *reason, uint64_t unrolls_sent);

/* Handshakes until welcomed, refused or stopped, retrying with backoff from
 * 200 ms doubling to 5 s.  On success *welcome is the decoded Control
 * (caller frees with impala__control__free_unpacked); its welcome->spec
 * and welcome->params are set.  IM_EREFUSED (with the reason in err) for
 * a permanent refusal (protocol version, environment, authentication);
 * IM_ECANCELED when stopped. */
int im_session_handshake(im_session *s, Impala__Control **welcome, char *err,
			 size_t errlen);

/* Receives every Params message waiting (none blocks) and applies the
 * newest, when it is valid, of run run_id with param_count floats, to
 * params.  Returns 1 when params were replaced (*version updated), 0 when
 * nothing new, IM_ERUNID when a Params of another run arrived (the learner
 * restarted with a new run: handshake again), IM_ESESSION when it came
 * from another learner process than the Welcome (the learner restarted and
 * resumed the run: handshake again, since it refuses the unrolls of actors
 * it has not welcomed), IM_ETIMEDOUT when nothing has come for
 * learner_timeout_ms.  A Params that fails validation is dropped and
 * counted; it never touches params.  Within one learner session versions
 * never go back (an older Params is ignored). */
int im_session_poll_params(im_session *s, uint64_t run_id, float *params,
			   size_t param_count, uint64_t *version);

/* Marks params as fresh now (after a Welcome). */
void im_session_touch(im_session *s);

/* Waits, while the learner's last advice leaves the actor no room
 * (actor/flow.h), for a Params that gives it some, applying Params into
 * params as they come.  Returns at once when there is room or no advice.
 * IM_OK; IM_ECANCELED when stopped; errors as im_session_poll_params
 * (IM_ETIMEDOUT when the learner went silent). */
int im_session_hold(im_session *s, uint64_t run_id, float *params,
		    size_t param_count, uint64_t *version);
/* Rounds that im_session_hold made wait, over the session's life. */
uint64_t im_session_holds(const im_session *s);

/* Sends one encoded Trajectory numbered seq (its unroll_seq), counted
 * against the flow-control share and, until the learner says it arrived,
 * as in flight (actor/flow.h).  While the PUSH socket's queue is full (the learner unreachable) it
 * waits, keeps draining Params into params (so liveness stays current) and
 * checks stop.  IM_OK when sent; IM_ECANCELED when stopped; IM_ETIMEDOUT
 * when the learner went silent (the unroll was not sent); IM_ERUNID as
 * for poll_params. */
int im_session_send(im_session *s, const uint8_t *buf, size_t len,
		    uint64_t seq, uint64_t run_id, float *params,
		    size_t param_count, uint64_t *version);

/* Counters for logs. */
uint64_t im_session_bad_params(const im_session *s);
uint64_t im_session_run_id(const im_session *s);

#endif
