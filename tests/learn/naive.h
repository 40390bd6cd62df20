// SPDX-License-Identifier: Apache-2.0
/* Naive double-precision references for the learning-rule tests, written
 * straight from the formulas (DESIGN.md section 3), sharing no code with
 * common/learn.  V-trace here uses the explicit sum
 *   vs_t = V_t + sum_{s >= t} (prod_{i = t}^{s-1} discount_i c_i (1 - cut_i))
 *                * delta_s,
 * not the backward recursion the library uses, so the two are independent.
 * Arrays are [T, B] time-major. */
#ifndef TEST_LEARN_NAIVE_H
#define TEST_LEARN_NAIVE_H

#include <math.h>
#include <stdint.h>

typedef struct naive_vt {
	double rho_bar, c_bar, pg_rho_bar, lambda;
} naive_vt;

static inline double naive_min(double a, double b)
{
	return a < b ? a : b;
}

static inline void naive_vtrace(double *vs, double *pg_adv, const double *log_rhos,
				const double *disc, const double *rew,
				const double *val, const double *next_val,
				const uint8_t *cut, int T, int B, naive_vt o)
{
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++) {
			double sum = 0.0, w = 1.0;
			for (int s = t; s < T; s++) {
				int k = s * B + b;
				double rho = exp(log_rhos[k]);
				double delta = naive_min(o.rho_bar, rho) *
					       (rew[k] + disc[k] * next_val[k] -
						val[k]);
				sum += w * delta;
				w *= disc[k] * o.lambda *
				     naive_min(o.c_bar, rho) *
				     (cut && cut[k] ? 0.0 : 1.0);
			}
			vs[t * B + b] = val[t * B + b] + sum;
		}
	for (int t = 0; t < T; t++)
		for (int b = 0; b < B; b++) {
			int k = t * B + b;
			int inner = t < T - 1 && !(cut && cut[k]);
			double vnext = inner ? vs[k + B] : next_val[k];
			double rho = exp(log_rhos[k]);
			pg_adv[k] = naive_min(o.pg_rho_bar, rho) *
				    (rew[k] + disc[k] * vnext - val[k]);
		}
}

/* log pi(a) and entropy of a categorical, in double. */
static inline void naive_cat(double *logp, double *ent, const double *l, int n,
			     int a)
{
	double m = l[0], s = 0.0, h = 0.0;
	for (int j = 1; j < n; j++)
		m = l[j] > m ? l[j] : m;
	for (int j = 0; j < n; j++)
		s += exp(l[j] - m);
	double lse = m + log(s);
	for (int j = 0; j < n; j++)
		h -= exp(l[j] - lse) * (l[j] - lse);
	*logp = l[a] - lse;
	*ent = h;
}

/* log N(a; mean, exp(log_std)^2) summed over D, and the entropy. */
static inline void naive_gauss(double *logp, double *ent, const double *mean,
			       const double *log_std, const double *a, int D)
{
	double lp = 0.0, h = 0.0;
	for (int d = 0; d < D; d++) {
		double sd = exp(log_std[d]);
		double z = (a[d] - mean[d]) / sd;
		lp += -0.5 * z * z - log(sd) - 0.5 * log(2.0 * M_PI);
		h += 0.5 + 0.5 * log(2.0 * M_PI) + log(sd);
	}
	*logp = lp;
	*ent = h;
}

static inline double rel_err(double got, double want)
{
	return fabs(got - want) / fmax(1.0, fabs(want));
}

#endif
