// SPDX-License-Identifier: Apache-2.0
/* Temporally extended exploration (actor/explore.h): the behaviour
 * log-probability of every step (the mixture at a free step, log 1 while
 * holding), how often holds start and how long they last, an episode end
 * cutting a hold, eps 0 leaving the policy's samples untouched, and bad
 * options refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "err.h"
#include "explore.h"
#include "learn/dist.h"
#include "rng.h"

enum { K = 4,
       N = 3 };

static const float logits[K * N] = {
	2.0f,
	0.0f,
	-1.0f,
	0.0f,
	0.0f,
	0.0f,
	-3.0f,
	1.0f,
	0.5f,
	0.2f,
	0.1f,
	4.0f,
};

/* log((1 - eps) pi(a) + eps / n), in double: the reference. */
static double mixture_logp(int i, int a, double eps)
{
	double m = -INFINITY, s = 0.0;
	for (int j = 0; j < N; j++)
		m = fmax(m, logits[i * N + j]);
	for (int j = 0; j < N; j++)
		s += exp(logits[i * N + j] - m);
	double pi = exp(logits[i * N + a] - m) / s;
	return log((1.0 - eps) * pi + eps / N);
}

/* Named cases: over many steps, every step's log-probability is the
 * behaviour's, holds start at about eps of the free steps and last
 * about `hold` steps. */
typedef struct run_case {
	const char *name;
	double eps, hold;
} run_case;

static const run_case run_cases[] = {
	{"rare long holds", 0.05, 20.0},
	{"frequent short holds", 0.5, 3.0},
	{"holds of one step", 0.2, 1.0},
	{"always exploring", 1.0, 5.0},
};

static void run_one(const run_case *c)
{
	im_explore *x;
	im_explore_opts o = {c->eps, c->hold};
	assert_int_equal(im_explore_new(&x, &o, K, N), IM_OK);
	im_rng rng;
	im_rng_init(&rng, 99);
	long free_steps = 0, starts = 0, held_steps = 0;
	int32_t prev_held[K] = {0};
	enum { STEPS = 40000 };
	for (int step = 0; step < STEPS; step++) {
		int32_t a[K];
		float lp[K];
		uint64_t before[K];
		im_dist_cat_sample(a, lp, logits, K, N, &rng);
		for (int i = 0; i < K; i++)
			before[i] = im_explore_left(x, i);
		im_explore_apply(x, a, lp, logits, &rng);
		for (int i = 0; i < K; i++) {
			assert_true(a[i] >= 0 && a[i] < N);
			if (before[i] > 0) {
				/* Holding: the held action, probability 1. */
				assert_int_equal(a[i], prev_held[i]);
				assert_true(lp[i] == 0.0f);
				assert_int_equal(im_explore_left(x, i),
						 before[i] - 1);
				held_steps++;
				continue;
			}
			free_steps++;
			double want = mixture_logp(i, a[i], c->eps);
			if (fabs(lp[i] - want) > 1e-5 * fmax(1.0, fabs(want)))
				fail_msg("%s: step %d env %d action %d: logp %.7g, "
					 "want %.7g",
					 c->name, step, i, a[i],
					 (double)lp[i], want);
			if (im_explore_left(x, i) > 0 || c->hold == 1.0) {
				/* A hold of one step leaves nothing to hold, so it
				 * cannot be told from a free step: not counted. */
				starts += im_explore_left(x, i) > 0;
				prev_held[i] = a[i];
			}
		}
	}
	if (c->hold > 1.0) {
		/* A start is seen when its hold is longer than 1: with
		 * P(L > 1) = 1 - 1/hold.  Each hold of L steps takes L - 1
		 * further steps, mean hold - 1. */
		double p_start = c->eps * (1.0 - 1.0 / c->hold);
		double rate = (double)starts / (double)free_steps;
		if (fabs(rate - p_start) > 0.1 * p_start)
			fail_msg("%s: holds started at %.4f of free steps, want "
				 "%.4f",
				 c->name, rate, p_start);
		/* Mean further steps per seen hold: (hold - 1) / P(L > 1). */
		double per = (double)held_steps / (double)starts;
		double want = (c->hold - 1.0) / (1.0 - 1.0 / c->hold);
		if (fabs(per - want) > 0.1 * want)
			fail_msg("%s: %.2f held steps per hold, want %.2f",
				 c->name, per, want);
	} else {
		assert_int_equal(held_steps, 0);
	}
	im_explore_free(x);
}

static void test_behaviour_and_holds(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof run_cases / sizeof run_cases[0]; c++)
		run_one(&run_cases[c]);
}

/* eps 0: the policy's samples and log-probabilities pass unchanged. */
static void test_eps_zero_is_the_policy(void **state)
{
	(void)state;
	im_explore *x;
	im_explore_opts o = {0.0, 20.0};
	assert_int_equal(im_explore_new(&x, &o, K, N), IM_OK);
	im_rng rng;
	im_rng_init(&rng, 5);
	for (int step = 0; step < 1000; step++) {
		int32_t a[K], a0[K];
		float lp[K], lp0[K];
		im_dist_cat_sample(a, lp, logits, K, N, &rng);
		memcpy(a0, a, sizeof a);
		memcpy(lp0, lp, sizeof lp);
		im_explore_apply(x, a, lp, logits, &rng);
		assert_memory_equal(a, a0, sizeof a);
		for (int i = 0; i < K; i++)
			assert_true(fabsf(lp[i] - lp0[i]) < 1e-5f);
	}
	im_explore_free(x);
}

/* An episode's end cuts its environment's hold, and only that one. */
static void test_episode_end_cuts_hold(void **state)
{
	(void)state;
	im_explore *x;
	im_explore_opts o = {1.0, 1e5};
	assert_int_equal(im_explore_new(&x, &o, K, N), IM_OK);
	im_rng rng;
	im_rng_init(&rng, 7);
	int32_t a[K] = {0};
	float lp[K] = {0};
	im_explore_apply(x, a, lp, logits, &rng);
	for (int i = 0; i < K; i++)
		assert_true(im_explore_left(x, i) > 100);
	im_explore_end(x, 2);
	assert_int_equal(im_explore_left(x, 2), 0);
	assert_true(im_explore_left(x, 1) > 100);
	im_explore_free(x);
}

static void test_bad_options(void **state)
{
	(void)state;
	im_explore *x = NULL;
	const im_explore_opts bad[] = {
		{-0.1, 20.0},
		{1.5, 20.0},
		{NAN, 20.0},
		{0.1, 0.5},
		{0.1, NAN},
		{0.1, INFINITY},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(im_explore_new(&x, &bad[i], K, N), IM_EINVAL);
	im_explore_opts ok = {0.1, 20.0};
	assert_int_equal(im_explore_new(&x, &ok, 0, N), IM_EINVAL);
	assert_int_equal(im_explore_new(&x, &ok, K, 0), IM_EINVAL);
	assert_null(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_behaviour_and_holds),
		cmocka_unit_test(test_eps_zero_is_the_policy),
		cmocka_unit_test(test_episode_end_cuts_hold),
		cmocka_unit_test(test_bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
