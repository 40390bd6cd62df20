// SPDX-License-Identifier: Apache-2.0
/* Validation of wire messages before anything in them is used.
 *
 * The learner decodes a Trajectory and then calls im_validate_trajectory()
 * against the run's dimensions (im_run_dims, derived once from the RunSpec)
 * and its own state (run id, parameter version).  Every rejection has its own
 * reason from one X-macro list: a stable metric-friendly name for /metrics
 * ("bad_shape", "non_finite", ...) and a static human text; the validator
 * also writes a one-line detail ("obs shape [81,5], expected [81,4]") for a
 * rate-limited warning.
 *
 * The actor validates Params (run id, count, length, CRC-32C) and the learner
 * validates a Hello, producing a Welcome refusal code and reason text.
 *
 * Nothing here allocates or keeps a pointer to its arguments. */
#ifndef IM_VALIDATE_H
#define IM_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "impala.pb-c.h"

/* Upper bounds that a RunSpec itself must respect, so that every size the
 * learner derives from it fits comfortably in size_t and int. */
#define IM_VALIDATE_MAX_STEPS 100000u
#define IM_VALIDATE_MAX_OBS_DIMS 4u
#define IM_VALIDATE_MAX_OBS_NUMEL (16u << 20)
#define IM_VALIDATE_MAX_ACTIONS (1u << 20)
#define IM_VALIDATE_MAX_ACTION_DIM 64u
#define IM_VALIDATE_MAX_LSTM (1u << 16)

/* name: metric label; text: what the reason means. */
#define IM_REJECT_MAP(XX) \
	XX(OK, "ok", "accepted") \
	XX(DECODE_ERROR, "decode_error", "not a valid protobuf encoding") \
	XX(OVERSIZED, "oversized", "message larger than the size limit") \
	XX(BAD_PROTOCOL_VERSION, "bad_protocol_version", \
	   "unsupported protocol version") \
	XX(STALE_RUN_ID, "stale_run_id", "run id of an earlier run") \
	XX(FOREIGN_RUN_ID, "foreign_run_id", "run id of another run") \
	XX(MISSING_ACTOR_ID, "missing_actor_id", "actor id is zero") \
	XX(UNKNOWN_ACTOR, "unknown_actor", "actor never said hello") \
	XX(BAD_ENV_INDEX, "bad_env_index", \
	   "env_index not below the actor's number of environments") \
	XX(STALE_SESSION, "stale_session", \
	   "acted before the actor's latest handshake") \
	XX(BAD_NUM_STEPS, "bad_num_steps", "unroll length differs from T") \
	XX(BAD_SHAPE, "bad_shape", "tensor shape mismatch") \
	XX(BAD_DTYPE, "bad_dtype", "tensor dtype mismatch") \
	XX(BAD_LENGTH, "bad_length", "byte length does not match the shape") \
	XX(NON_FINITE, "non_finite", "NaN or infinite value") \
	XX(BAD_ACTION, "bad_action", "action outside the action space") \
	XX(BAD_FLAG, "bad_flag", "done flag not 0/1, or both set") \
	XX(BAD_LOGP, "bad_logp", "log-probability above 0") \
	XX(BAD_FINAL_OBS, "bad_final_obs", \
	   "final observations do not match the truncated steps") \
	XX(BAD_LSTM_STATE, "bad_lstm_state", "LSTM state missing or sized wrong") \
	XX(BAD_PREV_ACTION, "bad_prev_action", "previous action invalid") \
	XX(TOO_MANY_EPISODES, "too_many_episodes", \
	   "more episodes than episode ends") \
	XX(BAD_EPISODE, "bad_episode", "episode record invalid") \
	XX(FUTURE_PARAM_VERSION, "future_param_version", \
	   "parameter version newer than the learner's") \
	XX(POLICY_LAG, "policy_lag", "acted with parameters too old") \
	XX(BAD_PARAM_COUNT, "bad_param_count", "parameter count mismatch") \
	XX(BAD_CHECKSUM, "bad_checksum", "CRC-32C mismatch") \
	XX(WRONG_MESSAGE, "wrong_message", "unexpected message kind") \
	XX(WRONG_PEER, "wrong_peer", \
	   "Goodbye from another connection than the actor's Hello") \
	XX(ACTOR_ID_IN_USE, "actor_id_in_use", \
	   "Hello for an actor id that another live instance holds")

typedef enum im_reject {
#define IM_XX_(id, name, text) IM_REJECT_##id,
	IM_REJECT_MAP(IM_XX_)
#undef IM_XX_
		IM_REJECT_COUNT
} im_reject;

/* Metric label ("bad_shape"); "unknown" for an out-of-range value. */
const char *im_validate_reason_name(im_reject r);
/* Static human text; never NULL. */
const char *im_validate_reason_text(im_reject r);
/* Maps an im_wire_decode_* failure code to DECODE_ERROR or OVERSIZED
 * (IM_OK maps to OK). */
im_reject im_validate_decode_rc(int rc);

/* The dimensions every Trajectory of a run must have, derived once from the
 * RunSpec.  Plain data. */
typedef struct im_run_dims {
	uint32_t T;        /* steps per unroll */
	uint32_t obs_ndim; /* dims of one observation */
	uint32_t obs_shape[IM_VALIDATE_MAX_OBS_DIMS];
	size_t obs_numel;        /* elements of one observation */
	Impala__DType obs_dtype; /* FLOAT32 or UINT8 */
	size_t obs_elem;         /* bytes per observation element: 4 or 1 */
	Impala__ActionKind action_kind;
	uint32_t num_actions; /* Discrete(n); 0 for Box */
	uint32_t action_dim;  /* Box(d); 1 for Discrete */
	uint32_t lstm_hidden; /* 0 when the model has no LSTM */
} im_run_dims;

/* Fills *d from spec.  IM_EINVAL when the spec is NULL or has no model,
 * IM_ERANGE when a size is zero or beyond the IM_VALIDATE_MAX_* bounds,
 * IM_ESHAPE for an unsupported dtype or action kind. *d is written only on
 * success. */
int im_validate_dims(im_run_dims *d, const Impala__RunSpec *spec);

/* The encoded size of the largest valid Trajectory for d (every step
 * truncated, every array full), plus a generous allowance for tags,
 * lengths and scalars.  The receiver refuses anything larger before
 * decoding it; a PULL socket's ZMQ_MAXMSGSIZE should be at least this. */
size_t im_validate_max_trajectory_bytes(const im_run_dims *d);

/* What the learner's handshake knows of an actor. */
typedef struct im_validate_actor {
	uint32_t num_envs; /* from its Hello: env_index < num_envs */
	/* The version its latest Welcome carried: anything acted with an
	 * older one was acted before that handshake (under a learner that
	 * has since restarted, or before a reconnection) and is refused as
	 * STALE_SESSION. */
	uint64_t min_param_version;
} im_validate_actor;

/* The learner's side of a Trajectory check. */
typedef struct im_validate_state {
	uint64_t run_id;         /* the current run */
	uint64_t prev_run_id;    /* the run this one resumed from, or 0 */
	uint64_t param_version;  /* learner updates applied so far */
	uint64_t max_policy_lag; /* 0: no limit */
	/* The environment's time limit (0: none): no finished episode is
	 * longer. */
	uint32_t max_episode_steps;
	/* Optional: returns nonzero and fills *out when actor_id was
	 * welcomed by this learner (UNKNOWN_ACTOR otherwise).  NULL accepts
	 * every nonzero actor id and checks neither env_index nor the
	 * version floor. */
	int (*actor_lookup)(void *ctx, uint64_t actor_id,
			    im_validate_actor *out);
	void *actor_ctx;
} im_validate_state;

/* Checks everything in t against d and st, in the order the list above
 * gives (cheap identity checks first, then shapes, then values), and returns
 * the first reason found, IM_REJECT_OK when t may be used.  When msg is not
 * NULL it receives a NUL-terminated one-line detail (truncated to msg_len).
 *
 * Accepted trajectories have: obs [T+1, obs_shape...] of the spec's dtype;
 * actions int32 [T] in [0, n) (Discrete) or float32 [T, d] finite (Box;
 * bounds are not enforced, as a Gaussian sample may lie outside and the
 * environment clips it); rewards, behaviour_logp float32 [T] finite, logp
 * <= 0 for Discrete; terminated/truncated uint8 [T] in {0,1} and never both
 * at one step; final_obs [n_truncated, obs_shape...] of the obs dtype (may
 * be absent when n_truncated is 0); lstm_h/lstm_c lstm_hidden finite floats
 * when the spec has an LSTM, absent otherwise; prev_action absent (meaning
 * zero) or shaped [] / [1] int32 in range (Discrete) or [d] float32 finite
 * (Box), required with an LSTM; prev_reward finite; at most as many episode
 * records as steps with a done flag, each with length >= 1 (and at most
 * the time limit) and a finite return; with actor_lookup, an actor the
 * learner welcomed, env_index below its num_envs and param_version at or
 * above its Welcome's. */
im_reject im_validate_trajectory(const Impala__Trajectory *t,
				 const im_run_dims *d,
				 const im_validate_state *st, char *msg,
				 size_t msg_len);

/* Actor side: checks a Params message for run_id and param_count: run id
 * (FOREIGN_RUN_ID), count (BAD_PARAM_COUNT), data length (BAD_LENGTH),
 * flow marks (OVERSIZED: more than IM_WIRE_MAX_FLOW_MARKS), CRC-32C
 * (BAD_CHECKSUM) and finite values (NON_FINITE). */
im_reject im_validate_params(const Impala__Params *p, uint64_t run_id,
			     uint64_t param_count, char *msg, size_t msg_len);

/* Learner side of the handshake: returns REFUSAL_NONE when h may join a run
 * of env_name, else the refusal code, with a human reason in reason (always
 * written when reason is not NULL; empty on acceptance). */
Impala__RefusalCode im_validate_hello(const Impala__Hello *h,
				      const char *env_name, char *reason,
				      size_t reason_len);

#endif
