// SPDX-License-Identifier: Apache-2.0
/* One learner update, composed: the model's learning forward over T+1 by B,
 * the bootstrap values of truncated steps, V-trace and the loss, the
 * model's backward; then, separately, global-norm clipping and the
 * optimiser step.  Splitting compute from apply lets tests compare the
 * gradients before any step, and lets the learner compute outside its
 * lock on a copy of the parameters and apply under it (learner/learn.c;
 * --no-learner-overlap runs both under the lock, as monobeast).  With a
 * PopArt model (spec.popart) the loss normalises by the arena's
 * baseline.sigma; the statistics themselves are updated by the caller
 * after the step (learn/popart.h), from im_update_vs(). */
#ifndef IM_LEARN_UPDATE_H
#define IM_LEARN_UPDATE_H

#include <stdint.h>

#include "learn/loss.h"
#include "learn/optim.h"
#include "nn/model.h"

/* One batch as the update needs it; every array the caller's and only
 * read.  Time-major, row t * B + b. */
typedef struct im_update_batch {
	im_model_input in;           /* T1 = T + 1 steps: obs, prev_action(_box),
					prev_reward, reset */
	const float *h0, *c0;        /* (B, H) or NULL */
	im_model_extra extra;        /* bootstrap rows of truncated steps */
	const int32_t *act_discrete; /* (T, B) */
	const float *act_box;        /* (T, B, D) */
	const float *behaviour_logp; /* (T, B) */
	const float *rewards;        /* (T, B) */
	const uint8_t *terminated;   /* (T, B) */
	const uint8_t *truncated;    /* (T, B) */
} im_update_batch;

typedef struct im_update_stats {
	im_loss_stats loss;
	double grad_norm; /* before clipping */
	double mean_value;
} im_update_stats;

typedef struct im_update im_update;

/* Buffers for batches of up to T steps by B unrolls of model m (borrowed;
 * it must outlive the update).  *out is the caller's (im_update_free). */
int im_update_new(im_update **out, const im_model *m, int T, int B);
void im_update_free(im_update *u);

/* Zeroes grads (this model's layout, caller's) and fills them with
 * dL/dparams of the batch at params.  Writes the loss terms into *st
 * (grad_norm is left 0: it is computed by im_update_apply).  Returns
 * IM_ESHAPE when the batch exceeds the sizes given at creation, or what
 * the model or the loss return. */
int im_update_compute(im_update *u, const float *params, float *grads,
		      const im_update_batch *b, const im_loss_opts *o,
		      im_update_stats *st);

/* The same on grads that the caller has zeroed (every element 0.0f; they
 * are accumulated into, not zeroed here): the zeroing reads nothing of
 * the parameters, so the learner does it before taking its lock and
 * holds the lock for less (learner/learn.c). */
int im_update_compute_zeroed(im_update *u, const float *params, float *grads,
			     const im_update_batch *b, const im_loss_opts *o,
			     im_update_stats *st);

/* Writes the global norm of grads to st->grad_norm and applies one
 * optimiser step with lr to the gradients clipped to max_grad_norm (<= 0:
 * no clip), bit for bit as clipping grads in place and then stepping, in
 * one pass (im_optim_step_scaled); grads itself is left unscaled.  A
 * non-finite norm skips the step and returns IM_ENONFINITE, so a bad
 * batch cannot poison the parameters. */
int im_update_apply(im_optim *opt, float *params, float *grads, size_t n,
		    float lr, double max_grad_norm, im_update_stats *st);

/* V-trace targets and advantages of the last compute, (T, B) each; owned
 * by u and valid until the next compute. */
const float *im_update_vs(const im_update *u);
const float *im_update_pg_adv(const im_update *u);
/* Policy outputs (T+1, B, n) and values (T+1, B) of the last compute. */
const float *im_update_policy(const im_update *u);
const float *im_update_values(const im_update *u);

#endif
