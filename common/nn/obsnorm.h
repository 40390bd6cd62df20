// SPDX-License-Identifier: Apache-2.0
/* Observation normalisation, the model's input stage (spec.obs_norm).
 *
 * Each element i of a float observation becomes
 *
 *   clip((x_i - mean_i) / sqrt(var_i + IM_OBSNORM_EPS), -IM_OBSNORM_CLIP,
 *        IM_OBSNORM_CLIP)
 *
 * before the encoder reads it.  mean, var and count are the arena's
 * non-trainable tensors obs_norm.mean (D), obs_norm.var (D) and
 * obs_norm.count (1), named as a PyTorch module's buffers: actors, the
 * learner and evaluation all normalise inside the model's forward from the
 * parameters they hold, so the same Params give the same inputs everywhere,
 * and checkpoints carry the statistics with the weights.  The statistics
 * start at mean 0, var 1, count 0 and only the learner moves them
 * (common/learn/obsnorm.h).
 *
 * Why these constants (README "Observation normalisation"): eps 1e-8 as
 * Gymnasium's NormalizeObservation and SB3's VecNormalize use, so a
 * constant element normalises to 0; the clip at 5 standard deviations keeps
 * the first layer's inputs bounded when a rare state (or a statistic still
 * settling) lies far outside what was seen, while leaving every ordinary
 * value untouched. */
#ifndef IM_NN_OBSNORM_H
#define IM_NN_OBSNORM_H

#define IM_OBSNORM_CLIP 5.0f
#define IM_OBSNORM_EPS 1e-8

/* out (rows, D) = the normalised obs (rows, D) with mean and var (D); all
 * caller-owned; out may not alias obs.  Allocation-free. */
void im_nn_obsnorm_apply(float *out, const float *obs, const float *mean,
			 const float *var, int rows, int D);

#endif
