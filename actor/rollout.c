// SPDX-License-Identifier: Apache-2.0
#include "rollout.h"

#include "explore.h"
#include "env/env.h"
#include "err.h"
#include "learn/dist.h"
#include "nn/model.h"
#include "rng.h"
#include "runspec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The protobuf views of one environment's unroll. */
typedef struct env_msg {
	Impala__Trajectory t;
	Impala__Tensor obs, act, fin, prev;
	uint32_t obs_shape[IM_SPACE_MAX_DIMS + 1];
	uint32_t act_shape[2];
	uint32_t fin_shape[IM_SPACE_MAX_DIMS + 1];
	uint32_t prev_shape[1];
	Impala__Episode **ep_ptrs; /* (T) pointers into eps */
	Impala__Episode *eps;      /* (T) */
} env_msg;

struct im_rollout {
	im_model_spec ms;
	im_model *model;
	im_model_ws *ws;
	im_vecenv *venv;
	im_rng rng;          /* sampling stream */
	im_explore *explore; /* NULL unless the run spec asks for it */
	int k, T, n, D, H, discrete;
	size_t row; /* bytes of one observation: its elements in the space's
		       dtype (float32, or uint8 kept as bytes end to end) */
	uint64_t frames, episodes, param_version;
	/* Unroll record, per environment contiguous.  Observations are rows
	 * of `row` bytes in the space's dtype, exactly as the wire carries
	 * them. */
	uint8_t *obs;   /* (k, T+1, row) */
	int32_t *act;   /* (k, T) Discrete */
	float *act_box; /* (k, T, D) Box: the samples */
	float *rew;     /* (k, T) */
	uint8_t *term;  /* (k, T) */
	uint8_t *trunc; /* (k, T) */
	float *logp;    /* (k, T) */
	uint8_t *fin;   /* (k, T, row) final obs of truncated steps */
	int *n_fin;     /* (k) */
	float *h0, *c0; /* (k, H) state at unroll start */
	int32_t *pa0;   /* (k) prev action at unroll start */
	float *pa0_box; /* (k, D) */
	float *pr0;     /* (k) */
	/* Acting state. */
	float *h, *c;  /* (k, H) */
	int32_t *pa;   /* (k) */
	float *pa_box; /* (k, D) */
	float *pr;     /* (k) */
	float *pol;    /* (k, n) head outputs */
	float *base;   /* (k) */
	float *alogp;  /* (k) */
	int32_t *a;    /* (k) sampled Discrete */
	float *a_box;  /* (k, D) sampled Box */
	float *a_env;  /* (k, D) clipped for the environment */
	env_msg *msg;  /* (k) */
};

void im_rollout_free(im_rollout *r)
{
	if (!r)
		return;
	im_model_ws_free(r->ws);
	im_explore_free(r->explore);
	im_model_free(r->model);
	im_vecenv_free(r->venv);
	void *bufs[] = {r->obs, r->act, r->act_box, r->rew,
			r->term, r->trunc, r->logp, r->fin,
			r->n_fin, r->h0, r->c0, r->pa0, r->pa0_box, r->pr0,
			r->h, r->c, r->pa, r->pa_box, r->pr, r->pol, r->base,
			r->alogp, r->a, r->a_box, r->a_env};
	for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		free(bufs[i]);
	if (r->msg)
		for (int i = 0; i < r->k; i++) {
			free(r->msg[i].ep_ptrs);
			free(r->msg[i].eps);
		}
	free(r->msg);
	free(r);
}

static void *zalloc(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

static int alloc_buffers(im_rollout *r)
{
	size_t k = (size_t)r->k, T = (size_t)r->T, row = r->row;
	size_t D = (size_t)r->D, H = (size_t)(r->H ? r->H : 1);
	r->obs = zalloc(k * (T + 1), row);
	r->act = zalloc(k * T, sizeof(int32_t));
	r->act_box = zalloc(k * T * D, sizeof(float));
	r->rew = zalloc(k * T, sizeof(float));
	r->term = zalloc(k * T, 1);
	r->trunc = zalloc(k * T, 1);
	r->logp = zalloc(k * T, sizeof(float));
	r->fin = zalloc(k * T, row);
	r->n_fin = zalloc(k, sizeof(int));
	r->h0 = zalloc(k * H, sizeof(float));
	r->c0 = zalloc(k * H, sizeof(float));
	r->pa0 = zalloc(k, sizeof(int32_t));
	r->pa0_box = zalloc(k * D, sizeof(float));
	r->pr0 = zalloc(k, sizeof(float));
	r->h = zalloc(k * H, sizeof(float));
	r->c = zalloc(k * H, sizeof(float));
	r->pa = zalloc(k, sizeof(int32_t));
	r->pa_box = zalloc(k * D, sizeof(float));
	r->pr = zalloc(k, sizeof(float));
	r->pol = zalloc(k * (size_t)r->n, sizeof(float));
	r->base = zalloc(k, sizeof(float));
	r->alogp = zalloc(k, sizeof(float));
	r->a = zalloc(k, sizeof(int32_t));
	r->a_box = zalloc(k * D, sizeof(float));
	r->a_env = zalloc(k * D, sizeof(float));
	r->msg = zalloc(k, sizeof(env_msg));
	if (!r->obs || !r->act || !r->act_box || !r->rew ||
	    !r->term || !r->trunc || !r->logp || !r->fin ||
	    !r->n_fin || !r->h0 || !r->c0 || !r->pa0 || !r->pa0_box ||
	    !r->pr0 || !r->h || !r->c || !r->pa || !r->pa_box || !r->pr ||
	    !r->pol || !r->base || !r->alogp || !r->a || !r->a_box ||
	    !r->a_env || !r->msg)
		return IM_ENOMEM;
	for (size_t i = 0; i < k; i++) {
		r->msg[i].ep_ptrs = zalloc(T, sizeof(Impala__Episode *));
		r->msg[i].eps = zalloc(T, sizeof(Impala__Episode));
		if (!r->msg[i].ep_ptrs || !r->msg[i].eps)
			return IM_ENOMEM;
	}
	return IM_OK;
}

/* The environments must be what the learner's spec says. */
static int check_spaces(const im_rollout *r, char *err, size_t errlen)
{
	const im_obs_space *o = im_vecenv_obs_space(r->venv);
	const im_act_space *a = im_vecenv_act_space(r->venv);
	int same = o->ndim == r->ms.obs.ndim && a->kind == r->ms.act.kind &&
		   a->n == r->ms.act.n && o->dtype == r->ms.obs.dtype &&
		   im_obs_scale(o) == im_obs_scale(&r->ms.obs);
	for (int i = 0; same && i < o->ndim; i++)
		same = o->shape[i] == r->ms.obs.shape[i];
	if (same)
		return IM_OK;
	snprintf(err, errlen,
		 "environment '%s' here has other spaces than the learner's "
		 "run spec (different version or plugin?)",
		 im_vecenv_name(r->venv));
	return IM_ESHAPE;
}

static int make_envs(im_rollout *r, const Impala__RunSpec *spec,
		     uint64_t actor_id, char *err, size_t errlen)
{
	im_rng run, actor;
	im_rng_init(&run, spec->seed);
	im_rng_split(&actor, &run, actor_id);
	im_rng_split(&r->rng, &actor, 0xffffffffULL);
	im_vecenv_opts vo = {.spec = spec->env_name, .num_envs = r->k, .rng = &actor, .err = err, .errlen = errlen};
	int rc = im_vecenv_new(&r->venv, &vo);
	if (rc)
		return rc;
	return check_spaces(r, err, errlen);
}

/* The run spec's exploration (explore.h), Discrete actions only. */
static int make_explore(im_rollout *r, const Impala__RunSpec *spec, char *err,
			size_t errlen)
{
	if (spec->explore_eps == 0.0f)
		return IM_OK;
	im_explore_opts o = {spec->explore_eps, spec->explore_hold};
	const char *why = !r->discrete ? "needs Discrete actions"
				       : "is out of range";
	int rc = r->discrete ? im_explore_new(&r->explore, &o, r->k, r->n)
			     : IM_EINVAL;
	if (rc == IM_EINVAL)
		snprintf(err, errlen, "run spec: explore_eps %g, explore_hold "
				      "%g: exploration %s",
			 (double)o.eps, o.hold, why);
	return rc;
}

int im_rollout_new(im_rollout **out, const Impala__RunSpec *spec,
		   int num_envs, uint64_t actor_id, char *err, size_t errlen)
{
	if (!out || !spec || num_envs < 1 || !spec->env_name ||
	    spec->num_steps < 1 || spec->num_steps > 100000)
		return IM_EINVAL;
	im_rollout *r = calloc(1, sizeof *r);
	if (!r)
		return IM_ENOMEM;
	int rc = im_runspec_model(&r->ms, spec, err, errlen);
	if (rc)
		goto fail;
	r->k = num_envs;
	r->T = (int)spec->num_steps;
	if ((rc = im_model_new(&r->model, &r->ms)) ||
	    (rc = im_model_ws_new(&r->ws, r->model, 1, r->k)))
		goto fail;
	r->n = im_model_policy_dim(r->model);
	r->H = im_model_state_dim(r->model);
	r->discrete = r->ms.act.kind == IM_ACT_DISCRETE;
	r->D = r->discrete ? 1 : r->ms.act.n;
	r->row = im_obs_bytes(&r->ms.obs);
	if (spec->model->param_count != im_model_num_params(r->model)) {
		snprintf(err, errlen,
			 "run spec says %llu parameters, this build makes %zu",
			 (unsigned long long)spec->model->param_count,
			 im_model_num_params(r->model));
		rc = IM_EARCH;
		goto fail;
	}
	if ((rc = alloc_buffers(r)) ||
	    (rc = make_explore(r, spec, err, errlen)) ||
	    (rc = make_envs(r, spec, actor_id, err, errlen)))
		goto fail;
	*out = r;
	return IM_OK;
fail:
	im_rollout_free(r);
	return rc;
}

float *im_rollout_params(im_rollout *r)
{
	return im_model_params(r->model);
}

size_t im_rollout_num_params(const im_rollout *r)
{
	return im_model_num_params(r->model);
}

int im_rollout_num_envs(const im_rollout *r)
{
	return r->k;
}

uint64_t im_rollout_frames(const im_rollout *r)
{
	return r->frames;
}

uint64_t im_rollout_episodes(const im_rollout *r)
{
	return r->episodes;
}

/* Samples actions for every environment from the head outputs. */
static void sample(im_rollout *r)
{
	if (r->discrete) {
		im_dist_cat_sample(r->a, r->alogp, r->pol, r->k, r->n, &r->rng);
		if (r->explore)
			im_explore_apply(r->explore, r->a, r->alogp, r->pol,
					 &r->rng);
		return;
	}
	const im_tensor_desc *ls = im_model_find(r->model, "policy.log_std");
	const float *log_std = im_model_params(r->model) + ls->offset;
	im_dist_gauss_sample(r->a_box, r->alogp, r->pol, log_std, r->k, r->D,
			     &r->rng);
	for (int i = 0; i < r->k; i++)
		for (int d = 0; d < r->D; d++) {
			float x = r->a_box[i * r->D + d];
			float lo = r->ms.act.low[d], hi = r->ms.act.high[d];
			r->a_env[i * r->D + d] = x < lo ? lo : x > hi ? hi
								      : x;
		}
}

static void begin_unroll(im_rollout *r)
{
	size_t k = (size_t)r->k, row = r->row, T = (size_t)r->T;
	const uint8_t *cur = im_vecenv_buffers(r->venv)->obs;
	for (size_t i = 0; i < k; i++) {
		memcpy(r->obs + i * (T + 1) * row, cur + i * row, row);
		r->n_fin[i] = 0;
		r->msg[i].t.n_episodes = 0;
	}
	if (r->H) {
		memcpy(r->h0, r->h, k * (size_t)r->H * sizeof(float));
		memcpy(r->c0, r->c, k * (size_t)r->H * sizeof(float));
	}
	memcpy(r->pa0, r->pa, k * sizeof(int32_t));
	memcpy(r->pa0_box, r->pa_box, k * (size_t)r->D * sizeof(float));
	memcpy(r->pr0, r->pr, k * sizeof(float));
}

/* An episode of environment i ended at step t: note it, keep the true
 * final observation of a truncation, and start the next episode's core
 * inputs from zero. */
static void end_episode(im_rollout *r, int i, int t, const im_vecenv_bufs *vb,
			int truncated)
{
	size_t row = r->row, T = (size_t)r->T;
	env_msg *m = &r->msg[i];
	if (truncated) {
		memcpy(r->fin + ((size_t)i * T + (size_t)r->n_fin[i]) * row,
		       (const uint8_t *)vb->final_obs + (size_t)i * row, row);
		r->n_fin[i]++;
	}
	Impala__Episode *e = &m->eps[m->t.n_episodes];
	impala__episode__init(e);
	e->episode_return = vb->ep_return[i];
	e->length = (uint32_t)vb->ep_length[i];
	e->truncated = truncated;
	m->ep_ptrs[m->t.n_episodes++] = e;
	r->episodes++;
	if (r->H) {
		memset(r->h + (size_t)i * (size_t)r->H, 0, (size_t)r->H * sizeof(float));
		memset(r->c + (size_t)i * (size_t)r->H, 0, (size_t)r->H * sizeof(float));
	}
	if (r->explore)
		im_explore_end(r->explore, i);
	r->pa[i] = 0;
	memset(r->pa_box + (size_t)i * (size_t)r->D, 0, (size_t)r->D * sizeof(float));
	r->pr[i] = 0;
	(void)t;
}

static void record_step(im_rollout *r, int t, const im_vecenv_bufs *vb)
{
	size_t row = r->row, T = (size_t)r->T, D = (size_t)r->D;
	for (int i = 0; i < r->k; i++) {
		size_t it = (size_t)i * T + (size_t)t;
		uint8_t term = vb->terminated[i];
		uint8_t trunc = vb->truncated[i] && !term;
		if (r->discrete)
			r->act[it] = r->a[i];
		else
			memcpy(r->act_box + it * D, r->a_box + (size_t)i * D,
			       D * sizeof(float));
		r->logp[it] = r->alogp[i];
		r->rew[it] = vb->reward[i];
		r->term[it] = term;
		r->trunc[it] = trunc;
		memcpy(r->obs + ((size_t)i * (T + 1) + (size_t)t + 1) * row,
		       (const uint8_t *)vb->obs + (size_t)i * row, row);
		if (term || trunc) {
			end_episode(r, i, t, vb, trunc);
			continue;
		}
		r->pa[i] = r->a[i];
		memcpy(r->pa_box + (size_t)i * D, r->a_box + (size_t)i * D,
		       D * sizeof(float));
		r->pr[i] = vb->reward[i];
	}
}

int im_rollout_run(im_rollout *r, uint64_t param_version)
{
	const im_vecenv_bufs *vb = im_vecenv_buffers(r->venv);
	const float *params = im_model_params(r->model);
	begin_unroll(r);
	r->param_version = param_version;
	for (int t = 0; t < r->T; t++) {
		im_model_input in = {.T1 = 1, .B = r->k, .obs = vb->obs, .prev_action = r->pa, .prev_action_box = r->pa_box, .prev_reward = r->pr, .reset = NULL};
		int rc = im_model_act(r->ws, params, &in, r->H ? r->h : NULL,
				      r->H ? r->c : NULL, r->pol, r->base);
		if (rc)
			return rc;
		sample(r);
		rc = im_vecenv_step(r->venv, r->discrete ? (const void *)r->a : (const void *)r->a_env,
				    NULL);
		if (rc)
			return rc;
		record_step(r, t, vb);
	}
	r->frames += (uint64_t)r->k * (uint64_t)r->T;
	return IM_OK;
}

static void set_tensor(Impala__Tensor *x, uint32_t *shape, size_t ndim,
		       Impala__DType dtype, const void *data, size_t bytes)
{
	impala__tensor__init(x);
	x->n_shape = ndim;
	x->shape = shape;
	x->dtype = dtype;
	x->data.data = (uint8_t *)data;
	x->data.len = bytes;
}

void im_rollout_trajectory(im_rollout *r, int env, uint64_t run_id,
			   uint64_t actor_id, uint64_t unroll_seq,
			   Impala__Trajectory **out)
{
	size_t i = (size_t)env, T = (size_t)r->T, row = r->row, D = (size_t)r->D;
	env_msg *m = &r->msg[i];
	Impala__Trajectory *t = &m->t;
	size_t n_ep = t->n_episodes;
	impala__trajectory__init(t);
	t->n_episodes = n_ep;
	t->episodes = m->ep_ptrs;
	t->protocol_version = IMPALA__CONSTANTS__PROTOCOL_VERSION;
	t->run_id = run_id;
	t->actor_id = actor_id;
	t->env_index = (uint32_t)env;
	t->unroll_seq = unroll_seq;
	t->param_version = r->param_version;
	t->num_steps = (uint32_t)T;
	Impala__DType odt = r->ms.obs.dtype == IM_DTYPE_U8
				    ? IMPALA__DTYPE__DTYPE_UINT8
				    : IMPALA__DTYPE__DTYPE_FLOAT32;

	m->obs_shape[0] = (uint32_t)T + 1;
	m->fin_shape[0] = (uint32_t)r->n_fin[i];
	for (int d = 0; d < r->ms.obs.ndim; d++)
		m->obs_shape[d + 1] = m->fin_shape[d + 1] = (uint32_t)r->ms.obs.shape[d];
	/* The rows go on the wire as they are, in the space's dtype. */
	size_t ndim = (size_t)r->ms.obs.ndim + 1;
	set_tensor(&m->obs, m->obs_shape, ndim, odt, r->obs + i * (T + 1) * row,
		   (T + 1) * row);
	t->obs = &m->obs;
	if (r->n_fin[i]) {
		set_tensor(&m->fin, m->fin_shape, ndim, odt, r->fin + i * T * row,
			   (size_t)r->n_fin[i] * row);
		t->final_obs = &m->fin;
	}
	m->act_shape[0] = (uint32_t)T;
	m->act_shape[1] = (uint32_t)D;
	m->prev_shape[0] = (uint32_t)D;
	if (r->discrete) {
		set_tensor(&m->act, m->act_shape, 1, IMPALA__DTYPE__DTYPE_INT32,
			   r->act + i * T, T * sizeof(int32_t));
		set_tensor(&m->prev, m->prev_shape, 1, IMPALA__DTYPE__DTYPE_INT32,
			   r->pa0 + i, sizeof(int32_t));
	} else {
		set_tensor(&m->act, m->act_shape, 2, IMPALA__DTYPE__DTYPE_FLOAT32,
			   r->act_box + i * T * D, T * D * sizeof(float));
		set_tensor(&m->prev, m->prev_shape, 1, IMPALA__DTYPE__DTYPE_FLOAT32,
			   r->pa0_box + i * D, D * sizeof(float));
	}
	t->actions = &m->act;
	t->prev_action = &m->prev;
	t->prev_reward = r->pr0[i];
	t->rewards = (ProtobufCBinaryData){T * sizeof(float), (uint8_t *)(r->rew + i * T)};
	t->terminated = (ProtobufCBinaryData){T, r->term + i * T};
	t->truncated = (ProtobufCBinaryData){T, r->trunc + i * T};
	t->behaviour_logp = (ProtobufCBinaryData){T * sizeof(float), (uint8_t *)(r->logp + i * T)};
	if (r->H) {
		size_t H = (size_t)r->H;
		t->lstm_h = (ProtobufCBinaryData){H * sizeof(float), (uint8_t *)(r->h0 + i * H)};
		t->lstm_c = (ProtobufCBinaryData){H * sizeof(float), (uint8_t *)(r->c0 + i * H)};
	}
	*out = t;
}
