// SPDX-License-Identifier: Apache-2.0
/* The MinAtar classes through the environment interface: their spaces
 * (uint8 [10, 10, C] in MinAtar's channel counts, scale 1, six actions or
 * the minimal set), the options on the name and their errors, and the
 * sticky-action rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "env/env.h"
#include "env/env_class.h"
#include "env/minatar_games.h"
#include "err.h"

static const struct {
	const char *name;
	int channels, actions;
} classes[] = {
	{"MinAtar/Breakout-v0", 4, 6},
	{"MinAtar/Breakout-v1", 4, 3},
	{"MinAtar/Freeway-v0", 7, 6},
	{"MinAtar/Freeway-v1", 7, 3},
	{"MinAtar/Asterix-v0", 4, 6},
	{"MinAtar/Asterix-v1", 4, 5},
	{"MinAtar/Seaquest-v0", 10, 6},
	{"MinAtar/Seaquest-v1", 10, 6},
	{"MinAtar/SpaceInvaders-v0", 6, 6},
	{"MinAtar/SpaceInvaders-v1", 6, 4},
};
#define NCLASSES (sizeof(classes) / sizeof(classes[0]))

static im_env *make(const char *spec)
{
	im_env *e = NULL;
	char err[256] = "";
	int rc = im_env_make(&e, spec, err, sizeof(err));
	if (rc)
		print_error("%s: %s\n", spec, err);
	assert_int_equal(rc, 0);
	return e;
}

static void test_spaces(void **state)
{
	(void)state;
	for (size_t k = 0; k < NCLASSES; k++) {
		im_env *e = make(classes[k].name);
		const im_obs_space *o = im_env_obs_space(e);
		const im_act_space *a = im_env_act_space(e);
		assert_string_equal(im_env_name(e), classes[k].name);
		assert_int_equal(o->ndim, 3);
		assert_int_equal(o->shape[0], 10);
		assert_int_equal(o->shape[1], 10);
		assert_int_equal(o->shape[2], classes[k].channels);
		assert_int_equal(o->dtype, IM_DTYPE_U8);
		assert_true(o->scale == 1.0f);
		for (size_t i = 0; i < im_obs_numel(o); i++)
			assert_true(o->low[i] == 0.0f && o->high[i] == 1.0f);
		assert_int_equal(a->kind, IM_ACT_DISCRETE);
		assert_int_equal(a->n, classes[k].actions);
		assert_int_equal(im_env_max_episode_steps(e), 0);
		/* Observations are grids of 0/1 bytes. */
		static uint8_t obs[1000];
		assert_int_equal(im_env_reset(e, 9, obs), 0);
		int ones = 0;
		for (size_t i = 0; i < im_obs_numel(o); i++) {
			assert_true(obs[i] <= 1);
			ones += obs[i];
		}
		assert_true(ones > 0);
		im_env_free(e);
	}
}

/* max_steps adds a time limit (truncation); the name stays the game's. */
static void test_option_max_steps(void **state)
{
	(void)state;
	im_env *e = make("MinAtar/Freeway-v1?max_steps=7&sticky=0");
	assert_string_equal(im_env_name(e), "MinAtar/Freeway-v1");
	assert_int_equal(im_env_max_episode_steps(e), 7);
	uint8_t obs[700];
	im_env_result r = {0};
	int32_t a = 0;
	assert_int_equal(im_env_reset(e, 1, obs), 0);
	for (int t = 1; t <= 7; t++) {
		assert_int_equal(im_env_step(e, &a, obs, &r), 0);
		assert_int_equal(r.truncated, t == 7);
		assert_int_equal(r.terminated, 0);
	}
	im_env_free(e);
	/* The built-in class itself is untouched by the copy. */
	e = make("MinAtar/Freeway-v1");
	assert_int_equal(im_env_max_episode_steps(e), 0);
	im_env_free(e);
}

static void test_option_errors(void **state)
{
	(void)state;
	static const struct {
		const char *spec;
		int rc;
		const char *says;
	} bad[] = {
		{"MinAtar/Breakout-v0?sticky=2", IM_EINVAL,
		 "sticky='2': want a probability in [0, 1]"},
		{"MinAtar/Breakout-v0?sticky=-0.1", IM_EINVAL, "sticky="},
		{"MinAtar/Breakout-v0?sticky=nan", IM_EINVAL, "sticky="},
		{"MinAtar/Breakout-v0?sticky=0.1x", IM_EINVAL, "sticky="},
		{"MinAtar/Breakout-v0?sticky= 0.5", IM_EINVAL, "sticky="},
		{"MinAtar/Breakout-v0?sticky=+0.5", IM_EINVAL, "sticky="},
		{"MinAtar/Asterix-v0?max_steps= 7", IM_EINVAL, "max_steps="},
		{"MinAtar/Asterix-v0?max_steps=99999999999999999999", IM_EINVAL,
		 "want an integer >= 0"},
		{"MinAtar/Asterix-v0?ramping=maybe", IM_EINVAL,
		 "ramping='maybe': want 0, 1, true or false"},
		{"MinAtar/Asterix-v0?max_steps=-3", IM_EINVAL,
		 "want an integer >= 0"},
		{"MinAtar/Asterix-v0?speed=3", IM_EINVAL,
		 "'speed': unknown (known: sticky, ramping, max_steps)"},
		{"MinAtar/Asterix-v0?sticky", IM_EINVAL, "expected key=value"},
		{"MinAtar/Breakout-v0?sticky=0&sticky=0.5", IM_EINVAL,
		 "'sticky': given twice"},
		{"MinAtar/Breakout-v0?max_steps=5&ramping=0&max_steps=9",
		 IM_EINVAL, "'max_steps': given twice"},
		{"CartPole-v1?sticky=0", IM_EINVAL, "takes no options"},
		{"MinAtar/Pong-v0?sticky=0", IM_ENOENT,
		 "unknown environment 'MinAtar/Pong-v0'"},
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		im_env *e = NULL;
		char err[512] = "";
		assert_int_equal(im_env_make(&e, bad[k].spec, err, sizeof(err)),
				 bad[k].rc);
		assert_null(e);
		if (!strstr(err, bad[k].says))
			print_error("%s: '%s' lacks '%s'\n", bad[k].spec, err,
				    bad[k].says);
		assert_non_null(strstr(err, bad[k].says));
	}
	/* Empty options and '&' runs are fine. */
	im_env_free(make("MinAtar/Seaquest-v0?"));
	im_env_free(make("MinAtar/Seaquest-v0?&ramping=true&&sticky=0&"));
}

/* ---- sticky actions, on Breakout's paddle ------------------------------ */

static int paddle_x(const uint8_t *obs)
{
	for (int x = 0; x < 10; x++)
		if (obs[(9 * 10 + x) * 4 + 0] == 1)
			return x;
	return -1;
}

/* One frame of agent action a from a fresh start with the previous
 * action prev; returns the paddle's column (it starts at 4). */
static int one_frame(const im_env_class *c, void *st, im_rng *r, int prev,
		     int32_t a)
{
	static uint8_t obs[400];
	float rew;
	uint8_t term = 0;
	c->reset(c, st, r, obs);
	((im_ma_core *)st)->last_action = (uint8_t)prev;
	assert_int_equal(c->step(c, st, &a, obs, &rew, &term), 0);
	return paddle_x(obs);
}

static void sticky_rate(const char *spec, double p)
{
	enum { N = 20000 };
	const im_env_class *c = NULL;
	assert_int_equal(im_env_class_open(&c, spec, NULL, 0), 0);
	void *st = calloc(1, c->state_size);
	assert_int_equal(c->init(c, st), 0);
	im_rng r;
	im_rng_init(&r, 11);
	int stuck = 0;
	for (int i = 0; i < N; i++) {
		int x = one_frame(c, st, &r, IM_MA_LEFT, IM_MA_RIGHT);
		assert_true(x == 5 || x == 3);
		stuck += x == 3; /* the previous action (left) was repeated */
	}
	/* Binomial(N, p): 5 standard deviations. */
	double sd = sqrt(p * (1 - p) / N);
	assert_true(fabs((double)stuck / N - p) <= 5 * sd + 1e-12);
	free(st);
	im_env_class_close(c);
}

static void test_sticky_repeats_previous_action(void **state)
{
	(void)state;
	sticky_rate("MinAtar/Breakout-v0", 0.1);
	sticky_rate("MinAtar/Breakout-v0?sticky=0.5", 0.5);
	sticky_rate("MinAtar/Breakout-v0?sticky=0", 0.0);
	sticky_rate("MinAtar/Breakout-v0?sticky=1", 1.0);
}

/* A reset forgets the last action: the first frame's sticky repeat is a
 * no-op, so reset(seed) alone decides the episode. */
static void test_reset_forgets_last_action(void **state)
{
	(void)state;
	im_env *e = make("MinAtar/Breakout-v1?sticky=1");
	uint8_t obs[400];
	im_env_result r;
	int32_t right = 2;
	assert_int_equal(im_env_reset(e, 4, obs), 0);
	for (int t = 0; t < 3; t++) {
		assert_int_equal(im_env_step(e, &right, obs, &r), 0);
		assert_int_equal(paddle_x(obs), 4);
	}
	im_env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spaces),
		cmocka_unit_test(test_option_max_steps),
		cmocka_unit_test(test_option_errors),
		cmocka_unit_test(test_sticky_repeats_previous_action),
		cmocka_unit_test(test_reset_forgets_last_action),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
