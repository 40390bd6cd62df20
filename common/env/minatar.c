// SPDX-License-Identifier: Apache-2.0
/* The environment-class side of the MinAtar games (see minatar.h): the
 * sticky-action rule, the game's own stream and options parsed from the
 * spec's ?ARGS.  Observations are the game's byte grid itself (uint8
 * space: the interface hands out bytes). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "minatar.h"

const float im_ma_zeros[IM_MA_MAX_CELLS];
const float im_ma_ones[IM_MA_MAX_CELLS] = {
#define O10 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
#define O100 O10, O10, O10, O10, O10, O10, O10, O10, O10, O10
	O100,
	O100,
	O100,
	O100,
	O100,
	O100,
	O100,
	O100,
	O100,
	O100,
#undef O100
#undef O10
};

int im_ma_init(const im_env_class *c, void *st)
{
	const im_ma_config *cfg = c->cfg;
	im_ma_core *core = st;
	core->game = cfg->game;
	core->sticky = cfg->sticky;
	core->ramping = (uint8_t)(cfg->ramping != 0);
	memcpy(core->action_set, cfg->action_set, sizeof(core->action_set));
	core->last_action = IM_MA_NOOP;
	return 0;
}

void im_ma_reset(const im_env_class *c, void *st, im_rng *rng, void *obs)
{
	(void)c;
	im_ma_core *core = st;
	/* One draw from the reset stream seeds the game's stream, so the
	 * next reset from the same stream starts a different game. */
	im_rng_init(&core->rng, im_rng_u64(rng));
	/* MinAtar keeps the last action across episodes; we start each
	 * episode from no-op so that a reset alone decides the episode
	 * (see README: it changes only the first frame's sticky draw). */
	core->last_action = IM_MA_NOOP;
	core->game->start(st);
	core->game->render(st, obs);
}

/* MinAtar's sticky actions: with probability sticky the previous frame's
 * action is repeated instead of the agent's. */
static inline int sticky_action(im_ma_core *core, int32_t agent_action)
{
	int a = core->action_set[agent_action];
	if (core->sticky > 0 && im_rng_double(&core->rng) < core->sticky)
		a = core->last_action;
	core->last_action = (uint8_t)a;
	return a;
}

void im_ma_step_u8(void *st, int32_t action, uint8_t *cells, float *reward,
		   uint8_t *terminated)
{
	im_ma_core *core = st;
	int a = sticky_action(core, action);
	uint8_t term = 0;
	*reward = (float)core->game->act(st, a, &term);
	*terminated = term;
	core->game->render(st, cells);
}

int im_ma_step(const im_env_class *c, void *st, const void *action, void *obs,
	       float *reward, uint8_t *terminated)
{
	(void)c;
	im_ma_step_u8(st, *(const int32_t *)action, obs, reward, terminated);
	return 0;
}

void im_ma_step_batch(void *states, int k, const void *actions, void *obs,
		      float *reward, uint8_t *terminated)
{
	if (k < 1)
		return;
	const im_ma_game *g = ((const im_ma_core *)states)->game;
	size_t n = (size_t)IM_MA_N * IM_MA_N * (size_t)g->channels;
	const int32_t *a = actions;
	unsigned char *s = states;
	uint8_t *o = obs;
	for (int i = 0; i < k; i++)
		im_ma_step_u8(s + (size_t)i * g->state_size, a[i],
			      o + n * (size_t)i, &reward[i], &terminated[i]);
}

/* ---- options ----------------------------------------------------------- */

/* strtod and strtol skip leading white space and take a sign; a value
 * on the name should be the number itself, so both are refused here. */
static int plain_number(const char *v)
{
	return (*v >= '0' && *v <= '9') || *v == '.';
}

static int parse_sticky(const char *v, double *out)
{
	char *end;
	errno = 0;
	double p = strtod(v, &end);
	if (!plain_number(v) || end == v || *end || errno || !(p >= 0.0 && p <= 1.0))
		return IM_EINVAL;
	*out = p;
	return 0;
}

static int parse_flag(const char *v, int *out)
{
	if (!strcmp(v, "1") || !strcmp(v, "true")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(v, "0") || !strcmp(v, "false")) {
		*out = 0;
		return 0;
	}
	return IM_EINVAL;
}

static int parse_steps(const char *v, int *out)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (!plain_number(v) || end == v || *end || errno || n < 0 || n > INT_MAX)
		return IM_EINVAL;
	*out = (int)n;
	return 0;
}

/* The option keys, as bits of the set already given. */
enum { OPT_STICKY = 1,
       OPT_RAMPING = 2,
       OPT_MAX_STEPS = 4 };

static unsigned option_bit(const char *key)
{
	return !strcmp(key, "sticky")      ? OPT_STICKY
	       : !strcmp(key, "ramping")   ? OPT_RAMPING
	       : !strcmp(key, "max_steps") ? OPT_MAX_STEPS
					   : 0;
}

/* Applies one "key=value" to cfg and *max_steps; *seen collects the keys
 * given so far, so that a key given twice is refused rather than the last
 * one silently winning. */
static int apply_option(char *kv, im_ma_config *cfg, int *max_steps,
			unsigned *seen, char *err, size_t errlen)
{
	char *eq = strchr(kv, '=');
	if (!eq)
		return im_errf(err, errlen, IM_EINVAL, "MinAtar option '%s': "
						       "expected key=value",
			       kv);
	*eq = '\0';
	const char *v = eq + 1;
	unsigned bit = option_bit(kv);
	if (!bit)
		return im_errf(err, errlen, IM_EINVAL, "MinAtar option '%s': "
						       "unknown (known: sticky, ramping, max_steps)",
			       kv);
	if (*seen & bit)
		return im_errf(err, errlen, IM_EINVAL, "MinAtar option '%s': "
						       "given twice",
			       kv);
	*seen |= bit;
	int rc = bit == OPT_STICKY    ? parse_sticky(v, &cfg->sticky)
		 : bit == OPT_RAMPING ? parse_flag(v, &cfg->ramping)
				      : parse_steps(v, max_steps);
	if (rc)
		return im_errf(err, errlen, IM_EINVAL, "MinAtar option %s='%s':"
						       " want %s",
			       kv, v,
			       !strcmp(kv, "sticky")    ? "a probability in [0, 1]"
			       : !strcmp(kv, "ramping") ? "0, 1, true or false"
							: "an integer >= 0");
	return 0;
}

int im_ma_configure(im_env_class *copy, void *cfgp, const char *args,
		    char *err, size_t errlen)
{
	im_ma_config cfg = *(const im_ma_config *)cfgp;
	int max_steps = copy->max_episode_steps;
	char *buf = strdup(args ? args : "");
	if (!buf)
		return IM_ENOMEM;
	int rc = 0;
	unsigned seen = 0;
	char *save = NULL;
	for (char *kv = strtok_r(buf, "&", &save); kv && !rc;
	     kv = strtok_r(NULL, "&", &save))
		rc = apply_option(kv, &cfg, &max_steps, &seen, err, errlen);
	free(buf);
	if (rc)
		return rc;
	*(im_ma_config *)cfgp = cfg;
	copy->max_episode_steps = max_steps;
	return 0;
}
