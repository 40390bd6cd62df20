// SPDX-License-Identifier: Apache-2.0
/* Temporally extended exploration for Discrete actions (Dabney, Ostrovski
 * and Barreto 2021, "Temporally-extended epsilon-greedy exploration"), an
 * option of the actors' behaviour policy (--explore-eps, --explore-hold on
 * the learner, which sends them in the run spec).
 *
 * Per environment: when not holding an action, with probability eps the
 * actor draws a uniformly random action and a hold length L (geometric,
 * mean `hold` steps) and takes that action for the next L steps;
 * otherwise it takes the policy's own sample.  A random walk that keeps
 * its direction for tens of steps reaches states (MountainCar's hilltop)
 * that per-step dithering almost never does.
 *
 * The log-probability sent with each step is the behaviour's, given the
 * actor's hold state, so V-trace corrects for it exactly:
 *   not holding:  mu(a) = (1 - eps) pi(a) + eps / n
 *   holding a:    mu(a) = 1 (log 0)
 * (the hold state is the behaviour's own latent; conditioning each step's
 * ratio on it keeps per-decision importance sampling valid, since the
 * learner's policy does not depend on it). */
#ifndef IM_ACTOR_EXPLORE_H
#define IM_ACTOR_EXPLORE_H

#include <stdint.h>

#include "rng.h"

typedef struct im_explore_opts {
	double eps;  /* [0, 1]: chance of starting a hold at a free step */
	double hold; /* >= 1: mean hold length in steps */
} im_explore_opts;

typedef struct im_explore im_explore;

/* For k environments with n actions.  IM_EINVAL for eps outside [0, 1],
 * hold < 1 (or not finite), k < 1 or n < 1; IM_ENOMEM. */
int im_explore_new(im_explore **out, const im_explore_opts *o, int k, int n);
void im_explore_free(im_explore *x);

/* After the policy's sample: a (k) holds pi's actions and logp (k) their
 * log pi; logits (k, n) are the policy's.  Overwrites both with the
 * behaviour's action and log mu.  All arrays the caller's. */
void im_explore_apply(im_explore *x, int32_t *a, float *logp,
		      const float *logits, im_rng *rng);

/* Environment i's episode ended: a hold does not carry into the next. */
void im_explore_end(im_explore *x, int i);

/* Steps left of environment i's hold (0: free), for tests. */
uint64_t im_explore_left(const im_explore *x, int i);

#endif
