// SPDX-License-Identifier: Apache-2.0
#include "eval.h"

#include "env/env.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct eval_state {
	const im_model *m;
	const float *params;
	im_model_ws *ws;
	im_env *env;
	int n, H, discrete;
	void *obs; /* one observation in the space's dtype */
	float *pol, *h, *c, *box, *prev_box;
	float base, prev_reward;
	int32_t act, prev_act;
} eval_state;

static void eval_free(eval_state *s)
{
	im_model_ws_free(s->ws);
	im_env_free(s->env);
	free(s->obs);
	free(s->pol);
	free(s->h);
	free(s->c);
	free(s->box);
	free(s->prev_box);
}

static int eval_init(eval_state *s, const im_model *m, const float *params,
		     const char *spec, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->m = m;
	s->params = params;
	int rc = im_env_make(&s->env, spec, err, errlen);
	if (rc)
		return rc;
	if ((rc = im_model_ws_new(&s->ws, m, 1, 1)))
		return rc;
	s->n = im_model_policy_dim(m);
	s->H = im_model_state_dim(m);
	s->discrete = im_env_act_space(s->env)->kind == IM_ACT_DISCRETE;
	s->obs = calloc(1, im_obs_bytes(im_env_obs_space(s->env)));
	s->pol = calloc((size_t)s->n, sizeof(float));
	s->h = calloc((size_t)(s->H ? s->H : 1), sizeof(float));
	s->c = calloc((size_t)(s->H ? s->H : 1), sizeof(float));
	s->box = calloc((size_t)s->n, sizeof(float));
	s->prev_box = calloc((size_t)s->n, sizeof(float));
	if (!s->obs || !s->pol || !s->h || !s->c || !s->box || !s->prev_box)
		return IM_ENOMEM;
	return IM_OK;
}

/* The greedy action for the current observation. */
static int choose(eval_state *s)
{
	im_model_input in = {.T1 = 1, .B = 1, .obs = s->obs, .prev_action = &s->prev_act, .prev_action_box = s->prev_box, .prev_reward = &s->prev_reward};
	int rc = im_model_act(s->ws, s->params, &in, s->H ? s->h : NULL,
			      s->H ? s->c : NULL, s->pol, &s->base);
	if (rc)
		return rc;
	if (s->discrete) {
		int best = 0;
		for (int j = 1; j < s->n; j++)
			if (s->pol[j] > s->pol[best])
				best = j;
		s->act = best;
		return IM_OK;
	}
	const im_act_space *a = im_env_act_space(s->env);
	for (int j = 0; j < s->n; j++) {
		float x = s->pol[j];
		s->box[j] = x < a->low[j] ? a->low[j] : x > a->high[j] ? a->high[j]
								       : x;
	}
	return IM_OK;
}

static int episode(eval_state *s, double *ret, int *len)
{
	memset(s->h, 0, sizeof(float) * (size_t)(s->H ? s->H : 1));
	memset(s->c, 0, sizeof(float) * (size_t)(s->H ? s->H : 1));
	memset(s->prev_box, 0, sizeof(float) * (size_t)s->n);
	s->prev_act = 0;
	s->prev_reward = 0;
	int rc = im_env_reset_next(s->env, s->obs);
	*ret = 0;
	*len = 0;
	while (rc == IM_OK) {
		if ((rc = choose(s)))
			break;
		im_env_result r;
		rc = im_env_step(s->env, s->discrete ? (const void *)&s->act : (const void *)s->box,
				 s->obs, &r);
		if (rc)
			break;
		*ret += r.reward;
		(*len)++;
		if (r.terminated || r.truncated)
			return IM_OK;
		s->prev_act = s->act;
		memcpy(s->prev_box, s->box, sizeof(float) * (size_t)s->n);
		s->prev_reward = r.reward;
	}
	return rc;
}

int im_eval_run(const im_model *m, const float *params, const char *env_spec,
		int episodes, uint64_t seed, im_eval_result *out, char *err,
		size_t errlen)
{
	eval_state s;
	int rc = eval_init(&s, m, params, env_spec, err, errlen);
	if (rc == IM_OK)
		rc = im_env_reset(s.env, seed, s.obs);
	double sum = 0, sum2 = 0, lsum = 0, lo = INFINITY, hi = -INFINITY;
	for (int e = 0; rc == IM_OK && e < episodes; e++) {
		double ret;
		int len;
		rc = episode(&s, &ret, &len);
		sum += ret;
		sum2 += ret * ret;
		lsum += len;
		lo = ret < lo ? ret : lo;
		hi = ret > hi ? ret : hi;
	}
	eval_free(&s);
	if (rc)
		return rc;
	double mean = sum / episodes;
	*out = (im_eval_result){
		.episodes = episodes,
		.mean_return = mean,
		.std_return = sqrt(fmax(0.0, sum2 / episodes - mean * mean)),
		.min_return = lo,
		.max_return = hi,
		.mean_length = lsum / episodes,
	};
	return IM_OK;
}
