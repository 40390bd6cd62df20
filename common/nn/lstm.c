// SPDX-License-Identifier: Apache-2.0
/* Fast LSTM over a time-major batch.  The input projection of every step is
 * one large sgemm before the recurrence; each step then adds h @ w_hh^T with
 * a small sgemm and runs one fused pointwise pass (biases, gate
 * nonlinearities, cell and output).  The backward mirrors it: a pointwise
 * pass and one small sgemm per step, then the weight gradients and the
 * input gradient as three large sgemms over all steps at once. */
/* The fused loops use fastmath.h's clamps and selects; GCC if-converts
 * (and so vectorises) float selects only when comparisons may not trap.
 * We never enable floating-point traps, so the flag changes no result. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <string.h>

#include <cblas.h>

#include "nn/fastmath.h"
#include "nn/kernels.h"

size_t im_nn_lstm_cache_floats(int T1, int B, int H)
{
	return (size_t)T1 * B * H * 9;
}

void im_nn_lstm_cache_bind(im_nn_lstm_cache *cache, float *mem, int T1,
			   int B, int H)
{
	size_t n = (size_t)T1 * B * H;
	cache->gates = mem;
	cache->hprev = mem + 4 * n;
	cache->cprev = mem + 5 * n;
	cache->c = mem + 6 * n;
	cache->tanh_c = mem + 7 * n;
	cache->h = mem + 8 * n;
}

size_t im_nn_lstm_scratch_floats(int T1, int B, int H)
{
	/* The naive twin also keeps 6H floats of per-row temporaries. */
	return (size_t)T1 * B * 4 * H + 2 * (size_t)B * H + 6 * (size_t)H;
}

/* The state entering step t: the previous step's (or h0/c0 at t == 0),
 * zeroed for the sequences that reset before this step. */
static void load_prev_state(float *hp, float *cp, const float *h,
			    const float *c, const uint8_t *reset, int B, int H)
{
	size_t row = (size_t)H * sizeof(float);
	for (int b = 0; b < B; b++) {
		if (!h || (reset && reset[b])) {
			memset(hp + (size_t)b * H, 0, row);
			memset(cp + (size_t)b * H, 0, row);
		} else {
			memcpy(hp + (size_t)b * H, h + (size_t)b * H, row);
			memcpy(cp + (size_t)b * H, c + (size_t)b * H, row);
		}
	}
}

/* One row: z holds the pre-activations without biases; it is overwritten
 * with the gate activations. */
static void cell_row(float *restrict z, float *restrict c,
		     float *restrict tc, float *restrict h, const float *restrict cp,
		     const float *restrict b_ih, const float *restrict b_hh, int H)
{
	float *zi = z, *zf = z + H, *zg = z + 2 * H, *zo = z + 3 * H;
	for (int j = 0; j < H; j++) {
		float i = im_nni_sigmoidf(zi[j] + b_ih[j] + b_hh[j]);
		float f = im_nni_sigmoidf(zf[j] + b_ih[H + j] + b_hh[H + j]);
		float g = im_nni_tanhf(zg[j] + b_ih[2 * H + j] + b_hh[2 * H + j]);
		float o = im_nni_sigmoidf(zo[j] + b_ih[3 * H + j] + b_hh[3 * H + j]);
		float cn = f * cp[j] + i * g;
		float t = im_nni_tanhf(cn);
		zi[j] = i;
		zf[j] = f;
		zg[j] = g;
		zo[j] = o;
		c[j] = cn;
		tc[j] = t;
		h[j] = o * t;
	}
}

void im_nn_lstm_forward(im_nn_lstm_cache *k, const float *x,
			const uint8_t *reset, const float *h0, const float *c0,
			const float *w_ih, const float *w_hh, const float *b_ih,
			const float *b_hh, int T1, int B, int IN, int H)
{
	int N = T1 * B, G = 4 * H;
	if (N <= 0)
		return;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, G, IN, 1.0f, x,
		    IN, w_ih, IN, 0.0f, k->gates, G);
	for (int t = 0; t < T1; t++) {
		size_t s = (size_t)t * B * H;
		const float *ph = t ? k->h + s - (size_t)B * H : h0;
		const float *pc = t ? k->c + s - (size_t)B * H : c0;
		load_prev_state(k->hprev + s, k->cprev + s, ph, pc,
				reset ? reset + (size_t)t * B : NULL, B, H);
		float *gt = k->gates + (size_t)t * B * G;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, G, H,
			    1.0f, k->hprev + s, H, w_hh, H, 1.0f, gt, G);
		for (int b = 0; b < B; b++) {
			size_t r = s + (size_t)b * H;
			cell_row(gt + (size_t)b * G, k->c + r, k->tanh_c + r,
				 k->h + r, k->cprev + r, b_ih, b_hh, H);
		}
	}
}

/* One row of the backward pointwise pass: from the output gradient dh and
 * the carried cell gradient dcc (updated to the gradient reaching the
 * previous cell), writes the pre-activation gradients dz (4H). */
static void cell_row_backward(float *restrict dz, float *restrict dcc,
			      const float *restrict dh, const float *restrict dhc,
			      const float *restrict gates, const float *restrict tc,
			      const float *restrict cp, int H)
{
	const float *gi = gates, *gf = gates + H, *gg = gates + 2 * H;
	const float *go = gates + 3 * H;
	for (int j = 0; j < H; j++) {
		float d = dh[j] + dhc[j];
		float i = gi[j], f = gf[j], g = gg[j], o = go[j], t = tc[j];
		float dc = dcc[j] + d * o * (1.0f - t * t);
		dz[j] = dc * g * i * (1.0f - i);
		dz[H + j] = dc * cp[j] * f * (1.0f - f);
		dz[2 * H + j] = dc * i * (1.0f - g * g);
		dz[3 * H + j] = d * t * o * (1.0f - o);
		dcc[j] = dc * f;
	}
}

static void colsum_add(float *db, const float *d, int N, int C)
{
	for (int n = 0; n < N; n++) {
		const float *r = d + (size_t)n * C;
		for (int j = 0; j < C; j++)
			db[j] += r[j];
	}
}

void im_nn_lstm_backward(float *dx, int dx_cols, float *dw_ih, float *dw_hh,
			 float *db_ih, float *db_hh, float *scratch, const float *dh,
			 const im_nn_lstm_cache *k, const float *x, const uint8_t *reset,
			 const float *w_ih, const float *w_hh, int T1, int B, int IN, int H)
{
	int N = T1 * B, G = 4 * H;
	if (N <= 0)
		return;
	float *dz = scratch;              /* (N, 4H) */
	float *dhc = dz + (size_t)N * G;  /* (B, H) carried dh */
	float *dcc = dhc + (size_t)B * H; /* (B, H) carried dc */
	memset(dhc, 0, 2 * (size_t)B * H * sizeof(float));
	for (int t = T1 - 1; t >= 0; t--) {
		size_t s = (size_t)t * B * H;
		float *dzt = dz + (size_t)t * B * G;
		for (int b = 0; b < B; b++) {
			size_t r = s + (size_t)b * H;
			cell_row_backward(dzt + (size_t)b * G, dcc + (size_t)b * H,
					  dh + r, dhc + (size_t)b * H,
					  k->gates + (size_t)(t * B + b) * G,
					  k->tanh_c + r, k->cprev + r, H);
		}
		if (t == 0)
			break;
		/* Gradient reaching h_{t-1} through w_hh, cut where the state
		 * was reset before step t (h_prev was a constant zero). */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, G,
			    1.0f, dzt, G, w_hh, H, 0.0f, dhc, H);
		for (int b = 0; reset && b < B; b++) {
			if (reset[(size_t)t * B + b]) {
				memset(dhc + (size_t)b * H, 0, H * sizeof(float));
				memset(dcc + (size_t)b * H, 0, H * sizeof(float));
			}
		}
	}
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, IN, N, 1.0f, dz,
		    G, x, IN, 1.0f, dw_ih, IN);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, H, N, 1.0f, dz,
		    G, k->hprev, H, 1.0f, dw_hh, H);
	colsum_add(db_ih, dz, N, G);
	colsum_add(db_hh, dz, N, G);
	/* Only the first dx_cols columns of w_ih: lda = IN walks the rows. */
	if (dx && dx_cols > 0)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N,
			    dx_cols, G, 1.0f, dz, G, w_ih, IN, 1.0f, dx, dx_cols);
}
