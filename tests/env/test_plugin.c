// SPDX-License-Identifier: Apache-2.0
/* Environment plugins: the example corridor plugin loads by path, has the
 * spaces it declares (uint8 observations handed out as bytes, with their
 * scale), steps, takes arguments, truncates at its limit through the
 * common interface, and works in a vecenv; a library built for ABI
 * version 1 still loads, with scale 1; libraries with a missing symbol, a
 * wrong ABI version, a malformed table or a bad obs_scale, and paths that
 * do not exist, are refused with IM_EPLUGIN and a reason.
 *
 * Usage: test_env_plugin CORRIDOR NOSYM BADABI BADTABLE HUGEACT V1
 *        BADSCALE (each a .so) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "env/env.h"
#include "err.h"

static const char *corridor, *nosym, *badabi, *badtable, *hugeact, *v1,
	*badscale;

static im_env *open_corridor(const char *args)
{
	char spec[1024], err[512] = "";
	snprintf(spec, sizeof(spec), "plugin:%s%s%s", corridor,
		 args ? "?" : "", args ? args : "");
	im_env *e = NULL;
	int rc = im_env_make(&e, spec, err, sizeof(err));
	if (rc)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	return e;
}

/* Cell of the agent in a corridor observation, or -1 when not one-hot. */
static int agent_cell(const uint8_t *obs)
{
	int cell = -1;
	for (int i = 0; i < 16; i++) {
		if (obs[i] == 255 && cell < 0)
			cell = i;
		else if (obs[i] != 0)
			return -1;
	}
	return cell;
}

static void test_load_and_step(void **state)
{
	(void)state;
	im_env *e = open_corridor(NULL);
	const im_obs_space *o = im_env_obs_space(e);
	const im_act_space *a = im_env_act_space(e);
	assert_string_equal(im_env_name(e), "Corridor-v0");
	assert_int_equal(o->ndim, 1);
	assert_int_equal(o->shape[0], 16);
	assert_int_equal(o->dtype, IM_DTYPE_U8);
	assert_true(o->scale == 1.0f / 255.0f);
	assert_true(im_obs_scale(o) == 1.0f / 255.0f);
	assert_int_equal(im_obs_bytes(o), 16);
	assert_int_equal(a->kind, IM_ACT_DISCRETE);
	assert_int_equal(a->n, 2);
	assert_int_equal(im_env_max_episode_steps(e), 100);

	/* Default length 10: start in cells 0..4, walk right to cell 9.  The
	 * frame is 16 bytes; the guard bytes after it stay untouched. */
	uint8_t obs[16 + 4];
	memset(obs, 0xAB, sizeof obs);
	im_env_result r;
	assert_int_equal(im_env_reset(e, 1, obs), 0);
	int cell = agent_cell(obs);
	assert_true(cell >= 0 && cell < 5);
	int32_t right = 1;
	for (int c = cell + 1; c <= 9; c++) {
		assert_int_equal(im_env_step(e, &right, obs, &r), 0);
		assert_int_equal(agent_cell(obs), c);
		assert_int_equal(r.terminated, c == 9);
		assert_int_equal(r.truncated, 0);
		assert_true(r.reward == (c == 9 ? 1.0f : -0.01f));
	}
	assert_int_equal(im_env_step(e, &right, obs, &r), IM_ESTATE);
	for (int i = 16; i < 20; i++)
		assert_int_equal(obs[i], 0xAB);
	/* The interface checks actions before the plugin sees them. */
	int32_t bad = 2;
	assert_int_equal(im_env_reset_next(e, obs), 0);
	assert_int_equal(im_env_step(e, &bad, obs, &r), IM_EACTION);
	im_env_free(e);
}

static void test_args_and_time_limit(void **state)
{
	(void)state;
	im_env *e = open_corridor("length=4");
	uint8_t obs[16];
	im_env_result r;
	int32_t right = 1, left = 0;
	/* length 4: start in cell 0 or 1, goal at cell 3. */
	assert_int_equal(im_env_reset(e, 2, obs), 0);
	int cell = agent_cell(obs), steps = 0;
	assert_true(cell == 0 || cell == 1);
	do {
		assert_int_equal(im_env_step(e, &right, obs, &r), 0);
		steps++;
	} while (!r.terminated);
	assert_int_equal(steps, 3 - cell);
	/* Walking into the left wall never ends: truncated at 100. */
	assert_int_equal(im_env_reset_next(e, obs), 0);
	for (int t = 1; t <= 100; t++) {
		assert_int_equal(im_env_step(e, &left, obs, &r), 0);
		assert_int_equal(r.truncated, t == 100);
		assert_int_equal(r.terminated, 0);
	}
	im_env_free(e);

	char spec[1024], err[512] = "";
	snprintf(spec, sizeof(spec), "plugin:%s?length=99", corridor);
	assert_int_equal(im_env_make(&e, spec, err, sizeof(err)), IM_EPLUGIN);
	assert_non_null(strstr(err, "create() failed"));
}

static void test_vecenv_with_plugin(void **state)
{
	(void)state;
	char spec[1024];
	snprintf(spec, sizeof(spec), "plugin:%s?length=3", corridor);
	im_rng parent;
	im_rng_init(&parent, 3);
	im_vecenv_opts o = {.spec = spec, .num_envs = 3, .rng = &parent};
	im_vecenv *v = NULL;
	assert_int_equal(im_vecenv_new(&v, &o), 0);
	const im_vecenv_bufs *b = im_vecenv_buffers(v);
	/* length 3 starts on cell 0; two steps right reach the goal. */
	int32_t right[3] = {1, 1, 1};
	assert_int_equal(im_vecenv_step(v, right, NULL), 0);
	assert_int_equal(im_vecenv_step(v, right, NULL), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(b->terminated[i], 1);
		assert_int_equal(agent_cell((const uint8_t *)b->final_obs + 16 * i), 2);
		assert_int_equal(agent_cell((const uint8_t *)b->obs + 16 * i), 0);
		assert_int_equal(b->ep_length[i], 2);
		assert_true(b->ep_return[i] == (float)(-0.01 + 1.0));
	}
	int32_t bad[3] = {1, 7, 1};
	int idx = -1;
	assert_int_equal(im_vecenv_step(v, bad, &idx), IM_EACTION);
	assert_int_equal(idx, 1);
	im_vecenv_free(v);
}

/* A library built before obs_scale: loaded, read only up to its
 * struct_size, its uint8 frames handed out as bytes with scale 1. */
static void test_version_1_loads(void **state)
{
	(void)state;
	char spec[1024], err[512] = "";
	snprintf(spec, sizeof(spec), "plugin:%s", v1);
	im_env *e = NULL;
	int rc = im_env_make(&e, spec, err, sizeof(err));
	if (rc)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	const im_obs_space *o = im_env_obs_space(e);
	assert_string_equal(im_env_name(e), "Old-v0");
	assert_int_equal(o->dtype, IM_DTYPE_U8);
	assert_true(o->scale == 0.0f);
	assert_true(im_obs_scale(o) == 1.0f);
	uint8_t obs[4];
	im_env_result r;
	int32_t a = 1;
	assert_int_equal(im_env_reset(e, 1, obs), 0);
	assert_int_equal(obs[1], 1);
	assert_int_equal(obs[3], 3);
	assert_int_equal(im_env_step(e, &a, obs, &r), 0);
	assert_int_equal(obs[1], 2);
	assert_int_equal(obs[3], 4);
	im_env_free(e);
}

static void expect_refusal(const char *path, const char *why)
{
	char spec[1024], err[512] = "";
	snprintf(spec, sizeof(spec), "plugin:%s", path);
	im_env *e = NULL;
	assert_int_equal(im_env_make(&e, spec, err, sizeof(err)), IM_EPLUGIN);
	assert_null(e);
	if (!strstr(err, why)) {
		print_error("message '%s' lacks '%s'\n", err, why);
		fail();
	}
	assert_non_null(strstr(err, path)); /* names the library */
}

static void test_refusals(void **state)
{
	(void)state;
	expect_refusal(nosym, "missing symbol 'impala_env_plugin_entry'");
	expect_refusal(badabi, "ABI version 3, but this program speaks "
			       "versions 1 to 2");
	expect_refusal(badtable, "lacks a function");
	expect_refusal(hugeact, "bad action space");
	expect_refusal(badscale, "obs_scale -1 is not finite and > 0");
	expect_refusal("/nonexistent/libnothing.so", "cannot load");
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: %s CORRIDOR NOSYM BADABI BADTABLE "
				"HUGEACT V1 BADSCALE\n",
			argv[0]);
		return 77; /* cannot run without the plugins: skip */
	}
	corridor = argv[1];
	nosym = argv[2];
	badabi = argv[3];
	badtable = argv[4];
	hugeact = argv[5];
	v1 = argv[6];
	badscale = argv[7];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_and_step),
		cmocka_unit_test(test_args_and_time_limit),
		cmocka_unit_test(test_vecenv_with_plugin),
		cmocka_unit_test(test_version_1_loads),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
