// SPDX-License-Identifier: Apache-2.0
/* Policy distributions over raw head outputs: a categorical over logits and a
 * diagonal Gaussian with a state-independent log standard deviation.
 *
 * Every function works on `rows` independent rows stored contiguously
 * (row-major), allocates nothing and keeps no state; the caller owns every
 * buffer before and after each call.  Log-probabilities are natural
 * logarithms.  Sampling draws from the caller's generator, so an actor's
 * environment streams stay reproducible.
 *
 * Gradients ("backward") ACCUMULATE (+=) into their outputs, as every
 * backward in this project does: zero them once per step.  They take two
 * per-row coefficients so that one pass serves the whole loss:
 *   d/dx [ sum_r coef_logp[r] * log pi_r(a_r) + coef_ent[r] * H_r ].
 * Either coefficient pointer may be NULL, meaning all zeros. */
#ifndef IM_DIST_H
#define IM_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/* 0.5 * log(2 * pi) */
#define IM_DIST_HALF_LOG_2PI 0.91893853320467274178

/* ---- Categorical over n logits (n >= 1) ---- */

/* Stable log-softmax of one row: logp[j] = logits[j] - logsumexp(logits).
 * logp may alias logits.  Returns logsumexp(logits). */
float im_dist_cat_log_softmax(float *logp, const float *logits, int n);

/* Samples one action per row and writes its log-probability.
 * logits (rows, n); action (rows); logp (rows), may be NULL. */
void im_dist_cat_sample(int32_t *action, float *logp, const float *logits,
			int rows, int n, im_rng *rng);

/* log pi(action[r]) per row; an action outside [0, n) gives -INFINITY.
 * logits (rows, n); action (rows); logp (rows). */
void im_dist_cat_log_prob(float *logp, const float *logits,
			  const int32_t *action, int rows, int n);

/* Entropy -sum_j p_j log p_j per row.  logits (rows, n); ent (rows). */
void im_dist_cat_entropy(float *ent, const float *logits, int rows, int n);

/* Log-probability and entropy of each row in one pass (the loss's forward).
 * logp or ent may be NULL. */
void im_dist_cat_logp_entropy(float *logp, float *ent, const float *logits,
			      const int32_t *action, int rows, int n);

/* dlogits[r, j] += coef_logp[r] * (1[j == a_r] - p_j)
 *               +  coef_ent[r]  * (-p_j * (log p_j + H_r))
 * dlogits (rows, n), accumulated. */
void im_dist_cat_backward(float *dlogits, const float *logits,
			  const int32_t *action, const float *coef_logp,
			  const float *coef_ent, int rows, int n);

/* The same forward and backward for many rows at once (the loss's path),
 * with the exponentials of all rows in one vectorised pass
 * (im_fastmath_expf, relative error < 2e-7).  The forward writes logp, ent
 * and lse (rows) = logsumexp of each row, and probs (rows, n) = the
 * softmax.  The backward takes those back and WRITES (does not accumulate)
 * into dlogits (rows, n) the gradient im_dist_cat_backward adds; dlogits
 * may be the probs buffer itself (the loss keeps probs in dpolicy).
 * Actions must be in [0, n). */
void im_dist_cat_forward_rows(float *logp, float *ent, float *lse,
			      float *probs, const float *logits,
			      const int32_t *action, int rows, int n);
void im_dist_cat_backward_rows(float *dlogits, const float *probs,
			       const float *logits, const float *lse,
			       const float *ent, const int32_t *action,
			       const float *coef_logp, const float *coef_ent,
			       int rows, int n);

/* ---- Diagonal Gaussian: mean (rows, D), log_std (D) shared by rows ---- */

/* action[r, d] = mean[r, d] + exp(log_std[d]) * z, z ~ N(0, 1); logp (rows)
 * may be NULL.  action (rows, D). */
void im_dist_gauss_sample(float *action, float *logp, const float *mean,
			  const float *log_std, int rows, int D, im_rng *rng);

/* log pi(a) = sum_d [-0.5 z_d^2 - log_std_d - 0.5 log(2 pi)],
 * z_d = (a_d - mean_d) / exp(log_std_d).  action (rows, D); logp (rows). */
void im_dist_gauss_log_prob(float *logp, const float *mean,
			    const float *log_std, const float *action,
			    int rows, int D);

/* The entropy, the same for every row: sum_d (0.5 + 0.5 log(2 pi) +
 * log_std_d). */
float im_dist_gauss_entropy(const float *log_std, int D);

/* dmean[r, d]  += coef_logp[r] * z_d / std_d
 * dlog_std[d]  += sum_r coef_logp[r] * (z_d^2 - 1) + coef_ent[r]
 * (the entropy does not depend on the mean).  dmean (rows, D) may be NULL
 * when only dlog_std is wanted; dlog_std (D) may be NULL. */
void im_dist_gauss_backward(float *dmean, float *dlog_std, const float *mean,
			    const float *log_std, const float *action,
			    const float *coef_logp, const float *coef_ent,
			    int rows, int D);

#endif
