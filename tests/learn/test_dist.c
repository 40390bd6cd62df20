// SPDX-License-Identifier: Apache-2.0
/* The policy distributions: log-probabilities and entropies equal the hand
 * formulas (in double), gradients equal central finite differences, and
 * sampling follows the distribution it samples. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learn/dist.h"
#include "learn/fastmath.h"
#include "naive.h"
#include "rng.h"

#define ROWS 7
#define N 5

static void random_logits(float *l, int n, im_rng *r, float scale)
{
	for (int i = 0; i < n; i++)
		l[i] = scale * (float)im_rng_normal(r);
}

static void test_cat_against_formulas(void **state)
{
	(void)state;
	im_rng r;
	im_rng_init(&r, 1);
	float l[ROWS * N], logp[ROWS], ent[ROWS], lsm[N];
	int32_t a[ROWS];
	random_logits(l, ROWS * N, &r, 3.0f);
	l[0] = 80.0f; /* large logits must not overflow */
	l[1] = -80.0f;
	for (int i = 0; i < ROWS; i++)
		a[i] = (int32_t)im_rng_below(&r, N);
	im_dist_cat_log_prob(logp, l, a, ROWS, N);
	im_dist_cat_entropy(ent, l, ROWS, N);
	for (int i = 0; i < ROWS; i++) {
		double dl[N], lp, h;
		for (int j = 0; j < N; j++)
			dl[j] = l[i * N + j];
		naive_cat(&lp, &h, dl, N, a[i]);
		assert_true(rel_err(logp[i], lp) < 1e-5);
		assert_true(rel_err(ent[i], h) < 1e-5);
		im_dist_cat_log_softmax(lsm, l + i * N, N);
		double s = 0.0;
		for (int j = 0; j < N; j++)
			s += exp(lsm[j]);
		assert_float_equal(s, 1.0, 1e-5);
		assert_float_equal(lsm[a[i]], logp[i], 1e-6);
	}
	int32_t bad[2] = {-1, N};
	im_dist_cat_log_prob(logp, l, bad, 2, N);
	assert_true(isinf(logp[0]) && logp[0] < 0 && isinf(logp[1]));
}

static void test_gauss_against_formulas(void **state)
{
	(void)state;
	im_rng r;
	im_rng_init(&r, 2);
	float mean[ROWS * 3], ls[3] = {-1.0f, 0.0f, 0.7f}, act[ROWS * 3];
	float logp[ROWS];
	random_logits(mean, ROWS * 3, &r, 1.0f);
	random_logits(act, ROWS * 3, &r, 2.0f);
	im_dist_gauss_log_prob(logp, mean, ls, act, ROWS, 3);
	double dls[3] = {ls[0], ls[1], ls[2]}, lp, h = 0.0;
	for (int i = 0; i < ROWS; i++) {
		double dm[3], da[3];
		for (int d = 0; d < 3; d++) {
			dm[d] = mean[i * 3 + d];
			da[d] = act[i * 3 + d];
		}
		naive_gauss(&lp, &h, dm, dls, da, 3);
		assert_true(rel_err(logp[i], lp) < 1e-5);
	}
	assert_true(rel_err(im_dist_gauss_entropy(ls, 3), h) < 1e-6);
}

/* f(x) = sum_r cl[r] log pi_r + ce[r] H_r, evaluated with the library's
 * forward; its central differences must match the backward. */
static double cat_objective(const float *l, const int32_t *a,
			    const float *cl, const float *ce)
{
	float logp[ROWS], ent[ROWS];
	im_dist_cat_logp_entropy(logp, ent, l, a, ROWS, N);
	double f = 0.0;
	for (int i = 0; i < ROWS; i++)
		f += (double)cl[i] * logp[i] + (double)ce[i] * ent[i];
	return f;
}

static void test_cat_gradient_fd(void **state)
{
	(void)state;
	im_rng r;
	im_rng_init(&r, 3);
	float l[ROWS * N], cl[ROWS], ce[ROWS], g[ROWS * N];
	int32_t a[ROWS];
	random_logits(l, ROWS * N, &r, 1.5f);
	random_logits(cl, ROWS, &r, 1.0f);
	random_logits(ce, ROWS, &r, 1.0f);
	for (int i = 0; i < ROWS; i++)
		a[i] = (int32_t)im_rng_below(&r, N);
	for (int i = 0; i < ROWS * N; i++)
		g[i] = 0.25f; /* backward accumulates: start non-zero */
	im_dist_cat_backward(g, l, a, cl, ce, ROWS, N);
	const float h = 1e-2f;
	for (int i = 0; i < ROWS * N; i++) {
		float x = l[i];
		l[i] = x + h;
		double fp = cat_objective(l, a, cl, ce);
		l[i] = x - h;
		double fm = cat_objective(l, a, cl, ce);
		l[i] = x;
		double fd = (fp - fm) / (2.0 * h);
		if (fabs(g[i] - 0.25 - fd) > 2e-3)
			fail_msg("dlogits[%d] = %g, finite difference %g", i,
				 g[i] - 0.25, fd);
	}
}

static double gauss_objective(const float *mean, const float *ls,
			      const float *act, const float *cl,
			      const float *ce, int D)
{
	float logp[ROWS];
	im_dist_gauss_log_prob(logp, mean, ls, act, ROWS, D);
	double h = im_dist_gauss_entropy(ls, D), f = 0.0;
	for (int i = 0; i < ROWS; i++)
		f += (double)cl[i] * logp[i] + (double)ce[i] * h;
	return f;
}

static void fd_check(float *x, const float *g, int n, const char *what,
		     const float *mean, const float *ls, const float *act,
		     const float *cl, const float *ce, int D)
{
	const float h = 1e-2f;
	for (int i = 0; i < n; i++) {
		float x0 = x[i];
		x[i] = x0 + h;
		double fp = gauss_objective(mean, ls, act, cl, ce, D);
		x[i] = x0 - h;
		double fm = gauss_objective(mean, ls, act, cl, ce, D);
		x[i] = x0;
		double fd = (fp - fm) / (2.0 * h);
		if (fabs(g[i] - fd) > 3e-3 * fmax(1.0, fabs(fd)))
			fail_msg("%s[%d] = %g, finite difference %g", what, i,
				 g[i], fd);
	}
}

static void test_gauss_gradient_fd(void **state)
{
	(void)state;
	im_rng r;
	im_rng_init(&r, 4);
	enum { D = 3 };
	float mean[ROWS * D], act[ROWS * D], ls[D] = {-0.5f, 0.1f, 0.4f};
	float cl[ROWS], ce[ROWS], gm[ROWS * D], gls[D];
	random_logits(mean, ROWS * D, &r, 1.0f);
	random_logits(act, ROWS * D, &r, 1.0f);
	random_logits(cl, ROWS, &r, 1.0f);
	random_logits(ce, ROWS, &r, 1.0f);
	memset(gm, 0, sizeof(gm));
	memset(gls, 0, sizeof(gls));
	im_dist_gauss_backward(gm, gls, mean, ls, act, cl, ce, ROWS, D);
	fd_check(mean, gm, ROWS * D, "dmean", mean, ls, act, cl, ce, D);
	fd_check(ls, gls, D, "dlog_std", mean, ls, act, cl, ce, D);
}

/* 200000 draws: each frequency within 5 standard errors of its
 * probability; an action of probability 0 never drawn; the returned
 * log-probability equals log_prob's. */
static void test_cat_sampling(void **state)
{
	(void)state;
	im_rng r;
	im_rng_init(&r, 5);
	float l[4] = {0.5f, -1.0f, 2.0f, -INFINITY}, lsm[4];
	im_dist_cat_log_softmax(lsm, l, 4);
	enum { DRAWS = 200000,
	       K = 16 };
	float rows[K * 4], logp[K], check[K];
	for (int i = 0; i < K; i++)
		memcpy(rows + i * 4, l, sizeof(l));
	int count[4] = {0};
	int32_t a[K];
	for (int it = 0; it < DRAWS / K; it++) {
		im_dist_cat_sample(a, logp, rows, K, 4, &r);
		im_dist_cat_log_prob(check, rows, a, K, 4);
		for (int i = 0; i < K; i++) {
			assert_true(a[i] >= 0 && a[i] < 3);
			assert_float_equal(logp[i], check[i], 1e-6);
			count[a[i]]++;
		}
	}
	for (int j = 0; j < 3; j++) {
		double p = exp(lsm[j]), se = sqrt(p * (1 - p) / DRAWS);
		assert_true(fabs((double)count[j] / DRAWS - p) < 5 * se);
	}
}

/* Sampling in blocks of rows and, for rows wider than the stack block, one
 * row at a time: actions in range, log-probabilities equal log_prob's. */
static void test_cat_sampling_shapes(void **state)
{
	(void)state;
	im_rng r;
	im_rng_init(&r, 12);
	const int shapes[][2] = {{300, 7}, {3, 1500}, {5, 1}};
	for (int s = 0; s < 3; s++) {
		int rows = shapes[s][0], n = shapes[s][1];
		float *l = malloc(sizeof(float) * rows * n);
		float *lp = malloc(sizeof(float) * rows);
		float *chk = malloc(sizeof(float) * rows);
		int32_t *a = malloc(sizeof(int32_t) * rows);
		random_logits(l, rows * n, &r, 2.0f);
		im_dist_cat_sample(a, lp, l, rows, n, &r);
		im_dist_cat_log_prob(chk, l, a, rows, n);
		for (int i = 0; i < rows; i++) {
			assert_true(a[i] >= 0 && a[i] < n);
			assert_float_equal(lp[i], chk[i],
					   1e-5 * fmax(1, fabs(chk[i])));
		}
		free(l);
		free(lp);
		free(chk);
		free(a);
	}
}

static void test_gauss_sampling(void **state)
{
	(void)state;
	im_rng r;
	im_rng_init(&r, 6);
	enum { D = 2,
	       DRAWS = 100000 };
	float mean[D] = {1.0f, -2.0f}, ls[D] = {-1.0f, 0.5f};
	double s[D] = {0}, s2[D] = {0};
	for (int it = 0; it < DRAWS; it++) {
		float act[D], logp, check;
		im_dist_gauss_sample(act, &logp, mean, ls, 1, D, &r);
		im_dist_gauss_log_prob(&check, mean, ls, act, 1, D);
		assert_true(fabs(logp - check) < 1e-4 * fmax(1, fabs(check)));
		for (int d = 0; d < D; d++) {
			s[d] += act[d];
			s2[d] += (act[d] - mean[d]) * (act[d] - mean[d]);
		}
	}
	for (int d = 0; d < D; d++) {
		double sd = exp(ls[d]);
		assert_true(fabs(s[d] / DRAWS - mean[d]) < 5 * sd / sqrt(DRAWS));
		/* The variance estimate's standard error is sd^2 sqrt(2/n). */
		assert_true(fabs(s2[d] / DRAWS - sd * sd) <
			    5 * sd * sd * sqrt(2.0 / DRAWS));
	}
}

/* The vectorised exp against exp() in double over its whole range. */
static void test_fast_expf(void **state)
{
	(void)state;
	enum { M = 200001 };
	static float x[M], y[M];
	for (int i = 0; i < M; i++)
		y[i] = x[i] = -87.0f + 175.0f * (float)i / (M - 1);
	im_fastmath_expf(y, M);
	double worst = 0.0;
	for (int i = 0; i < M; i++) {
		double want = exp((double)x[i]);
		worst = fmax(worst, fabs(y[i] - want) / want);
	}
	if (worst > 2e-7)
		fail_msg("worst relative error %g", worst);
	float out[4] = {0.0f, -100.0f, -INFINITY, 1.0f};
	im_fastmath_expf(out, 4);
	assert_true(out[0] == 1.0f && out[1] == 0.0f && out[2] == 0.0f);
	assert_float_equal(out[3], 2.718281828, 1e-6);
}

/* The top of the range, where round(x / ln 2) reaches 128 and 2^128 is not
 * a float (from x = 88.38): e^x is still finite up to 88.72, and inputs
 * above the clamp give e^88.7, as the header says. */
static void test_fast_expf_top(void **state)
{
	(void)state;
	enum { M = 1001 };
	static float x[M], y[M];
	for (int i = 0; i < M; i++)
		y[i] = x[i] = 88.0f + 0.7f * (float)i / (M - 1);
	im_fastmath_expf(y, M);
	for (int i = 0; i < M; i++) {
		double want = exp((double)x[i]);
		if (!(fabs(y[i] - want) / want <= 2e-7))
			fail_msg("exp(%.9g) gave %g, want %g", x[i], y[i], want);
	}
	float big[3] = {88.7f, 89.0f, INFINITY};
	im_fastmath_expf(big, 3);
	assert_true(isfinite(big[0]));
	assert_true(big[1] == big[0] && big[2] == big[0]);
}

/* The loss's many-row path equals the plain per-row functions. */
static void test_cat_rows_equal_plain(void **state)
{
	(void)state;
	im_rng r;
	im_rng_init(&r, 8);
	enum { RR = 300,
	       NN = 7 };
	static float l[RR * NN], scratch[RR * NN], g1[RR * NN], g2[RR * NN];
	float lp1[RR], lp2[RR], h1[RR], h2[RR], lse[RR], cl[RR], ce[RR];
	int32_t a[RR];
	random_logits(l, RR * NN, &r, 4.0f);
	random_logits(cl, RR, &r, 1.0f);
	random_logits(ce, RR, &r, 1.0f);
	l[3] = -INFINITY; /* a masked action */
	for (int i = 0; i < RR; i++)
		a[i] = (int32_t)im_rng_below(&r, NN);
	a[0] = 0;
	im_dist_cat_logp_entropy(lp1, h1, l, a, RR, NN);
	im_dist_cat_forward_rows(lp2, h2, lse, scratch, l, a, RR, NN);
	memset(g1, 0, sizeof(g1));
	im_dist_cat_backward(g1, l, a, cl, ce, RR, NN);
	memset(g2, 0x7f, sizeof(g2)); /* written, not accumulated */
	im_dist_cat_backward_rows(g2, scratch, l, lse, h2, a, cl, ce, RR, NN);
	for (int i = 0; i < RR; i++) {
		double s = 0.0;
		for (int j = 0; j < NN; j++)
			s += scratch[i * NN + j];
		assert_float_equal(s, 1.0, 1e-6); /* the softmax */
	}
	/* In place, as the loss calls it. */
	im_dist_cat_backward_rows(scratch, scratch, l, lse, h2, a, cl, ce, RR,
				  NN);
	assert_memory_equal(scratch, g2, sizeof(g2));
	for (int i = 0; i < RR; i++) {
		assert_float_equal(lp1[i], lp2[i], 2e-6 * fmax(1, fabs(lp1[i])));
		assert_float_equal(h1[i], h2[i], 2e-6);
		assert_float_equal(lse[i] + lp2[i], l[i * NN + a[i]],
				   2e-6 * fmax(1, fabs(lse[i])));
	}
	for (int i = 0; i < RR * NN; i++)
		assert_float_equal(g1[i], g2[i], 2e-6 * fmax(1, fabs(g1[i])));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cat_against_formulas),
		cmocka_unit_test(test_gauss_against_formulas),
		cmocka_unit_test(test_cat_gradient_fd),
		cmocka_unit_test(test_gauss_gradient_fd),
		cmocka_unit_test(test_cat_sampling),
		cmocka_unit_test(test_cat_sampling_shapes),
		cmocka_unit_test(test_gauss_sampling),
		cmocka_unit_test(test_fast_expf),
		cmocka_unit_test(test_fast_expf_top),
		cmocka_unit_test(test_cat_rows_equal_plain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
