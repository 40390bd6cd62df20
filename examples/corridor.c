// SPDX-License-Identifier: Apache-2.0
/* An example environment plugin: a walk along a 1-D corridor.
 *
 * The agent stands on one of `length` cells and steps left (action 0) or
 * right (action 1); walls stop it at cell 0.  Reaching the last cell ends
 * the episode with reward +1; every other step costs -0.01.  Episodes start
 * on a random cell in the left half and are cut after 100 steps.  The
 * observation is the corridor as bytes: 255 on the agent's cell, 0
 * elsewhere (uint8, so it also shows the byte-observation path), with
 * obs_scale 1/255 so that the network's first layer sees 1 and 0.
 *
 * Build (meson does this as a shared_module):
 *   cc -shared -fPIC -O2 -I common/env -o libcorridor_env.so corridor.c
 * Use: impala-random-demo --env plugin:./libcorridor_env.so
 *      impala-random-demo --env 'plugin:./libcorridor_env.so?length=8'
 *
 * Only impala_env_plugin.h is needed; nothing else from impala. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "impala_env_plugin.h"

/* The table's shape is fixed at the largest corridor; shorter ones leave
 * the tail cells at 0.  (A plugin's spaces are per library, not per
 * instance.) */
#define MAX_LENGTH 16
#define DEFAULT_LENGTH 10

typedef struct corridor {
	int length; /* 2..MAX_LENGTH */
	int pos;    /* 0..length-1 */
} corridor;

static void draw(const corridor *c, uint8_t *obs)
{
	memset(obs, 0, MAX_LENGTH);
	obs[c->pos] = 255;
}

static void *corridor_create(const char *args)
{
	int length = DEFAULT_LENGTH;
	if (args && strncmp(args, "length=", 7) == 0) {
		char *end;
		long n = strtol(args + 7, &end, 10);
		if (*end != '\0' || n < 2 || n > MAX_LENGTH)
			return NULL;
		length = (int)n;
	} else if (args && *args) {
		return NULL; /* unknown argument */
	}
	corridor *c = calloc(1, sizeof(*c));
	if (c)
		c->length = length;
	return c;
}

static void corridor_destroy(void *env)
{
	free(env);
}

/* splitmix64: all the randomness this task needs is one draw per reset. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void corridor_reset(void *env, uint64_t seed, void *obs)
{
	corridor *c = env;
	c->pos = (int)(mix(seed) % (uint64_t)(c->length / 2));
	draw(c, obs);
}

static int corridor_step(void *env, const void *action, void *obs,
			 float *reward, int32_t *terminated)
{
	corridor *c = env;
	int32_t a = *(const int32_t *)action;
	if (a == 1)
		c->pos++;
	else if (c->pos > 0)
		c->pos--;
	*terminated = c->pos == c->length - 1;
	*reward = *terminated ? 1.0f : -0.01f;
	draw(c, obs);
	return 0;
}

static const float obs_low[MAX_LENGTH] = {0};
static const float obs_high[MAX_LENGTH] = {
	255,
	255,
	255,
	255,
	255,
	255,
	255,
	255,
	255,
	255,
	255,
	255,
	255,
	255,
	255,
	255,
};

static const impala_env_plugin corridor_table = {
	.abi_version = IMPALA_ENV_ABI_VERSION,
	.struct_size = sizeof(impala_env_plugin),
	.name = "Corridor-v0",
	.obs_ndim = 1,
	.obs_shape = {MAX_LENGTH},
	.obs_dtype = IMPALA_ENV_OBS_U8,
	.obs_low = obs_low,
	.obs_high = obs_high,
	.act_kind = IMPALA_ENV_ACT_DISCRETE,
	.act_n = 2,
	.max_episode_steps = 100,
	.create = corridor_create,
	.destroy = corridor_destroy,
	.reset = corridor_reset,
	.step = corridor_step,
	/* The network sees the agent's cell as 1, not 255. */
	.obs_scale = 1.0f / 255.0f,
};

uint32_t impala_env_abi_version(void)
{
	return IMPALA_ENV_ABI_VERSION;
}

const impala_env_plugin *impala_env_plugin_entry(void)
{
	return &corridor_table;
}
