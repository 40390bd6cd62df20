// SPDX-License-Identifier: Apache-2.0
/* The policy and baseline heads run as ONE linear layer of n + 1 outputs.
 * As two layers they cost four sgemms of 1 or 2 outputs, each of which
 * packs the whole core output again and runs OpenBLAS's kernel mostly
 * empty (~15% of the 2x64 update).  Fused, the core is read once per
 * product.  The arena keeps its PyTorch layout (policy.weight, policy.bias,
 * [policy.log_std], baseline.weight, baseline.bias: checkpoints and the
 * wire depend on it), so the head weights are copied into a small packed
 * matrix per call, and outputs and gradients are split or scattered back. */
#include <string.h>

#include <cblas.h>

#include "nn/internal.h"

/* PopArt's statistics; the identity (0, 1) without PopArt. */
static void value_stats(float *mu, float *sigma, const im_model *m,
			const float *params)
{
	*mu = m->t_mu >= 0 ? *im_nni_t(m, params, m->t_mu) : 0.0f;
	*sigma = m->t_sigma >= 0 ? *im_nni_t(m, params, m->t_sigma) : 1.0f;
}

/* Floats of each part of the heads' workspace, in carving order. */
static size_t hw_floats(const im_model *m)
{
	return im_nni_align((size_t)(m->n + 1) * m->core_dim);
}

static size_t hb_floats(const im_model *m)
{
	return im_nni_align((size_t)m->n + 1);
}

size_t im_nni_heads_ws_floats(const im_model *m, int rows)
{
	return 3 * hw_floats(m) + hb_floats(m) +
	       im_nni_align((size_t)rows * (m->n + 1));
}

/* Pointers into the heads' workspace ws. */
typedef struct heads_ws {
	float *w;  /* (n+1, C) policy.weight rows, then baseline.weight */
	float *wt; /* (C, n+1) the same transposed, for the forward */
	float *dw; /* (n+1, C) their gradient */
	float *b;  /* (n+1) policy.bias, then baseline.bias; then db */
	float *io; /* (rows, n+1) outputs, then output gradients */
} heads_ws;

static heads_ws carve(const im_model *m, float *ws)
{
	heads_ws h;
	h.w = ws;
	h.wt = h.w + hw_floats(m);
	h.dw = h.wt + hw_floats(m);
	h.b = h.dw + hw_floats(m);
	h.io = h.b + hb_floats(m);
	return h;
}

/* The arena's head weights as one (n+1, C) matrix; biases into b. */
static void pack_weights(float *w, float *b, const im_model *m,
			 const float *params)
{
	size_t C = (size_t)m->core_dim, n = (size_t)m->n;
	memcpy(w, im_nni_t(m, params, m->t_pw), n * C * sizeof(float));
	memcpy(w + n * C, im_nni_t(m, params, m->t_bw), C * sizeof(float));
	if (b) {
		memcpy(b, im_nni_t(m, params, m->t_pb), n * sizeof(float));
		b[n] = *im_nni_t(m, params, m->t_bb);
	}
}

void im_nni_heads_forward(float *policy_out, float *baseline, float *ws,
			  const im_model *m, const float *params, const float *core, int rows)
{
	heads_ws h = carve(m, ws);
	int n = m->n, O = n + 1, C = m->core_dim;
	if (rows <= 0)
		return;
	pack_weights(h.w, h.b, m, params);
	/* io = core @ w^T as a product of untransposed operands: OpenBLAS
	 * (SkylakeX) runs small non-transposed products with a kernel that
	 * packs nothing and writes io directly, while with w^T it packs all
	 * of core for three outputs (~3% of the 2x64 update). */
	im_nni_transpose(h.wt, h.w, O, C);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, O, C,
		    1.0f, core, C, h.wt, O, 0.0f, h.io, O);
	/* The bias is added while splitting, in the one pass over io; the
	 * value is unnormalised there too (an exact no-op without PopArt). */
	float mu, sigma;
	value_stats(&mu, &sigma, m, params);
	for (int r = 0; r < rows; r++) {
		const float *o = h.io + (size_t)r * O;
		float *p = policy_out + (size_t)r * n;
		for (int j = 0; j < n; j++)
			p[j] = o[j] + h.b[j];
		baseline[r] = sigma * (o[n] + h.b[n]) + mu;
	}
}

/* io (rows, n+1) = [dpolicy, vscale * dbaseline]; db (n+1) = their column
 * sums, summed in row order in float like im_nn_linear_backward's.  vscale
 * is PopArt's sigma: the normalised output's gradient is sigma dL/dV. */
static void pack_dout(float *io, float *db, const float *dpolicy,
		      const float *dbaseline, float vscale, int n, int rows)
{
	int O = n + 1;
	memset(db, 0, (size_t)O * sizeof(float));
	for (int r = 0; r < rows; r++) {
		const float *dp = dpolicy + (size_t)r * n;
		float *d = io + (size_t)r * O;
		for (int j = 0; j < n; j++) {
			d[j] = dp[j];
			db[j] += dp[j];
		}
		d[n] = vscale * dbaseline[r];
		db[n] += d[n];
	}
}

/* dst[i] += src[i] for i < len. */
static void add_to(float *dst, const float *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] += src[i];
}

void im_nni_heads_backward(float *dcore, float *grads, float *ws,
			   const im_model *m, const float *params, const float *dpolicy,
			   const float *dbaseline, const float *core, int rows)
{
	heads_ws h = carve(m, ws);
	int n = m->n, O = n + 1, C = m->core_dim;
	float mu, sigma;
	value_stats(&mu, &sigma, m, params);
	pack_weights(h.w, NULL, m, params);
	pack_dout(h.io, h.b, dpolicy, dbaseline, sigma, n, rows);
	memset(h.dw, 0, (size_t)O * C * sizeof(float));
	im_nn_linear_backward_assign(dcore, h.dw, NULL, h.io, core, h.w, rows,
				     C, O);
	add_to(grads + m->tensors[m->t_pw].offset, h.dw, (size_t)n * C);
	add_to(grads + m->tensors[m->t_bw].offset, h.dw + (size_t)n * C,
	       (size_t)C);
	add_to(grads + m->tensors[m->t_pb].offset, h.b, (size_t)n);
	add_to(grads + m->tensors[m->t_bb].offset, h.b + n, 1);
}
