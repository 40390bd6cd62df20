// SPDX-License-Identifier: Apache-2.0
/* impala-random-demo: steps an environment with a uniform random policy
 * and prints each episode's return and length, then the means.  A quick
 * check that an environment (built-in or plugin) works:
 *   impala-random-demo --env CartPole-v1 --episodes 10 --seed 1 */
#include <stdio.h>
#include <stdlib.h>

#include "env/env.h"
#include "err.h"
#include "flags.h"
#include "rng.h"
#include "space.h"

static void random_action(const im_act_space *a, im_rng *r, int32_t *discrete,
			  float *box)
{
	if (a->kind == IM_ACT_DISCRETE) {
		*discrete = (int32_t)im_rng_below(r, (uint64_t)a->n);
		return;
	}
	for (int j = 0; j < a->n; j++)
		box[j] = im_rng_uniform(r, a->low[j], a->high[j]);
}

/* Runs one episode; returns 0 or an IM_E* code. */
static int run_episode(im_env *e, im_rng *policy, void *obs, double *ret,
		       int *len)
{
	const im_act_space *a = im_env_act_space(e);
	int32_t discrete = 0;
	float box[IM_SPACE_MAX_ACTION_DIM];
	const void *act = a->kind == IM_ACT_DISCRETE ? (const void *)&discrete
						     : (const void *)box;
	im_env_result res = {0};
	*ret = 0;
	*len = 0;
	do {
		random_action(a, policy, &discrete, box);
		int rc = im_env_step(e, act, obs, &res);
		if (rc)
			return rc;
		*ret += res.reward;
		++*len;
	} while (!res.terminated && !res.truncated);
	return 0;
}

static int run(im_env *e, int episodes, int64_t seed)
{
	im_rng root, env_stream, policy;
	im_rng_init(&root, (uint64_t)seed);
	im_rng_split(&env_stream, &root, 0);
	im_rng_split(&policy, &root, 1);
	void *obs = calloc(1, im_obs_bytes(im_env_obs_space(e)));
	if (!obs)
		return IM_ENOMEM;
	double sum_ret = 0, sum_len = 0;
	int rc = im_env_reset_stream(e, &env_stream, obs);
	for (int ep = 0; rc == 0 && ep < episodes; ep++) {
		double ret;
		int len;
		if (ep > 0)
			rc = im_env_reset_next(e, obs);
		if (rc == 0)
			rc = run_episode(e, &policy, obs, &ret, &len);
		if (rc)
			break;
		printf("episode %d: return %.3f length %d\n", ep + 1, ret, len);
		sum_ret += ret;
		sum_len += len;
	}
	if (rc == 0)
		printf("%s: mean return %.3f, mean length %.1f over %d "
		       "episodes\n",
		       im_env_name(e), sum_ret / episodes,
		       sum_len / episodes, episodes);
	free(obs);
	return rc;
}

int main(int argc, char **argv)
{
	const char *env_name = "CartPole-v1";
	int episodes = 10;
	int64_t seed = 1;
	const im_flag flags[] = {
		{"env", IM_FLAG_STR, &env_name,
		 "environment: a built-in name or plugin:/path/lib.so", 1, 0,
		 NULL},
		{"episodes", IM_FLAG_INT, &episodes, "episodes to run", 1,
		 1e6, NULL},
		{"seed", IM_FLAG_I64, &seed, "random seed", 1, 0, NULL},
	};
	const size_t nflags = sizeof(flags) / sizeof(flags[0]);
	const char *usage = "impala-random-demo [--env NAME] [--episodes N] "
			    "[--seed S]";
	char err[1024];
	im_flags_result res;
	int rc = im_flags_parse(flags, nflags, argc, argv, &res, err,
				sizeof(err));
	if (rc == IM_EHELP) {
		im_flags_usage(stdout, usage, flags, nflags);
		return 0;
	}
	if (rc || res.npositional) {
		fprintf(stderr, "impala-random-demo: %s\n",
			rc ? err : "unexpected positional argument");
		im_flags_usage(stderr, usage, flags, nflags);
		return 2;
	}
	im_env *e = NULL;
	rc = im_env_make(&e, env_name, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "impala-random-demo: %s\n", err);
		return 2;
	}
	rc = run(e, episodes, seed);
	im_env_free(e);
	if (rc) {
		fprintf(stderr, "impala-random-demo: %s\n", im_strerror(rc));
		return 1;
	}
	return 0;
}
