// SPDX-License-Identifier: Apache-2.0
/* The fast Conv2d: im2col lowering of (N, H, W, C) images, chunk by chunk,
 * and one OpenBLAS sgemm per chunk for each product (conv.h). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <string.h>

#include <cblas.h>

#include "err.h"
#include "nn/conv.h"

int im_nn_conv2d_init(im_nn_conv2d *s, int H, int W, int C, int O, int KH,
		      int KW, int stride, int pad)
{
	if (H < 1 || W < 1 || C < 1 || O < 1 || KH < 1 || KW < 1 ||
	    stride < 1 || pad < 0 || pad >= KH || pad >= KW ||
	    H + 2 * pad < KH || W + 2 * pad < KW)
		return IM_EINVAL;
	*s = (im_nn_conv2d){.H = H, .W = W, .C = C, .O = O, .KH = KH, .KW = KW, .stride = stride, .pad = pad, .OH = (H + 2 * pad - KH) / stride + 1, .OW = (W + 2 * pad - KW) / stride + 1};
	return IM_OK;
}

static size_t patch_k(const im_nn_conv2d *s)
{
	return (size_t)s->KH * s->KW * s->C;
}

/* Whether the input gradient is itself a convolution (of dout by the
 * flipped kernel): stride 1 and a square kernel. */
static int din_as_conv(const im_nn_conv2d *s)
{
	return s->stride == 1 && s->KH == s->KW;
}

/* Scratch: [weight as (O, KH, KW, C), or the flipped one] [its gradient,
 * backward only] [patches of a chunk] [the backward's patch gradient, or
 * the patches of dout]. */
size_t im_nn_conv2d_scratch_floats(const im_nn_conv2d *s, int chunk,
				   int backward)
{
	size_t wk = (size_t)s->O * patch_k(s);
	size_t pk = (size_t)chunk * s->OH * s->OW * patch_k(s);
	size_t pk2 = din_as_conv(s) ? (size_t)chunk * s->H * s->W * s->KH *
					      s->KW * s->O
				    : pk;
	if (!backward)
		return wk + pk;
	return 2 * wk + pk + (pk2 > pk ? pk2 : pk);
}

/* wp (O, KH, KW, C) = w (O, C, KH, KW): the order of a gathered patch. */
static void permute_weight(float *restrict wp, const float *restrict w,
			   const im_nn_conv2d *s)
{
	int KK = s->KH * s->KW;
	for (int o = 0; o < s->O; o++) {
		const float *wo = w + (size_t)o * s->C * KK;
		float *po = wp + (size_t)o * s->C * KK;
		for (int c = 0; c < s->C; c++)
			for (int k = 0; k < KK; k++)
				po[(size_t)k * s->C + c] = wo[(size_t)c * KK + k];
	}
}

/* dw (O, C, KH, KW) += dwp (O, KH, KW, C). */
static void add_weight_grad(float *restrict dw, const float *restrict dwp,
			    const im_nn_conv2d *s)
{
	int KK = s->KH * s->KW;
	for (int o = 0; o < s->O; o++) {
		float *wo = dw + (size_t)o * s->C * KK;
		const float *po = dwp + (size_t)o * s->C * KK;
		for (int c = 0; c < s->C; c++)
			for (int k = 0; k < KK; k++)
				wo[(size_t)c * KK + k] += po[(size_t)k * s->C + c];
	}
}

/* n values of the source from element offset at, converted to float. */
static void read_run(float *restrict dst, const im_nn_conv_src *src,
		     size_t at, size_t n)
{
	if (src->u8) {
		const uint8_t *p = src->u8 + at;
		for (size_t i = 0; i < n; i++)
			dst[i] = (float)p[i] * src->scale;
	} else if (src->relu) {
		const float *p = src->f + at;
		for (size_t i = 0; i < n; i++)
			dst[i] = p[i] > 0.0f ? p[i] : 0.0f;
	} else {
		memcpy(dst, src->f + at, n * sizeof(float));
	}
}

/* The valid kernel columns [*lo, *hi) at output column ow. */
static void kw_range(const im_nn_conv2d *s, int ow, int *lo, int *hi)
{
	int iw0 = ow * s->stride - s->pad;
	*lo = iw0 < 0 ? -iw0 : 0;
	*hi = s->W - iw0 < s->KW ? s->W - iw0 : s->KW;
}

/* Patches (OH * OW, KH * KW * C) of image n: row (oh, ow) holds, kernel row
 * by kernel row, the KW * C input values under the kernel (0 outside). */
static void im2col(float *P, const im_nn_conv_src *src, size_t n,
		   const im_nn_conv2d *s)
{
	size_t C = (size_t)s->C, K = patch_k(s), run = (size_t)s->KW * C;
	size_t img = n * s->H * s->W * C;
	for (int oh = 0; oh < s->OH; oh++) {
		for (int ow = 0; ow < s->OW; ow++) {
			float *row = P + ((size_t)oh * s->OW + ow) * K;
			int lo, hi;
			kw_range(s, ow, &lo, &hi);
			int iw0 = ow * s->stride - s->pad;
			for (int kh = 0; kh < s->KH; kh++) {
				float *d = row + kh * run;
				int ih = oh * s->stride - s->pad + kh;
				if (ih < 0 || ih >= s->H || hi <= lo) {
					memset(d, 0, run * sizeof(float));
					continue;
				}
				memset(d, 0, (size_t)lo * C * sizeof(float));
				read_run(d + (size_t)lo * C, src,
					 img + ((size_t)ih * s->W + iw0 + lo) * C,
					 (size_t)(hi - lo) * C);
				memset(d + (size_t)hi * C, 0,
				       (size_t)(s->KW - hi) * C * sizeof(float));
			}
		}
	}
}

/* din (H, W, C) of one image += the patch gradient dP scattered back. */
static void col2im(float *din, const float *dP, const im_nn_conv2d *s)
{
	size_t C = (size_t)s->C, K = patch_k(s), run = (size_t)s->KW * C;
	for (int oh = 0; oh < s->OH; oh++) {
		for (int ow = 0; ow < s->OW; ow++) {
			const float *row = dP + ((size_t)oh * s->OW + ow) * K;
			int lo, hi;
			kw_range(s, ow, &lo, &hi);
			int iw0 = ow * s->stride - s->pad;
			for (int kh = 0; kh < s->KH; kh++) {
				int ih = oh * s->stride - s->pad + kh;
				if (ih < 0 || ih >= s->H || hi <= lo)
					continue;
				const float *g = row + kh * run + (size_t)lo * C;
				float *d = din + ((size_t)ih * s->W + iw0 + lo) * C;
				size_t m = (size_t)(hi - lo) * C;
				for (size_t i = 0; i < m; i++)
					d[i] += g[i];
			}
		}
	}
}

/* out (rows, O) = act(out + b), row by row. */
static void bias_relu(float *restrict out, const float *restrict b,
		      size_t rows, int O, int relu)
{
	for (size_t r = 0; r < rows; r++) {
		float *o = out + r * O;
		if (b)
			for (int j = 0; j < O; j++)
				o[j] += b[j];
		if (relu)
			for (int j = 0; j < O; j++)
				o[j] = o[j] > 0.0f ? o[j] : 0.0f;
	}
}

void im_nn_conv2d_forward(float *out, float *scratch,
			  const im_nn_conv_src *src, const float *w, const float *b, int N,
			  const im_nn_conv2d *s, int chunk, int relu)
{
	size_t K = patch_k(s), pix = (size_t)s->OH * s->OW;
	float *wp = scratch, *P = scratch + (size_t)s->O * K;
	if (im_nn_conv2d_direct_pays(s, src, N)) {
		im_nn_conv2d_forward_direct(out, scratch, src, w, b, N, s, relu);
		return;
	}
	permute_weight(wp, w, s);
	for (int n0 = 0; n0 < N; n0 += chunk) {
		int m = N - n0 < chunk ? N - n0 : chunk;
		for (int i = 0; i < m; i++)
			im2col(P + (size_t)i * pix * K, src, (size_t)(n0 + i), s);
		float *o = out + (size_t)n0 * pix * s->O;
		/* o (m * pix, O) = P (m * pix, K) @ wp^T */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
			    (int)(m * pix), s->O, (int)K, 1.0f, P, (int)K, wp,
			    (int)K, 0.0f, o, s->O);
		bias_relu(o, b, (size_t)m * pix, s->O, relu);
	}
}

/* The convolution whose forward is the stride-1 input gradient: dout's
 * O channels in, C out, padding K - 1 - pad, so its output is H x W; and
 * its weight wf (C, KH, KW, O) = w (O, C, KH, KW) flipped in space. */
static void transposed(im_nn_conv2d *t, float *restrict wf,
		       const float *restrict w, const im_nn_conv2d *s)
{
	*t = (im_nn_conv2d){.H = s->OH, .W = s->OW, .C = s->O, .O = s->C, .KH = s->KH, .KW = s->KW, .stride = 1, .pad = s->KH - 1 - s->pad, .OH = s->H, .OW = s->W};
	int KH = s->KH, KW = s->KW;
	for (int o = 0; o < s->O; o++)
		for (int c = 0; c < s->C; c++)
			for (int kh = 0; kh < KH; kh++)
				for (int kw = 0; kw < KW; kw++)
					wf[(((size_t)c * KH + kh) * KW + kw) * s->O + o] =
						w[(((size_t)o * s->C + c) * KH +
						   KH - 1 - kh) *
							  KW +
						  KW - 1 - kw];
}

/* din (m, H, W, C) = (beta 1: +=) the stride-1 input gradient of m images
 * from their dout, as one lowering and one sgemm. */
static void din_conv(float *din, float beta, float *P2, const float *wf,
		     const float *dout, int m, const im_nn_conv2d *t)
{
	size_t K2 = patch_k(t), pix = (size_t)t->OH * t->OW;
	im_nn_conv_src d = {.f = dout};
	for (int i = 0; i < m; i++)
		im2col(P2 + (size_t)i * pix * K2, &d, (size_t)i, t);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(m * pix),
		    t->O, (int)K2, 1.0f, P2, (int)K2, wf, (int)K2, beta, din, t->O);
}

static void conv_backward(float *din, float din_beta, float *dw, float *db,
			  float *scratch, const float *dout, const im_nn_conv_src *src,
			  const float *w, int N, const im_nn_conv2d *s, int chunk)
{
	size_t K = patch_k(s), pix = (size_t)s->OH * s->OW;
	size_t wk = (size_t)s->O * K;
	float *wp = scratch, *dwp = wp + wk, *P = dwp + wk;
	float *dP = P + (size_t)chunk * pix * K;
	im_nn_conv2d t;
	if (im_nn_conv2d_direct_pays(s, src, N)) {
		im_nn_conv2d_backward_direct(din, din_beta, dw, db, scratch,
					     dout, src, w, N, s);
		return;
	}
	int as_conv = din && din_as_conv(s);
	if (as_conv)
		transposed(&t, wp, w, s);
	else if (din)
		permute_weight(wp, w, s);
	if (din && !as_conv && din_beta == 0.0f)
		memset(din, 0, (size_t)N * s->H * s->W * s->C * sizeof(float));
	for (int n0 = 0; n0 < N; n0 += chunk) {
		int m = N - n0 < chunk ? N - n0 : chunk;
		int M = (int)(m * pix);
		const float *d = dout + (size_t)n0 * pix * s->O;
		for (int i = 0; i < m; i++)
			im2col(P + (size_t)i * pix * K, src, (size_t)(n0 + i), s);
		/* dwp (O, K) (+)= d^T (O, M) @ P (M, K) */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s->O,
			    (int)K, M, 1.0f, d, s->O, P, (int)K, n0 ? 1.0f : 0.0f,
			    dwp, (int)K);
		if (!din)
			continue;
		if (as_conv) {
			din_conv(din + (size_t)n0 * s->H * s->W * s->C, din_beta,
				 dP, wp, d, m, &t);
			continue;
		}
		/* dP (M, K) = d (M, O) @ wp (O, K), then scattered back */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M,
			    (int)K, s->O, 1.0f, d, s->O, wp, (int)K, 0.0f, dP,
			    (int)K);
		for (int i = 0; i < m; i++)
			col2im(din + (size_t)(n0 + i) * s->H * s->W * s->C,
			       dP + (size_t)i * pix * K, s);
	}
	if (N > 0)
		add_weight_grad(dw, dwp, s);
	for (size_t r = 0; db && r < (size_t)N * pix; r++) {
		const float *g = dout + r * s->O;
		for (int o = 0; o < s->O; o++)
			db[o] += g[o];
	}
}

void im_nn_conv2d_backward(float *din, float *dw, float *db, float *scratch,
			   const float *dout, const im_nn_conv_src *src, const float *w, int N,
			   const im_nn_conv2d *s, int chunk)
{
	conv_backward(din, 1.0f, dw, db, scratch, dout, src, w, N, s, chunk);
}

void im_nn_conv2d_backward_assign(float *din, float *dw, float *db,
				  float *scratch, const float *dout, const im_nn_conv_src *src,
				  const float *w, int N, const im_nn_conv2d *s, int chunk)
{
	conv_backward(din, 0.0f, dw, db, scratch, dout, src, w, N, s, chunk);
}
