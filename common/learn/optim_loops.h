// SPDX-License-Identifier: Apache-2.0
/* The optimisers' element loops (learn/optim.h's fast path), internal to
 * common/learn: optim.c computes the constants, these run over the flat
 * arenas.  Every pointer is borrowed for the call; the arenas must not
 * overlap.  They are in a file of their own because it alone is compiled
 * with -fno-math-errno (common/learn/meson.build; optim_loops.c says
 * why). */
#ifndef IM_OPTIM_LOOPS_H
#define IM_OPTIM_LOOPS_H

#include <stddef.h>

/* Moments below FLT_MIN are stored as 0 when eps is at least this
 * (optim_loops.c): both defaults (RMSprop 0.01, Adam 1e-8) are. */
#define IM_OPTIM_FLUSH_MIN_EPS 1e-9f

/* RMSprop on the gradient g * gs (one float product, as scaling g in
 * place first would round it; gs = 1 leaves g as it is): sq = alpha sq +
 * (1 - alpha) g^2; p -= lr g / (sqrt(sq) + eps), p, g and sq of n
 * floats. */
void im_optim_loop_rmsprop(float *restrict p, const float *restrict g,
			   float *restrict sq, size_t n, float gs, float lr,
			   float alpha, float eps);

/* Adam on the gradient g * gs (as RMSprop's), with the bias corrections
 * folded in by the caller: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2)
 * g^2; p -= step_size m / (sqrt(v) inv_bc2_sqrt + eps). */
void im_optim_loop_adam(float *restrict p, const float *restrict g,
			float *restrict m, float *restrict v, size_t n,
			float gs, float step_size, float inv_bc2_sqrt,
			float beta1, float beta2, float eps);

/* The sum of g[i]^2 over n floats in double precision, in
 * IM_OPTIM_SUM_LANES partial sums (element i into lane i mod lanes)
 * added pairwise at the end: independent chains, so the loop runs at the
 * rate of its loads and conversions rather than of one add's latency. */
#define IM_OPTIM_SUM_LANES 16
double im_optim_loop_sum_squares(const float *restrict g, size_t n);

#endif
