/* The learner's bounded store of unrolls and its batcher.
 *
 * The receiver thread validates a Trajectory (common/validate.h) and calls
 * im_store_put(), which copies it into one of `capacity` (num_storages)
 * fixed-size slots, so the decoded protobuf can be freed at once.  Learner
 * threads call im_store_take() for batch_size unrolls, oldest first, and get
 * them assembled time-major into an im_batch they own.
 *
 * Backpressure: when every slot is full, im_store_put() blocks (up to its
 * timeout) instead of dropping.  The receiver then stops reading its PULL
 * socket, ZeroMQ's receive and send high-water marks fill, and the actors'
 * PUSH sends block: the slowest stage sets the pace and memory stays
 * bounded, with no valid unroll thrown away for lack of room.  Unrolls are
 * dropped only for being too old: im_store_set_min_version() makes take()
 * discard queued unrolls acted with older parameters (counted in
 * im_store_stats.dropped_lag).
 *
 * im_store_close() wakes every waiter; from then on put() and take() return
 * IM_ECANCELED.  All functions are thread-safe except im_store_free(),
 * which must run after every other thread is done with the store. */
#ifndef IM_LEARNER_STORE_H
#define IM_LEARNER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "impala.pb-c.h"
#include "learn/update.h"
#include "validate.h"

typedef struct im_store im_store;

typedef struct im_store_opts {
	im_run_dims dims;    /* copied */
	uint32_t capacity;   /* num_storages; >= batch_size */
	uint32_t batch_size; /* B */
} im_store_opts;

/* What the learner accounts per unroll: policy lag, actor rows, episode
 * statistics.  The episode arrays point into the batch that holds this. */
typedef struct im_unroll_meta {
	uint64_t actor_id;
	uint64_t unroll_seq;
	uint64_t param_version;
	uint32_t env_index;
	uint32_t n_episodes;
	const float *episode_return;     /* (n_episodes) */
	const uint32_t *episode_length;  /* (n_episodes) */
	const uint8_t *episode_truncated; /* (n_episodes) 0/1 */
} im_unroll_meta;

/* One batch, time-major: element (t, b) of a [T, B] array is at t*B + b.
 * Observations keep the run's dtype: float32, or for uint8 runs the bytes
 * exactly as the actor sent them (the batch holds no float copy of a
 * frame; the model's first layer converts and scales).  Flags and masks
 * are floats 0/1, with byte copies for the update.  Rewards are as the
 * environment gave them; clipping is the learner's business.
 *
 * `input` is the update's view of the batch (im_update_compute takes it
 * as it is): its pointers are set once by im_batch_new and its n_extra by
 * every take, so nothing is copied or adapted between take and update.
 *
 * Model inputs: step 0 takes the trajectory's prev_action/prev_reward with
 * reset 0 (the actor sends the LSTM state at step 0, already zeroed if an
 * episode began there, and prev_action/prev_reward already zero); for
 * t >= 0, if step t ended an episode (terminated or truncated), step t+1
 * has reset 1 and prev_action 0, prev_reward 0; else a_t and r_t.
 *
 * Bootstrap rows: for every truncated step (t, b), in ascending order of
 * t*B + b, extra_index = t*B + b, extra_obs is the true final observation
 * of that episode and extra_prev_action/extra_prev_reward are a_t and r_t,
 * the model inputs that go with it (the LSTM state is the one after step
 * t, which only the learner's forward pass knows). */
typedef struct im_batch {
	uint32_t T, B;
	size_t obs_numel;
	uint32_t action_dim;       /* D; 1 for Discrete */
	uint32_t lstm_hidden;      /* H; 0 without LSTM */
	int discrete;              /* 1: int32 actions; 0: float Box actions */
	size_t obs_elem;           /* bytes per observation element: 4 or 1 */
	void *obs;                 /* (T+1, B, obs_numel) run's obs dtype */
	int32_t *actions;          /* (T, B) Discrete; NULL for Box */
	float *actions_box;        /* (T, B, D) Box; NULL for Discrete */
	float *rewards;            /* (T, B) */
	float *terminated;         /* (T, B) 0/1 */
	float *truncated;          /* (T, B) 0/1 */
	float *behaviour_logp;     /* (T, B) */
	int32_t *prev_action;      /* (T+1, B) Discrete; NULL for Box */
	float *prev_action_box;    /* (T+1, B, D) Box; NULL for Discrete */
	float *prev_reward;        /* (T+1, B) */
	float *reset;              /* (T+1, B) 0/1 */
	/* The flags as bytes 0/1, the form the update takes. */
	uint8_t *terminated_u8;    /* (T, B) */
	uint8_t *truncated_u8;     /* (T, B) */
	uint8_t *reset_u8;         /* (T+1, B) */
	float *h0;                 /* (B, H); NULL without LSTM */
	float *c0;                 /* (B, H); NULL without LSTM */
	uint32_t n_extra;          /* truncated steps in the batch, <= T*B */
	int32_t *extra_index;      /* (n_extra) t*B + b */
	void *extra_obs;           /* (n_extra, obs_numel) run's obs dtype */
	int32_t *extra_prev_action; /* (n_extra) Discrete; NULL for Box */
	float *extra_prev_action_box; /* (n_extra, D) Box; NULL for Discrete */
	float *extra_prev_reward;  /* (n_extra) */
	im_unroll_meta *meta;      /* (B) */
	/* Backing store of the meta episode arrays: (B, T) each. */
	float *ep_return;
	uint32_t *ep_length;
	uint8_t *ep_truncated;
	im_update_batch input;     /* views of the arrays above */
} im_batch;

/* Allocates a batch for B unrolls of runs with dims d; every array is
 * sized for the worst case (n_extra = T*B), so one batch serves every
 * take().  *out is the caller's (im_batch_free) and set only on success. */
int im_batch_new(im_batch **out, const im_run_dims *d, uint32_t B);
void im_batch_free(im_batch *b);

/* Bytes one slot allocates for dims d: (T+1) observation rows, T rows
 * for the final observations of truncated steps (the worst case), and the
 * per-step arrays, in the run's obs dtype (README: "Memory").  Pages of
 * final_obs rows never written stay unbacked. */
size_t im_store_slot_bytes(const im_run_dims *d);

/* Allocates every slot up front.  *out is set only on success; IM_EINVAL
 * for capacity < batch_size or batch_size 0, IM_ENOMEM. */
int im_store_new(im_store **out, const im_store_opts *o);
void im_store_free(im_store *s);

/* Copies t (which must have passed im_validate_trajectory() with the same
 * dims) into a free slot, waiting while none is free: timeout_ms < 0 waits
 * forever, 0 does not wait.  t stays the caller's.  IM_OK, IM_ETIMEDOUT,
 * IM_ECANCELED after close, IM_ESHAPE when t does not fit the dims. */
int im_store_put(im_store *s, const Impala__Trajectory *t, int timeout_ms);

/* Waits until batch_size unrolls are queued (timeout_ms as for put),
 * removes the oldest batch_size, assembles them into b (allocated for the
 * store's dims and batch size) and frees their slots.  IM_OK,
 * IM_ETIMEDOUT, IM_ECANCELED after close, IM_EINVAL when b does not match.
 * Several threads may take at once; each gets distinct unrolls. */
int im_store_take(im_store *s, im_batch *b, int timeout_ms);

/* Queued unrolls acted with a parameter version below v are discarded by
 * the next take() instead of being used. */
void im_store_set_min_version(im_store *s, uint64_t v);

/* Wakes every waiter and refuses further puts and takes.  Idempotent. */
void im_store_close(im_store *s);

typedef struct im_store_stats {
	uint32_t capacity;
	uint32_t depth;        /* queued unrolls now */
	uint64_t put;          /* unrolls accepted */
	uint64_t taken;        /* unrolls handed out in batches */
	uint64_t dropped_lag;  /* discarded by the min version */
	uint64_t put_waits;    /* puts that found the store full */
} im_store_stats;

void im_store_get_stats(im_store *s, im_store_stats *out);

#endif
