// SPDX-License-Identifier: Apache-2.0
/* A plugin built against ABI version 1, before obs_scale existed: its
 * table is version 2's without the last field.  The loader must still
 * load it, read nothing past its struct_size, and give its uint8
 * observations scale 1 (what version 1 fed the network).
 *
 * The version-1 layout is spelled out here, as a library compiled against
 * the old header would have it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "impala_env_plugin.h"

typedef struct v1_table {
	uint32_t abi_version;
	uint32_t struct_size;
	const char *name;
	int32_t obs_ndim;
	int32_t obs_shape[IMPALA_ENV_MAX_OBS_DIMS];
	int32_t obs_dtype;
	const float *obs_low;
	const float *obs_high;
	int32_t act_kind;
	int32_t act_n;
	const float *act_low;
	const float *act_high;
	int32_t max_episode_steps;
	void *(*create)(const char *args);
	void (*destroy)(void *env);
	void (*reset)(void *env, uint64_t seed, void *obs);
	int (*step)(void *env, const void *action, void *obs, float *reward,
		    int32_t *terminated);
} v1_table;

_Static_assert(sizeof(v1_table) == IMPALA_ENV_PLUGIN_V1_SIZE,
	       "version 1 is version 2 without obs_scale");

static void *create(const char *args)
{
	(void)args;
	static int dummy;
	return &dummy;
}

static void destroy(void *env)
{
	(void)env;
}

/* Frames count up: reset gives {seed & 0xff, 1, 2, 3}, each step adds 1. */
static void reset(void *env, uint64_t seed, void *obs)
{
	(void)env;
	uint8_t f[4] = {(uint8_t)seed, 1, 2, 3};
	memcpy(obs, f, sizeof f);
}

static int step(void *env, const void *action, void *obs, float *reward,
		int32_t *terminated)
{
	(void)env;
	(void)action;
	uint8_t *f = obs;
	for (int i = 0; i < 4; i++)
		f[i]++;
	*reward = 0;
	*terminated = 0;
	return 0;
}

/* The loader reads it through a pointer to the newer struct and must
 * stop at struct_size.  Right after the table, where version 2 keeps
 * obs_scale, sits a scale the loader would refuse: a loader that reads
 * past struct_size fails to load this library, whatever the linker puts
 * next. */
typedef struct v1_library {
	v1_table table;
	float poison;
} v1_library;

_Static_assert(offsetof(v1_library, poison) ==
		       offsetof(impala_env_plugin, obs_scale),
	       "the poison lies where version 2 reads obs_scale");

static const v1_library lib = {
	.table = {
		.abi_version = 1,
		.struct_size = sizeof(v1_table),
		.name = "Old-v0",
		.obs_ndim = 1,
		.obs_shape = {4},
		.obs_dtype = IMPALA_ENV_OBS_U8,
		.act_kind = IMPALA_ENV_ACT_DISCRETE,
		.act_n = 2,
		.max_episode_steps = 10,
		.create = create,
		.destroy = destroy,
		.reset = reset,
		.step = step,
	},
	.poison = -1.0f,
};

uint32_t impala_env_abi_version(void)
{
	return 1;
}

const impala_env_plugin *impala_env_plugin_entry(void)
{
	return (const impala_env_plugin *)(const void *)&lib.table;
}
