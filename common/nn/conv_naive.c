// SPDX-License-Identifier: Apache-2.0
/* Naive reference kernels of conv.h: the definitions as direct loops over
 * (n, oh, ow, o, c, kh, kw) with double accumulators, reading the weight in
 * PyTorch's (O, C, KH, KW) order; no lowering, no BLAS, no chunks.  Slow on
 * purpose; only the tests call them. */
#include <math.h>
#include <string.h>

#include "nn/conv.h"

/* Input value (n, h, w, c) as the layer reads it; 0 in the padding. */
static double src_at(const im_nn_conv_src *src, const im_nn_conv2d *s,
		     int n, int h, int w, int c)
{
	if (h < 0 || h >= s->H || w < 0 || w >= s->W)
		return 0.0;
	size_t at = (((size_t)n * s->H + h) * s->W + w) * s->C + c;
	if (src->u8)
		return (double)((float)src->u8[at] * src->scale);
	float v = src->f[at];
	return src->relu && v < 0.0f ? 0.0 : v;
}

static size_t w_at(const im_nn_conv2d *s, int o, int c, int kh, int kw)
{
	return (((size_t)o * s->C + c) * s->KH + kh) * s->KW + kw;
}

void im_nn_conv2d_forward_naive(float *out, float *scratch,
				const im_nn_conv_src *src, const float *w, const float *b, int N,
				const im_nn_conv2d *s, int chunk, int relu)
{
	(void)scratch;
	(void)chunk;
	for (int n = 0; n < N; n++)
		for (int oh = 0; oh < s->OH; oh++)
			for (int ow = 0; ow < s->OW; ow++)
				for (int o = 0; o < s->O; o++) {
					double acc = b ? b[o] : 0.0;
					for (int c = 0; c < s->C; c++)
						for (int kh = 0; kh < s->KH; kh++)
							for (int kw = 0; kw < s->KW; kw++)
								acc += src_at(src, s, n,
									      oh * s->stride - s->pad + kh,
									      ow * s->stride - s->pad + kw, c) *
								       w[w_at(s, o, c, kh, kw)];
					if (relu && acc < 0.0)
						acc = 0.0;
					out[(((size_t)n * s->OH + oh) * s->OW + ow) * s->O + o] =
						(float)acc;
				}
}

/* dout at (n, oh, ow, o). */
static float dout_at(const float *dout, const im_nn_conv2d *s, int n,
		     int oh, int ow, int o)
{
	return dout[(((size_t)n * s->OH + oh) * s->OW + ow) * s->O + o];
}

void im_nn_conv2d_backward_naive(float *din, float *dw, float *db,
				 float *scratch, const float *dout, const im_nn_conv_src *src,
				 const float *w, int N, const im_nn_conv2d *s, int chunk)
{
	(void)scratch;
	(void)chunk;
	/* Each weight's gradient as one sum over every output pixel. */
	for (int o = 0; o < s->O; o++) {
		double gb = 0.0;
		for (int n = 0; n < N; n++)
			for (int oh = 0; oh < s->OH; oh++)
				for (int ow = 0; ow < s->OW; ow++)
					gb += dout_at(dout, s, n, oh, ow, o);
		if (db)
			db[o] += (float)gb;
		for (int c = 0; c < s->C; c++)
			for (int kh = 0; kh < s->KH; kh++)
				for (int kw = 0; kw < s->KW; kw++) {
					double acc = 0.0;
					for (int n = 0; n < N; n++)
						for (int oh = 0; oh < s->OH; oh++)
							for (int ow = 0; ow < s->OW; ow++)
								acc += dout_at(dout, s, n, oh, ow, o) *
								       src_at(src, s, n,
									      oh * s->stride - s->pad + kh,
									      ow * s->stride - s->pad + kw, c);
					dw[w_at(s, o, c, kh, kw)] += (float)acc;
				}
	}
	/* Each input's gradient: the outputs whose window covers it. */
	for (int n = 0; din && n < N; n++)
		for (int h = 0; h < s->H; h++)
			for (int x = 0; x < s->W; x++)
				for (int c = 0; c < s->C; c++) {
					double acc = 0.0;
					for (int kh = 0; kh < s->KH; kh++)
						for (int kw = 0; kw < s->KW; kw++) {
							int ph = h + s->pad - kh, pw = x + s->pad - kw;
							if (ph < 0 || pw < 0 || ph % s->stride || pw % s->stride)
								continue;
							int oh = ph / s->stride, ow = pw / s->stride;
							if (oh >= s->OH || ow >= s->OW)
								continue;
							for (int o = 0; o < s->O; o++)
								acc += (double)dout_at(dout, s, n, oh, ow, o) *
								       w[w_at(s, o, c, kh, kw)];
						}
					din[(((size_t)n * s->H + h) * s->W + x) * s->C + c] += (float)acc;
				}
}

void im_nn_conv2d_backward_assign_naive(float *din, float *dw, float *db,
					float *scratch, const float *dout, const im_nn_conv_src *src,
					const float *w, int N, const im_nn_conv2d *s, int chunk)
{
	memset(din, 0, (size_t)N * s->H * s->W * s->C * sizeof(float));
	im_nn_conv2d_backward_naive(din, dw, db, scratch, dout, src, w, N, s,
				    chunk);
}

/* The first maximum of window (oh, ow) of channel c in scan order: its
 * index into the image, as PyTorch's CPU kernel finds it. */
static size_t argmax_naive(const float *img, const im_nn_pool2d *s, int oh,
			   int ow, int c)
{
	size_t best = (size_t)-1;
	float bv = -INFINITY;
	for (int kh = 0; kh < s->K; kh++)
		for (int kw = 0; kw < s->K; kw++) {
			int h = oh * s->stride - s->pad + kh;
			int w = ow * s->stride - s->pad + kw;
			if (h < 0 || h >= s->H || w < 0 || w >= s->W)
				continue;
			size_t at = ((size_t)h * s->W + w) * s->C + c;
			if (best == (size_t)-1 || img[at] > bv) {
				best = at;
				bv = img[at];
			}
		}
	return best;
}

void im_nn_maxpool_forward_naive(float *out, const float *in, int N,
				 const im_nn_pool2d *s)
{
	size_t isz = (size_t)s->H * s->W * s->C;
	for (int n = 0; n < N; n++)
		for (int oh = 0; oh < s->OH; oh++)
			for (int ow = 0; ow < s->OW; ow++)
				for (int c = 0; c < s->C; c++)
					out[(((size_t)n * s->OH + oh) * s->OW + ow) *
						    s->C +
					    c] = in[n * isz +
						    argmax_naive(in + n * isz, s, oh, ow, c)];
}

void im_nn_maxpool_backward_naive(float *din, const float *dout,
				  const float *in, const float *out, int N, const im_nn_pool2d *s)
{
	(void)out;
	size_t isz = (size_t)s->H * s->W * s->C;
	for (int n = 0; n < N; n++)
		for (int oh = 0; oh < s->OH; oh++)
			for (int ow = 0; ow < s->OW; ow++)
				for (int c = 0; c < s->C; c++)
					din[n * isz + argmax_naive(in + n * isz, s,
								   oh, ow, c)] += dout[(((size_t)n *
												 s->OH +
											 oh) * s->OW +
											ow) * s->C +
										       c];
}

void im_nn_residual_forward_naive(float *y, const float *x, const float *fx,
				  size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = (float)((double)x[i] + (double)fx[i]);
}

void im_nn_residual_backward_naive(float *dx, float *dfx, const float *dy,
				   size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (dfx)
			dfx[i] += dy[i];
		dx[i] += dy[i];
	}
}
