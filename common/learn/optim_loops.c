// SPDX-License-Identifier: Apache-2.0
/* Flat loops over restrict pointers with the constants hoisted.
 *
 * Packed square roots.  While sqrtf may set errno, GCC keeps it scalar
 * (each square root is followed by a test and a branch to the library
 * for a negative argument), and that stops the vectoriser.  This file
 * alone is compiled with -fno-math-errno (common/learn/meson.build; GCC
 * 12 ignores math-errno in optimize attributes and pragmas), and then GCC
 * emits sqrtps and divps over 4 floats at a time.  No argument here can
 * be negative (s >= 0, or NaN), so nothing that errno would report is
 * lost.
 *
 * Denormal moments.  A parameter whose gradient stops (the weights fed
 * by a ReLU unit that never fires) decays its moments into the denormal
 * range and stays there: below 50 units of the smallest denormal, 0.99 x
 * rounds back to x.  On x86 every multiply or square root of a denormal
 * takes a microcode assist of about 100 cycles, so the 2% of Breakout's
 * square averages that were denormal in a 5M-frame checkpoint made the
 * whole step twice as slow (tests/bench/README.md, "MinAtar training
 * speed").  So a moment below FLT_MIN is stored as 0 when eps >=
 * IM_OPTIM_FLUSH_MIN_EPS.  What that changes: the square root of such a
 * moment is below 1.1e-19, and 1.1e-19 / sqrt(1 - beta2) after Adam's
 * largest bias correction: 3.5e-18 at beta2 = 0.999, the only value the
 * command line uses (there is no flag for it; a caller of this library
 * with beta2 above 0.99999 should not rely on the bound), under half a
 * float ulp of any such eps, and a first
 * moment below FLT_MIN moves an update by less than step_size * FLT_MIN
 * / eps.  The step that flushes a moment uses its exact value.  With a
 * smaller eps (0 is allowed) nothing is flushed. */
#include "learn/optim_loops.h"

#include <float.h>
#include <math.h>

/* The smallest moment kept: FLT_MIN when flushing (above), else 0. */
static float keep_floor(float eps)
{
	return eps >= IM_OPTIM_FLUSH_MIN_EPS ? FLT_MIN : 0.0f;
}

void im_optim_loop_rmsprop(float *restrict p, const float *restrict g,
			   float *restrict sq, size_t n, float gs, float lr,
			   float alpha, float eps)
{
	const float beta = 1.0f - alpha, floor = keep_floor(eps);
	for (size_t i = 0; i < n; i++) {
		float gi = g[i] * gs;
		float s = alpha * sq[i] + beta * gi * gi;
		p[i] -= lr * gi / (sqrtf(s) + eps);
		/* NaN compares false and is kept. */
		sq[i] = s < floor ? 0.0f : s;
	}
}

void im_optim_loop_adam(float *restrict p, const float *restrict g,
			float *restrict m, float *restrict v, size_t n,
			float gs, float step_size, float inv_bc2_sqrt,
			float beta1, float beta2, float eps)
{
	const float c1 = 1.0f - beta1, c2 = 1.0f - beta2;
	const float floor = keep_floor(eps);
	for (size_t i = 0; i < n; i++) {
		float gi = g[i] * gs;
		float mi = beta1 * m[i] + c1 * gi;
		float vi = beta2 * v[i] + c2 * gi * gi;
		p[i] -= step_size * mi / (sqrtf(vi) * inv_bc2_sqrt + eps);
		m[i] = fabsf(mi) < floor ? 0.0f : mi;
		v[i] = vi < floor ? 0.0f : vi;
	}
}

/* An AVX2 clone where the CPU has it (GCC picks at load time): the
 * float-to-double conversions, 2 a cycle with SSE2, are 4 with AVX2, and
 * the 16 lanes are 4 vectors instead of 8.  The same sums in the same
 * order either way. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
double
im_optim_loop_sum_squares(const float *restrict g, size_t n)
{
	enum { L = IM_OPTIM_SUM_LANES };
	double s[L] = {0};
	size_t i = 0;
	for (; i + L <= n; i += L)
		for (int k = 0; k < L; k++)
			s[k] += (double)g[i + k] * g[i + k];
	for (int k = 0; i < n; i++, k++)
		s[k] += (double)g[i] * g[i];
	/* Pairwise: lanes k and k + w for w = L/2, L/4, ... 1. */
	for (int w = L / 2; w >= 1; w /= 2)
		for (int k = 0; k < w; k++)
			s[k] += s[k + w];
	return s[0];
}
