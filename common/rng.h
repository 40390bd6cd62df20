// SPDX-License-Identifier: Apache-2.0
/* Seedable, splittable pseudo-random numbers (xoshiro256** seeded through
 * splitmix64).
 *
 * A generator is a plain value.  im_rng_split() derives an independent child
 * stream from a parent's key and a stream number without consuming the
 * parent, so actor i's environment j always gets the same stream:
 *   im_rng_init(&run, seed);
 *   im_rng_split(&actor, &run, actor_id);
 *   im_rng_split(&env, &actor, env_index); */
#ifndef IM_RNG_H
#define IM_RNG_H

#include <stdint.h>

typedef struct im_rng {
	uint64_t s[4]; /* xoshiro256** state */
	uint64_t key;  /* identity of this stream, used to derive children */
} im_rng;

void im_rng_init(im_rng *r, uint64_t seed);
void im_rng_split(im_rng *child, const im_rng *parent, uint64_t stream);
uint64_t im_rng_u64(im_rng *r);
/* Uniform in [0, 1) with 24 bits (float) or 53 bits (double). */
float im_rng_float(im_rng *r);
double im_rng_double(im_rng *r);
/* Uniform in [lo, hi). */
float im_rng_uniform(im_rng *r, float lo, float hi);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t im_rng_below(im_rng *r, uint64_t n);
/* Standard normal. */
double im_rng_normal(im_rng *r);
/* A non-zero 64-bit value from /dev/urandom (falling back to the clock and
 * the pid): for run ids and actor ids, never for a run's reproducible
 * streams. */
uint64_t im_rng_entropy(void);
/* splitmix64 finaliser: a good 64-bit mixing function. */
uint64_t im_rng_mix64(uint64_t x);

#endif
