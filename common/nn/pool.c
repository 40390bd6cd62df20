// SPDX-License-Identifier: Apache-2.0
/* Max-pool and the residual add on (N, H, W, C) images (conv.h): the loops
 * run over the channels innermost, where the data is contiguous, so that
 * the compiler vectorises them. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <math.h>
#include <string.h>

#include "err.h"
#include "nn/conv.h"

int im_nn_pool2d_init(im_nn_pool2d *s, int H, int W, int C, int K,
		      int stride, int pad)
{
	if (H < 1 || W < 1 || C < 1 || K < 1 || stride < 1 || pad < 0 ||
	    pad > K / 2 || H + 2 * pad < K || W + 2 * pad < K)
		return IM_EINVAL;
	*s = (im_nn_pool2d){.H = H, .W = W, .C = C, .K = K, .stride = stride, .pad = pad, .OH = (H + 2 * pad - K) / stride + 1, .OW = (W + 2 * pad - K) / stride + 1};
	return IM_OK;
}

/* The window of output (oh, ow) clipped to the image: rows [*h0, *h1),
 * columns [*w0, *w1).  Never empty, since pad <= K / 2. */
static void window(const im_nn_pool2d *s, int oh, int ow, int *h0, int *h1,
		   int *w0, int *w1)
{
	int ih = oh * s->stride - s->pad, iw = ow * s->stride - s->pad;
	*h0 = ih < 0 ? 0 : ih;
	*h1 = ih + s->K < s->H ? ih + s->K : s->H;
	*w0 = iw < 0 ? 0 : iw;
	*w1 = iw + s->K < s->W ? iw + s->K : s->W;
}

static void max_into(float *restrict o, const float *restrict x, int C)
{
	for (int c = 0; c < C; c++)
		o[c] = x[c] > o[c] ? x[c] : o[c];
}

void im_nn_maxpool_forward(float *out, const float *in, int N,
			   const im_nn_pool2d *s)
{
	size_t C = (size_t)s->C;
	for (size_t n = 0; n < (size_t)N; n++) {
		const float *img = in + n * s->H * s->W * C;
		for (int oh = 0; oh < s->OH; oh++) {
			for (int ow = 0; ow < s->OW; ow++) {
				float *o = out + ((n * s->OH + oh) * s->OW + ow) * C;
				int h0, h1, w0, w1;
				window(s, oh, ow, &h0, &h1, &w0, &w1);
				memcpy(o, img + ((size_t)h0 * s->W + w0) * C,
				       C * sizeof(float));
				for (int h = h0; h < h1; h++)
					for (int w = w0; w < w1; w++)
						max_into(o, img + ((size_t)h * s->W + w) * C,
							 s->C);
			}
		}
	}
}

/* Channels are taken in blocks of this many: the window's first maximum
 * of each is found with a running best and its position (vectorised over
 * the channels), then the block's gradients are added there. */
enum { CBLOCK = 64 };

/* One output pixel's gradient d into din at the first maximum of each
 * channel's window, channels [c0, c0 + nc). */
static void route_block(float *restrict din, const float *restrict d,
			const float *restrict img, const im_nn_pool2d *s, int h0, int h1,
			int w0, int w1, int c0, int nc)
{
	/* Positions are counted within the window (k = row * width + column,
	 * below K * K) and held as floats, so that the selects are all of one
	 * type and vectorise even with SSE2 alone; they are exact whatever
	 * the image's size (an offset into the image would not be once the
	 * image has more than 2^24 values). */
	float best[CBLOCK], at[CBLOCK];
	size_t C = (size_t)s->C;
	int ww = w1 - w0;
	for (int c = 0; c < nc; c++) {
		best[c] = -INFINITY;
		at[c] = 0.0f;
	}
	for (int h = h0; h < h1; h++) {
		for (int w = w0; w < w1; w++) {
			const float *x = img + ((size_t)h * s->W + w) * C + c0;
			float fk = (float)((h - h0) * ww + (w - w0));
			for (int c = 0; c < nc; c++) {
				float v = x[c], b = best[c];
				/* 0 or 1; the position update is exact in
				 * float, and the max a MAX_EXPR. */
				float more = (float)(v > b);
				best[c] = v > b ? v : b;
				at[c] += more * (fk - at[c]);
			}
		}
	}
	for (int c = 0; c < nc; c++) {
		int k = (int)at[c];
		size_t h = (size_t)(h0 + k / ww), w = (size_t)(w0 + k % ww);
		din[(h * s->W + w) * C + (size_t)(c0 + c)] += d[c0 + c];
	}
}

void im_nn_maxpool_backward(float *din, const float *dout, const float *in,
			    const float *out, int N, const im_nn_pool2d *s)
{
	(void)out;
	size_t C = (size_t)s->C, img_sz = (size_t)s->H * s->W * C;
	for (size_t n = 0; n < (size_t)N; n++) {
		for (int oh = 0; oh < s->OH; oh++) {
			for (int ow = 0; ow < s->OW; ow++) {
				size_t at = ((n * s->OH + oh) * s->OW + ow) * C;
				int h0, h1, w0, w1;
				window(s, oh, ow, &h0, &h1, &w0, &w1);
				for (int c0 = 0; c0 < s->C; c0 += CBLOCK) {
					int nc = s->C - c0 < CBLOCK ? s->C - c0 : CBLOCK;
					route_block(din + n * img_sz, dout + at,
						    in + n * img_sz, s, h0, h1, w0, w1,
						    c0, nc);
				}
			}
		}
	}
}

void im_nn_residual_forward(float *y, const float *x, const float *fx,
			    size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] + fx[i];
}

void im_nn_residual_backward(float *dx, float *dfx, const float *dy,
			     size_t n)
{
	for (size_t i = 0; i < n; i++)
		dx[i] += dy[i];
	for (size_t i = 0; dfx && i < n; i++)
		dfx[i] += dy[i];
}
