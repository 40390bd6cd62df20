// SPDX-License-Identifier: Apache-2.0
/* Image kernels of the convolutional encoders: Conv2d, max-pool and the
 * residual add, in the conventions of kernels.h (outputs first, backward
 * ACCUMULATES into every gradient it is given, nothing allocates, logs or
 * fails, each fast kernel has a _naive twin that the tests hold it against).
 *
 * Layout: an image batch is (N, H, W, C), row-major, channels fastest
 * (common/space.h: HWC at every stage).  Weights keep PyTorch's shapes:
 * a Conv2d weight is (O, C, KH, KW) and its bias (O), so a checkpoint loads
 * into torch.nn.Conv2d unchanged.
 *
 * The fast convolution lowers each chunk of images to a patch matrix
 * (im2col; a patch is KH rows of KW * C contiguous input values, so the
 * gather is KH copies per output pixel) and multiplies it by the weight,
 * permuted once per call to (O, KH, KW, C), with one OpenBLAS sgemm; the
 * output comes out in (N, OH, OW, O) directly.  The backward recomputes the
 * patches of each chunk (cheaper than keeping them: a patch matrix is up to
 * KH * KW times the input), multiplies for the weight gradient, and
 * scatters the patch gradient back (col2im) for the input gradient.  Why
 * im2col and how the chunk was chosen: tests/bench/README.md. */
#ifndef IM_NN_CONV_H
#define IM_NN_CONV_H

#include <stddef.h>
#include <stdint.h>

/* A Conv2d on (H, W, C) images: O output channels, KH x KW kernel, the same
 * stride and zero padding on both axes (PyTorch's Conv2d with
 * padding_mode "zeros", dilation 1, groups 1). */
typedef struct im_nn_conv2d {
	int H, W, C;
	int O, KH, KW;
	int stride, pad;
	int OH, OW; /* (H + 2 pad - KH) / stride + 1, likewise OW */
} im_nn_conv2d;

/* Fills s and its output size; IM_EINVAL when a size is below 1, the padding
 * is negative or as large as the kernel, or the kernel does not fit. */
int im_nn_conv2d_init(im_nn_conv2d *s, int H, int W, int C, int O, int KH,
		      int KW, int stride, int pad);

/* The input of a convolution: float images, or uint8 images whose byte v is
 * the value v * scale (the first layer reads the environment's frames
 * directly and converts inside its own gather; no float copy of a frame
 * exists).  relu: the layer reads max(0, x) instead of x (the pre-activation
 * ReLU of a residual block, applied while gathering). */
typedef struct im_nn_conv_src {
	const float *f;    /* (N, H, W, C), or NULL when u8 is set */
	const uint8_t *u8; /* (N, H, W, C) */
	float scale;       /* u8 only */
	int relu;          /* f only */
} im_nn_conv_src;

/* Floats of scratch the fast forward (backward = 0) or backward (1) needs
 * for chunks of up to chunk images. */
size_t im_nn_conv2d_scratch_floats(const im_nn_conv2d *s, int chunk,
				   int backward);

/* out (N, OH, OW, O) = conv(src) + b, then ReLU when relu.  w: (O, C, KH,
 * KW); b: (O) or NULL.  scratch: im_nn_conv2d_scratch_floats(s, chunk, 0)
 * floats, clobbered; chunk >= 1 images are lowered at a time. */
void im_nn_conv2d_forward(float *out, float *scratch,
			  const im_nn_conv_src *src, const float *w, const float *b, int N,
			  const im_nn_conv2d *s, int chunk, int relu);
void im_nn_conv2d_forward_naive(float *out, float *scratch,
				const im_nn_conv_src *src, const float *w, const float *b, int N,
				const im_nn_conv2d *s, int chunk, int relu);

/* From dout (N, OH, OW, O), the gradient of the convolution's output (before
 * any ReLU of the forward: the caller masks it): din (N, H, W, C) += the
 * input gradient (NULL: none wanted; it is the gradient with respect to
 * what the layer read, so with src->relu the caller applies the mask),
 * dw (O, C, KH, KW) += the weight gradient, db (O) += the bias gradient
 * (NULL: none).  src: the forward's input.  scratch:
 * im_nn_conv2d_scratch_floats(s, chunk, 1) floats, clobbered. */
void im_nn_conv2d_backward(float *din, float *dw, float *db, float *scratch,
			   const float *dout, const im_nn_conv_src *src, const float *w, int N,
			   const im_nn_conv2d *s, int chunk);
void im_nn_conv2d_backward_naive(float *din, float *dw, float *db,
				 float *scratch, const float *dout, const im_nn_conv_src *src,
				 const float *w, int N, const im_nn_conv2d *s, int chunk);

/* The same, except that din (not NULL) is ASSIGNED, its prior content
 * (even NaN) never read: for the first writer of a gradient buffer, which
 * then needs no zeroing.  With stride 1 and a square kernel (KH == KW) the
 * fast one computes din as the convolution of dout by the flipped kernel
 * (one lowering of dout and one sgemm, no scatter), otherwise it zeroes din
 * and scatters. */
void im_nn_conv2d_backward_assign(float *din, float *dw, float *db,
				  float *scratch, const float *dout, const im_nn_conv_src *src,
				  const float *w, int N, const im_nn_conv2d *s, int chunk);
void im_nn_conv2d_backward_assign_naive(float *din, float *dw, float *db,
					float *scratch, const float *dout, const im_nn_conv_src *src,
					const float *w, int N, const im_nn_conv2d *s, int chunk);

/* The direct kernels (conv_direct.c): for stride 1, each non-zero input
 * value is scattered through the kernel taps it meets, so the work is
 * proportional to the non-zero inputs (MinAtar's 0/1 grids: 2 to 10 in
 * 100).  The two functions above take them by themselves when
 * im_nn_conv2d_direct_pays(); they are public for the tests and the
 * benchmarks.  The same conventions (dw, db accumulate; din is assigned
 * with din_beta 0, its prior content never read, or accumulated with 1).
 * scratch: im_nn_conv2d_scratch_floats(s, 1, 1) floats at least. */
void im_nn_conv2d_forward_direct(float *out, float *scratch,
				 const im_nn_conv_src *src, const float *w, const float *b, int N,
				 const im_nn_conv2d *s, int relu);
void im_nn_conv2d_backward_direct(float *din, float din_beta, float *dw,
				  float *db, float *scratch, const float *dout,
				  const im_nn_conv_src *src, const float *w, int N,
				  const im_nn_conv2d *s);

/* The direct kernels are taken when at most one value in this many of
 * what the layer reads is non-zero (measured: tests/bench/README.md,
 * "MinAtar training speed"). */
#define IM_NN_CONV_DIRECT_DENSITY 8

/* Whether the fast kernels take the direct path for these N images:
 * stride 1 and sparse enough (one pass counting the non-zero values). */
int im_nn_conv2d_direct_pays(const im_nn_conv2d *s,
			     const im_nn_conv_src *src, int N);

/* -1 (the default): im_nn_conv2d_direct_pays decides by density; 0: never
 * direct; 1: always for stride 1 (tests and benchmarks). */
void im_nn_set_conv_direct(int mode);

/* Max-pool over K x K windows with a stride and implicit -infinity padding
 * (PyTorch's MaxPool2d, ceil_mode False), on (H, W, C) images. */
typedef struct im_nn_pool2d {
	int H, W, C;
	int K, stride, pad;
	int OH, OW;
} im_nn_pool2d;

/* IM_EINVAL unless 1 <= K, stride >= 1, 0 <= pad <= K / 2 and the window
 * fits. */
int im_nn_pool2d_init(im_nn_pool2d *s, int H, int W, int C, int K,
		      int stride, int pad);

/* out (N, OH, OW, C) = the maximum of each window of in (N, H, W, C). */
void im_nn_maxpool_forward(float *out, const float *in, int N,
			   const im_nn_pool2d *s);
void im_nn_maxpool_forward_naive(float *out, const float *in, int N,
				 const im_nn_pool2d *s);

/* din (N, H, W, C) += dout routed to the first maximum of each window in
 * scan order (row by row), as PyTorch's CPU kernel picks it.  in and out
 * are the forward's input and output. */
void im_nn_maxpool_backward(float *din, const float *dout, const float *in,
			    const float *out, int N, const im_nn_pool2d *s);
void im_nn_maxpool_backward_naive(float *din, const float *dout,
				  const float *in, const float *out, int N, const im_nn_pool2d *s);

/* Residual add: y = x + fx over n values (y may equal x or fx).  Its
 * backward is the identity into both branches: dx += dy, dfx += dy (dfx
 * NULL when the branch's gradient is dy itself, as the encoder arranges). */
void im_nn_residual_forward(float *y, const float *x, const float *fx,
			    size_t n);
void im_nn_residual_forward_naive(float *y, const float *x, const float *fx,
				  size_t n);
void im_nn_residual_backward(float *dx, float *dfx, const float *dy,
			     size_t n);
void im_nn_residual_backward_naive(float *dx, float *dfx, const float *dy,
				   size_t n);

#endif
