// SPDX-License-Identifier: Apache-2.0
/* Fast linear and activation kernels: OpenBLAS sgemm and the bias and
 * activation fused into one pass over the output.  Weights stay (OC, C)
 * in the model.  Mostly the transposes are folded into the sgemm call; on
 * a core with OpenBLAS's small-matrix kernels the forward first copies w
 * transposed into the caller's scratch wt (one pass over the weights) and
 * multiplies untransposed, in blocks of rows (im_nn_linear_act_forward). */
/* The fused loops use fastmath.h's clamps and selects; GCC if-converts
 * (and so vectorises) float selects only when comparisons may not trap.
 * We never enable floating-point traps, so the flag changes no result. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <stdatomic.h>
#include <string.h>

#include <cblas.h>

#include "blas.h"
#include "err.h"
#include "names.h"
#include "nn/fastmath.h"
#include "nn/internal.h"
#include "nn/kernels.h"

static const char *const activation_names[] = {
	[IM_NN_ACT_RELU] = "relu",
	[IM_NN_ACT_TANH] = "tanh",
};
enum { NACTIVATIONS = sizeof activation_names / sizeof activation_names[0] };

const char *im_nn_activation_name(im_nn_activation a)
{
	return (unsigned)a < NACTIVATIONS ? activation_names[a] : NULL;
}

int im_nn_activation_parse(const char *s, im_nn_activation *out, char *err,
			   size_t errlen)
{
	int i;
	int rc = im_names_find(activation_names, NACTIVATIONS, s, &i, err,
			       errlen);
	if (rc == IM_OK)
		*out = (im_nn_activation)i;
	return rc;
}

/* -1: decide from the running OpenBLAS core; 0 or 1: forced (tests). */
static atomic_int row_blocks_mode = -1;

void im_nn_set_row_blocks(int mode)
{
	atomic_store(&row_blocks_mode, mode < 0 ? -1 : mode > 0);
}

/* Blocks pay only where OpenBLAS has its small-matrix sgemm kernels. */
static int blocks_pay(void)
{
	int mode = atomic_load(&row_blocks_mode);
	return mode >= 0 ? mode : im_blas_small_kernels();
}

/* Rows per sgemm call for a product of N rows by an (a, b) matrix.  On a
 * core with small-matrix kernels, a narrow layer goes through in blocks of
 * rows under their 10^6 limit (a multiple of 16, at least 64): at the
 * learner's 2592 x 64 x 64 on SkylakeX, OpenBLAS's packing of both operands
 * cost more than the arithmetic, and the blocks made the 2x64 update 1.25
 * times faster.  A wide layer, whose block would be smaller, and every
 * other core (where the blocks measured 1-3% slower) take one call. */
static int row_block(int N, int a, int b)
{
	if (!blocks_pay())
		return N;
	double r = 1e6 / ((double)a * b);
	int R = r >= N ? N : ((int)r / 16) * 16;
	return R < 64 ? N : R;
}

/* Output columns per sgemm call for a product of N rows by an (OC, C)
 * weight read transposed: when too few rows for row blocks (the actor's
 * k x 1024 x 128 minatar Linear at k = 8 is 1.05 x 10^6 multiply-adds),
 * blocks of columns under the small-matrix limit (a multiple of 16).
 * Measured on SkylakeX at 8 x 1024 x 128 (thread CPU time): one call
 * 7.3 us a row, two blocks of 64 columns 2.7 us a row (tests/bench/
 * README.md, "MinAtar training speed"). */
static int col_block(int N, int C, int OC)
{
	if (!blocks_pay() || N >= 64 || (double)N * C * OC <= 1e6)
		return OC;
	int b = ((int)(1e6 / ((double)N * C)) / 16) * 16;
	return b < 16 ? OC : b;
}

void im_nn_linear_forward(float *out, const float *in, const float *w,
			  const float *b, int N, int C, int OC)
{
	if (N <= 0 || OC <= 0)
		return;
	/* out (N, OC) = in (N, C) @ w^T: w is (OC, C) row-major, so op = T. */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f,
		    in, C, w, C, 0.0f, out, OC);
	if (!b)
		return;
	for (int n = 0; n < N; n++) {
		float *o = out + (size_t)n * OC;
		for (int j = 0; j < OC; j++)
			o[j] += b[j];
	}
}

/* o = act(o + b) elementwise in one loop: one load and store of o per
 * element (a bias loop then an activation loop made two).  restrict: the
 * bias never overlaps the row, so GCC vectorises without checks. */
static void bias_act_row(float *restrict o, const float *restrict b, int OC,
			 im_nn_activation act)
{
	if (act == IM_NN_ACT_RELU) {
		for (int j = 0; j < OC; j++) {
			float v = o[j] + b[j];
			o[j] = v > 0.0f ? v : 0.0f;
		}
	} else {
		for (int j = 0; j < OC; j++)
			o[j] = im_nni_tanhf(o[j] + b[j]);
	}
}

/* Bias and activation over rows [r0, r1) of out. */
static void bias_act_rows(float *out, const float *b, int r0, int r1, int OC,
			  im_nn_activation act)
{
	if (!b) {
		im_nn_act_forward(out + (size_t)r0 * OC, out + (size_t)r0 * OC,
				  (size_t)(r1 - r0) * OC, act);
		return;
	}
	for (int n = r0; n < r1; n++)
		bias_act_row(out + (size_t)n * OC, b, OC, act);
}

void im_nni_transpose(float *restrict wt, const float *restrict w, int O,
		      int C)
{
	for (int o = 0; o < O; o++)
		for (int c = 0; c < C; c++)
			wt[(size_t)c * O + o] = w[(size_t)o * C + c];
}

void im_nn_linear_act_forward(float *out, float *wt, const float *in,
			      const float *w, const float *b, int N, int C, int OC,
			      im_nn_activation act)
{
	if (N <= 0 || OC <= 0)
		return;
	/* Products that OpenBLAS gives its small-matrix kernels (the actor's
	 * k x 64 x 64, each block of rows) run untransposed, below. */
	int R = row_block(N, C, OC);
	int small = blocks_pay() && (double)N * C * OC <= 1e6;
	if (!wt || (R >= N && !small)) {
		int cb = col_block(N, C, OC);
		for (int o0 = 0; o0 < OC; o0 += cb)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N,
				    OC - o0 < cb ? OC - o0 : cb, C, 1.0f, in, C,
				    w + (size_t)o0 * C, C, 0.0f, out + o0, OC);
		bias_act_rows(out, b, 0, N, OC, act);
		return;
	}
	/* Measured on SkylakeX: the small-matrix kernel multiplies by w
	 * untransposed (NN) at about 1.5 times its rate with w read
	 * transposed (NT) at 240 x 64 x 64, and the actor's acting step
	 * (32 x 64 x 64) ran 1.1 times faster; the transpose is one pass
	 * over the weights. */
	im_nni_transpose(wt, w, OC, C);
	for (int r0 = 0; r0 < N; r0 += R) {
		int m = N - r0 < R ? N - r0 : R;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, OC, C,
			    1.0f, in + (size_t)r0 * C, C, wt, OC, 0.0f,
			    out + (size_t)r0 * OC, OC);
		bias_act_rows(out, b, r0, r0 + m, OC, act);
	}
}

/* Output columns per call of a backward product whose M x K operand
 * meets all of its N columns (M x N x K multiply-adds): on a core with
 * small-matrix kernels, a product over their 10^6 limit with few rows is
 * split into blocks of columns under it (a multiple of 16), which those
 * kernels take without packing.  Why: at the MinAtar presets' 20 rows, the
 * Linear layer's input gradient (20 x 1024 x 128) packed the whole 512 KB
 * weight on every update for 20 rows, and the weight gradient (128 x 1024
 * x 20) packed both operands (tests/bench/README.md, "The learner's update
 * at T = 5, B = 4").  Each element is still one sum over K. */
static int backward_col_block(int rows, int M, int N, int K)
{
	if (!blocks_pay() || rows >= 64 || (double)M * N * K <= 1e6)
		return N;
	int b = ((int)(1e6 / ((double)M * K)) / 16) * 16;
	return b < 16 ? N : b;
}

/* din (m, C) = beta * din + dout (m, OC) @ w (OC, C), in blocks of
 * columns when they pay. */
static void input_grad(float *din, float beta, const float *dout,
		       const float *w, int m, int C, int OC)
{
	int cb = backward_col_block(m, m, C, OC);
	for (int c0 = 0; c0 < C; c0 += cb)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m,
			    C - c0 < cb ? C - c0 : cb, OC, 1.0f, dout, OC,
			    w + c0, C, beta, din + c0, C);
}

/* dw (OC, C) += dout^T (OC, m) @ in (m, C), dout read transposed in
 * place, in blocks of columns when they pay. */
static void weight_grad(float *dw, const float *dout, const float *in, int m,
			int C, int OC)
{
	int cb = backward_col_block(m, OC, C, m);
	for (int c0 = 0; c0 < C; c0 += cb)
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC,
			    C - c0 < cb ? C - c0 : cb, m, 1.0f, dout, OC,
			    in + c0, C, 1.0f, dw + c0, C);
}

/* din = din_beta * din + dout @ w; dw += dout^T @ in; db += colsum(dout). */
static void linear_backward(float *din, float din_beta, float *dw, float *db,
			    const float *dout, const float *in, const float *w, int N, int C,
			    int OC)
{
	if (N <= 0 || OC <= 0)
		return;
	/* din (R, C) = beta * din + dout (R, OC) @ w (OC, C) block by block:
	 * rows are independent, so blocking changes no result. */
	int R = row_block(N, C, OC);
	for (int r0 = 0; din && r0 < N; r0 += R) {
		int m = N - r0 < R ? N - r0 : R;
		input_grad(din + (size_t)r0 * C, din_beta,
			   dout + (size_t)r0 * OC, w, m, C, OC);
	}
	/* dw (OC, C) += dout^T @ in, summed over the same blocks of rows (the
	 * order of the sum is fixed by the shapes: the same on every run). */
	for (int r0 = 0; r0 < N; r0 += R) {
		int m = N - r0 < R ? N - r0 : R;
		weight_grad(dw, dout + (size_t)r0 * OC, in + (size_t)r0 * C, m,
			    C, OC);
	}
	if (!db)
		return;
	for (int n = 0; n < N; n++) {
		const float *d = dout + (size_t)n * OC;
		for (int j = 0; j < OC; j++)
			db[j] += d[j];
	}
}

void im_nn_linear_backward(float *din, float *dw, float *db,
			   const float *dout, const float *in, const float *w, int N, int C,
			   int OC)
{
	linear_backward(din, 1.0f, dw, db, dout, in, w, N, C, OC);
}

/* Beta 0 spares the caller a memset.  OpenBLAS's small-matrix kernels
 * (the narrow heads) then write C without reading it; its blocked path
 * zeroes C itself first, so there the memset only moves inside. */
void im_nn_linear_backward_assign(float *din, float *dw, float *db,
				  const float *dout, const float *in, const float *w, int N, int C,
				  int OC)
{
	linear_backward(din, 0.0f, dw, db, dout, in, w, N, C, OC);
}

void im_nn_act_forward(float *out, const float *in, size_t n,
		       im_nn_activation act)
{
	if (act == IM_NN_ACT_RELU) {
		for (size_t i = 0; i < n; i++)
			out[i] = in[i] > 0.0f ? in[i] : 0.0f;
	} else {
		for (size_t i = 0; i < n; i++)
			out[i] = im_nni_tanhf(in[i]);
	}
}

void im_nn_act_backward(float *din, const float *dout, const float *out,
			size_t n, im_nn_activation act)
{
	/* Branch-free forms so that the compiler vectorises both loops.  The
	 * ReLU loop loads dout[i] unconditionally: written as
	 * `out[i] > 0 ? dout[i] : 0` the load is conditional, GCC cannot
	 * if-convert it and emits a scalar loop whose branch mispredicts on
	 * about half the elements (11% of the 2x64 learner update). */
	if (act == IM_NN_ACT_RELU) {
		for (size_t i = 0; i < n; i++) {
			float g = dout[i];
			din[i] = out[i] > 0.0f ? g : 0.0f;
		}
	} else {
		for (size_t i = 0; i < n; i++)
			din[i] = dout[i] * (1.0f - out[i] * out[i]);
	}
}

/* One row of im_nn_act_bias_backward; restrict: db never overlaps the
 * row, which lets GCC vectorise without run-time overlap checks. */
static void act_bias_row(float *din, float *restrict db, const float *dout,
			 const float *out, int OC, im_nn_activation act)
{
	if (act == IM_NN_ACT_RELU) {
		for (int j = 0; j < OC; j++) {
			float g = dout[j];
			g = out[j] > 0.0f ? g : 0.0f;
			din[j] = g;
			db[j] += g;
		}
	} else {
		for (int j = 0; j < OC; j++) {
			float g = dout[j] * (1.0f - out[j] * out[j]);
			din[j] = g;
			db[j] += g;
		}
	}
}

void im_nn_act_bias_backward(float *din, float *db, const float *dout,
			     const float *out, int N, int OC, im_nn_activation act)
{
	for (int n = 0; n < N; n++) {
		size_t r = (size_t)n * OC;
		act_bias_row(din + r, db, dout + r, out + r, OC, act);
	}
}
