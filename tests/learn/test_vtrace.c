// SPDX-License-Identifier: Apache-2.0
/* V-trace equals the naive double-precision explicit sum on random inputs
 * with terminal and truncated steps and importance ratios far from 1, for
 * several clipping settings, and handles truncation and termination as the
 * hand formulas say. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "naive.h"
#include "rng.h"
#include "learn/vtrace.h"

typedef struct vt_case {
	int T, B;
	float *log_rhos, *disc, *rew, *val, *next_val, *vs, *adv;
	uint8_t *cut;
} vt_case;

static void case_alloc(vt_case *c, int T, int B)
{
	size_t n = (size_t)T * B;
	c->T = T;
	c->B = B;
	c->log_rhos = calloc(n, sizeof(float));
	c->disc = calloc(n, sizeof(float));
	c->rew = calloc(n, sizeof(float));
	c->val = calloc(n, sizeof(float));
	c->next_val = calloc(n, sizeof(float));
	c->vs = calloc(n, sizeof(float));
	c->adv = calloc(n, sizeof(float));
	c->cut = calloc(n, 1);
	assert_non_null(c->cut);
}

static void case_free(vt_case *c)
{
	free(c->log_rhos);
	free(c->disc);
	free(c->rew);
	free(c->val);
	free(c->next_val);
	free(c->vs);
	free(c->adv);
	free(c->cut);
}

/* Random unrolls: about 1 in 8 steps terminal, 1 in 8 truncated; the log
 * ratios span [-3, 3] so that every clip is active somewhere.  Values of
 * step t+1 feed next_values of step t except at truncations, where the
 * "final observation" gets its own value. */
static void case_fill(vt_case *c, uint64_t seed)
{
	im_rng r;
	im_rng_init(&r, seed);
	int T = c->T, B = c->B;
	for (int k = 0; k < T * B; k++)
		c->val[k] = im_rng_uniform(&r, -2.0f, 2.0f);
	for (int k = 0; k < T * B; k++) {
		int t = k / B;
		int term = im_rng_below(&r, 8) == 0;
		/* Both flags at once happen too (a time limit on the
		 * terminal step): the formulas treat it as terminal. */
		c->cut[k] = im_rng_below(&r, 8) == 0;
		c->disc[k] = term ? 0.0f : 0.99f;
		c->rew[k] = im_rng_uniform(&r, -1.5f, 1.5f);
		c->log_rhos[k] = im_rng_uniform(&r, -3.0f, 3.0f);
		int own = c->cut[k] || t == T - 1;
		c->next_val[k] = own ? im_rng_uniform(&r, -2.0f, 2.0f)
				     : c->val[k + B];
	}
}

static void check_against_naive(vt_case *c, const im_vtrace_opts *o)
{
	size_t n = (size_t)c->T * c->B;
	double *d[7], *vs = calloc(n, sizeof(double));
	double *adv = calloc(n, sizeof(double));
	const float *src[5] = {c->log_rhos, c->disc, c->rew, c->val,
			       c->next_val};
	for (int i = 0; i < 5; i++) {
		d[i] = calloc(n, sizeof(double));
		for (size_t k = 0; k < n; k++)
			d[i][k] = src[i][k];
	}
	naive_vt nv = {o->rho_bar, o->c_bar, o->pg_rho_bar, o->lambda};
	naive_vtrace(vs, adv, d[0], d[1], d[2], d[3], d[4], c->cut, c->T,
		     c->B, nv);
	im_vtrace(c->vs, c->adv, c->log_rhos, c->disc, c->rew, c->val,
		  c->next_val, c->cut, c->T, c->B, o);
	for (size_t k = 0; k < n; k++) {
		if (rel_err(c->vs[k], vs[k]) > 2e-6 ||
		    rel_err(c->adv[k], adv[k]) > 2e-6)
			fail_msg("k=%zu vs %.9g want %.9g, adv %.9g want %.9g",
				 k, c->vs[k], vs[k], c->adv[k], adv[k]);
	}
	for (int i = 0; i < 5; i++)
		free(d[i]);
	free(vs);
	free(adv);
}

static void test_random_against_naive(void **state)
{
	(void)state;
	const im_vtrace_opts opts[] = {
		{1.0f, 1.0f, 1.0f, 1.0f},
		{2.0f, 0.5f, 1.5f, 1.0f},
		{1.0f, 1.0f, 1.0f, 0.9f},
		{0.5f, 2.0f, 0.8f, 0.6f},
		{100.0f, 100.0f, 100.0f, 1.0f}, /* no clipping at all */
	};
	/* B = 70 crosses the library's 64-column chunks. */
	const int shapes[][2] = {{1, 1}, {5, 3}, {20, 7}, {80, 70}};
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
		for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
			vt_case c;
			case_alloc(&c, shapes[s][0], shapes[s][1]);
			case_fill(&c, 1000 + 10 * s + i);
			check_against_naive(&c, &opts[i]);
			case_free(&c);
		}
}

/* T = 3, B = 1 by hand with rho = 1 everywhere (so every weight is 1):
 * a truncation at t = 1 bootstraps from its own next value and stops the
 * recursion; vs_0 still looks through to vs_1. */
static void test_truncation_by_hand(void **state)
{
	(void)state;
	vt_case c;
	case_alloc(&c, 3, 1);
	float g = 0.9f;
	float V[3] = {1.0f, 2.0f, 3.0f}, R[3] = {0.5f, 1.0f, -1.0f};
	float NV[3] = {2.0f, 10.0f, 4.0f}; /* 10 = V(final obs) at the cut */
	for (int t = 0; t < 3; t++) {
		c.val[t] = V[t];
		c.rew[t] = R[t];
		c.next_val[t] = NV[t];
		c.disc[t] = g;
	}
	c.cut[1] = 1;
	im_vtrace_opts o = im_vtrace_defaults();
	im_vtrace(c.vs, c.adv, c.log_rhos, c.disc, c.rew, c.val, c.next_val,
		  c.cut, 3, 1, &o);
	double d2 = R[2] + g * NV[2] - V[2];
	double d1 = R[1] + g * NV[1] - V[1];
	double d0 = R[0] + g * NV[0] - V[0];
	assert_float_equal(c.vs[2], V[2] + d2, 1e-5);
	assert_float_equal(c.vs[1], V[1] + d1, 1e-5); /* no d2: cut */
	assert_float_equal(c.vs[0], V[0] + d0 + g * d1, 1e-5);
	assert_float_equal(c.adv[1], R[1] + g * NV[1] - V[1], 1e-5);
	assert_float_equal(c.adv[0], R[0] + g * c.vs[1] - V[0], 1e-5);
	assert_float_equal(c.adv[2], R[2] + g * NV[2] - V[2], 1e-5);
	case_free(&c);
}

/* A terminal step: no bootstrap and no look-through, whatever next_values
 * holds; clipping of rho and of c as the formulas say. */
static void test_terminal_and_clipping_by_hand(void **state)
{
	(void)state;
	vt_case c;
	case_alloc(&c, 2, 1);
	c.val[0] = 1.0f;
	c.val[1] = -1.0f;
	c.rew[0] = 2.0f;
	c.rew[1] = 3.0f;
	c.next_val[0] = -1.0f;
	c.next_val[1] = 100.0f; /* after a terminal: must not matter */
	c.disc[0] = 0.5f;
	c.disc[1] = 0.0f;
	c.log_rhos[0] = logf(3.0f); /* rho 3: clipped to rho_bar / c_bar */
	c.log_rhos[1] = logf(0.25f);
	im_vtrace_opts o = {2.0f, 1.5f, 1.2f, 0.5f};
	im_vtrace(c.vs, c.adv, c.log_rhos, c.disc, c.rew, c.val, c.next_val,
		  c.cut, 2, 1, &o);
	double d1 = 0.25 * (3.0 - -1.0);
	double d0 = 2.0 * (2.0 + 0.5 * -1.0 - 1.0);
	double c0 = 0.5 * 1.5;
	assert_float_equal(c.vs[1], -1.0 + d1, 1e-6);
	assert_float_equal(c.vs[0], 1.0 + d0 + 0.5 * c0 * d1, 1e-6);
	assert_float_equal(c.adv[1], 0.25 * (3.0 - -1.0), 1e-6);
	assert_float_equal(c.adv[0], 1.2 * (2.0 + 0.5 * c.vs[1] - 1.0), 1e-6);
	case_free(&c);
}

/* torchbeast's from_importance_weights, transcribed in double: values of
 * t+1 are values[1:] followed by bootstrap_value, the recursion runs
 * backwards with cs = min(1, rho), pg advantages use vs[1:] followed by
 * the bootstrap. */
static void torchbeast_ref(double *vs, double *adv, const vt_case *c,
			   const double *bootstrap)
{
	int T = c->T, B = c->B;
	for (int b = 0; b < B; b++) {
		double acc = 0.0;
		for (int t = T - 1; t >= 0; t--) {
			int k = t * B + b;
			double rho = exp(c->log_rhos[k]);
			double v1 = t + 1 < T ? c->val[k + B] : bootstrap[b];
			double delta = naive_min(1.0, rho) *
				       (c->rew[k] + c->disc[k] * v1 - c->val[k]);
			acc = delta + c->disc[k] * naive_min(1.0, rho) * acc;
			vs[k] = acc + c->val[k];
		}
		for (int t = 0; t < T; t++) {
			int k = t * B + b;
			double rho = exp(c->log_rhos[k]);
			double vs1 = t + 1 < T ? vs[k + B] : bootstrap[b];
			adv[k] = naive_min(1.0, rho) *
				 (c->rew[k] + c->disc[k] * vs1 - c->val[k]);
		}
	}
}

/* With no cuts, and next_values = values shifted by one step except at the
 * end, the result is torchbeast's with bootstrap_value = next_values[T-1]. */
static void test_equals_torchbeast_without_cuts(void **state)
{
	(void)state;
	vt_case c;
	case_alloc(&c, 9, 4);
	case_fill(&c, 7);
	int T = 9, B = 4;
	double boot[4], vs[36], adv[36];
	for (int k = 0; k < T * B; k++) {
		c.cut[k] = 0;
		if (k < (T - 1) * B)
			c.next_val[k] = c.val[k + B];
	}
	for (int b = 0; b < B; b++)
		boot[b] = c.next_val[(T - 1) * B + b];
	torchbeast_ref(vs, adv, &c, boot);
	im_vtrace_opts o = im_vtrace_defaults();
	im_vtrace(c.vs, c.adv, c.log_rhos, c.disc, c.rew, c.val, c.next_val,
		  c.cut, T, B, &o);
	for (int k = 0; k < T * B; k++) {
		assert_true(rel_err(c.vs[k], vs[k]) < 2e-6);
		assert_true(rel_err(c.adv[k], adv[k]) < 2e-6);
	}
	case_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_against_naive),
		cmocka_unit_test(test_truncation_by_hand),
		cmocka_unit_test(test_terminal_and_clipping_by_hand),
		cmocka_unit_test(test_equals_torchbeast_without_cuts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
