// SPDX-License-Identifier: Apache-2.0
/* Workspaces and the model's forward and backward passes: the acting step,
 * the learning forward over T+1 steps by B unrolls (with the extra
 * bootstrap rows), and the backward through heads, LSTM and encoder. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nn/internal.h"
#include "nn/obsnorm.h"

struct im_model_ws {
	const im_model *m;
	int max_T1, max_B;
	float *mem;
	float *enc_ws;   /* encoder workspace for max_T1 * max_B rows */
	float *nobs;     /* (N, obs_numel) normalised obs, obs_norm only */
	float *x;        /* (N, core_in) LSTM input */
	float *lstm_mem; /* im_nn_lstm_cache_floats() */
	float *lstm_scratch;
	float *dfeat;       /* (N, feature_dim), LSTM only */
	float *dcore;       /* (N, core_dim) */
	float *heads;       /* im_nni_heads_ws_floats(N) */
	float *eh, *ec;     /* (max_B, H) state gathered for extra rows */
	float *epol;        /* (max_B, n) policy of extra rows, discarded */
	im_model_ws *extra; /* one-step workspace for extra rows */
	/* The last forward, for the backward. */
	int have_forward;
	im_model_input in;
	im_nn_lstm_cache cache;
	const float *feat;   /* (T1*B, feature_dim) inside enc_ws */
	const void *enc_obs; /* what the encoder read: in.obs or nobs */
};

/* Carves the next n floats of the block, keeping 64-byte alignment. */
static float *carve(float **p, size_t n)
{
	float *r = *p;
	*p += im_nni_align(n);
	return r;
}

static size_t ws_floats(const im_model *m, int T1, int B)
{
	size_t N = (size_t)T1 * B, H = (size_t)m->spec.lstm_hidden;
	size_t n = im_nni_align(m->enc->ws_floats(m->enc_state, (int)N));
	if (m->spec.obs_norm)
		n += im_nni_align(N * m->obs_numel);
	n += im_nni_align(N * m->core_dim);
	n += im_nni_align(im_nni_heads_ws_floats(m, (int)N));
	if (m->spec.use_lstm) {
		n += im_nni_align(N * m->core_in);
		n += im_nni_align(im_nn_lstm_cache_floats(T1, B, (int)H));
		n += im_nni_align(im_nn_lstm_scratch_floats(T1, B, (int)H));
		n += im_nni_align(N * m->spec.feature_dim);
		n += 2 * im_nni_align((size_t)B * H);
	}
	return n + im_nni_align((size_t)B * m->n);
}

int im_model_ws_new(im_model_ws **out, const im_model *m, int max_T1,
		    int max_B)
{
	if (max_T1 < 1 || max_B < 1 || (int64_t)max_T1 * max_B > (1 << 24))
		return IM_EINVAL;
	int rc = IM_ENOMEM;
	im_model_ws *ws = calloc(1, sizeof(*ws));
	if (!ws)
		return IM_ENOMEM;
	ws->m = m;
	ws->max_T1 = max_T1;
	ws->max_B = max_B;
	size_t n = ws_floats(m, max_T1, max_B), N = (size_t)max_T1 * max_B;
	size_t H = (size_t)m->spec.lstm_hidden;
	ws->mem = aligned_alloc(64, n * sizeof(float));
	if (!ws->mem)
		goto fail;
	float *p = ws->mem;
	ws->enc_ws = carve(&p, m->enc->ws_floats(m->enc_state, (int)N));
	if (m->spec.obs_norm)
		ws->nobs = carve(&p, N * m->obs_numel);
	ws->dcore = carve(&p, N * m->core_dim);
	ws->heads = carve(&p, im_nni_heads_ws_floats(m, (int)N));
	if (m->spec.use_lstm) {
		ws->x = carve(&p, N * m->core_in);
		ws->lstm_mem = carve(&p, im_nn_lstm_cache_floats(max_T1, max_B, (int)H));
		ws->lstm_scratch = carve(&p,
					 im_nn_lstm_scratch_floats(max_T1, max_B, (int)H));
		ws->dfeat = carve(&p, N * m->spec.feature_dim);
		ws->eh = carve(&p, (size_t)max_B * H);
		ws->ec = carve(&p, (size_t)max_B * H);
	}
	ws->epol = carve(&p, (size_t)max_B * m->n);
	/* Extra bootstrap rows run as acting steps in chunks of max_B. */
	if (max_T1 > 1) {
		rc = im_model_ws_new(&ws->extra, m, 1, max_B);
		if (rc)
			goto fail;
	}
	*out = ws;
	return IM_OK;
fail:
	im_model_ws_free(ws);
	return rc;
}

void im_model_ws_free(im_model_ws *ws)
{
	if (!ws)
		return;
	im_model_ws_free(ws->extra);
	free(ws->mem);
	free(ws);
}

/* x (rows, F + 1 + n) = [features, clip(prev_reward, -1, 1), action]. */
static int build_core_input(const im_model *m, float *x, const float *feat,
			    const im_model_input *in, int rows)
{
	int F = m->spec.feature_dim, n = m->n, I = m->core_in;
	int discrete = m->spec.act.kind == IM_ACT_DISCRETE;
	for (int r = 0; r < rows; r++) {
		float *xr = x + (size_t)r * I;
		memcpy(xr, feat + (size_t)r * F, (size_t)F * sizeof(float));
		float rw = in->prev_reward ? in->prev_reward[r] : 0.0f;
		xr[F] = rw > 1.0f ? 1.0f : rw < -1.0f ? -1.0f
						      : rw;
		float *a = xr + F + 1;
		if (discrete) {
			int32_t k = in->prev_action ? in->prev_action[r] : 0;
			if (k < 0 || k >= n)
				return IM_EACTION;
			memset(a, 0, (size_t)n * sizeof(float));
			a[k] = 1.0f;
		} else if (in->prev_action_box) {
			memcpy(a, in->prev_action_box + (size_t)r * n,
			       (size_t)n * sizeof(float));
		} else {
			memset(a, 0, (size_t)n * sizeof(float));
		}
	}
	return IM_OK;
}

/* Encoder, core and heads over in->T1 * in->B rows; keeps the cache. */
static int forward_rows(im_model_ws *ws, const float *params,
			const im_model_input *in, const float *h0, const float *c0,
			float *policy_out, float *baseline)
{
	const im_model *m = ws->m;
	int rows = in->T1 * in->B;
	ws->have_forward = 0;
	ws->enc_obs = in->obs;
	if (m->spec.obs_norm) {
		im_nn_obsnorm_apply(ws->nobs, in->obs,
				    im_nni_t(m, params, m->t_on_mean),
				    im_nni_t(m, params, m->t_on_var), rows, m->obs_numel);
		ws->enc_obs = ws->nobs;
	}
	ws->feat = m->enc->forward(m->enc_state, params, ws->enc_obs, rows,
				   ws->enc_ws);
	const float *core = ws->feat;
	if (m->spec.use_lstm) {
		int rc = build_core_input(m, ws->x, ws->feat, in, rows);
		if (rc)
			return rc;
		int H = m->spec.lstm_hidden;
		im_nn_lstm_cache_bind(&ws->cache, ws->lstm_mem, in->T1, in->B, H);
		im_nn_lstm_forward(&ws->cache, ws->x, in->reset, h0, c0,
				   im_nni_t(m, params, m->t_wih), im_nni_t(m, params, m->t_whh),
				   im_nni_t(m, params, m->t_bih), im_nni_t(m, params, m->t_bhh),
				   in->T1, in->B, m->core_in, H);
		core = ws->cache.h;
	}
	im_nni_heads_forward(policy_out, baseline, ws->heads, m, params, core,
			     rows);
	ws->in = *in;
	ws->have_forward = 1;
	return IM_OK;
}

static int check_input(const im_model_ws *ws, const im_model_input *in)
{
	if (!in || !in->obs || in->T1 < 1 || in->B < 1 ||
	    in->T1 > ws->max_T1 || in->B > ws->max_B)
		return IM_ESHAPE;
	return IM_OK;
}

int im_model_act(im_model_ws *ws, const float *params,
		 const im_model_input *in, float *h, float *c, float *policy_out,
		 float *baseline)
{
	int rc = check_input(ws, in);
	if (rc || in->T1 != 1)
		return rc ? rc : IM_ESHAPE;
	rc = forward_rows(ws, params, in, h, c, policy_out, baseline);
	if (rc || !ws->m->spec.use_lstm || !h)
		return rc;
	size_t bytes = (size_t)in->B * ws->m->spec.lstm_hidden * sizeof(float);
	memcpy(h, ws->cache.h, bytes);
	memcpy(c, ws->cache.c, bytes);
	return IM_OK;
}

/* Values of the extra bootstrap rows: one acting step each, from the
 * cached state after step t of sequence b, in chunks of max_B rows. */
static int extra_rows(im_model_ws *ws, const float *params,
		      const im_model_extra *ex, float *value)
{
	const im_model *m = ws->m;
	int H = m->spec.lstm_hidden, rows = ws->in.T1 * ws->in.B;
	size_t row = im_obs_bytes(&m->spec.obs); /* bytes of one obs row */
	for (int j0 = 0; j0 < ex->n; j0 += ws->max_B) {
		int k = ex->n - j0 < ws->max_B ? ex->n - j0 : ws->max_B;
		for (int j = 0; j < k; j++) {
			int32_t idx = ex->index[j0 + j];
			if (idx < 0 || idx >= rows)
				return IM_ERANGE;
			if (!m->spec.use_lstm)
				continue;
			memcpy(ws->eh + (size_t)j * H, ws->cache.h + (size_t)idx * H,
			       (size_t)H * sizeof(float));
			memcpy(ws->ec + (size_t)j * H, ws->cache.c + (size_t)idx * H,
			       (size_t)H * sizeof(float));
		}
		im_model_input in = {
			.T1 = 1,
			.B = k,
			.obs = (const char *)ex->obs + (size_t)j0 * row,
			.prev_action = ex->prev_action ? ex->prev_action + j0 : NULL,
			.prev_action_box = ex->prev_action_box
						   ? ex->prev_action_box + (size_t)j0 * m->n
						   : NULL,
			.prev_reward = ex->prev_reward ? ex->prev_reward + j0 : NULL,
		};
		int rc = im_model_act(ws->extra, params, &in, ws->eh, ws->ec,
				      ws->epol, value + j0);
		if (rc)
			return rc;
	}
	return IM_OK;
}

int im_model_forward(im_model_ws *ws, const float *params,
		     const im_model_input *in, const float *h0, const float *c0,
		     const im_model_extra *extra, float *policy_out, float *baseline,
		     float *extra_value)
{
	int rc = check_input(ws, in);
	if (rc)
		return rc;
	if (extra && extra->n > 0 &&
	    (!ws->extra || !extra->index || !extra->obs || !extra_value))
		return IM_EINVAL;
	rc = forward_rows(ws, params, in, h0, c0, policy_out, baseline);
	if (rc || !extra || extra->n <= 0)
		return rc;
	rc = extra_rows(ws, params, extra, extra_value);
	if (rc)
		ws->have_forward = 0;
	return rc;
}

int im_model_backward(im_model_ws *ws, const float *params,
		      const float *dpolicy_out, const float *dbaseline, float *grads)
{
	if (!ws->have_forward)
		return IM_ESTATE;
	return im_model_backward_rows(ws, params, dpolicy_out, dbaseline, grads,
				      ws->in.T1 * ws->in.B);
}

int im_model_backward_rows(im_model_ws *ws, const float *params,
			   const float *dpolicy_out, const float *dbaseline,
			   float *grads, int grad_rows)
{
	if (!ws->have_forward)
		return IM_ESTATE;
	const im_model *m = ws->m;
	const im_model_input *in = &ws->in;
	int rows = in->T1 * in->B, F = m->spec.feature_dim;
	if (grad_rows < 1 || grad_rows > rows)
		return IM_EINVAL;
	/* BPTT reads every step's dh: the LSTM's rows are all computed. */
	int gr = m->spec.use_lstm ? rows : grad_rows;
	const float *core = m->spec.use_lstm ? ws->cache.h : ws->feat;
	im_nni_heads_backward(ws->dcore, grads, ws->heads, m, params,
			      dpolicy_out, dbaseline, core, gr);
	float *dfeat = ws->dcore;
	if (m->spec.use_lstm) {
		dfeat = ws->dfeat;
		memset(dfeat, 0, (size_t)rows * F * sizeof(float));
		im_nn_lstm_backward(dfeat, F, grads + m->tensors[m->t_wih].offset,
				    grads + m->tensors[m->t_whh].offset,
				    grads + m->tensors[m->t_bih].offset,
				    grads + m->tensors[m->t_bhh].offset, ws->lstm_scratch,
				    ws->dcore, &ws->cache, ws->x, in->reset,
				    im_nni_t(m, params, m->t_wih), im_nni_t(m, params, m->t_whh),
				    in->T1, in->B, m->core_in, m->spec.lstm_hidden);
	}
	m->enc->backward(m->enc_state, params, grads, ws->enc_obs, dfeat, rows,
			 gr, ws->enc_ws);
	return IM_OK;
}
