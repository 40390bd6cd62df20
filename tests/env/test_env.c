// SPDX-License-Identifier: Apache-2.0
/* The environment interface: the registry by name, Gymnasium's spaces and
 * time limits for each built-in, termination ends the episode, reset
 * distributions, determinism under a seed, and bad actions refused with
 * the state unchanged. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <string.h>

#include "env/env.h"
#include "err.h"

static im_env *make(const char *name)
{
	im_env *e = NULL;
	char err[256];
	int rc = im_env_make(&e, name, err, sizeof(err));
	if (rc)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	return e;
}

static void test_registry_unknown(void **state)
{
	(void)state;
	im_env *e = NULL;
	char err[512];
	assert_int_equal(im_env_make(&e, "Foo-v0", err, sizeof(err)),
			 IM_ENOENT);
	assert_null(e);
	assert_non_null(strstr(err, "unknown environment 'Foo-v0'; known: "
				    "CartPole-v1"));
	for (int i = 0; i < im_env_builtin_count(); i++)
		assert_non_null(strstr(err, im_env_builtin_name(i)));
	/* Names are exact: no case folding, no prefixes. */
	assert_int_equal(im_env_make(&e, "cartpole-v1", NULL, 0), IM_ENOENT);
	assert_int_equal(im_env_make(&e, "CartPole-v0", NULL, 0), IM_ENOENT);
	assert_int_equal(im_env_make(&e, "", NULL, 0), IM_ENOENT);
	assert_int_equal(im_env_make(&e, NULL, NULL, 0), IM_EINVAL);
	assert_int_equal(im_env_make(&e, "plugin:", err, sizeof(err)),
			 IM_EINVAL);
}

/* Gymnasium's registrations and spaces, typed in from its source. */
static const struct {
	const char *name;
	int limit, obs_n, discrete, act_n;
	float obs_high[6];
	float act_high;
} specs[] = {
	{"CartPole-v1", 500, 4, 1, 2, {4.8f, FLT_MAX, (float)(24 * M_PI / 180), FLT_MAX}, 0},
	{"Acrobot-v1", 500, 6, 1, 3, {1, 1, 1, 1, (float)(4 * M_PI), (float)(9 * M_PI)}, 0},
	{"MountainCar-v0", 200, 2, 1, 3, {0.6f, 0.07f}, 0},
	{"Pendulum-v1", 200, 3, 0, 1, {1, 1, 8}, 2.0f},
	{"MountainCarContinuous-v0", 999, 2, 0, 1, {0.6f, 0.07f}, 1.0f},
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

static void test_registry_spaces(void **state)
{
	(void)state;
	/* The classic tasks, then the ten MinAtar classes (their spaces are
	 * checked in test_minatar.c). */
	assert_int_equal(im_env_builtin_count(), (int)NSPECS + 10);
	for (size_t k = 0; k < NSPECS; k++) {
		im_env *e = make(specs[k].name);
		const im_obs_space *o = im_env_obs_space(e);
		const im_act_space *a = im_env_act_space(e);
		assert_string_equal(im_env_name(e), specs[k].name);
		assert_int_equal(im_env_max_episode_steps(e), specs[k].limit);
		assert_int_equal(o->ndim, 1);
		assert_int_equal(o->shape[0], specs[k].obs_n);
		assert_int_equal(o->dtype, IM_DTYPE_F32);
		for (int i = 0; i < specs[k].obs_n; i++) {
			assert_true(o->high[i] == specs[k].obs_high[i]);
			assert_true(o->low[i] == -specs[k].obs_high[i] ||
				    (i == 0 && o->low[0] == -1.2f));
		}
		assert_int_equal(a->kind, specs[k].discrete ? IM_ACT_DISCRETE
							    : IM_ACT_BOX);
		assert_int_equal(a->n, specs[k].act_n);
		if (!specs[k].discrete) {
			assert_true(a->high[0] == specs[k].act_high);
			assert_true(a->low[0] == -specs[k].act_high);
		}
		im_env_free(e);
	}
}

/* A bang-bang balance controller keeps the pole up for 500 steps. */
static int32_t balance(const float *o)
{
	return 0.1f * o[0] + 0.5f * o[1] + 10.0f * o[2] + 2.0f * o[3] > 0;
}

/* Steps with a fixed policy until the episode ends; returns the length
 * and writes the final flags. */
static int run_until_done(im_env *e, uint64_t seed, int policy,
			  im_env_result *last)
{
	float obs[8];
	int32_t da = policy;
	float fa = (float)policy;
	assert_int_equal(im_env_reset(e, seed, obs), 0);
	int boxed = im_env_act_space(e)->kind == IM_ACT_BOX;
	for (int t = 1; t <= 5000; t++) {
		if (policy < 0)
			da = balance(obs);
		assert_int_equal(im_env_step(e, boxed ? (void *)&fa : (void *)&da,
					     obs, last),
				 0);
		assert_int_equal(im_env_elapsed_steps(e), t);
		if (last->terminated || last->truncated)
			return t;
	}
	fail();
	return -1;
}

static void test_time_limits(void **state)
{
	(void)state;
	/* Policies that never reach a terminal state: balance CartPole, no
	 * torque / no push elsewhere. */
	static const struct {
		const char *name;
		int policy, limit;
	} cases[] = {
		{"CartPole-v1", -1, 500},
		{"Acrobot-v1", 1, 500},
		{"MountainCar-v0", 1, 200},
		{"Pendulum-v1", 0, 200},
		{"MountainCarContinuous-v0", 0, 999},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		im_env *e = make(cases[k].name);
		for (uint64_t seed = 1; seed <= 3; seed++) {
			im_env_result r;
			int len = run_until_done(e, seed, cases[k].policy, &r);
			assert_int_equal(len, cases[k].limit);
			assert_int_equal(r.truncated, 1);
			assert_int_equal(r.terminated, 0);
			/* The episode is over: no more steps until reset. */
			float obs[8];
			int32_t a = 0;
			float fa = 0;
			int boxed = im_env_act_space(e)->kind == IM_ACT_BOX;
			assert_int_equal(im_env_step(e, boxed ? (void *)&fa : (void *)&a,
						     obs, &r),
					 IM_ESTATE);
		}
		im_env_free(e);
	}
}

static void test_termination_ends_episode(void **state)
{
	(void)state;
	/* Always pushing left topples the pole well before 500 steps. */
	im_env *e = make("CartPole-v1");
	im_env_result r;
	int len = run_until_done(e, 7, 0, &r);
	assert_true(len > 1 && len < 100);
	assert_int_equal(r.terminated, 1);
	assert_int_equal(r.truncated, 0);
	assert_true(r.reward == 1.0f);
	float obs[4];
	int32_t a = 1;
	assert_int_equal(im_env_step(e, &a, obs, &r), IM_ESTATE);
	/* A reset starts a fresh episode. */
	assert_int_equal(im_env_reset_next(e, obs), 0);
	assert_int_equal(im_env_elapsed_steps(e), 0);
	assert_int_equal(im_env_step(e, &a, obs, &r), 0);
	im_env_free(e);
}

static void test_step_before_reset(void **state)
{
	(void)state;
	im_env *e = make("Acrobot-v1");
	float obs[6];
	int32_t a = 1;
	im_env_result r;
	assert_int_equal(im_env_step(e, &a, obs, &r), IM_ESTATE);
	im_env_free(e);
}

/* Reset draws each state variable uniformly from Gymnasium's range:
 * every sample inside, and the extremes near both ends.  Angles are
 * recovered from (cos, sin) pairs with atan2 (slot 0 and 1 below). */
static const struct {
	const char *name;
	int nvar;
	int idx[4]; /* obs index, or -1/-2: angle from obs 0,1 / 2,3 */
	double lo[4], hi[4];
} reset_ranges[] = {
	{"CartPole-v1", 4, {0, 1, 2, 3}, {-.05, -.05, -.05, -.05}, {.05, .05, .05, .05}},
	{"MountainCar-v0", 2, {0, 1}, {-.6, 0}, {-.4, 0}},
	{"MountainCarContinuous-v0", 2, {0, 1}, {-.6, 0}, {-.4, 0}},
	{"Pendulum-v1", 2, {-1, 2}, {-M_PI, -1}, {M_PI, 1}},
	{"Acrobot-v1", 4, {-1, -2, 4, 5}, {-.1, -.1, -.1, -.1}, {.1, .1, .1, .1}},
};

static double reset_var(const float *obs, int idx)
{
	if (idx == -1)
		return atan2(obs[1], obs[0]);
	if (idx == -2)
		return atan2(obs[3], obs[2]);
	return obs[idx];
}

static void test_reset_distributions(void **state)
{
	(void)state;
	enum { N = 4000 };
	for (size_t k = 0; k < sizeof(reset_ranges) / sizeof(reset_ranges[0]);
	     k++) {
		im_env *e = make(reset_ranges[k].name);
		float obs[6];
		double lo[4] = {INFINITY, INFINITY, INFINITY, INFINITY};
		double hi[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
		assert_int_equal(im_env_reset(e, 3, obs), 0);
		for (int s = 0; s < N; s++) {
			assert_int_equal(im_env_reset_next(e, obs), 0);
			for (int j = 0; j < reset_ranges[k].nvar; j++) {
				double v = reset_var(obs, reset_ranges[k].idx[j]);
				lo[j] = fmin(lo[j], v);
				hi[j] = fmax(hi[j], v);
			}
		}
		for (int j = 0; j < reset_ranges[k].nvar; j++) {
			double a = reset_ranges[k].lo[j];
			double b = reset_ranges[k].hi[j];
			double w = b - a, eps = 1e-6 * fmax(1, fabs(b));
			assert_true(lo[j] >= a - eps && hi[j] <= b + eps);
			if (w > 0) { /* 4000 draws come within 0.5% of ends */
				assert_true(lo[j] < a + 0.005 * w);
				assert_true(hi[j] > b - 0.005 * w);
			} else {
				assert_true(lo[j] == a && hi[j] == a);
			}
		}
		im_env_free(e);
	}
}

/* A position-weighted sum: one number that changes when any byte of a
 * large (image) observation does. */
static float obs_digest(const unsigned char *obs, size_t bytes)
{
	double d = 0;
	for (size_t i = 0; i < bytes; i++)
		d += (double)obs[i] * (double)(i + 1);
	return (float)d;
}

static void run_random(im_env *e, uint64_t seed, float *trace, int n)
{
	im_rng pol;
	im_rng_init(&pol, 99);
	_Alignas(float) unsigned char obs[1000];
	im_env_result r;
	const im_act_space *a = im_env_act_space(e);
	size_t bytes = im_obs_bytes(im_env_obs_space(e));
	assert_int_equal(im_env_reset(e, seed, obs), 0);
	for (int t = 0; t < n; t++) {
		int32_t da = (int32_t)im_rng_below(&pol, (uint64_t)a->n);
		float fa = im_rng_uniform(&pol, a->low[0], a->high[0]);
		assert_int_equal(im_env_step(e, a->kind == IM_ACT_BOX ? (void *)&fa : (void *)&da,
					     obs, &r),
				 0);
		if (bytes <= 7 * sizeof(float))
			memcpy(trace + t * 8, obs, bytes);
		else
			trace[t * 8] = obs_digest(obs, bytes);
		trace[t * 8 + 7] = r.reward;
		if (r.terminated || r.truncated)
			assert_int_equal(im_env_reset_next(e, obs), 0);
	}
}

static void test_determinism(void **state)
{
	(void)state;
	enum { T = 600 };
	static float a[T * 8], b[T * 8], c[T * 8];
	for (int i = 0; i < im_env_builtin_count(); i++) {
		im_env *e = make(im_env_builtin_name(i));
		memset(a, 0, sizeof(a));
		memset(b, 0, sizeof(b));
		memset(c, 0, sizeof(c));
		run_random(e, 42, a, T);
		run_random(e, 42, b, T); /* same env object, reseeded */
		run_random(e, 43, c, T);
		assert_memory_equal(a, b, sizeof(a));
		assert_true(memcmp(a, c, sizeof(a)) != 0);
		im_env_free(e);
	}
}

static void test_bad_actions(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		float good;
		float bad[6];
	} cases[] = {
		{"CartPole-v1", 1, {-1, 2, 1000}},
		{"Acrobot-v1", 2, {-1, 3, -2147483647.0f}},
		{"MountainCar-v0", 0, {3, -1, 7}},
		{"Pendulum-v1", 1.5f, {NAN, INFINITY, -INFINITY, 2.0001f, -2.5f, 1e30f}},
		{"MountainCarContinuous-v0", -0.5f, {NAN, -NAN, INFINITY, 1.0000001f, -1.5f, -INFINITY}},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		im_env *e = make(cases[k].name), *twin = make(cases[k].name);
		int boxed = im_env_act_space(e)->kind == IM_ACT_BOX;
		float o1[6], o2[6];
		im_env_result r1, r2;
		assert_int_equal(im_env_reset(e, 5, o1), 0);
		assert_int_equal(im_env_reset(twin, 5, o2), 0);
		int32_t dg = (int32_t)cases[k].good;
		float fg = cases[k].good;
		const void *good = boxed ? (void *)&fg : (void *)&dg;
		for (int t = 0; t < 3; t++) {
			assert_int_equal(im_env_step(e, good, o1, &r1), 0);
			assert_int_equal(im_env_step(twin, good, o2, &r2), 0);
		}
		for (int j = 0; j < 6; j++) {
			float fb = cases[k].bad[j];
			int32_t db = (int32_t)fb;
			if (!boxed && j >= 3)
				break;
			float before[6];
			memcpy(before, o1, sizeof(before));
			assert_int_equal(im_env_step(e, boxed ? (void *)&fb : (void *)&db,
						     o1, &r1),
					 IM_EACTION);
			assert_memory_equal(before, o1, sizeof(before));
			assert_int_equal(im_env_elapsed_steps(e), 3);
		}
		assert_int_equal(im_env_step(e, NULL, o1, &r1), IM_EACTION);
		/* The refused actions changed nothing: both envs go on alike. */
		assert_int_equal(im_env_step(e, good, o1, &r1), 0);
		assert_int_equal(im_env_step(twin, good, o2, &r2), 0);
		size_t n = im_obs_numel(im_env_obs_space(e));
		assert_memory_equal(o1, o2, n * sizeof(float));
		assert_true(r1.reward == r2.reward);
		im_env_free(e);
		im_env_free(twin);
	}
	/* The discrete check also refuses INT32_MIN (no sign tricks). */
	im_act_space d = {.kind = IM_ACT_DISCRETE, .n = 2};
	int32_t m = INT32_MIN;
	assert_int_equal(im_env_check_action(&d, &m), IM_EACTION);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_unknown),
		cmocka_unit_test(test_registry_spaces),
		cmocka_unit_test(test_time_limits),
		cmocka_unit_test(test_termination_ends_episode),
		cmocka_unit_test(test_step_before_reset),
		cmocka_unit_test(test_reset_distributions),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_bad_actions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
