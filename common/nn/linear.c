/* Fast linear and activation kernels: OpenBLAS sgemm with the transposes
 * folded into the call (weights stay (OC, C), nothing is transposed in
 * memory) and the bias and activation fused into one pass over the output. */
/* The fused loops use fastmath.h's clamps and selects; GCC if-converts
 * (and so vectorises) float selects only when comparisons may not trap.
 * We never enable floating-point traps, so the flag changes no result. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <string.h>

#include <cblas.h>

#include "err.h"
#include "nn/fastmath.h"
#include "nn/kernels.h"

const char *im_nn_activation_name(im_nn_activation a)
{
	return a == IM_NN_ACT_TANH ? "tanh" : "relu";
}

int im_nn_activation_parse(const char *s, im_nn_activation *out)
{
	if (!s)
		return IM_EINVAL;
	if (!strcmp(s, "relu"))
		*out = IM_NN_ACT_RELU;
	else if (!strcmp(s, "tanh"))
		*out = IM_NN_ACT_TANH;
	else
		return IM_EINVAL;
	return IM_OK;
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

void im_nn_linear_act_forward(float *out, const float *in, const float *w,
	const float *b, int N, int C, int OC, im_nn_activation act)
{
	if (N <= 0 || OC <= 0)
		return;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f,
		in, C, w, C, 0.0f, out, OC);
	/* Bias and activation in the same pass over out. */
	if (!b) {
		im_nn_act_forward(out, out, (size_t)N * OC, act);
		return;
	}
	for (int n = 0; n < N; n++)
		bias_act_row(out + (size_t)n * OC, b, OC, act);
}

/* din = din_beta * din + dout @ w; dw += dout^T @ in; db += colsum(dout). */
static void linear_backward(float *din, float din_beta, float *dw, float *db,
	const float *dout, const float *in, const float *w, int N, int C,
	int OC)
{
	if (N <= 0 || OC <= 0)
		return;
	/* din (N, C) = beta * din + dout (N, OC) @ w (OC, C). */
	if (din)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC,
			1.0f, dout, OC, w, C, din_beta, din, C);
	/* dw (OC, C) += dout^T @ in: dout read transposed in place. */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f,
		dout, OC, in, C, 1.0f, dw, C);
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
