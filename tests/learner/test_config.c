// SPDX-License-Identifier: Apache-2.0
/* The learner's configuration: --config FILE (IMPALA_*=value lines, as a
 * systemd EnvironmentFile) with its precedence under the environment and
 * the command line, its refusals, and the defaults that depend on the
 * kind of observation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "err.h"

static char path[] = "/tmp/impala-config-XXXXXX";

static const char *write_bytes(const char *text, size_t len)
{
	strcpy(path, "/tmp/impala-config-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static const char *write_file(const char *text)
{
	strcpy(path, "/tmp/impala-config-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void clear_env(void)
{
	const char *vars[] = {"IMPALA_ENV", "IMPALA_NUM_STEPS", "IMPALA_LR",
			      "IMPALA_BATCH_SIZE", "IMPALA_TAG", "IMPALA_POPART",
			      "IMPALA_CONFIG", "IMPALA_OBS_NORM",
			      "IMPALA_EXPLORE_EPS", "IMPALA_EXPLORE_HOLD"};
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		unsetenv(vars[i]);
}

static int parse(im_learner_config *c, int argc, char **argv, char *err)
{
	im_learner_config_defaults(c);
	return im_learner_config_parse(c, argc, argv, err, 256);
}

static void test_file_sets_flags(void **state)
{
	(void)state;
	clear_env();
	const char *f = write_file(
		"# a preset\n\n; also a comment\n"
		"IMPALA_ENV=Acrobot-v1\n"
		"  IMPALA_NUM_STEPS = 33  \n"
		"IMPALA_TAG=\"quoted-tag\"\n"
		"IMPALA_POPART='no'\n");
	char *argv[] = {"impala-learner", "--config", (char *)f};
	im_learner_config c;
	char err[256] = "";
	assert_int_equal(parse(&c, 3, argv, err), IM_OK);
	assert_string_equal(c.env, "Acrobot-v1");
	assert_int_equal(c.num_steps, 33);
	assert_string_equal(c.tag, "quoted-tag");
	assert_int_equal(c.popart, 0);
	/* A preset's values count as given; defaults do not. */
	assert_true(im_learner_config_given(&c, "num-steps"));
	assert_true(im_learner_config_given(&c, "popart"));
	assert_false(im_learner_config_given(&c, "hidden-dim"));
	assert_false(im_learner_config_given(&c, "no-such-flag"));
	unlink(f);
	clear_env();
}

static void test_precedence(void **state)
{
	(void)state;
	clear_env();
	const char *f = write_file("IMPALA_NUM_STEPS=33\nIMPALA_LR=0.5\n"
				   "IMPALA_BATCH_SIZE=3\n");
	setenv("IMPALA_LR", "0.25", 1); /* environment beats the file */
	char *argv[] = {"impala-learner", "--config=", "--batch-size", "5"};
	char arg[64];
	snprintf(arg, sizeof arg, "--config=%s", f);
	argv[1] = arg;
	im_learner_config c;
	char err[256] = "";
	assert_int_equal(parse(&c, 4, argv, err), IM_OK);
	assert_int_equal(c.num_steps, 33);
	assert_true(c.lr == 0.25);
	assert_int_equal(c.batch_size, 5); /* command line beats both */
	/* IMPALA_CONFIG names the file when the command line does not. */
	clear_env();
	setenv("IMPALA_CONFIG", f, 1);
	char *argv2[] = {"impala-learner"};
	assert_int_equal(parse(&c, 1, argv2, err), IM_OK);
	assert_int_equal(c.num_steps, 33);
	unlink(f);
	clear_env();
}

typedef struct bad_case {
	const char *name, *text, *want;
	size_t len; /* bytes of text; 0: strlen */
} bad_case;

static const bad_case bad_cases[] = {
	{"unknown variable", "IMPALA_NUM_STEPS=7\nIMPALA_NOPE=1\n",
	 ":2: IMPALA_NOPE is not a variable", 0},
	{"not a variable line", "IMPALA_NUM_STEPS=7\njust words\n",
	 ":2: not IMPALA_NAME=value", 0},
	{"not an IMPALA_ name", "PATH=/bin\n", ":1: not IMPALA_NAME=value", 0},
	{"lower-case name", "impala_lr=1\n", ":1: not IMPALA_NAME=value", 0},
	{"bad value", "IMPALA_NUM_STEPS=many\n", "IMPALA_NUM_STEPS", 0},
	{"duplicate key", "IMPALA_NUM_STEPS=7\nIMPALA_NUM_STEPS=9\n",
	 ":2: IMPALA_NUM_STEPS already set on line 1", 0},
	/* Without the newline, fgets() took "7" and ignored the rest. */
	{"NUL byte in the last line", "IMPALA_LR=0.5\nIMPALA_NUM_STEPS=7\0junk",
	 ":2: NUL byte", 37},
	{"NUL byte in a line", "IMPALA_NUM_STEPS=7\0\n", ":1: NUL byte", 20},
};

static void test_bad_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		clear_env();
		size_t len = bad_cases[i].len ? bad_cases[i].len
					      : strlen(bad_cases[i].text);
		const char *f = write_bytes(bad_cases[i].text, len);
		char *argv[] = {"impala-learner", "--config", (char *)f};
		im_learner_config c;
		char err[256] = "";
		assert_int_equal(parse(&c, 3, argv, err), IM_EINVAL);
		if (!strstr(err, bad_cases[i].want))
			fail_msg("%s: '%s' lacks '%s'", bad_cases[i].name, err,
				 bad_cases[i].want);
		/* A refused file exports nothing. */
		if (i < 2)
			assert_null(getenv("IMPALA_NUM_STEPS"));
		assert_null(getenv("IMPALA_LR"));
		unlink(f);
	}
	char *argv[] = {"impala-learner", "--config", "/nonexistent/x.env"};
	im_learner_config c;
	char err[256] = "";
	assert_int_equal(parse(&c, 3, argv, err), IM_EIO);
	assert_non_null(strstr(err, "/nonexistent/x.env"));
	clear_env();
}

/* A line longer than the parser's buffer is refused, not split in two
 * (the tail would otherwise be read as a line of its own). */
static void test_long_line(void **state)
{
	(void)state;
	clear_env();
	static char text[6000];
	memset(text, 'x', sizeof text);
	memcpy(text, "IMPALA_TAG=", 11);
	memcpy(text + 4500, "\nIMPALA_NUM_STEPS=7\n", 21);
	const char *f = write_bytes(text, 4500 + 21);
	char *argv[] = {"impala-learner", "--config", (char *)f};
	im_learner_config c;
	char err[256] = "";
	assert_int_equal(parse(&c, 3, argv, err), IM_EINVAL);
	assert_non_null(strstr(err, ":1: line too long"));
	assert_null(getenv("IMPALA_TAG"));
	assert_null(getenv("IMPALA_NUM_STEPS"));
	unlink(f);
}

static void test_defaults_by_observation(void **state)
{
	(void)state;
	clear_env();
	im_learner_config c;
	char err[256] = "";
	char *vec[] = {"impala-learner", "--env", "Acrobot-v1"};
	assert_int_equal(parse(&c, 3, vec, err), IM_OK);
	assert_int_equal(c.num_steps, 20);
	assert_int_equal(c.num_actors, 16);
	assert_int_equal(c.batch_size, 8);
	assert_int_equal(c.hidden_dim, 64);
	assert_int_equal(c.feature_dim, 64);
	assert_true(c.ent_coef == 0.003);
	/* Discrete actions: the lower rate (CartPole's policy collapsed at
	 * 0.001, README). */
	assert_true(c.lr == 0.0005);
	assert_int_equal(c.max_policy_lag, 20);
	assert_int_equal(c.popart, 1);
	/* Measured to break Acrobot (README): off for Discrete actions. */
	assert_int_equal(c.obs_norm, 0);
	assert_true(c.explore_eps == 0.0 && c.explore_hold == 20.0);
	/* A flag given keeps its value; the others still follow the kind. */
	char *set[] = {"impala-learner", "--env", "Acrobot-v1", "--num-steps",
		       "80", "--ent-coef", "0.01"};
	assert_int_equal(parse(&c, 7, set, err), IM_OK);
	assert_int_equal(c.num_steps, 80);
	assert_true(c.ent_coef == 0.01);
	assert_int_equal(c.batch_size, 8);
	/* Vector observations with Box actions: obs-norm on (measured to
	 * make Pendulum's default runs reliable, README), unless a flag says
	 * otherwise. */
	char *box[] = {"impala-learner", "--env", "Pendulum-v1"};
	assert_int_equal(parse(&c, 3, box, err), IM_OK);
	assert_int_equal(c.obs_norm, 1);
	assert_int_equal(c.num_steps, 20);
	/* Box actions keep 0.001 (0.0005 tripled Pendulum's frames). */
	assert_true(c.lr == 0.001 && c.ent_coef == 0.003);
	char *boxoff[] = {"impala-learner", "--env", "Pendulum-v1", "--no-obs-norm"};
	assert_int_equal(parse(&c, 4, boxoff, err), IM_OK);
	assert_int_equal(c.obs_norm, 0);
	setenv("IMPALA_OBS_NORM", "0", 1);
	assert_int_equal(parse(&c, 3, box, err), IM_OK);
	assert_int_equal(c.obs_norm, 0);
	unsetenv("IMPALA_OBS_NORM");
	/* No environment to look at: rllte's values. */
	char *unk[] = {"impala-learner", "--env", "NoSuchEnv-v0"};
	assert_int_equal(parse(&c, 3, unk, err), IM_OK);
	im_learner_config d;
	im_learner_config_defaults(&d);
	assert_int_equal(c.num_steps, d.num_steps);
	assert_int_equal(c.hidden_dim, d.hidden_dim);
	assert_true(c.lr == d.lr && c.ent_coef == d.ent_coef);
	assert_int_equal(c.max_policy_lag, d.max_policy_lag);
}

/* Loading a file exports its variables (for spawned actors), and one
 * preset's must not leak into the next. */
static void clear_all_impala_env(void)
{
	extern char **environ;
	char name[128];
	for (int again = 1; again;) {
		again = 0;
		for (char **e = environ; *e; e++) {
			const char *eq = strchr(*e, '=');
			size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
			if (strncmp(*e, "IMPALA_", 7) || n >= sizeof name)
				continue;
			memcpy(name, *e, n);
			name[n] = '\0';
			unsetenv(name);
			again = 1;
			break;
		}
	}
}

/* The presets that need more than the vector defaults say so in the
 * variables the flags read (a misspelt one would stop the program, but a
 * dropped one would silently train without it). */
static void test_presets_carry_their_settings(void **state)
{
	(void)state;
	struct {
		const char *file, *env;
		int obs_norm, num_steps;
		double explore_eps, explore_hold, ent_coef;
	} want[] = {
		{"mountaincar.env", "MountainCar-v0", 1, 20, 0.02, 40.0, 0.003},
		{"mountaincarcontinuous.env", "MountainCarContinuous-v0", 1, 200,
		 0.0, 20.0, 0.1},
		{"pendulum.env", "Pendulum-v1", 1, 20, 0.0, 20.0, 0.003},
		{"acrobot.env", "Acrobot-v1", 0, 20, 0.0, 20.0, 0.003},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		clear_all_impala_env();
		char file[512];
		snprintf(file, sizeof file, "%s/%s", PRESETS_DIR, want[i].file);
		char *argv[] = {"impala-learner", "--config", file};
		im_learner_config c;
		char err[256] = "";
		assert_int_equal(parse(&c, 3, argv, err), IM_OK);
		assert_string_equal(c.env, want[i].env);
		assert_int_equal(c.obs_norm, want[i].obs_norm);
		assert_int_equal(c.num_steps, want[i].num_steps);
		assert_true(c.explore_eps == want[i].explore_eps);
		assert_true(c.explore_hold == want[i].explore_hold);
		assert_true(c.ent_coef == want[i].ent_coef);
	}
	clear_all_impala_env();
}

/* The enum flags store the modules' own enums, named by the modules. */
typedef struct enum_case {
	const char *what;
	char *argv[3];
	int rc;
	const char *want; /* IM_EINVAL: the message */
} enum_case;

static const enum_case enum_cases[] = {
	{"activation tanh", {"l", "--activation", "tanh"}, IM_OK, NULL},
	{"encoder impala", {"l", "--encoder", "impala"}, IM_OK, NULL},
	{"optimizer adam", {"l", "--optimizer", "adam"}, IM_OK, NULL},
	{"init xavier_normal", {"l", "--network-init-method", "xavier_normal"}, IM_OK, NULL},
	{"bad activation", {"l", "--activation", "gelu"}, IM_EINVAL, "--activation: 'gelu' is not one of: relu, tanh"},
	{"bad encoder", {"l", "--encoder", "resnet"}, IM_EINVAL, "--encoder: 'resnet' is not one of: mlp, minatar, nature, impala, "
								 "auto"},
	{"bad optimizer", {"l", "--optimizer", "sgd"}, IM_EINVAL, "--optimizer: 'sgd' is not one of: rmsprop, adam"},
	{"bad init", {"l", "--network-init-method", "kaiming"}, IM_EINVAL, "--network-init-method: 'kaiming' is not one of: identity, "
									   "orthogonal, xavier_uniform, xavier_normal"},
};

static void test_enum_flags(void **state)
{
	(void)state;
	clear_env();
	im_learner_config c;
	char err[256] = "";
	char *none[] = {"l"};
	assert_int_equal(parse(&c, 1, none, err), IM_OK);
	assert_int_equal(c.activation, IM_NN_ACT_RELU);
	assert_int_equal(c.encoder, IM_NN_ENCODER_AUTO); /* learner.c resolves it */
	assert_int_equal(c.optimizer, IM_OPTIM_RMSPROP);
	assert_int_equal(c.network_init_method, IM_NN_INIT_IDENTITY);
	for (size_t i = 0; i < sizeof enum_cases / sizeof enum_cases[0]; i++) {
		const enum_case *e = &enum_cases[i];
		err[0] = '\0';
		int rc = parse(&c, 3, (char **)e->argv, err);
		print_message("%s: rc %d '%s'\n", e->what, rc, err);
		assert_int_equal(rc, e->rc);
		if (rc)
			assert_string_equal(err, e->want);
	}
	char *all[] = {"l", "--activation=tanh", "--optimizer=adam",
		       "--network-init-method=orthogonal", "--encoder=mlp"};
	assert_int_equal(parse(&c, 5, all, err), IM_OK);
	assert_int_equal(c.activation, IM_NN_ACT_TANH);
	assert_int_equal(c.optimizer, IM_OPTIM_ADAM);
	assert_int_equal(c.network_init_method, IM_NN_INIT_ORTHOGONAL);
	assert_int_equal(c.encoder, IM_NN_ENCODER_MLP);
}

/* --publish-min-ms bounds the broadcast rate (default 5 ms) but may not
 * exceed --publish-interval-ms: the broadcasts carry the flow-control
 * advice the actors wait for. */
static void test_publish_min_ms(void **state)
{
	(void)state;
	clear_env();
	im_learner_config c;
	char err[256] = "";
	char *none[] = {"l"};
	assert_int_equal(parse(&c, 1, none, err), IM_OK);
	assert_int_equal(c.publish_min_ms, 5);
	assert_int_equal(c.publish_interval_ms, 100);
	char *zero[] = {"l", "--publish-min-ms", "0"};
	assert_int_equal(parse(&c, 3, zero, err), IM_OK);
	assert_int_equal(c.publish_min_ms, 0);
	char *over[] = {"l", "--publish-min-ms", "150"};
	assert_int_equal(parse(&c, 3, over, err), IM_EINVAL);
	assert_non_null(strstr(err, "--publish-min-ms must not exceed "
				    "--publish-interval-ms"));
	char *both[] = {"l", "--publish-min-ms", "150",
			"--publish-interval-ms", "500"};
	assert_int_equal(parse(&c, 5, both, err), IM_OK);
	assert_int_equal(c.publish_min_ms, 150);
	char *neg[] = {"l", "--publish-min-ms", "-1"};
	assert_int_equal(parse(&c, 3, neg, err), IM_EINVAL);
	/* Left at its default, it follows a shorter interval down: a
	 * --publish-interval-ms that was valid alone stays valid. */
	char *fast[] = {"l", "--publish-interval-ms", "3"};
	assert_int_equal(parse(&c, 3, fast, err), IM_OK);
	assert_int_equal(c.publish_min_ms, 3);
	assert_int_equal(c.publish_interval_ms, 3);
	/* Given, the conflict is still an error. */
	char *given[] = {"l", "--publish-min-ms", "5", "--publish-interval-ms",
			 "3"};
	assert_int_equal(parse(&c, 5, given, err), IM_EINVAL);
}

/* --heap-mmap-threshold: 0 (glibc's own) or a page and more; 1 would
 * make every block its own mapping. */
static void test_heap_mmap_threshold(void **state)
{
	(void)state;
	clear_env();
	im_learner_config c;
	char err[256] = "";
	char *one[] = {"l", "--heap-mmap-threshold", "1"};
	assert_int_equal(parse(&c, 3, one, err), IM_EINVAL);
	assert_non_null(strstr(err, "--heap-mmap-threshold must be 0"));
	char *below[] = {"l", "--heap-mmap-threshold", "4095"};
	assert_int_equal(parse(&c, 3, below, err), IM_EINVAL);
	char *page[] = {"l", "--heap-mmap-threshold", "4096"};
	assert_int_equal(parse(&c, 3, page, err), IM_OK);
	assert_int_equal(c.heap_mmap_threshold, 4096);
	char *zero[] = {"l", "--heap-mmap-threshold", "0"};
	assert_int_equal(parse(&c, 3, zero, err), IM_OK);
	assert_int_equal(c.heap_mmap_threshold, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_sets_flags),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_defaults_by_observation),
		cmocka_unit_test(test_presets_carry_their_settings),
		cmocka_unit_test(test_enum_flags),
		cmocka_unit_test(test_publish_min_ms),
		cmocka_unit_test(test_heap_mmap_threshold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
