// SPDX-License-Identifier: Apache-2.0
/* The MinAtar games under a uniformly random policy match MinAtar itself.
 *
 * Each case plays 1,000 episodes of MinAtar/NAME-v0 (six actions, sticky
 * 0.1, ramping on) with random actions and compares the mean return and
 * the mean episode length with the figures MinAtar 1.0.15 produced under
 * the same policy, measured on this machine by
 *     PYTHONPATH=/path/to/MinAtar /usr/bin/python3 \
 *         tests/env/minatar_random_stats.py --episodes 1000 --seed 1
 * and typed in below (MinAtar is not needed to run this test).
 *
 * Tolerance: the two means come from independent samples, so their
 * difference has standard error sqrt(sd_minatar^2 / n + sd_ours^2 / n);
 * a case fails when the difference exceeds 4 such standard errors (a
 * correct game fails with probability about 6e-5 per figure; our seed is
 * fixed, so the outcome does not change from run to run).  A rule broken
 * in a way that changes how long a random player survives or scores moves
 * a mean by far more: e.g. Breakout without the paddle's corner bounce,
 * Freeway without collisions (return 5.2 against 0.12, 86 se), Asterix
 * without gold.  It is blind to rules a random player rarely reaches:
 * Seaquest without the oxygen limit still passes (a random sub is shot
 * long before its 200 frames of oxygen run out); the scenario tests
 * (test_minatar_*.c) hold those. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>

#include "env/env.h"
#include "rng.h"

#define EPISODES 1000

typedef struct figures {
	double ret_mean, ret_std, len_mean, len_std;
} figures;

typedef struct stats_case {
	const char *env;
	figures minatar; /* mean, std of return and length (1,000 episodes) */
} stats_case;

static const stats_case cases[] = {
	{"MinAtar/Breakout-v0", {0.536, 0.776340, 11.514, 8.179475}},
	{"MinAtar/Freeway-v0", {0.116, 0.344302, 2501.0, 0.0}},
	{"MinAtar/Asterix-v0", {0.529, 0.878157, 73.265, 45.039525}},
	{"MinAtar/Seaquest-v0", {0.110, 0.407308, 32.136, 38.878162}},
	{"MinAtar/SpaceInvaders-v0", {2.800, 2.309112, 49.492, 36.585078}},
};

static void mean_std(const double *x, int n, double *mean, double *std)
{
	double s = 0, ss = 0;
	for (int i = 0; i < n; i++)
		s += x[i];
	*mean = s / n;
	for (int i = 0; i < n; i++)
		ss += (x[i] - *mean) * (x[i] - *mean);
	*std = sqrt(ss / n);
}

static void play(const char *name, figures *f)
{
	static double ret[EPISODES], len[EPISODES];
	static uint8_t obs[10 * 10 * 10];
	im_env *e = NULL;
	assert_int_equal(im_env_make(&e, name, NULL, 0), 0);
	im_rng pick;
	im_rng_init(&pick, 7);
	assert_int_equal(im_env_reset(e, 1, obs), 0);
	for (int ep = 0; ep < EPISODES; ep++) {
		im_env_result r = {0};
		ret[ep] = 0;
		len[ep] = 0;
		while (!r.terminated && !r.truncated) {
			int32_t a = (int32_t)im_rng_below(&pick, 6);
			assert_int_equal(im_env_step(e, &a, obs, &r), 0);
			ret[ep] += r.reward;
			len[ep]++;
		}
		assert_int_equal(im_env_reset_next(e, obs), 0);
	}
	im_env_free(e);
	mean_std(ret, EPISODES, &f->ret_mean, &f->ret_std);
	mean_std(len, EPISODES, &f->len_mean, &f->len_std);
}

static void assert_close(const char *what, double ours, double ours_sd,
			 double theirs, double theirs_sd)
{
	double se = sqrt((ours_sd * ours_sd + theirs_sd * theirs_sd) /
			 EPISODES);
	printf("  %-6s ours %9.3f (sd %8.3f)  MinAtar %9.3f (sd %8.3f)  "
	       "diff %.2f se\n",
	       what, ours, ours_sd, theirs, theirs_sd,
	       se > 0 ? fabs(ours - theirs) / se : 0.0);
	if (!(fabs(ours - theirs) <= 4 * se)) {
		print_error("%s mean %.4f vs MinAtar's %.4f: more than 4 "
			    "standard errors (%.4f) apart\n",
			    what, ours,
			    theirs, se);
		fail();
	}
}

static void test_stats(void **state)
{
	const stats_case *c = *state;
	figures f;
	play(c->env, &f);
	printf("%s\n", c->env);
	assert_close("return", f.ret_mean, f.ret_std, c->minatar.ret_mean,
		     c->minatar.ret_std);
	assert_close("length", f.len_mean, f.len_std, c->minatar.len_mean,
		     c->minatar.len_std);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0])];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct CMUnitTest t = {cases[i].env, test_stats, NULL, NULL,
				       (void *)&cases[i]};
		tests[i] = t;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
