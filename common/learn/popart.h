// SPDX-License-Identifier: Apache-2.0
/* PopArt value normalisation (van Hasselt et al. 2016, "Learning values
 * across many orders of magnitude"; with IMPALA: Hessel et al. 2019,
 * "Multi-task deep reinforcement learning with PopArt").
 *
 * The baseline head learns a normalised value n(x); the model outputs the
 * unnormalised V(x) = sigma * n(x) + mu (nn/model.h, spec.popart), so
 * V-trace, actors and evaluation see values in reward units.  The loss
 * takes the baseline error and the policy-gradient advantage divided by
 * sigma (learn/loss.h, value_scale).  After each optimiser step the
 * statistics follow the V-trace targets vs of the batch:
 *
 *   mu'    = (1 - beta) mu + beta mean(vs)
 *   nu'    = (1 - beta) nu + beta mean(vs^2),   nu = sigma^2 + mu^2
 *   sigma' = sqrt(nu' - mu'^2), clamped to [sigma_min, sigma_max]
 *
 * and the head's last layer is rescaled so that V is unchanged ("preserving
 * outputs precisely"):  w' = w sigma / sigma',  b' = (sigma b + mu - mu') /
 * sigma'.
 *
 * Where they live: mu and sigma are the arena's non-trainable tensors
 * baseline.mu and baseline.sigma (zero gradient, so the optimisers leave
 * them alone), so they travel to the actors in Params and are saved in the
 * checkpoint under the names a PyTorch module's buffers would have.  The
 * second moment nu is not stored: it is sigma^2 + mu^2 (exact unless sigma
 * sat at a clamp).  The step size is max(beta, 1 / (updates + 1)): a plain
 * running mean until it is smaller than beta, so that the first targets
 * are not averaged with the arbitrary initial (0, 1). */
#ifndef IM_LEARN_POPART_H
#define IM_LEARN_POPART_H

#include <stddef.h>
#include <stdint.h>

#include "nn/model.h"

#define IM_POPART_SIGMA_MIN 1e-4
#define IM_POPART_SIGMA_MAX 1e6

/* The statistics' step size for the update that follows `updates` earlier
 * ones: max(beta, 1 / (updates + 1)). */
double im_popart_step(double beta, uint64_t updates);

/* One step of the statistics with the n targets vs (caller's, read):
 * *mu and *sigma are read and overwritten.  n == 0 changes nothing.
 * IM_EINVAL for beta outside (0, 1] or a non-positive sigma; IM_ENONFINITE
 * (statistics unchanged) when the targets' moments are not finite. */
int im_popart_stats(float *mu, float *sigma, const float *vs, size_t n,
		    double beta);

/* Rescales a linear layer's weight w (C) and bias *b so that its output
 * sigma * (w h + b) + mu equals sigma_new * (w' h + b') + mu_new for every
 * h.  Both sigmas > 0 (IM_EINVAL otherwise). */
int im_popart_rescale(float *w, float *b, size_t C, float mu, float sigma,
		      float mu_new, float sigma_new);

/* Both, on the arena params of model m (which must have spec.popart:
 * IM_EINVAL otherwise): updates baseline.mu and baseline.sigma from vs and
 * rescales baseline.weight and baseline.bias.  Not thread-safe: the caller
 * holds whatever lock guards params. */
int im_popart_update(const im_model *m, float *params, const float *vs,
		     size_t n, double beta);

#endif
