// SPDX-License-Identifier: Apache-2.0
#include "learn/vtrace.h"

#include <math.h>
#include <stddef.h>

/* Columns processed together: the double accumulator for them lives on the
 * stack, so the recursion allocates nothing for any B. */
#define VT_CHUNK 64

/* Not fmin: that is a libm call here (NaN rules), and rho is never NaN
 * unless log_rhos is, which the caller's validation excludes. */
static inline double min2(double a, double b)
{
	return a < b ? a : b;
}

im_vtrace_opts im_vtrace_defaults(void)
{
	im_vtrace_opts o = {1.0f, 1.0f, 1.0f, 1.0f};
	return o;
}

/* Backward over time for columns [b0, b0 + nb): acc holds vs_{t+1} -
 * V_{t+1} (0 past the end), and vs is written as V_t + acc_t. */
static void vtrace_cols(float *vs, float *pg_adv, const float *log_rhos,
			const float *discounts, const float *rewards,
			const float *values, const float *next_values,
			const uint8_t *cut, int T, int B, int b0, int nb,
			const im_vtrace_opts *o)
{
	double acc[VT_CHUNK];
	for (int j = 0; j < nb; j++)
		acc[j] = 0.0;
	for (int t = T - 1; t >= 0; t--) {
		size_t row = (size_t)t * B + b0;
		const float *lr = log_rhos + row, *dc = discounts + row;
		const float *rw = rewards + row, *v = values + row;
		const float *nv = next_values + row;
		const uint8_t *ct = cut ? cut + row : NULL;
		/* V_{t+1}: with acc (still vs_{t+1} - V_{t+1}) it gives
		 * vs_{t+1} in double, unrounded. */
		const float *v_up = t < T - 1 ? values + row + B : NULL;
		for (int j = 0; j < nb; j++) {
			/* exp in double: the products of ratios along the
			 * unroll amplify any error in them. */
			double rho = exp((double)lr[j]);
			double crho = min2(o->rho_bar, rho);
			double c = o->lambda * min2(o->c_bar, rho);
			double pgr = min2(o->pg_rho_bar, rho);
			int keep = !(ct && ct[j]);
			double d = dc[j], r = rw[j], vt = v[j];
			/* A terminal step (discount 0) bootstraps from
			 * nothing: its next value is not read at all, so not
			 * even a non-finite one leaks in (0 * inf is NaN). */
			double nvj = d != 0.0 ? nv[j] : 0.0;
			double delta = crho * (r + d * nvj - vt);
			double vs_next = v_up && keep ? v_up[j] + acc[j] : nvj;
			pg_adv[row + j] = (float)(pgr * (r + d * vs_next - vt));
			acc[j] = delta + (keep ? d * c * acc[j] : 0.0);
			vs[row + j] = (float)(vt + acc[j]);
		}
	}
}

void im_vtrace(float *vs, float *pg_adv, const float *log_rhos,
	       const float *discounts, const float *rewards,
	       const float *values, const float *next_values,
	       const uint8_t *cut, int T, int B, const im_vtrace_opts *o)
{
	for (int b0 = 0; b0 < B; b0 += VT_CHUNK) {
		int nb = B - b0 < VT_CHUNK ? B - b0 : VT_CHUNK;
		vtrace_cols(vs, pg_adv, log_rhos, discounts, rewards, values,
			    next_values, cut, T, B, b0, nb, o);
	}
}
