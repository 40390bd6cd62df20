// SPDX-License-Identifier: Apache-2.0
/* The time-major batcher: assembles batch_size validated unrolls into the
 * [T+1, B] arrays the learner's update reads (learn/update.h).
 *
 * Element (t, b) of a [T, B] array is at t*B + b.  Observations keep the
 * run's dtype: float32, or for uint8 runs the bytes exactly as the actor
 * sent them (the model's first layer converts and scales).  Flags are
 * bytes 0/1.  Rewards are as the environment gave them; clipping is the
 * learner's business.
 *
 * `input` is the update's view of the batch (im_update_compute takes it
 * as it is): its pointers are set once by im_batch_new and its n_extra by
 * every fill, so nothing is copied or adapted between take and update.
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
#ifndef IM_LEARNER_BATCH_H
#define IM_LEARNER_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "impala.pb-c.h"
#include "learn/update.h"
#include "validate.h"

/* What the learner accounts per unroll: policy lag, actor rows, episode
 * statistics.  The episode arrays point into the batch that holds this. */
typedef struct im_unroll_meta {
	uint64_t actor_id;
	uint64_t unroll_seq;
	uint64_t param_version;
	uint32_t env_index;
	uint32_t n_episodes;
	const float *episode_return;      /* (n_episodes) */
	const uint32_t *episode_length;   /* (n_episodes) */
	const uint8_t *episode_truncated; /* (n_episodes) 0/1 */
} im_unroll_meta;

typedef struct im_batch {
	uint32_t T, B;
	size_t obs_numel;
	uint32_t action_dim;          /* D; 1 for Discrete */
	uint32_t lstm_hidden;         /* H; 0 without LSTM */
	int discrete;                 /* 1: int32 actions; 0: float Box actions */
	size_t obs_elem;              /* bytes per observation element: 4 or 1 */
	void *obs;                    /* (T+1, B, obs_numel) run's obs dtype */
	int32_t *actions;             /* (T, B) Discrete; NULL for Box */
	float *actions_box;           /* (T, B, D) Box; NULL for Discrete */
	float *rewards;               /* (T, B) */
	uint8_t *terminated;          /* (T, B) 0/1 */
	uint8_t *truncated;           /* (T, B) 0/1 */
	float *behaviour_logp;        /* (T, B) */
	int32_t *prev_action;         /* (T+1, B) Discrete; NULL for Box */
	float *prev_action_box;       /* (T+1, B, D) Box; NULL for Discrete */
	float *prev_reward;           /* (T+1, B) */
	uint8_t *reset;               /* (T+1, B) 0/1 */
	float *h0;                    /* (B, H); NULL without LSTM */
	float *c0;                    /* (B, H); NULL without LSTM */
	uint32_t n_extra;             /* truncated steps in the batch, <= T*B */
	int32_t *extra_index;         /* (n_extra) t*B + b */
	void *extra_obs;              /* (n_extra, obs_numel) run's obs dtype */
	int32_t *extra_prev_action;   /* (n_extra) Discrete; NULL for Box */
	float *extra_prev_action_box; /* (n_extra, D) Box; NULL for Discrete */
	float *extra_prev_reward;     /* (n_extra) */
	im_unroll_meta *meta;         /* (B) */
	/* Backing store of the meta episode arrays: (B, T) each. */
	float *ep_return;
	uint32_t *ep_length;
	uint8_t *ep_truncated;
	im_update_batch input; /* views of the arrays above */
	/* Scratch of im_batch_fill: each unroll's arrays, (B) each. */
	struct im_batch_unroll *views;
	uint32_t *rows;
} im_batch;

/* Allocates a batch for B unrolls of runs with dims d; every array is
 * sized for the worst case (n_extra = T*B), so one batch serves every
 * fill.  *out is the caller's (im_batch_free) and set only on success;
 * IM_EINVAL for B 0 or dims out of range, IM_ENOMEM. */
int im_batch_new(im_batch **out, const im_run_dims *d, uint32_t B);
/* Accepts NULL. */
void im_batch_free(im_batch *b);

/* 1 when b was made for dims d and B unrolls, else 0. */
int im_batch_matches(const im_batch *b, const im_run_dims *d, uint32_t B);

/* Fills b from b->B trajectories (borrowed, read only), which must have
 * passed im_validate_trajectory() with the dims b was made for: their
 * lengths are not checked again. */
void im_batch_fill(im_batch *b, const Impala__Trajectory *const *ts);

#endif
