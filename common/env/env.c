// SPDX-License-Identifier: Apache-2.0
/* The registry of environment kinds and the single-environment interface:
 * action checks, the time limit and the episode state machine live here,
 * once, for built-ins and plugins alike. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/env.h"
#include "env/env_class.h"
#include "env/pyenv.h"
#include "err.h"

#define PLUGIN_PREFIX "plugin:"

static const im_env_class *const builtins[] = {
	&im_env_cartpole_class,
	&im_env_acrobot_class,
	&im_env_mountain_car_class,
	&im_env_pendulum_class,
	&im_env_mountain_car_cont_class,
	&im_env_minatar_breakout_v0_class,
	&im_env_minatar_freeway_v0_class,
	&im_env_minatar_asterix_v0_class,
	&im_env_minatar_seaquest_v0_class,
	&im_env_minatar_space_invaders_v0_class,
	&im_env_minatar_breakout_v1_class,
	&im_env_minatar_freeway_v1_class,
	&im_env_minatar_asterix_v1_class,
	&im_env_minatar_seaquest_v1_class,
	&im_env_minatar_space_invaders_v1_class,
};
#define NBUILTINS ((int)(sizeof(builtins) / sizeof(builtins[0])))

int im_env_builtin_count(void)
{
	return NBUILTINS;
}

const char *im_env_builtin_name(int i)
{
	return i >= 0 && i < NBUILTINS ? builtins[i]->name : NULL;
}

char *im_env_known_names(char *buf, size_t len)
{
	size_t used = 0;
	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (int i = 0; i < NBUILTINS && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s",
				 i ? ", " : "", builtins[i]->name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (used < len)
		snprintf(buf + used, len - used, ", plugin:/path/to/lib.so, "
						 "py:package.module:factory, gym:ID");
	return buf;
}

static int open_plugin_spec(const im_env_class **out, const char *spec,
			    char *err, size_t errlen)
{
	const char *path = spec + strlen(PLUGIN_PREFIX);
	const char *q = strchr(path, '?');
	size_t plen = q ? (size_t)(q - path) : strlen(path);
	if (plen == 0) {
		im_errf(err, errlen, 0, "environment '%s': no library path after "
					"'plugin:'",
			spec);
		return IM_EINVAL;
	}
	char *p = malloc(plen + 1);
	if (!p)
		return IM_ENOMEM;
	memcpy(p, path, plen);
	p[plen] = '\0';
	int rc = im_env_plugin_open(out, p, q ? q + 1 : "", err, errlen);
	free(p);
	return rc;
}

/* "NAME?ARGS" for a built-in: a heap copy of the class and of its cfg,
 * configured from ARGS (see env_class.h). */
static int open_builtin_args(const im_env_class **out, const im_env_class *b,
			     const char *spec, const char *args, char *err,
			     size_t errlen)
{
	if (!b->configure) {
		im_errf(err, errlen, 0, "environment '%s': %s takes no options "
					"after '?'",
			spec, b->name);
		return IM_EINVAL;
	}
	/* The cfg copy follows the class in one block, suitably aligned. */
	size_t head = (sizeof(im_env_class) + 15) & ~(size_t)15;
	im_env_class *c = malloc(head + b->cfg_size);
	if (!c)
		return IM_ENOMEM;
	*c = *b;
	void *cfg = (char *)c + head;
	memcpy(cfg, b->cfg, b->cfg_size);
	char why[200] = "";
	int rc = b->configure(c, cfg, args, why, sizeof(why));
	if (rc) {
		im_errf(err, errlen, 0, "environment '%s': %s", spec, why);
		free(c);
		return rc;
	}
	c->cfg = cfg;
	c->owned = 1;
	*out = c;
	return 0;
}

int im_env_class_open(const im_env_class **out, const char *spec, char *err,
		      size_t errlen)
{
	if (!out || !spec) {
		im_errf(err, errlen, 0, "no environment name given");
		return IM_EINVAL;
	}
	if (strncmp(spec, PLUGIN_PREFIX, strlen(PLUGIN_PREFIX)) == 0)
		return open_plugin_spec(out, spec, err, errlen);
	if (im_pyenv_is_spec(spec))
		return im_env_pyenv_open(out, spec, err, errlen);
	const char *q = strchr(spec, '?');
	size_t nlen = q ? (size_t)(q - spec) : strlen(spec);
	for (int i = 0; i < NBUILTINS; i++) {
		const char *name = builtins[i]->name;
		if (strlen(name) != nlen || strncmp(spec, name, nlen) != 0)
			continue;
		if (q)
			return open_builtin_args(out, builtins[i], spec, q + 1,
						 err, errlen);
		*out = builtins[i];
		return 0;
	}
	char names[1024];
	im_errf(err, errlen, 0, "unknown environment '%.*s'; known: %s",
		(int)nlen, spec, im_env_known_names(names, sizeof(names)));
	return IM_ENOENT;
}

void im_env_class_close(const im_env_class *c)
{
	if (c && c->dl)
		im_env_plugin_close(c);
	else if (c && c->py)
		im_env_pyenv_close(c);
	else if (c && c->owned)
		free((void *)c);
}

int im_env_check_action(const im_act_space *a, const void *action)
{
	if (!action)
		return IM_EACTION;
	if (a->kind == IM_ACT_DISCRETE) {
		int32_t x = *(const int32_t *)action;
		return x >= 0 && x < a->n ? 0 : IM_EACTION;
	}
	const float *x = action;
	for (int j = 0; j < a->n; j++) {
		/* Written so that NaN fails too: every comparison with NaN is
		 * false.  Infinities fail because the bounds are finite or,
		 * when infinite, isfinite() rejects them. */
		if (!(x[j] >= a->low[j] && x[j] <= a->high[j]) ||
		    !isfinite(x[j]))
			return IM_EACTION;
	}
	return 0;
}

/* ---- one environment --------------------------------------------------- */

enum { EPISODE_NONE = 0,
       EPISODE_RUNNING = 1 };

struct im_env {
	const im_env_class *cls;
	void *state; /* cls->state_size bytes */
	im_rng rng;
	int status;
	int elapsed;
};

int im_env_make(im_env **out, const char *spec, char *err, size_t errlen)
{
	const im_env_class *cls = NULL;
	im_env *e = NULL;
	int rc = im_env_class_open(&cls, spec, err, errlen);
	if (rc)
		return rc;
	rc = IM_ENOMEM;
	e = calloc(1, sizeof(*e));
	if (!e)
		goto fail;
	e->cls = cls;
	e->state = calloc(1, cls->state_size ? cls->state_size : 1);
	if (!e->state)
		goto fail;
	if (cls->init && (rc = cls->init(cls, e->state)) != 0) {
		im_errf(err, errlen, 0, "environment '%s': create() failed",
			spec);
		free(e->state);
		e->state = NULL;
		goto fail;
	}
	im_rng_init(&e->rng, 0);
	*out = e;
	return 0;
fail:
	if (e) {
		free(e->state);
		free(e);
	}
	im_env_class_close(cls);
	return rc;
}

void im_env_free(im_env *e)
{
	if (!e)
		return;
	if (e->cls->fini)
		e->cls->fini(e->cls, e->state);
	free(e->state);
	im_env_class_close(e->cls);
	free(e);
}

const char *im_env_name(const im_env *e)
{
	return e->cls->name;
}

const im_obs_space *im_env_obs_space(const im_env *e)
{
	return &e->cls->obs;
}

const im_act_space *im_env_act_space(const im_env *e)
{
	return &e->cls->act;
}

int im_env_max_episode_steps(const im_env *e)
{
	return e->cls->max_episode_steps;
}

int im_env_elapsed_steps(const im_env *e)
{
	return e->elapsed;
}

int im_env_reset_next(im_env *e, void *obs)
{
	if (!e || !obs)
		return IM_EINVAL;
	e->cls->reset(e->cls, e->state, &e->rng, obs);
	e->elapsed = 0;
	int rc = e->cls->reset_status ? e->cls->reset_status(e->cls, e->state)
				      : 0;
	e->status = rc ? EPISODE_NONE : EPISODE_RUNNING;
	return rc;
}

int im_env_reset(im_env *e, uint64_t seed, void *obs)
{
	if (!e)
		return IM_EINVAL;
	im_rng_init(&e->rng, seed);
	return im_env_reset_next(e, obs);
}

int im_env_reset_stream(im_env *e, const im_rng *stream, void *obs)
{
	if (!e || !stream)
		return IM_EINVAL;
	e->rng = *stream;
	return im_env_reset_next(e, obs);
}

int im_env_step(im_env *e, const void *action, void *obs, im_env_result *res)
{
	if (!e || !obs || !res)
		return IM_EINVAL;
	if (e->status != EPISODE_RUNNING)
		return IM_ESTATE;
	if (im_env_check_action(&e->cls->act, action))
		return IM_EACTION;
	float reward = 0;
	uint8_t term = 0;
	int rc = e->cls->step(e->cls, e->state, action, obs, &reward, &term);
	if (rc) {
		e->status = EPISODE_NONE;
		return rc;
	}
	e->elapsed++;
	res->reward = reward;
	res->terminated = (term & IM_ENV_STEP_TERMINATED) != 0;
	res->truncated = (term & IM_ENV_STEP_TRUNCATED) ||
			 (e->cls->max_episode_steps > 0 &&
			  e->elapsed >= e->cls->max_episode_steps);
	if (res->terminated || res->truncated)
		e->status = EPISODE_NONE;
	return 0;
}
