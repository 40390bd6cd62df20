// SPDX-License-Identifier: Apache-2.0
/* The direct Conv2d for stride-1 layers over sparse inputs (conv.h): each
 * non-zero input value is scattered into the outputs it reaches, so the
 * work is proportional to the non-zero inputs, not to the patches.
 *
 * Why: MinAtar's observations are 0/1 grids where 2 to 10 values in 100
 * are 1 (a few objects on a 10 x 10 board).  The im2col path lowers every
 * patch (converting each byte to a float) and multiplies the zeros too;
 * in a MinAtar training run the lowering alone was 19% of the learner's
 * CPU time (tests/bench/README.md, "MinAtar training speed").  Dense
 * inputs (camera frames, the activations after a ReLU, about half
 * non-zero) stay on im2col + sgemm, which is faster per multiply-add by
 * an order of magnitude; im_nn_conv2d_direct_pays() decides per call from
 * the fraction of non-zero values it will read. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <stdatomic.h>
#include <string.h>

#include "nn/conv.h"

/* -1: decide from the input's density; 0 never; 1 always (stride 1). */
static atomic_int direct_mode = -1;

void im_nn_set_conv_direct(int mode)
{
	atomic_store(&direct_mode, mode < 0 ? -1 : mode > 0);
}

/* Word-at-a-time zero tests over bytes.  Why: at MinAtar's density (2 to
 * 10 values in 100 are 1) a byte loop spent most of the direct kernels'
 * time reading zeros (tests/bench/README.md, "The learner's update at T =
 * 5, B = 4"); 8 bytes are tested at once, and the order in which the
 * non-zero values are visited does not change. */
static uint64_t load_word(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, sizeof w);
	return w;
}

/* The non-zero bytes among 8: bit 7 of each byte of the result. */
static uint64_t nonzero_bytes(uint64_t w)
{
	const uint64_t lo7 = 0x7f7f7f7f7f7f7f7fULL;
	return (((w & lo7) + lo7) | w) & ~lo7;
}

static size_t count_nonzero_u8(const uint8_t *p, size_t n)
{
	size_t nz = 0, i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w = load_word(p + i);
		/* 0/1 per byte, summed into the top byte by the multiply */
		if (w)
			nz += (size_t)(((nonzero_bytes(w) >> 7) *
					0x0101010101010101ULL) >>
				       56);
	}
	for (; i < n; i++)
		nz += p[i] != 0;
	return nz;
}

/* Non-zero values the layer reads among the n from offset 0. */
static size_t count_nonzero(const im_nn_conv_src *src, size_t n)
{
	size_t nz = 0;
	if (src->u8)
		return count_nonzero_u8(src->u8, n);
	if (src->relu) {
		for (size_t i = 0; i < n; i++)
			nz += src->f[i] > 0.0f;
	} else {
		for (size_t i = 0; i < n; i++)
			nz += src->f[i] != 0.0f;
	}
	return nz;
}

int im_nn_conv2d_direct_pays(const im_nn_conv2d *s,
			     const im_nn_conv_src *src, int N)
{
	int mode = atomic_load(&direct_mode);
	if (s->stride != 1 || mode == 0 || N < 1)
		return 0;
	if (mode == 1)
		return 1;
	size_t n = (size_t)N * s->H * s->W * s->C;
	return count_nonzero(src, n) * IM_NN_CONV_DIRECT_DENSITY <= n;
}

/* The value the layer reads at element offset at (0 for a zero). */
static inline float read_at(const im_nn_conv_src *src, size_t at)
{
	if (src->u8)
		return (float)src->u8[at] * src->scale;
	float v = src->f[at];
	return src->relu && v < 0.0f ? 0.0f : v;
}

/* The offset, from i on, of the next value of an image (n values from
 * base) that the layer reads as non-zero; n when there is none. */
static size_t next_nonzero(const im_nn_conv_src *src, size_t base, size_t i,
			   size_t n)
{
	if (src->u8) {
		const uint8_t *p = src->u8 + base;
		while (i + 8 <= n && !load_word(p + i))
			i += 8;
		while (i < n && !p[i])
			i++;
		return i;
	}
	while (i < n && read_at(src, base + i) == 0.0f)
		i++;
	return i;
}

/* For each value the layer reads as non-zero in image n, in the order of
 * its offsets: v, and its row ih, column iw and channel c. */
#define FOR_EACH_NONZERO(s, src, n, BODY) \
	do { \
		size_t len_ = (size_t)(s)->H * (s)->W * (s)->C; \
		size_t img_ = (n)*len_; \
		for (size_t k_ = next_nonzero(src, img_, 0, len_); k_ < len_; \
		     k_ = next_nonzero(src, img_, k_ + 1, len_)) { \
			float v = read_at(src, img_ + k_); \
			int c = (int)(k_ % (size_t)(s)->C); \
			int iw = (int)(k_ / (size_t)(s)->C % (size_t)(s)->W); \
			int ih = (int)(k_ / ((size_t)(s)->C * (s)->W)); \
			BODY; \
		} \
	} while (0)

/* wt (KH, KW, C, O) = w (O, C, KH, KW): the O weights that one input
 * value meets through one kernel tap are contiguous. */
static void taps_of_weight(float *restrict wt, const float *restrict w,
			   const im_nn_conv2d *s)
{
	int KK = s->KH * s->KW;
	for (int o = 0; o < s->O; o++)
		for (int c = 0; c < s->C; c++)
			for (int k = 0; k < KK; k++)
				wt[((size_t)k * s->C + c) * s->O + o] =
					w[((size_t)o * s->C + c) * KK + k];
}

/* y (n) += a * x (n). */
static inline void axpy(float *restrict y, float a, const float *restrict x,
			int n)
{
	for (int j = 0; j < n; j++)
		y[j] += a * x[j];
}

static inline float dot(const float *restrict x, const float *restrict y,
			int n)
{
	float acc = 0.0f;
	for (int j = 0; j < n; j++)
		acc += x[j] * y[j];
	return acc;
}

/* The kernel taps [*lo, *hi) through which input row (or column) i reaches
 * an output: o = i + pad - k within [0, n_out). */
static inline void tap_range(int i, int pad, int K, int n_out, int *lo,
			     int *hi)
{
	int a = i + pad - n_out + 1, b = i + pad + 1;
	*lo = a > 0 ? a : 0;
	*hi = b < K ? b : K;
}

/* What one non-zero input value v at (ih, iw, c) of an image does, for
 * each output pixel it reaches through tap (kh, kw): fn(pixel, tap). */
#define FOR_EACH_TAP(s, ih, iw, BODY) \
	do { \
		int kh0_, kh1_, kw0_, kw1_; \
		tap_range(ih, (s)->pad, (s)->KH, (s)->OH, &kh0_, &kh1_); \
		tap_range(iw, (s)->pad, (s)->KW, (s)->OW, &kw0_, &kw1_); \
		for (int kh = kh0_; kh < kh1_; kh++) \
			for (int kw = kw0_; kw < kw1_; kw++) { \
				size_t pix = (size_t)(ih + (s)->pad - kh) * \
						     (s)->OW + \
					     (size_t)(iw + (s)->pad - kw); \
				size_t tap = (size_t)kh * (s)->KW + kw; \
				BODY; \
			} \
	} while (0)

/* out (OH, OW, O) of image n: bias, then every non-zero input scattered
 * through the taps it meets. */
static void forward_image(float *restrict out, const float *restrict wt,
			  const float *b, const im_nn_conv_src *src, size_t n,
			  const im_nn_conv2d *s)
{
	int O = s->O, C = s->C;
	size_t npix = (size_t)s->OH * s->OW;
	for (size_t p = 0; p < npix; p++) {
		if (b)
			memcpy(out + p * O, b, (size_t)O * sizeof(float));
		else
			memset(out + p * O, 0, (size_t)O * sizeof(float));
	}
	FOR_EACH_NONZERO(s, src, n,
			 FOR_EACH_TAP(s, ih, iw,
				      axpy(out + pix * O, v,
					   wt + (tap * C + c) * O, O)));
}

void im_nn_conv2d_forward_direct(float *out, float *scratch,
				 const im_nn_conv_src *src, const float *w, const float *b, int N,
				 const im_nn_conv2d *s, int relu)
{
	taps_of_weight(scratch, w, s);
	size_t per = (size_t)s->OH * s->OW * s->O;
	for (int n = 0; n < N; n++)
		forward_image(out + (size_t)n * per, scratch, b, src, (size_t)n,
			      s);
	for (size_t i = 0; relu && i < (size_t)N * per; i++)
		out[i] = out[i] > 0.0f ? out[i] : 0.0f;
}

/* dwt (KH, KW, C, O) += the weight gradient of image n: each non-zero
 * input times the output gradients of the pixels it reached. */
static void weight_grad_image(float *restrict dwt, const float *restrict d,
			      const im_nn_conv_src *src, size_t n, const im_nn_conv2d *s)
{
	int O = s->O, C = s->C;
	FOR_EACH_NONZERO(s, src, n,
			 FOR_EACH_TAP(s, ih, iw,
				      axpy(dwt + (tap * C + c) * O, v,
					   d + pix * O, O)));
}

/* din (H, W, C) of image n = beta * din + the gradient gathered from the
 * output pixels each input reached. */
static void input_grad_image(float *restrict din, float beta,
			     const float *restrict wt, const float *restrict d,
			     const im_nn_conv2d *s)
{
	int O = s->O, C = s->C;
	for (int ih = 0; ih < s->H; ih++)
		for (int iw = 0; iw < s->W; iw++) {
			float *g = din + ((size_t)ih * s->W + iw) * C;
			for (int c = 0; c < C; c++)
				g[c] = beta == 0.0f ? 0.0f : g[c];
			FOR_EACH_TAP(s, ih, iw,
				     for (int c = 0; c < C; c++)
					     g[c] += dot(d + pix * O,
							 wt + (tap * C + c) * O, O));
		}
}

/* dw (O, C, KH, KW) += dwt (KH, KW, C, O). */
static void add_taps_grad(float *restrict dw, const float *restrict dwt,
			  const im_nn_conv2d *s)
{
	int KK = s->KH * s->KW;
	for (int o = 0; o < s->O; o++)
		for (int c = 0; c < s->C; c++)
			for (int k = 0; k < KK; k++)
				dw[((size_t)o * s->C + c) * KK + k] +=
					dwt[((size_t)k * s->C + c) * s->O + o];
}

void im_nn_conv2d_backward_direct(float *din, float din_beta, float *dw,
				  float *db, float *scratch, const float *dout,
				  const im_nn_conv_src *src, const float *w, int N,
				  const im_nn_conv2d *s)
{
	size_t wk = (size_t)s->O * s->C * s->KH * s->KW;
	size_t pix = (size_t)s->OH * s->OW, per = pix * s->O;
	size_t in_per = (size_t)s->H * s->W * s->C;
	float *wt = scratch, *dwt = scratch + wk;
	if (din)
		taps_of_weight(wt, w, s);
	memset(dwt, 0, wk * sizeof(float));
	for (int n = 0; n < N; n++) {
		const float *d = dout + (size_t)n * per;
		weight_grad_image(dwt, d, src, (size_t)n, s);
		if (din)
			input_grad_image(din + (size_t)n * in_per, din_beta, wt,
					 d, s);
	}
	add_taps_grad(dw, dwt, s);
	for (size_t r = 0; db && r < (size_t)N * pix; r++)
		axpy(db, 1.0f, dout + r * s->O, s->O);
}
