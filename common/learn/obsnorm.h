// SPDX-License-Identifier: Apache-2.0
/* Observation normalisation's statistics: the running mean and variance of
 * each observation element over every observation the learner has trained
 * on.  The model applies them (nn/obsnorm.h); this module moves them, on
 * the learner only, after each optimiser step, from the batch just trained
 * on.  Actors never update them: they receive them in Params with the
 * weights, so all actors and the learner normalise alike and a learner
 * restarted from its checkpoint continues with the same statistics.
 *
 * The update merges the batch's own moments into the running ones (Chan,
 * Golub and LeVeque 1979), per element, in double:
 *
 *   m_b, M2_b  = mean and sum of squared deviations of the batch (n rows),
 *                two passes, so a large common offset costs no precision
 *   delta      = m_b - mean,   N = count + n
 *   mean'      = mean + delta n / N
 *   var'       = (var count + M2_b + delta^2 count n / N) / N
 *   count'     = N
 *
 * a plain average over all observations so far (no decay: the state
 * distribution of these tasks drifts slowly, and the statistics settle
 * instead of following each batch), as Gymnasium's NormalizeObservation and
 * SB3's VecNormalize do.  With count 0 the first batch replaces the
 * initial (0, 1).  count is a float in the arena: exact to 2^24 rows, and
 * past that a batch's weight n / N is off by a relative 2^-24 at most. */
#ifndef IM_LEARN_OBSNORM_H
#define IM_LEARN_OBSNORM_H

#include <stddef.h>

#include "nn/model.h"
#include "nn/obsnorm.h"

/* One step of the statistics with the n observations x (n, D) (caller's,
 * read): mean and var (D) and *count are read and overwritten.  n == 0
 * changes nothing.  IM_EINVAL for D < 1, a negative or non-finite count or
 * a negative variance; IM_ENONFINITE, statistics unchanged, when x holds a
 * non-finite value.  Allocation-free. */
int im_obsnorm_stats(float *mean, float *var, float *count, const float *x,
		     size_t n, int D);

/* The same on the arena params of model m (which must have spec.obs_norm:
 * IM_EINVAL otherwise), with rows observations obs (rows, obs_numel).  Not
 * thread-safe: the caller holds whatever lock guards params. */
int im_obsnorm_update(const im_model *m, float *params, const float *obs,
		      size_t rows);

#endif
