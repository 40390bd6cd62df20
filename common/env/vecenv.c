// SPDX-License-Identifier: Apache-2.0
/* k environments of one kind stepped by one call, with auto-reset that
 * keeps the true final observation (see the contract in env.h).  Built-in
 * kinds step all k states in one tight loop (the class's step_batch);
 * plugins, and the naive reference path, step one env at a time. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/env.h"
#include "env/env_class.h"
#include "err.h"

struct im_vecenv {
	const im_env_class *cls;
	int k;
	size_t row;            /* bytes of one observation (space dtype) */
	unsigned char *states; /* (k, cls->state_size) */
	int ninit;             /* states set up by cls->init so far */
	im_rng *rng;           /* (k) env i's own stream */
	int32_t *elapsed;      /* (k) steps in the running episode */
	double *ret;           /* (k) return of the running episode */
	im_vecenv_bufs b;
};

static void *state_at(const im_vecenv *v, int i)
{
	return v->states + (size_t)i * v->cls->state_size;
}

static int alloc_bufs(im_vecenv *v)
{
	size_t k = (size_t)v->k, n = v->row;
	v->states = calloc(k, v->cls->state_size ? v->cls->state_size : 1);
	v->rng = calloc(k, sizeof(*v->rng));
	v->elapsed = calloc(k, sizeof(*v->elapsed));
	v->ret = calloc(k, sizeof(*v->ret));
	v->b.obs = calloc(k, n);
	v->b.final_obs = calloc(k, n);
	v->b.reward = calloc(k, sizeof(float));
	v->b.terminated = calloc(k, 1);
	v->b.truncated = calloc(k, 1);
	v->b.ep_return = calloc(k, sizeof(float));
	v->b.ep_length = calloc(k, sizeof(int32_t));
	if (!v->states || !v->rng || !v->elapsed || !v->ret || !v->b.obs ||
	    !v->b.final_obs || !v->b.reward || !v->b.terminated ||
	    !v->b.truncated || !v->b.ep_return || !v->b.ep_length)
		return IM_ENOMEM;
	return 0;
}

void im_vecenv_free(im_vecenv *v)
{
	if (!v)
		return;
	if (v->cls && v->cls->fini) {
		for (int i = 0; i < v->ninit; i++)
			v->cls->fini(v->cls, state_at(v, i));
	}
	free(v->states);
	free(v->rng);
	free(v->elapsed);
	free(v->ret);
	free(v->b.obs);
	free(v->b.final_obs);
	free(v->b.reward);
	free(v->b.terminated);
	free(v->b.truncated);
	free(v->b.ep_return);
	free(v->b.ep_length);
	im_env_class_close(v->cls);
	free(v);
}

/* Row i of an observation buffer of the space's dtype. */
static void *obs_row(const im_vecenv *v, void *buf, int i)
{
	return (unsigned char *)buf + (size_t)i * v->row;
}

static int reset_one(im_vecenv *v, int i)
{
	v->cls->reset(v->cls, state_at(v, i), &v->rng[i],
		      obs_row(v, v->b.obs, i));
	v->elapsed[i] = 0;
	v->ret[i] = 0.0;
	return v->cls->reset_status
		       ? v->cls->reset_status(v->cls, state_at(v, i))
		       : 0;
}

int im_vecenv_reset(im_vecenv *v)
{
	if (!v)
		return IM_EINVAL;
	int rc = 0;
	for (int i = 0; i < v->k; i++) {
		int r = reset_one(v, i);
		rc = rc ? rc : r;
		v->b.reward[i] = 0.0f;
		v->b.terminated[i] = 0;
		v->b.truncated[i] = 0;
	}
	return rc;
}

int im_vecenv_new(im_vecenv **out, const im_vecenv_opts *o)
{
	if (!out || !o || !o->rng || o->num_envs < 1) {
		if (o && o->err && o->errlen)
			snprintf(o->err, o->errlen, "vecenv: need num_envs >= 1 "
						    "and a parent rng");
		return IM_EINVAL;
	}
	im_vecenv *v = calloc(1, sizeof(*v));
	if (!v)
		return IM_ENOMEM;
	int rc = im_env_class_open(&v->cls, o->spec, o->err, o->errlen);
	if (rc) {
		v->cls = NULL;
		goto fail;
	}
	v->k = o->num_envs;
	v->row = im_obs_bytes(&v->cls->obs);
	if ((rc = alloc_bufs(v)))
		goto fail;
	for (; v->ninit < v->k; v->ninit++) {
		if (v->cls->init &&
		    (rc = v->cls->init(v->cls, state_at(v, v->ninit)))) {
			if (o->err && o->errlen)
				snprintf(o->err, o->errlen, "environment "
							    "'%s': create() failed for env %d",
					 o->spec, v->ninit);
			goto fail;
		}
	}
	for (int i = 0; i < v->k; i++)
		im_rng_split(&v->rng[i], o->rng, (uint64_t)i);
	if ((rc = im_vecenv_reset(v))) {
		if (o->err && o->errlen)
			snprintf(o->err, o->errlen, "environment '%s': the "
						    "first reset failed (see the log)",
				 o->spec);
		goto fail;
	}
	*out = v;
	return 0;
fail:
	im_vecenv_free(v);
	return rc;
}

int im_vecenv_num_envs(const im_vecenv *v)
{
	return v->k;
}

const im_obs_space *im_vecenv_obs_space(const im_vecenv *v)
{
	return &v->cls->obs;
}

const im_act_space *im_vecenv_act_space(const im_vecenv *v)
{
	return &v->cls->act;
}

int im_vecenv_max_episode_steps(const im_vecenv *v)
{
	return v->cls->max_episode_steps;
}

const char *im_vecenv_name(const im_vecenv *v)
{
	return v->cls->name;
}

const im_vecenv_bufs *im_vecenv_buffers(const im_vecenv *v)
{
	return &v->b;
}

/* Index of the first bad action, or -1. */
static int first_bad_action(const im_vecenv *v, const void *actions)
{
	const im_act_space *a = &v->cls->act;
	if (a->kind == IM_ACT_DISCRETE) {
		const int32_t *x = actions;
		uint32_t n = (uint32_t)a->n;
		int bad = 0;
		/* Branch-free scan; find the index only if something failed.
		 * The unsigned compare rejects negatives too. */
		for (int i = 0; i < v->k; i++)
			bad |= (uint32_t)x[i] >= n;
		if (!bad)
			return -1;
		for (int i = 0; i < v->k; i++)
			if ((uint32_t)x[i] >= n)
				return i;
		return -1;
	}
	const float *x = actions;
	for (int i = 0; i < v->k; i++)
		if (im_env_check_action(a, x + (size_t)i * (size_t)a->n))
			return i;
	return -1;
}

/* Time limit, returns and auto-reset after the k envs have moved.  Returns
 * the first failed auto-reset's code (Python environments), else 0. */
static int finish_step(im_vecenv *v)
{
	const int max = v->cls->max_episode_steps;
	im_vecenv_bufs *b = &v->b;
	int rc = 0;
	for (int i = 0; i < v->k; i++) {
		int32_t len = ++v->elapsed[i];
		v->ret[i] += b->reward[i];
		/* The class's own truncation (bit 2) or the time limit. */
		uint8_t trunc = (max > 0 && len >= max) ||
				(b->terminated[i] & IM_ENV_STEP_TRUNCATED);
		b->terminated[i] &= IM_ENV_STEP_TERMINATED;
		b->truncated[i] = trunc;
		if (!(b->terminated[i] | trunc))
			continue;
		memcpy(obs_row(v, b->final_obs, i), obs_row(v, b->obs, i),
		       v->row);
		b->ep_return[i] = (float)v->ret[i];
		b->ep_length[i] = len;
		int r = reset_one(v, i);
		rc = rc ? rc : r;
	}
	return rc;
}

static int step_common(im_vecenv *v, const void *actions, int *bad_index,
		       int batched)
{
	if (!v || !actions)
		return IM_EINVAL;
	int bad = first_bad_action(v, actions);
	if (bad >= 0) {
		if (bad_index)
			*bad_index = bad;
		return IM_EACTION;
	}
	const im_env_class *c = v->cls;
	im_vecenv_bufs *b = &v->b;
	if (batched && c->step_batch) {
		c->step_batch(v->states, v->k, actions, b->obs, b->reward,
			      b->terminated);
	} else {
		size_t asz = c->act.kind == IM_ACT_DISCRETE
				     ? sizeof(int32_t)
				     : sizeof(float) * (size_t)c->act.n;
		const unsigned char *a = actions;
		for (int i = 0; i < v->k; i++) {
			int rc = c->step(c, state_at(v, i), a + i * asz,
					 obs_row(v, b->obs, i),
					 &b->reward[i], &b->terminated[i]);
			if (rc) {
				im_vecenv_reset(v);
				return rc;
			}
		}
	}
	return finish_step(v);
}

int im_vecenv_step(im_vecenv *v, const void *actions, int *bad_index)
{
	return step_common(v, actions, bad_index, 1);
}

int im_vecenv_step_naive(im_vecenv *v, const void *actions, int *bad_index)
{
	return step_common(v, actions, bad_index, 0);
}
