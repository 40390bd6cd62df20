// SPDX-License-Identifier: Apache-2.0
/* Flags: defaults, environment variables, command line precedence, and a
 * clear message for every kind of bad value. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "flags.h"
#include "nn/model.h"

/* An enum flag over a module's own parse and name (nn's init methods). */
static int parse_init(const char *s, void *dst, char *err, size_t errlen)
{
	return im_nn_init_parse(s, dst, err, errlen);
}

static const char *init_name(const void *dst)
{
	return im_nn_init_name(*(const im_nn_init *)dst);
}

static const im_flag_enum inits = {parse_init, init_name};

typedef struct cfg {
	int num_steps;
	int64_t frames;
	double lr;
	int use_lstm;
	const char *tag;
	im_nn_init init;
} cfg;

static void table(cfg *c, im_flag *f)
{
	c->num_steps = 80;
	c->frames = 1000;
	c->lr = 0.0004;
	c->use_lstm = 0;
	c->tag = "default";
	c->init = IM_NN_INIT_IDENTITY;
	im_flag t[] = {
		{"num-steps", IM_FLAG_INT, &c->num_steps, "T", 1, 100000, NULL},
		{"num-train-steps", IM_FLAG_I64, &c->frames, "F", 1, 1e18, NULL},
		{"lr", IM_FLAG_DOUBLE, &c->lr, "lr", 0, 1, NULL},
		{"use-lstm", IM_FLAG_BOOL, &c->use_lstm, "lstm", 1, 0, NULL},
		{"tag", IM_FLAG_STR, &c->tag, "tag", 1, 0, NULL},
		{"network-init-method", IM_FLAG_ENUM, &c->init, "init", 1, 0,
		 &inits},
	};
	memcpy(f, t, sizeof t);
}

static int parse(cfg *c, int argc, char **argv, char *err)
{
	im_flag f[6];
	im_flags_result res;
	table(c, f);
	return im_flags_parse(f, 6, argc, argv, &res, err, 256);
}

static void test_defaults_env_and_argv(void **state)
{
	(void)state;
	cfg c;
	char err[256];
	char *argv0[] = {"p"};
	assert_int_equal(parse(&c, 1, argv0, err), IM_OK);
	assert_int_equal(c.num_steps, 80);

	setenv("IMPALA_NUM_STEPS", "20", 1);
	setenv("IMPALA_USE_LSTM", "yes", 1);
	assert_int_equal(parse(&c, 1, argv0, err), IM_OK);
	assert_int_equal(c.num_steps, 20);
	assert_int_equal(c.use_lstm, 1);

	char *argv[] = {"p", "--num-steps", "40", "--lr=0.01", "--no-use-lstm",
			"--tag", "x", "--network-init-method", "orthogonal",
			"--num-train-steps", "5000000000", "train"};
	im_flag f[6];
	im_flags_result res;
	table(&c, f);
	assert_int_equal(im_flags_parse(f, 6, 12, argv, &res, err, 256), IM_OK);
	assert_int_equal(c.num_steps, 40);
	assert_true(c.lr == 0.01);
	assert_int_equal(c.use_lstm, 0);
	assert_string_equal(c.tag, "x");
	assert_int_equal(c.init, IM_NN_INIT_ORTHOGONAL);
	/* Every flag a source set is recorded as given, the environment's
	 * too; --no-use-lstm counts as a value. */
	for (int i = 0; i < 6; i++)
		assert_int_equal(res.given[i], 1);
	assert_true(c.frames == 5000000000LL);
	assert_int_equal(res.npositional, 1);
	assert_string_equal(res.positional[0], "train");
	unsetenv("IMPALA_USE_LSTM");
	char *some[] = {"p", "--lr", "0.1"};
	assert_int_equal(im_flags_parse(f, 6, 3, some, &res, err, 256), IM_OK);
	for (int i = 0; i < 6; i++)
		assert_int_equal(res.given[i], i == 0 || i == 2); /* env, argv */
	unsetenv("IMPALA_NUM_STEPS");
	unsetenv("IMPALA_USE_LSTM");
}

typedef struct bad_case {
	const char *name;
	char *argv[3];
	const char *want; /* substring of the message */
} bad_case;

static void test_bad_values(void **state)
{
	(void)state;
	static const bad_case cases[] = {
		{"not a number", {"p", "--num-steps", "abc"}, "not an integer"},
		{"trailing junk", {"p", "--num-steps=80x", NULL}, "not an integer"},
		{"out of range", {"p", "--num-steps", "0"}, "out of range"},
		{"hex", {"p", "--num-steps", "0x10"}, "not an integer"},
		{"int overflow", {"p", "--num-steps", "99999999999"}, "does not fit"},
		{"negative lr", {"p", "--lr", "-1"}, "out of range"},
		{"nan lr", {"p", "--lr", "nan"}, "not finite"},
		{"missing value", {"p", "--lr", NULL}, "missing value"},
		{"unknown flag", {"p", "--frobnicate", NULL}, "unknown flag"},
		{"single dash", {"p", "-x", NULL}, "unknown option"},
		{"bad choice", {"p", "--network-init-method", "ones"}, "--network-init-method: 'ones' is not one of: identity, "
								       "orthogonal, xavier_uniform, xavier_normal"},
		{"bool with junk", {"p", "--use-lstm=maybe", NULL}, "not a boolean"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cfg c;
		char err[256];
		int argc = cases[i].argv[2] ? 3 : 2;
		int rc = parse(&c, argc, (char **)cases[i].argv, err);
		print_message("case %s: %s\n", cases[i].name, err);
		assert_int_equal(rc, IM_EINVAL);
		assert_non_null(strstr(err, cases[i].want));
	}
}

static void test_decimal_only(void **state)
{
	(void)state;
	/* A leading zero is not octal: "010" is ten. */
	cfg c;
	char err[256];
	char *argv[] = {"p", "--num-steps", "010"};
	assert_int_equal(parse(&c, 3, argv, err), IM_OK);
	assert_int_equal(c.num_steps, 10);
}

static void test_bad_env_names_variable(void **state)
{
	(void)state;
	cfg c;
	char err[256];
	char *argv0[] = {"p"};
	setenv("IMPALA_LR", "fast", 1);
	assert_int_equal(parse(&c, 1, argv0, err), IM_EINVAL);
	assert_non_null(strstr(err, "IMPALA_LR"));
	unsetenv("IMPALA_LR");
}

static void test_help(void **state)
{
	(void)state;
	cfg c;
	char err[256];
	char *argv[] = {"p", "--help"};
	assert_int_equal(parse(&c, 2, argv, err), IM_EHELP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_env_and_argv),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_decimal_only),
		cmocka_unit_test(test_bad_env_names_variable),
		cmocka_unit_test(test_help),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
