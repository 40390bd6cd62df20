// SPDX-License-Identifier: Apache-2.0
#include "learn/update.h"

#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct im_update {
	const im_model *m;
	int T, B, n;
	im_model_ws *ws;
	float *policy;      /* (T+1, B, n) */
	float *values;      /* (T+1, B) */
	float *next_values; /* (T, B) */
	float *extra_value; /* (T*B) */
	float *dpolicy;     /* (T+1, B, n): row T stays zero */
	float *dvalues;     /* (T+1, B) */
	float *vs, *pg_adv; /* (T, B) */
	void *loss_work;
};

void im_update_free(im_update *u)
{
	if (!u)
		return;
	im_model_ws_free(u->ws);
	free(u->policy);
	free(u->values);
	free(u->next_values);
	free(u->extra_value);
	free(u->dpolicy);
	free(u->dvalues);
	free(u->vs);
	free(u->pg_adv);
	free(u->loss_work);
	free(u);
}

int im_update_new(im_update **out, const im_model *m, int T, int B)
{
	if (!out || !m || T < 1 || B < 1)
		return IM_EINVAL;
	im_update *u = calloc(1, sizeof *u);
	if (!u)
		return IM_ENOMEM;
	u->m = m;
	u->T = T;
	u->B = B;
	u->n = im_model_policy_dim(m);
	size_t rows = (size_t)(T + 1) * (size_t)B;
	int rc = im_model_ws_new(&u->ws, m, T + 1, B);
	if (rc)
		goto fail;
	rc = IM_ENOMEM;
	u->policy = calloc(rows * (size_t)u->n, sizeof(float));
	u->values = calloc(rows, sizeof(float));
	u->next_values = calloc(rows, sizeof(float));
	u->extra_value = calloc(rows, sizeof(float));
	u->dpolicy = calloc(rows * (size_t)u->n, sizeof(float));
	u->dvalues = calloc(rows, sizeof(float));
	u->vs = calloc(rows, sizeof(float));
	u->pg_adv = calloc(rows, sizeof(float));
	u->loss_work = malloc(im_loss_work_size(T, B));
	if (!u->policy || !u->values || !u->next_values || !u->extra_value ||
	    !u->dpolicy || !u->dvalues || !u->vs || !u->pg_adv ||
	    !u->loss_work)
		goto fail;
	*out = u;
	return IM_OK;
fail:
	im_update_free(u);
	return rc;
}

/* next_values[t, b] = V(x_{t+1}), or V(final obs) at a truncated step. */
static void bootstrap_values(im_update *u, const im_update_batch *b, int T,
			     int B)
{
	memcpy(u->next_values, u->values + B, (size_t)T * (size_t)B * sizeof(float));
	for (int j = 0; j < b->extra.n; j++)
		u->next_values[b->extra.index[j]] = u->extra_value[j];
}

static im_loss_batch loss_batch(const im_update *u, const im_update_batch *b,
				const float *params)
{
	const im_model_spec *spec = im_model_get_spec(u->m);
	const im_tensor_desc *ls = im_model_find(u->m, "policy.log_std");
	const im_tensor_desc *sg = im_model_find(u->m, "baseline.sigma");
	im_loss_batch lb = {
		.T = b->in.T1 - 1,
		.B = b->in.B,
		.kind = spec->act.kind,
		.n = u->n,
		.policy = u->policy,
		.log_std = ls ? params + ls->offset : NULL,
		.values = u->values,
		.next_values = u->next_values,
		.act_discrete = b->act_discrete,
		.act_box = b->act_box,
		.behaviour_logp = b->behaviour_logp,
		.rewards = b->rewards,
		.terminated = b->terminated,
		.truncated = b->truncated,
		.value_scale = sg ? params[sg->offset] : 0.0f,
	};
	return lb;
}

/* Whether the batch's shape fits the buffers u was made for. */
static int batch_fits(const im_update *u, const im_update_batch *b)
{
	int T = b->in.T1 - 1, B = b->in.B;
	return T >= 1 && T <= u->T && B >= 1 && B <= u->B &&
	       b->extra.n <= T * B;
}

int im_update_compute(im_update *u, const float *params, float *grads,
		      const im_update_batch *b, const im_loss_opts *o,
		      im_update_stats *st)
{
	if (!batch_fits(u, b))
		return IM_ESHAPE;
	memset(grads, 0, im_model_num_params(u->m) * sizeof(float));
	return im_update_compute_zeroed(u, params, grads, b, o, st);
}

int im_update_compute_zeroed(im_update *u, const float *params, float *grads,
			     const im_update_batch *b, const im_loss_opts *o,
			     im_update_stats *st)
{
	if (!batch_fits(u, b))
		return IM_ESHAPE;
	int T = b->in.T1 - 1, B = b->in.B;
	int rc = im_model_forward(u->ws, params, &b->in, b->h0, b->c0,
				  b->extra.n ? &b->extra : NULL, u->policy,
				  u->values, u->extra_value);
	if (rc)
		return rc;
	bootstrap_values(u, b, T, B);

	const im_tensor_desc *ls = im_model_find(u->m, "policy.log_std");
	size_t tb = (size_t)T * (size_t)B;
	im_loss_grads g = {
		.dpolicy = u->dpolicy,
		.dvalues = u->dvalues,
		.dlog_std = ls ? grads + ls->offset : NULL,
		.vs = u->vs,
		.pg_adv = u->pg_adv,
	};
	im_loss_batch lb = loss_batch(u, b, params);
	memset(st, 0, sizeof *st);
	rc = im_loss(&st->loss, &g, &lb, o, u->loss_work);
	if (rc)
		return rc;
	/* Step T only bootstraps: no loss flows into its outputs. */
	memset(u->dpolicy + tb * (size_t)u->n, 0, (size_t)B * (size_t)u->n * sizeof(float));
	memset(u->dvalues + tb, 0, (size_t)B * sizeof(float));
	double sv = 0;
	for (size_t i = 0; i < tb; i++)
		sv += u->values[i];
	st->mean_value = sv / (double)tb;
	/* Rows of step T (the last B) carry no gradient: without an LSTM the
	 * backward skips them (a sixth of it at T = 5). */
	return im_model_backward_rows(u->ws, params, u->dpolicy, u->dvalues,
				      grads, (int)tb);
}

int im_update_apply(im_optim *opt, float *params, float *grads, size_t n,
		    float lr, double max_grad_norm, im_update_stats *st)
{
	double norm = im_optim_grad_norm(grads, n);
	if (st)
		st->grad_norm = norm;
	if (!isfinite(norm))
		return IM_ENONFINITE;
	/* The clip folded into the step: one pass over the arenas, not two. */
	im_optim_step_scaled(opt, params, grads,
			     im_optim_clip_scale(norm, max_grad_norm), lr);
	return IM_OK;
}

const float *im_update_vs(const im_update *u)
{
	return u->vs;
}

const float *im_update_pg_adv(const im_update *u)
{
	return u->pg_adv;
}

const float *im_update_policy(const im_update *u)
{
	return u->policy;
}

const float *im_update_values(const im_update *u)
{
	return u->values;
}
