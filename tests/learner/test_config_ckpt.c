// SPDX-License-Identifier: Apache-2.0
/* The run spec a checkpoint carries (learner/config_ckpt.c): written as
 * JSON whatever the strings in it hold, and read back into the
 * configuration with each architecture field held to its flag's range and
 * no activation guessed.  Checkpoints here are metadata only (no tensor):
 * the adoption reads nothing else. */
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
#include "config_ckpt.h"
#include "err.h"
#include "learn/ckpt.h"
#include "learn/json.h"

static char dir[] = "/tmp/impala-config-ckpt-XXXXXX";
static char path[sizeof dir + 32];

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/c.safetensors", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(dir);
}

/* A checkpoint at path whose run spec is spec (NULL: none). */
static void write_ckpt(const char *spec)
{
	im_ckpt_kv meta[] = {{"format", "impala-checkpoint-1"},
			     {"run_spec", spec}};
	char err[256];
	int rc = im_ckpt_write(path, NULL, 0, meta, spec ? 2 : 1, err, sizeof err);
	if (rc)
		fail_msg("im_ckpt_write: %s", err);
}

/* The configuration of `impala-learner eval <args...>`. */
static void parse(im_learner_config *c, const char *arg0, const char *arg1)
{
	char *argv[] = {"impala-learner", "eval", "--init-model-path", path,
			(char *)arg0, (char *)arg1, NULL};
	int argc = 4 + (arg0 != NULL) + (arg1 != NULL);
	char err[256];
	im_learner_config_defaults(c);
	if (im_learner_config_parse(c, argc, argv, err, sizeof err))
		fail_msg("parse: %s", err);
}

static int adopt(im_learner_config *c, char *err, size_t errlen)
{
	char note[400];
	return im_config_ckpt_adopt(c, path, 1, note, sizeof note, err, errlen);
}

/* Environment specs a user may give (a py: factory's arguments, a plugin
 * path) holding what JSON must escape: the run spec used to print them
 * between quotes as they were, and the checkpoint's spec did not parse. */
static void test_spec_json_escapes_hostile_names(void **state)
{
	(void)state;
	static const char *const envs[] = {
		"py:pkg.mod:make?name=\"quoted\"",
		"plugin:C:\\envs\\lib.so",
		"py:m:f?a=line\nbreak&b=tab\there",
		"py:m:f?ctl=\x01\x1f\x7f",
		"py:m\xc3\xa9t\xc3\xa9o:f?\\\"}],{\"env\":\"x",
	};
	for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
		im_learner_config c;
		im_learner_config_defaults(&c);
		c.activation = IM_NN_ACT_TANH;
		char *text = NULL;
		assert_int_equal(im_config_ckpt_spec_json(&c, envs[i],
							  IM_NN_ENCODER_MLP, &text),
				 IM_OK);
		im_json *spec = NULL;
		char why[256];
		if (im_json_parse(&spec, text, strlen(text), why, sizeof why))
			fail_msg("env %zu: run spec is not JSON (%s): %s", i, why, text);
		const im_json *env = im_json_get(spec, "env");
		assert_non_null(env);
		assert_string_equal(env->str, envs[i]);
		assert_string_equal(im_json_get(spec, "activation")->str, "tanh");
		assert_true(im_json_get(spec, "hidden_dim")->uint == 512);
		im_json_free(spec);
		/* Through a checkpoint, eval takes the environment back whole. */
		write_ckpt(text);
		free(text);
		parse(&c, NULL, NULL);
		char err[512];
		assert_int_equal(adopt(&c, err, sizeof err), IM_OK);
		assert_string_equal(c.env, envs[i]);
		assert_int_equal(c.activation, IM_NN_ACT_TANH);
	}
}

/* Each architecture field is held to the range its flag has (the flag
 * table is the one source): the reader used to take any integer up to
 * 2^20, and the model refused it later with a message that named
 * neither the key nor the range. */
static void test_arch_fields_held_to_flag_ranges(void **state)
{
	(void)state;
	static const struct {
		const char *name, *spec, *want[3];
	} cases[] = {
		{"hidden_dim over", "{\"activation\":\"relu\",\"hidden_dim\":65537}", {"hidden_dim 65537", "--hidden-dim", "[1, 65536]"}},
		{"hidden_dim zero", "{\"activation\":\"relu\",\"hidden_dim\":0}", {"hidden_dim 0", "--hidden-dim", "[1, 65536]"}},
		{"feature_dim 2^20", "{\"activation\":\"relu\",\"feature_dim\":1048576}", {"feature_dim 1048576", "--feature-dim", "[1, 65536]"}},
		{"layers over", "{\"activation\":\"relu\",\"num_hidden_layers\":65}", {"num_hidden_layers 65", "--num-hidden-layers", "[1, 64]"}},
		{"lstm over", "{\"activation\":\"relu\",\"use_lstm\":1,\"lstm_hidden\":70000}", {"lstm_hidden 70000", "--lstm-hidden", "[0, 65536]"}},
		{"bool 2", "{\"activation\":\"relu\",\"use_lstm\":2}", {"use_lstm 2", "--use-lstm", "[0, 1]"}},
		{"bool huge", "{\"activation\":\"relu\",\"popart\":4096}", {"popart 4096", "--popart", "[0, 1]"}},
		{"negative", "{\"activation\":\"relu\",\"hidden_dim\":-4}", {"hidden_dim", "not a whole number", ""}},
		{"fraction", "{\"activation\":\"relu\",\"feature_dim\":1.5}", {"feature_dim", "not a whole number", ""}},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		write_ckpt(cases[i].spec);
		im_learner_config c, before;
		parse(&c, NULL, NULL);
		before = c;
		char err[512] = "";
		if (adopt(&c, err, sizeof err) != IM_ECORRUPT)
			fail_msg("%s: accepted", cases[i].name);
		for (int k = 0; k < 3; k++)
			if (!strstr(err, cases[i].want[k]))
				fail_msg("%s: '%s' lacks '%s'", cases[i].name, err,
					 cases[i].want[k]);
		assert_true(strstr(err, path) != NULL);
		assert_int_equal(memcmp(&c, &before, sizeof c), 0);
	}
	/* The edges of a range are values the flag accepts. */
	write_ckpt("{\"activation\":\"relu\",\"hidden_dim\":65536,"
		   "\"num_hidden_layers\":64,\"feature_dim\":1}");
	im_learner_config c;
	parse(&c, NULL, NULL);
	char err[512];
	assert_int_equal(adopt(&c, err, sizeof err), IM_OK);
	assert_int_equal(c.hidden_dim, 65536);
	assert_int_equal(c.num_hidden_layers, 64);
	assert_int_equal(c.feature_dim, 1);
}

/* relu and tanh have the same tensors, so a checkpoint that does not say
 * its activation (every run spec this project wrote does) is refused
 * rather than built with the default; an explicit --activation settles
 * it. */
static void test_missing_activation_refused(void **state)
{
	(void)state;
	static const struct {
		const char *name, *spec, *want;
	} cases[] = {
		{"spec without it", "{\"hidden_dim\":64,\"feature_dim\":64}",
		 "its run spec records no activation"},
		{"empty spec", "{}", "its run spec records no activation"},
		{"no spec", NULL, "it has no run spec"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		write_ckpt(cases[i].spec);
		im_learner_config c;
		parse(&c, NULL, NULL);
		char err[512] = "";
		if (adopt(&c, err, sizeof err) != IM_ECORRUPT)
			fail_msg("%s: accepted", cases[i].name);
		if (!strstr(err, cases[i].want) || !strstr(err, "--activation"))
			fail_msg("%s: unclear: %s", cases[i].name, err);
		parse(&c, "--activation", "tanh");
		if (adopt(&c, err, sizeof err) != IM_OK)
			fail_msg("%s with --activation: %s", cases[i].name, err);
		assert_int_equal(c.activation, IM_NN_ACT_TANH);
	}
	write_ckpt("[\"activation\",\"relu\"]");
	im_learner_config c;
	parse(&c, NULL, NULL);
	char err[512] = "";
	assert_int_equal(adopt(&c, err, sizeof err), IM_ECORRUPT);
	assert_non_null(strstr(err, "not a JSON object"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_json_escapes_hostile_names),
		cmocka_unit_test(test_arch_fields_held_to_flag_ranges),
		cmocka_unit_test(test_missing_activation_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
