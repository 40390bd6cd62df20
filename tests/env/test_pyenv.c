// SPDX-License-Identifier: Apache-2.0
/* Python environments (py:, gym:) through the bridge:
 *   - a pure-Python CartPole (tests/env/pycartpole.py) stepped side by side
 *     with the built-in CartPole-v1 from the same states gives the same
 *     observations, rewards and terminations;
 *   - spaces, time limits, arguments (JSON or strings), seeds at every
 *     reset, Box actions, the environment's own truncation, observations
 *     as lists, strided float64 arrays and uint8 images, a name that is
 *     not UTF-8;
 *   - every bad behaviour (tests/env/pybad.py) is an error with its code
 *     and message, and the instance stays failed without calling Python
 *     again.
 * PYTHONPATH holds tests/env and examples/python.  With the argument
 * "fakegym" it runs only the gym: case against tests/env/fakegym. */
#include <Python.h> /* first, as Python.h asks */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/env.h"
#include "env/env_class.h"
#include "env/pyenv.h"
#include "err.h"
#include "rng.h"

static im_env *make_ok(const char *spec)
{
	char err[1024] = "";
	im_env *e = NULL;
	int rc = im_env_make(&e, spec, err, sizeof err);
	if (rc)
		print_error("%s: %s\n", spec, err);
	assert_int_equal(rc, 0);
	return e;
}

/* ---- CartPole side by side ---------------------------------------------- */

static void test_cartpole_side_by_side(void **state)
{
	(void)state;
	im_rng r;
	im_rng_init(&r, 7);
	int steps = 0;
	for (int ep = 0; ep < 20; ep++) {
		double s0[4];
		char spec[512];
		for (int i = 0; i < 4; i++)
			s0[i] = -0.05 + 0.1 * im_rng_double(&r);
		/* %.17g: the same doubles reach Python through JSON. */
		snprintf(spec, sizeof spec, "py:pycartpole:make?start="
					    "[%.17g,%.17g,%.17g,%.17g]",
			 s0[0], s0[1], s0[2], s0[3]);
		im_env *py = make_ok(spec);
		assert_int_equal(im_env_max_episode_steps(py), 500);
		assert_string_equal(im_env_name(py), "PyCartPole-v1");
		double c[4];
		memcpy(c, s0, sizeof c);
		float po[4], co[4];
		assert_int_equal(im_env_reset(py, 1, po), 0);
		for (int i = 0; i < 4; i++)
			assert_true(po[i] == (float)s0[i]);
		for (int t = 0;; t++) {
			int32_t a = (int32_t)im_rng_below(&r, 2);
			float rw = 0;
			uint8_t term = 0;
			assert_int_equal(im_env_cartpole_class.step(
						 &im_env_cartpole_class, c, &a, co, &rw, &term),
					 0);
			im_env_result res;
			assert_int_equal(im_env_step(py, &a, po, &res), 0);
			for (int i = 0; i < 4; i++)
				assert_true(fabsf(po[i] - co[i]) <=
					    1e-6f * (1 + fabsf(co[i])));
			assert_true(res.reward == rw);
			assert_int_equal(res.terminated, term);
			steps++;
			if (term || res.truncated)
				break;
		}
		im_env_free(py);
	}
	assert_true(steps > 100);
}

/* ---- what the bridge reads and passes ----------------------------------- */

static void test_spaces_and_vecenv(void **state)
{
	(void)state;
	im_rng root;
	im_rng_init(&root, 3);
	char err[512] = "";
	im_vecenv *v = NULL;
	im_vecenv_opts o = {.spec = "py:pycartpole:make", .num_envs = 3, .rng = &root, .err = err, .errlen = sizeof err};
	assert_int_equal(im_vecenv_new(&v, &o), 0);
	const im_obs_space *os = im_vecenv_obs_space(v);
	assert_int_equal(os->ndim, 1);
	assert_int_equal(os->shape[0], 4);
	assert_int_equal(os->dtype, IM_DTYPE_F32);
	assert_int_equal(im_vecenv_act_space(v)->kind, IM_ACT_DISCRETE);
	assert_int_equal(im_vecenv_act_space(v)->n, 2);
	const im_vecenv_bufs *b = im_vecenv_buffers(v);
	int32_t acts[3] = {0, 1, 0};
	int episodes = 0;
	for (int t = 0; t < 300; t++) {
		assert_int_equal(im_vecenv_step(v, acts, NULL), 0);
		for (int i = 0; i < 3; i++) {
			if (!b->terminated[i])
				continue;
			episodes++;
			/* The true last state is out of bounds, the next
			 * episode's first inside (+-0.05). */
			const float *f = (const float *)b->final_obs + i * 4;
			const float *n = (const float *)b->obs + i * 4;
			assert_true(fabsf(f[0]) > 2.4f || fabsf(f[2]) > 0.2094f);
			assert_true(fabsf(n[0]) <= 0.05f && fabsf(n[2]) <= 0.05f);
		}
	}
	assert_true(episodes > 10);
	int32_t bad[3] = {0, 2, 0};
	int idx = -1;
	assert_int_equal(im_vecenv_step(v, bad, &idx), IM_EACTION);
	assert_int_equal(idx, 1);
	im_vecenv_free(v);
}

static void test_arguments_seeds_box_actions(void **state)
{
	(void)state;
	struct {
		const char *args;
		double value;
	} cases[] = {
		{"value=2.5", 2.5},     /* JSON number */
		{"value=[1,2,3]", 3},   /* JSON list */
		{"value=abc", -3},      /* not JSON: a string */
		{"value=%22ab%22", -2}, /* percent-decoded "ab": a string */
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		char spec[256];
		snprintf(spec, sizeof spec, "py:pybad:seed_echo?%s", cases[k].args);
		im_env *e = make_ok(spec);
		assert_int_equal(im_env_act_space(e)->kind, IM_ACT_BOX);
		assert_int_equal(im_env_act_space(e)->n, 2);
		assert_int_equal(im_env_max_episode_steps(e), 0);
		float o1[3], o2[3], o3[3];
		assert_int_equal(im_env_reset(e, 11, o1), 0);
		assert_true(o1[1] == (float)cases[k].value);
		assert_int_equal(im_env_reset_next(e, o2), 0);
		assert_int_equal(im_env_reset(e, 11, o3), 0);
		/* Every reset gets a seed from the stream: a new one for the
		 * next episode, the same one from the same stream. */
		assert_true(o1[0] != o2[0]);
		assert_true(o1[0] == o3[0]);
		assert_true(o3[2] == 3.0f);
		float a[2] = {0.25f, -1.0f}, obs[3];
		im_env_result res;
		assert_int_equal(im_env_step(e, a, obs, &res), 0);
		assert_true(obs[0] == 0.25f && obs[1] == -1.0f && obs[2] == 1.0f);
		float out[2] = {0.25f, 1.5f};
		assert_int_equal(im_env_step(e, out, obs, &res), IM_EACTION);
		im_env_free(e);
	}
}

static void test_observation_forms(void **state)
{
	(void)state;
	/* Lists of ints and floats, a strided float64 view, and the
	 * environment's own truncation. */
	im_env *e = make_ok("py:pybad:make?mode=list_obs");
	float obs[3];
	int32_t a = 0;
	im_env_result res;
	assert_int_equal(im_env_reset(e, 1, obs), 0);
	assert_int_equal(im_env_step(e, &a, obs, &res), 0);
	assert_true(obs[0] == 0.25f && obs[1] == -0.5f && obs[2] == 1.0f);
	assert_true(res.reward == 1.0f);
	im_env_free(e);
	e = make_ok("py:pybad:make?mode=strided_obs");
	assert_int_equal(im_env_reset(e, 1, obs), 0);
	assert_int_equal(im_env_step(e, &a, obs, &res), 0);
	assert_true(obs[0] == 0.125f && obs[1] == 0.375f && obs[2] == 0.625f);
	im_env_free(e);
	e = make_ok("py:pybad:make?mode=truncates&after=2");
	assert_int_equal(im_env_reset(e, 1, obs), 0);
	for (int t = 0; t < 3; t++) {
		assert_int_equal(im_env_step(e, &a, obs, &res), 0);
		assert_int_equal(res.terminated, 0);
		assert_int_equal(res.truncated, t == 2);
	}
	assert_int_equal(im_env_step(e, &a, obs, &res), IM_ESTATE);
	im_env_free(e);
}

static void test_unencodable_name(void **state)
{
	(void)state;
	/* A name with a lone surrogate has no UTF-8: escaped, not lost. */
	im_env *e = make_ok("py:pybad:make?mode=name_surrogate");
	assert_string_equal(im_env_name(e), "Bad\\udc80Name-v0");
	assert_int_equal(im_env_max_episode_steps(e), 7);
	float obs[3];
	assert_int_equal(im_env_reset(e, 1, obs), 0);
	im_env_free(e);
}

static void test_uint8_image(void **state)
{
	(void)state;
	im_env *e = make_ok("py:catch:make?rows=6&columns=4");
	const im_obs_space *o = im_env_obs_space(e);
	assert_int_equal(o->ndim, 3);
	assert_int_equal(o->shape[0], 6);
	assert_int_equal(o->shape[1], 4);
	assert_int_equal(o->shape[2], 1);
	assert_int_equal(o->dtype, IM_DTYPE_U8);
	assert_true(o->scale == 1.0f);
	assert_int_equal(im_env_act_space(e)->n, 3);
	/* The bytes as the game made them: a uint8 space stays uint8. */
	uint8_t obs[24];
	assert_int_equal(im_obs_bytes(o), sizeof obs);
	assert_int_equal(im_env_reset(e, 5, obs), 0);
	im_env_result res = {0};
	int32_t stay = 1;
	for (int t = 0; t < 5; t++) {
		assert_int_equal(im_env_step(e, &stay, obs, &res), 0);
		int ones = 0;
		for (int i = 0; i < 24; i++) {
			assert_true(obs[i] == 0 || obs[i] == 1);
			ones += obs[i];
		}
		/* The ball and the paddle (one cell when they meet). */
		assert_true(ones == 2 || (t == 4 && ones == 1));
		/* The paddle stays in column 2 of the bottom row (HWC). */
		assert_int_equal(obs[5 * 4 + 2], 1);
	}
	assert_int_equal(res.terminated, 1);
	assert_true(res.reward == 1.0f || res.reward == -1.0f);
	im_env_free(e);
}

/* ---- refusals and failures ---------------------------------------------- */

typedef struct bad_case {
	const char *name;
	const char *spec;
	int open_rc; /* expected from im_env_make */
	int run_rc;  /* expected from the first failing call, if open ok */
	const char *message;
} bad_case;

static const bad_case bad_cases[] = {
	{"factory raises", "py:pybad:make?mode=factory_raises", IM_EENVFAIL, 0,
	 "the factory raised KeyError: 'no such level'"},
	{"not an env", "py:pybad:make?mode=not_an_env", IM_EPLUGIN, 0,
	 "returned int, which has no reset() method"},
	{"no step", "py:pybad:make?mode=no_step", IM_EPLUGIN, 0,
	 "has no step() method"},
	{"Dict observations", "py:pybad:make?mode=obs_dict", IM_EPLUGIN, 0,
	 "observation space"},
	{"Dict observations, close() raises",
	 "py:pybad:make?mode=obs_dict&close=raises", IM_EPLUGIN, 0,
	 "observation space"},
	{"Discrete observations", "py:pybad:make?mode=obs_discrete", IM_EPLUGIN,
	 0, "not a Box (one-hot it in a wrapper)"},
	{"uint16 observations", "py:pybad:make?mode=obs_uint16", IM_EPLUGIN, 0,
	 "dtype uint16 is not supported"},
	{"huge uint8 frame", "py:pybad:make?mode=obs_huge_u8", IM_EPLUGIN, 0,
	 "has 3298534883328 elements; at most 67108864 are supported"},
	{"huge float vector", "py:pybad:make?mode=obs_huge_f32", IM_EPLUGIN, 0,
	 "has 2147483648 elements; at most 67108864"},
	{"time limit beyond int", "py:pybad:make?mode=limit_huge", IM_EPLUGIN, 0,
	 "max_episode_steps = 1099511627776 is not 0..2147483647"},
	{"MultiDiscrete actions", "py:pybad:make?mode=act_multidiscrete",
	 IM_EPLUGIN, 0, "MultiDiscrete spaces are not supported"},
	{"infinite Box actions", "py:pybad:make?mode=act_box_inf", IM_EPLUGIN,
	 0, "needs finite bounds"},
	{"missing module", "py:no_such_module_xyz:make", IM_EPLUGIN, 0,
	 "cannot import 'no_such_module_xyz'"},
	{"missing factory", "py:pybad:nope", IM_EPLUGIN, 0,
	 "module 'pybad' has no attribute 'nope'"},
	{"no factory", "py:pybad", IM_EPLUGIN, 0,
	 "'pybad' is not package.module:factory"},
	{"bad argument", "py:pybad:make?1x=2", IM_EPLUGIN, 0,
	 "argument '1x=2' is not key=value"},
	{"repeated argument", "py:pybad:make?mode=a&mode=b", IM_EPLUGIN, 0,
	 "argument 'mode' is given twice"},
	{"reset raises", "py:pybad:make?mode=reset_raises", 0, IM_EENVFAIL,
	 "reset() raised RuntimeError: reset failed on purpose"},
	{"reset returns obs only", "py:pybad:make?mode=reset_not_tuple", 0,
	 IM_EENVFAIL, "reset(): returned a numpy.ndarray; expected the tuple"},
	{"step raises", "py:pybad:make?mode=step_raises&after=2", 0,
	 IM_EENVFAIL, "step(1) raised ZeroDivisionError: step failed on purpose"},
	{"unprintable exception", "py:pybad:make?mode=step_raises_unprintable",
	 0, IM_EENVFAIL, "step(1) raised Unprintable: <str() failed>"},
	{"action refused", "py:pybad:make?mode=refuse_action", 0, IM_EENVFAIL,
	 "step(1) raised ValueError: action 1 is not allowed here"},
	{"wrong shape", "py:pybad:make?mode=bad_shape", 0, IM_EENVFAIL,
	 "observation has shape (4,) but the observation space (3,)"},
	{"wrong dtype", "py:pybad:make?mode=bad_dtype", 0, IM_EENVFAIL,
	 "observation has dtype 'l'"},
	{"list emptied while read", "py:pybad:make?mode=list_shrinks", 0,
	 IM_EENVFAIL, "dimension 0 changed size while it was read"},
	{"NaN observation", "py:pybad:make?mode=nan_obs", 0, IM_EENVFAIL,
	 "observation element 1 is nan"},
	{"reward not a number", "py:pybad:make?mode=reward_str", 0, IM_EENVFAIL,
	 "the reward is a str, not a number"},
	{"NaN reward", "py:pybad:make?mode=reward_nan", 0, IM_EENVFAIL,
	 "the reward is nan"},
	{"old Gym API", "py:pybad:make?mode=old_api", 0, IM_EENVFAIL,
	 "returned a 4-tuple (the old Gym API)"},
	{"gym: without Gymnasium", "gym:CartPole-v1", IM_EPLUGIN, 0,
	 "Gymnasium is not importable"},
};

/* pybad.CALLS: how many times Python's reset() and step() ran. */
static long pybad_calls(void)
{
	PyGILState_STATE g = PyGILState_Ensure();
	PyObject *m = PyImport_ImportModule("pybad");
	PyObject *n = m ? PyObject_GetAttrString(m, "CALLS") : NULL;
	long calls = n ? PyLong_AsLong(n) : -1;
	Py_XDECREF(n);
	Py_XDECREF(m);
	PyErr_Clear();
	PyGILState_Release(g);
	assert_true(calls >= 0);
	return calls;
}

/* Runs episodes of action 1 until something fails; returns that code. */
static int run_until_failure(im_env *e, float *obs)
{
	int32_t a = 1;
	im_env_result res;
	int rc = im_env_reset(e, 1, obs);
	for (int t = 0; rc == 0 && t < 10; t++)
		rc = im_env_step(e, &a, obs, &res);
	return rc;
}

static void check_bad_case(const bad_case *c)
{
	char err[1024] = "";
	im_env *e = NULL;
	const im_env_class *cls = NULL;
	int rc = im_env_make(&e, c->spec, err, sizeof err);
	if (rc != c->open_rc)
		print_error("%s: open gave %s (%s)\n", c->name, im_err_name(rc),
			    err);
	assert_int_equal(rc, c->open_rc);
	if (rc == 0) {
		float obs[3];
		rc = run_until_failure(e, obs);
		assert_int_equal(rc, c->run_rc);
		/* The failed instance answers without calling Python. */
		long calls = pybad_calls();
		assert_int_equal(run_until_failure(e, obs), IM_EENVFAIL);
		assert_int_equal(pybad_calls(), calls);
		/* im_env keeps its class private; reopen it to read the
		 * message through the class interface instead. */
		im_env_free(e);
		assert_int_equal(im_env_class_open(&cls, c->spec, err,
						   sizeof err),
				 0);
		void *st = calloc(1, cls->state_size);
		assert_non_null(st);
		assert_int_equal(cls->init(cls, st), 0);
		im_rng r;
		im_rng_init(&r, 1);
		cls->reset(cls, st, &r, obs);
		rc = cls->reset_status(cls, st);
		int32_t a = 1;
		float rw;
		uint8_t term;
		for (int t = 0; rc == 0 && t < 10; t++)
			rc = cls->step(cls, st, &a, obs, &rw, &term);
		assert_int_equal(rc, c->run_rc);
		snprintf(err, sizeof err, "%s", im_pyenv_last_error(cls));
		cls->fini(cls, st);
		free(st);
		im_env_class_close(cls);
	}
	if (!strstr(err, c->message))
		print_error("%s: message '%s' lacks '%s'\n", c->name, err,
			    c->message);
	assert_non_null(strstr(err, c->message));
}

static void test_bad_behaviour(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
		check_bad_case(&bad_cases[i]);
}

/* ---- gym: with a stand-in Gymnasium ------------------------------------- */

static void test_fake_gymnasium(void **state)
{
	(void)state;
	im_env *e = make_ok("gym:CartPole-v1?start=[0.01,0,0.02,0]");
	/* The stand-in's make() returns the Python CartPole; the time limit
	 * comes from its spec. */
	assert_string_equal(im_env_name(e), "PyCartPole-v1");
	assert_int_equal(im_env_max_episode_steps(e), 500);
	float obs[4];
	assert_int_equal(im_env_reset(e, 1, obs), 0);
	assert_true(obs[0] == 0.01f && obs[2] == 0.02f);
	im_env_free(e);
	char err[512] = "";
	assert_int_equal(im_env_make(&e, "gym:Nope-v0", err, sizeof err),
			 IM_EENVFAIL);
	assert_non_null(strstr(err, "raised KeyError"));
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "fakegym") == 0) {
		const struct CMUnitTest gym[] = {
			cmocka_unit_test(test_fake_gymnasium),
		};
		return cmocka_run_group_tests(gym, NULL, NULL);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cartpole_side_by_side),
		cmocka_unit_test(test_spaces_and_vecenv),
		cmocka_unit_test(test_arguments_seeds_box_actions),
		cmocka_unit_test(test_observation_forms),
		cmocka_unit_test(test_uint8_image),
		cmocka_unit_test(test_unencodable_name),
		cmocka_unit_test(test_bad_behaviour),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
