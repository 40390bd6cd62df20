// SPDX-License-Identifier: Apache-2.0
/* A test environment plugin whose steps take a fixed wall-clock time.
 *
 * The cluster tests need actors whose frame rate is set by the test, not by
 * how busy the shared machine is: an actor stepping this environment spends
 * nearly all its time asleep, so N actors produce about N times the frames
 * of one, and the learner (which only sees small batches) is never the
 * bottleneck.  Args: "step_us=N" (0..1000000, default 500): microseconds
 * per step.
 *
 * Pacing is by absolute deadlines (one every step_us), not by a fixed sleep
 * per step: on a loaded machine a sleeper wakes late, and fixed sleeps would
 * add every late wake-up to the step time, making the rate depend on the
 * load again.  A step that finds its deadline passed does not sleep, so the
 * instance catches up; after a long stall (blocked on the learner, a cut
 * link) it catches up at most MAX_BURST_NS, not in one long burst.
 *
 * The task is trivial on purpose: the observation is a one-hot of a
 * position 0..3 on a ring plus a bias; action 1 moves right, action 0
 * left; reward 1 when the agent lands on position 0.  Episodes end by the
 * time limit (50 steps) only, so the unrolls carry truncations too. */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_nanosleep, when built by hand */
#endif
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "impala_env_plugin.h"

#define RING 4
#define OBS (RING + 1)
#define MAX_BURST_NS 200000000LL

typedef struct paced {
	long step_us;
	int pos;          /* 0..RING-1 */
	long long due_ns; /* CLOCK_MONOTONIC deadline of the next step; 0: none */
} paced;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Sleeps until the step's deadline and sets the next one. */
static void pace(paced *p)
{
	long long now = now_ns();
	if (p->due_ns == 0 || now - p->due_ns > MAX_BURST_NS)
		p->due_ns = now;
	if (p->due_ns > now) {
		struct timespec ts = {(time_t)(p->due_ns / 1000000000LL),
				      (long)(p->due_ns % 1000000000LL)};
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	p->due_ns += (long long)p->step_us * 1000;
}

static void draw(const paced *p, float *obs)
{
	memset(obs, 0, OBS * sizeof(float));
	obs[p->pos] = 1.0f;
	obs[RING] = 1.0f;
}

static void *paced_create(const char *args)
{
	long us = 500;
	if (args && strncmp(args, "step_us=", 8) == 0) {
		char *end;
		us = strtol(args + 8, &end, 10);
		if (*end != '\0' || end == args + 8 || us < 0 || us > 1000000)
			return NULL;
	} else if (args && *args) {
		return NULL; /* unknown argument */
	}
	paced *p = calloc(1, sizeof(*p));
	if (p)
		p->step_us = us;
	return p;
}

static void paced_destroy(void *env)
{
	free(env);
}

static void paced_reset(void *env, uint64_t seed, void *obs)
{
	paced *p = env;
	p->pos = (int)((seed ^ (seed >> 29)) % RING);
	draw(p, obs);
}

static int paced_step(void *env, const void *action, void *obs,
		      float *reward, int32_t *terminated)
{
	paced *p = env;
	if (p->step_us > 0)
		pace(p);
	int32_t a = *(const int32_t *)action;
	p->pos = (p->pos + (a == 1 ? 1 : RING - 1)) % RING;
	*reward = p->pos == 0 ? 1.0f : 0.0f;
	*terminated = 0;
	draw(p, obs);
	return 0;
}

static const float obs_low[OBS] = {0};
static const float obs_high[OBS] = {1, 1, 1, 1, 1};

static const impala_env_plugin paced_table = {
	.abi_version = IMPALA_ENV_ABI_VERSION,
	.struct_size = sizeof(impala_env_plugin),
	.name = "Paced-v0",
	.obs_ndim = 1,
	.obs_shape = {OBS},
	.obs_dtype = IMPALA_ENV_OBS_F32,
	.obs_low = obs_low,
	.obs_high = obs_high,
	.act_kind = IMPALA_ENV_ACT_DISCRETE,
	.act_n = 2,
	.max_episode_steps = 50,
	.create = paced_create,
	.destroy = paced_destroy,
	.reset = paced_reset,
	.step = paced_step,
};

uint32_t impala_env_abi_version(void)
{
	return IMPALA_ENV_ABI_VERSION;
}

const impala_env_plugin *impala_env_plugin_entry(void)
{
	return &paced_table;
}
