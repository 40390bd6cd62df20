// SPDX-License-Identifier: Apache-2.0
/* The IMPALA loss over one batch of T steps by B unrolls, and its gradient
 * with respect to the raw head outputs (DESIGN.md section 3, monobeast).
 *
 *   L = pg + baseline + entropy, every term SUMMED over T and B (no mean):
 *   pg       = -sum_t,b log pi(a_t | x_t) * pg_adv_t
 *   baseline =  baseline_coef * 0.5 * sum_t,b (vs_t - V(x_t))^2
 *   entropy  = -ent_coef * sum_t,b H(pi(. | x_t))
 * vs and pg_adv come from V-trace (vtrace.h) and carry no gradient; rewards
 * are clipped to [-1, 1] first when clip_rewards is set.  The loss is
 * minimised: gradients are dL/d(outputs), to be back-propagated as they are.
 *
 * Layout.  Row r = t * B + b (time-major).  The learner's forward writes its
 * policy outputs and baselines as [T+1, B] (the extra step T gives V(x_T));
 * the loss reads only the first T steps, so the learner passes the same
 * pointers: policy (T+1, B, n) used as (T, B, n), values (T+1, B) used as
 * (T, B).  Time being the outer axis, the first T steps are a prefix.
 * next_values is separate: values + B (that is V(x_{t+1})) everywhere,
 * except at truncated steps where the learner puts V(true final obs).
 *
 * Flags.  discount_t = discount * (1 - terminated_t); truncated_t cuts the
 * V-trace recursion and bootstraps from next_values_t (vtrace.h).  A step
 * both terminated and truncated counts as terminated (nothing to
 * bootstrap), whatever next_values holds there.
 *
 * Gradients, with pg_adv and vs constants:
 *   dL/dV_t          = -baseline_coef * (vs_t - V_t)
 *   dL/dlogits_t,j   = -pg_adv_t * (1[j = a_t] - p_j)
 *                      + ent_coef * p_j * (log p_j + H_t)
 *   dL/dmean_t,d     = -pg_adv_t * z_d / std_d,  z = (a - mean) / std
 *   dL/dlog_std_d    = sum_t,b [-pg_adv_t * (z_d^2 - 1) - ent_coef]
 * (the Gaussian's entropy depends only on log_std, once per row).
 *
 * PopArt (popart.h).  With value_scale = sigma > 0 the values stay
 * unnormalised (the model outputs sigma * n + mu) and V-trace runs on them
 * unchanged, but the baseline loss is taken on the normalised scale and the
 * policy-gradient advantage is normalised, as in Hessel et al. 2019:
 *   baseline = baseline_coef * 0.5 * sum ((vs_t - V_t) / sigma)^2
 *   pg_adv_t <- pg_adv_t / sigma
 *   dL/dV_t  = -baseline_coef * (vs_t - V_t) / sigma^2
 * (the model's backward multiplies dL/dV by sigma again, so the gradient
 * of the normalised output is -baseline_coef * (vs_t - V_t) / sigma). */
#ifndef IM_LOSS_H
#define IM_LOSS_H

#include <stddef.h>
#include <stdint.h>

#include "space.h"
#include "learn/vtrace.h"

typedef struct im_loss_opts {
	float discount;      /* gamma, 0.99 */
	float baseline_coef; /* 0.5 */
	float ent_coef;      /* 0.01 */
	int clip_rewards;    /* nonzero: rewards clipped to [-1, 1] */
	im_vtrace_opts vtrace;
} im_loss_opts;

/* rllte's / DESIGN.md's defaults. */
im_loss_opts im_loss_defaults(void);

/* One batch, all buffers the caller's and only read. */
typedef struct im_loss_batch {
	int T, B;
	im_act_kind kind;
	int n;                       /* Discrete: actions; Box: action dim D */
	const float *policy;         /* (T, B, n): logits, or the Gaussian mean */
	const float *log_std;        /* (n): Box only, shared by all rows */
	const float *values;         /* (T, B): V(x_t) */
	const float *next_values;    /* (T, B): see the layout note above */
	const int32_t *act_discrete; /* (T, B): Discrete only */
	const float *act_box;        /* (T, B, n): Box only */
	const float *behaviour_logp; /* (T, B): log mu(a_t | x_t) */
	const float *rewards;        /* (T, B): raw; clipped here if asked */
	const uint8_t *terminated;   /* (T, B): nonzero ends with no bootstrap */
	const uint8_t *truncated;    /* (T, B): nonzero cuts by time limit */
	float value_scale;           /* PopArt's sigma; 0: no normalisation */
} im_loss_batch;

/* Gradients.  dpolicy and dvalues are WRITTEN (overwritten in full);
 * dlog_std is ACCUMULATED (+=), being a parameter's gradient.  vs and
 * pg_adv, when not NULL, receive the V-trace outputs for inspection. */
typedef struct im_loss_grads {
	float *dpolicy;  /* (T, B, n): dL/dlogits or dL/dmean */
	float *dvalues;  /* (T, B): dL/dV(x_t) */
	float *dlog_std; /* (n): Box only */
	float *vs;       /* (T, B), optional */
	float *pg_adv;   /* (T, B), optional: as used (normalised by PopArt) */
} im_loss_grads;

/* The three terms as defined above (signs included), their sum, and the
 * entropy averaged over the T * B rows (for the metrics). */
typedef struct im_loss_stats {
	double pg_loss;
	double baseline_loss;
	double entropy_loss;
	double total;
	double mean_entropy;
} im_loss_stats;

/* Scratch the loss needs, in bytes, for T by B. */
size_t im_loss_work_size(int T, int B);

/* Forward and backward in one call.  work: NULL (the loss mallocs and frees
 * its scratch) or a caller-owned, suitably aligned (malloc'd) buffer of
 * im_loss_work_size(T, B) bytes, reused across calls to avoid allocation.
 * Returns 0, IM_EINVAL (bad sizes or a missing buffer), IM_EACTION (a
 * Discrete action outside [0, n)) or IM_ENOMEM; on failure the outputs are
 * unspecified. */
int im_loss(im_loss_stats *stats, const im_loss_grads *g,
	    const im_loss_batch *b, const im_loss_opts *o, void *work);

#endif
