// SPDX-License-Identifier: Apache-2.0
/* Naive reference kernels: the textbook formulas as plain loops with double
 * accumulators, no BLAS, no fusion.  They are slow on purpose and exist so
 * that the tests can hold the fast kernels against an obviously correct
 * version; nothing in the library calls them. */
#include <math.h>
#include <string.h>

#include "nn/kernels.h"

void im_nn_linear_forward_naive(float *out, const float *in, const float *w,
				const float *b, int N, int C, int OC)
{
	for (int n = 0; n < N; n++) {
		for (int o = 0; o < OC; o++) {
			double acc = b ? b[o] : 0.0;
			for (int c = 0; c < C; c++)
				acc += (double)in[n * C + c] * w[o * C + c];
			out[n * OC + o] = (float)acc;
		}
	}
}

static float act_naive(float v, im_nn_activation act)
{
	if (act == IM_NN_ACT_RELU)
		return v > 0.0f ? v : 0.0f;
	return (float)tanh(v);
}

void im_nn_linear_act_forward_naive(float *out, float *wt, const float *in,
				    const float *w, const float *b, int N, int C, int OC,
				    im_nn_activation act)
{
	(void)wt;
	im_nn_linear_forward_naive(out, in, w, b, N, C, OC);
	for (int i = 0; i < N * OC; i++)
		out[i] = act_naive(out[i], act);
}

/* din = dout @ w, added to din when accumulate, else assigned. */
static void linear_din_naive(float *din, int accumulate, const float *dout,
			     const float *w, int N, int C, int OC)
{
	for (int n = 0; din && n < N; n++) {
		for (int c = 0; c < C; c++) {
			double acc = 0.0;
			for (int o = 0; o < OC; o++)
				acc += (double)dout[n * OC + o] * w[o * C + c];
			float v = (float)acc;
			din[n * C + c] = accumulate ? din[n * C + c] + v : v;
		}
	}
}

/* dw += dout^T @ in; db += colsum(dout). */
static void linear_dw_naive(float *dw, float *db, const float *dout,
			    const float *in, int N, int C, int OC)
{
	for (int o = 0; o < OC; o++) {
		for (int c = 0; c < C; c++) {
			double acc = 0.0;
			for (int n = 0; n < N; n++)
				acc += (double)dout[n * OC + o] * in[n * C + c];
			dw[o * C + c] += (float)acc;
		}
		if (db) {
			double acc = 0.0;
			for (int n = 0; n < N; n++)
				acc += dout[n * OC + o];
			db[o] += (float)acc;
		}
	}
}

void im_nn_linear_backward_naive(float *din, float *dw, float *db,
				 const float *dout, const float *in, const float *w, int N, int C,
				 int OC)
{
	linear_din_naive(din, 1, dout, w, N, C, OC);
	linear_dw_naive(dw, db, dout, in, N, C, OC);
}

void im_nn_linear_backward_assign_naive(float *din, float *dw, float *db,
					const float *dout, const float *in, const float *w, int N, int C,
					int OC)
{
	linear_din_naive(din, 0, dout, w, N, C, OC);
	linear_dw_naive(dw, db, dout, in, N, C, OC);
}

void im_nn_act_backward_naive(float *din, const float *dout,
			      const float *out, size_t n, im_nn_activation act)
{
	for (size_t i = 0; i < n; i++) {
		double d = act == IM_NN_ACT_RELU ? (out[i] > 0.0f ? 1.0 : 0.0)
						 : 1.0 - (double)out[i] * out[i];
		din[i] = (float)(dout[i] * d);
	}
}

void im_nn_act_bias_backward_naive(float *din, float *db, const float *dout,
				   const float *out, int N, int OC, im_nn_activation act)
{
	im_nn_act_backward_naive(din, dout, out, (size_t)N * OC, act);
	for (int o = 0; o < OC; o++) {
		double acc = 0.0;
		for (int n = 0; n < N; n++)
			acc += din[n * OC + o];
		db[o] += (float)acc;
	}
}

static double sigmoid_naive(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

void im_nn_lstm_forward_naive(im_nn_lstm_cache *k, const float *x,
			      const uint8_t *reset, const float *h0, const float *c0,
			      const float *w_ih, const float *w_hh, const float *b_ih,
			      const float *b_hh, int T1, int B, int IN, int H)
{
	for (int t = 0; t < T1; t++) {
		for (int b = 0; b < B; b++) {
			int r = t * B + b;
			int zero = reset && reset[r];
			for (int j = 0; j < H; j++) {
				float hp = 0.0f, cp = 0.0f;
				if (!zero && t > 0) {
					hp = k->h[(r - B) * H + j];
					cp = k->c[(r - B) * H + j];
				} else if (!zero && h0) {
					hp = h0[b * H + j];
					cp = c0[b * H + j];
				}
				k->hprev[r * H + j] = hp;
				k->cprev[r * H + j] = cp;
			}
			double z[4];
			for (int j = 0; j < H; j++) {
				for (int q = 0; q < 4; q++) {
					int row = q * H + j;
					double acc = (double)b_ih[row] + b_hh[row];
					for (int c = 0; c < IN; c++)
						acc += (double)w_ih[row * IN + c] * x[r * IN + c];
					for (int c = 0; c < H; c++)
						acc += (double)w_hh[row * H + c] *
						       k->hprev[r * H + c];
					z[q] = acc;
				}
				double i = sigmoid_naive(z[0]), f = sigmoid_naive(z[1]);
				double g = tanh(z[2]), o = sigmoid_naive(z[3]);
				double cn = f * k->cprev[r * H + j] + i * g;
				float *gr = k->gates + (size_t)r * 4 * H;
				gr[j] = (float)i;
				gr[H + j] = (float)f;
				gr[2 * H + j] = (float)g;
				gr[3 * H + j] = (float)o;
				k->c[r * H + j] = (float)cn;
				k->tanh_c[r * H + j] = (float)tanh(cn);
				k->h[r * H + j] = (float)(o * tanh(cn));
			}
		}
	}
}

/* dz (4H) of one row from the total dh and dc reaching that step; dc_total
 * receives the cell gradient of this step. */
static void gate_grads_naive(float *dz, const float *dh, const float *dc,
			     const float *gates, const float *cprev, const float *tanh_c, int H,
			     float *dc_total)
{
	for (int j = 0; j < H; j++) {
		double i = gates[j], f = gates[H + j], g = gates[2 * H + j];
		double o = gates[3 * H + j], t = tanh_c[j];
		double c = dc[j] + (double)dh[j] * o * (1 - t * t);
		dc_total[j] = (float)c;
		dz[j] = (float)(c * g * i * (1 - i));
		dz[H + j] = (float)(c * cprev[j] * f * (1 - f));
		dz[2 * H + j] = (float)(c * i * (1 - g * g));
		dz[3 * H + j] = (float)(dh[j] * t * o * (1 - o));
	}
}

/* Per step and per sequence, with every matrix product a loop. */
void im_nn_lstm_backward_naive(float *dx, int dx_cols, float *dw_ih,
			       float *dw_hh, float *db_ih, float *db_hh, float *scratch,
			       const float *dh, const im_nn_lstm_cache *k, const float *x,
			       const uint8_t *reset, const float *w_ih, const float *w_hh, int T1,
			       int B, int IN, int H)
{
	float *carry_h = scratch, *carry_c = carry_h + (size_t)B * H;
	float *dz = carry_c + (size_t)B * H, *dhv = dz + 4 * H;
	float *dct = dhv + H;
	memset(scratch, 0, 2 * (size_t)B * H * sizeof(float));
	for (int t = T1 - 1; t >= 0; t--) {
		for (int b = 0; b < B; b++) {
			int r = t * B + b;
			float *ch = carry_h + b * H, *cc = carry_c + b * H;
			for (int j = 0; j < H; j++)
				dhv[j] = dh[r * H + j] + ch[j];
			gate_grads_naive(dz, dhv, cc, k->gates + (size_t)r * 4 * H,
					 k->cprev + r * H, k->tanh_c + r * H, H, dct);
			for (int q = 0; q < 4 * H; q++) {
				db_ih[q] += dz[q];
				db_hh[q] += dz[q];
				for (int c = 0; c < IN; c++)
					dw_ih[q * IN + c] += dz[q] * x[r * IN + c];
				for (int c = 0; c < H; c++)
					dw_hh[q * H + c] += dz[q] * k->hprev[r * H + c];
			}
			for (int c = 0; dx && c < dx_cols; c++) {
				double acc = 0;
				for (int q = 0; q < 4 * H; q++)
					acc += (double)dz[q] * w_ih[q * IN + c];
				dx[r * dx_cols + c] += (float)acc;
			}
			/* What reaches step t-1, unless the state was reset. */
			int cut = reset && reset[r];
			const float *f = k->gates + (size_t)r * 4 * H + H;
			for (int c = 0; c < H; c++) {
				double acc = 0;
				for (int q = 0; q < 4 * H; q++)
					acc += (double)dz[q] * w_hh[q * H + c];
				ch[c] = cut ? 0.0f : (float)acc;
				cc[c] = cut ? 0.0f : dct[c] * f[c];
			}
		}
	}
}
