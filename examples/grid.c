// SPDX-License-Identifier: Apache-2.0
/* An example environment plugin with image observations: find the goal
 * on an 8x8 grid.
 *
 * The agent and the goal start on two different random cells.  Actions:
 * 0 up, 1 down, 2 left, 3 right; the border stops the agent.  Reaching
 * the goal ends the episode with reward +1; every other step costs -0.01.
 * Episodes are cut after 50 steps.  The observation is a frame of
 * [8, 8, 2] uint8 in [H, W, C] layout (common/space.h): channel 0 is 255
 * on the agent's cell, channel 1 is 255 on the goal's, everything else 0.
 * obs_scale 1/255 tells the network's first layer to see 0/1.
 *
 * It is the uint8 environment of the tests (tests/env, tests/pipeline,
 * tests/e2e): small enough for an MLP (128 inputs) to learn in seconds,
 * and a real image in shape and dtype, so every byte of a frame can be
 * followed from here to the learner's batch.
 *
 * Build (meson does this as a shared_module):
 *   cc -shared -fPIC -O2 -I common/env -o libgrid_env.so grid.c
 * Use: impala-learner --env plugin:./libgrid_env.so --spawn-actors 2 ...
 *
 * Only impala_env_plugin.h is needed; nothing else from impala. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "impala_env_plugin.h"

#define SIZE 8
#define CHANNELS 2
#define NUMEL (SIZE * SIZE * CHANNELS)

typedef struct grid {
	int ar, ac; /* agent row, column */
	int gr, gc; /* goal row, column */
} grid;

/* Byte offset of channel ch of cell (r, c) in an [H, W, C] frame. */
static int at(int r, int c, int ch)
{
	return (r * SIZE + c) * CHANNELS + ch;
}

static void draw(const grid *g, uint8_t *obs)
{
	memset(obs, 0, NUMEL);
	obs[at(g->ar, g->ac, 0)] = 255;
	obs[at(g->gr, g->gc, 1)] = 255;
}

static void *grid_create(const char *args)
{
	if (args && *args)
		return NULL; /* takes no arguments */
	return calloc(1, sizeof(grid));
}

static void grid_destroy(void *env)
{
	free(env);
}

/* splitmix64, one output per call from a running state. */
static uint64_t next(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void grid_reset(void *env, uint64_t seed, void *obs)
{
	grid *g = env;
	int a = (int)(next(&seed) % (SIZE * SIZE));
	/* The goal is any other cell: draw among the 63 and skip the agent's. */
	int b = (int)(next(&seed) % (SIZE * SIZE - 1));
	b += b >= a;
	g->ar = a / SIZE, g->ac = a % SIZE;
	g->gr = b / SIZE, g->gc = b % SIZE;
	draw(g, obs);
}

static int grid_step(void *env, const void *action, void *obs, float *reward,
		     int32_t *terminated)
{
	static const int dr[4] = {-1, 1, 0, 0}, dc[4] = {0, 0, -1, 1};
	grid *g = env;
	int32_t a = *(const int32_t *)action;
	int r = g->ar + dr[a], c = g->ac + dc[a];
	if (r >= 0 && r < SIZE && c >= 0 && c < SIZE)
		g->ar = r, g->ac = c;
	*terminated = g->ar == g->gr && g->ac == g->gc;
	*reward = *terminated ? 1.0f : -0.01f;
	draw(g, obs);
	return 0;
}

static const float obs_low[NUMEL]; /* all 0 */
static const float obs_high[NUMEL] = {
#define X8 255, 255, 255, 255, 255, 255, 255, 255
	X8,
	X8,
	X8,
	X8,
	X8,
	X8,
	X8,
	X8,
	X8,
	X8,
	X8,
	X8,
	X8,
	X8,
	X8,
	X8,
#undef X8
};

static const impala_env_plugin grid_table = {
	.abi_version = IMPALA_ENV_ABI_VERSION,
	.struct_size = sizeof(impala_env_plugin),
	.name = "Grid-v0",
	.obs_ndim = 3,
	.obs_shape = {SIZE, SIZE, CHANNELS},
	.obs_dtype = IMPALA_ENV_OBS_U8,
	.obs_low = obs_low,
	.obs_high = obs_high,
	.act_kind = IMPALA_ENV_ACT_DISCRETE,
	.act_n = 4,
	.max_episode_steps = 50,
	.create = grid_create,
	.destroy = grid_destroy,
	.reset = grid_reset,
	.step = grid_step,
	.obs_scale = 1.0f / 255.0f,
};

uint32_t impala_env_abi_version(void)
{
	return IMPALA_ENV_ABI_VERSION;
}

const impala_env_plugin *impala_env_plugin_entry(void)
{
	return &grid_table;
}
