// SPDX-License-Identifier: Apache-2.0
#include "learn/loss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learn/dist.h"
#include "err.h"

/* Scratch arrays, each (T, B) floats, carved out of one block. */
enum { W_LOGP,
       W_ENT,
       W_LOGRHO,
       W_DISC,
       W_REW,
       W_VS,
       W_ADV,
       W_CLOGP,
       W_CENT,
       W_LSE,
       W_COUNT };

im_loss_opts im_loss_defaults(void)
{
	im_loss_opts o = {0.99f, 0.5f, 0.01f, 0, im_vtrace_defaults()};
	return o;
}

size_t im_loss_work_size(int T, int B)
{
	return (size_t)W_COUNT * (size_t)T * (size_t)B * sizeof(float);
}

static int check_batch(const im_loss_batch *b, const im_loss_grads *g)
{
	if (b->T <= 0 || b->B <= 0 || b->n <= 0 || !b->policy || !b->values ||
	    !(b->value_scale >= 0.0f) || !isfinite(b->value_scale) ||
	    !b->next_values || !b->behaviour_logp || !b->rewards ||
	    !b->terminated || !b->truncated || !g->dpolicy || !g->dvalues)
		return IM_EINVAL;
	if (b->kind == IM_ACT_DISCRETE) {
		if (!b->act_discrete)
			return IM_EINVAL;
		size_t rows = (size_t)b->T * b->B;
		for (size_t r = 0; r < rows; r++)
			if (b->act_discrete[r] < 0 || b->act_discrete[r] >= b->n)
				return IM_EACTION;
		return IM_OK;
	}
	if (b->kind != IM_ACT_BOX || !b->act_box || !b->log_std ||
	    !g->dlog_std)
		return IM_EINVAL;
	return IM_OK;
}

/* log pi and entropy of each row. */
static void policy_forward(float *logp, float *ent, float *lse,
			   float *scratch, const im_loss_batch *b, int rows)
{
	if (b->kind == IM_ACT_DISCRETE) {
		/* dpolicy holds the softmax until the backward overwrites
		 * it in place with the gradient. */
		im_dist_cat_forward_rows(logp, ent, lse, scratch, b->policy,
					 b->act_discrete, rows, b->n);
		return;
	}
	im_dist_gauss_log_prob(logp, b->policy, b->log_std, b->act_box, rows,
			       b->n);
	float h = im_dist_gauss_entropy(b->log_std, b->n);
	for (int r = 0; r < rows; r++)
		ent[r] = h;
}

/* The V-trace inputs that the batch gives only indirectly. */
static void vtrace_inputs(float *const w[], const im_loss_batch *b,
			  const im_loss_opts *o, int rows)
{
	for (int r = 0; r < rows; r++) {
		float rw = b->rewards[r];
		if (o->clip_rewards)
			rw = rw > 1.0f ? 1.0f : rw < -1.0f ? -1.0f
							   : rw;
		w[W_REW][r] = rw;
		w[W_DISC][r] = b->terminated[r] ? 0.0f : o->discount;
		w[W_LOGRHO][r] = w[W_LOGP][r] - b->behaviour_logp[r];
	}
}

/* Terms in double; writes dvalues and the per-row coefficients of the
 * policy's backward: dL/dlogp_r = -pg_adv_r, dL/dH_r = -ent_coef.  With
 * PopArt, the advantage and the value error are divided by sigma. */
static void terms(im_loss_stats *s, float *const w[], const im_loss_batch *b,
		  const im_loss_opts *o, float *dvalues, int rows)
{
	double pg = 0.0, sq = 0.0, ent = 0.0;
	double inv = b->value_scale > 0.0f ? 1.0 / b->value_scale : 1.0;
	for (int r = 0; r < rows; r++) {
		double err = ((double)w[W_VS][r] - b->values[r]) * inv;
		w[W_ADV][r] = (float)(w[W_ADV][r] * inv);
		pg += w[W_LOGP][r] * (double)w[W_ADV][r];
		sq += err * err;
		ent += w[W_ENT][r];
		dvalues[r] = (float)(-o->baseline_coef * err * inv);
		w[W_CLOGP][r] = -w[W_ADV][r];
		w[W_CENT][r] = -o->ent_coef;
	}
	s->pg_loss = -pg;
	s->baseline_loss = o->baseline_coef * 0.5 * sq;
	s->entropy_loss = -o->ent_coef * ent;
	s->total = s->pg_loss + s->baseline_loss + s->entropy_loss;
	s->mean_entropy = ent / rows;
}

static void policy_backward(const im_loss_grads *g, float *const w[],
			    const im_loss_batch *b, int rows)
{
	if (b->kind == IM_ACT_DISCRETE) {
		im_dist_cat_backward_rows(g->dpolicy, g->dpolicy, b->policy,
					  w[W_LSE], w[W_ENT], b->act_discrete,
					  w[W_CLOGP], w[W_CENT], rows, b->n);
		return;
	}
	memset(g->dpolicy, 0, (size_t)rows * b->n * sizeof(float));
	im_dist_gauss_backward(g->dpolicy, g->dlog_std, b->policy, b->log_std,
			       b->act_box, w[W_CLOGP], w[W_CENT], rows, b->n);
}

int im_loss(im_loss_stats *stats, const im_loss_grads *g,
	    const im_loss_batch *b, const im_loss_opts *o, void *work)
{
	int rc = check_batch(b, g);
	if (rc)
		return rc;
	int rows = b->T * b->B;
	float *block = work;
	if (!block && !(block = malloc(im_loss_work_size(b->T, b->B))))
		return IM_ENOMEM;
	float *w[W_COUNT];
	for (int i = 0; i < W_COUNT; i++)
		w[i] = block + (size_t)i * rows;
	if (g->vs)
		w[W_VS] = g->vs;
	if (g->pg_adv)
		w[W_ADV] = g->pg_adv;

	policy_forward(w[W_LOGP], w[W_ENT], w[W_LSE], g->dpolicy, b, rows);
	vtrace_inputs(w, b, o, rows);
	im_vtrace(w[W_VS], w[W_ADV], w[W_LOGRHO], w[W_DISC], w[W_REW],
		  b->values, b->next_values, b->truncated, b->T, b->B,
		  &o->vtrace);
	terms(stats, w, b, o, g->dvalues, rows);
	policy_backward(g, w, b, rows);
	if (block != work)
		free(block);
	return IM_OK;
}
