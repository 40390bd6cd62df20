// SPDX-License-Identifier: Apache-2.0
/* Neural-network kernels as free functions, in the shape of karpathy/llm.c:
 * outputs first, then caches, inputs, weights, sizes.  All tensors are dense
 * row-major float32; weights are PyTorch-shaped (out, in).
 *
 * Every backward ACCUMULATES (+=) into the weight and input gradients it is
 * given (zero them once per step), except the activation backward, which
 * assigns so that it can run in place, and the input gradient of the
 * _assign variant of the linear backward.  No kernel allocates, logs or fails.
 *
 * Each fast kernel (OpenBLAS cblas_sgemm for every matrix product) has a
 * naive twin with the same arguments and the suffix _naive: plain loops,
 * the reference the tests hold the fast one against.  Buffers are borrowed
 * for the duration of the call only. */
#ifndef IM_NN_KERNELS_H
#define IM_NN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef enum im_nn_activation {
	IM_NN_ACT_RELU = 0,
	IM_NN_ACT_TANH = 1,
} im_nn_activation;

/* "relu" / "tanh" (the PyTorch module names are "ReLU" / "Tanh"); NULL
 * for a value that is neither. */
const char *im_nn_activation_name(im_nn_activation a);
/* Parses "relu" or "tanh"; IM_EINVAL otherwise, with the accepted names in
 * err (names.h; err may be NULL).  *out is set only on success. */
int im_nn_activation_parse(const char *s, im_nn_activation *out, char *err,
			   size_t errlen);

/* ---- Linear: out = in @ w^T + b ---------------------------------------- */

/* Splitting narrow products into blocks of rows (linear.c, row_block): -1
 * (the default) where the running OpenBLAS core has small-matrix kernels,
 * 0 never, 1 always.  For tests and benchmarks, which must reach both
 * paths on any machine; set it before any kernel runs. */
void im_nn_set_row_blocks(int mode);

/* out: (N, OC); in: (N, C); w: (OC, C); b: (OC) or NULL. */
void im_nn_linear_forward(float *out, const float *in, const float *w,
			  const float *b, int N, int C, int OC);
void im_nn_linear_forward_naive(float *out, const float *in, const float *w,
				const float *b, int N, int C, int OC);

/* Fused out = act(in @ w^T + b): bias and activation applied to each block
 * of rows right after its product, while it is in cache.  wt: scratch of
 * OC * C floats, or NULL.  With it, on an OpenBLAS core that has
 * small-matrix kernels, a product small enough for them (or a narrow layer,
 * whose rows linear.c splits into blocks that are) transposes w into wt
 * once and multiplies by it untransposed, the form those kernels run
 * fastest; otherwise, and without wt, one sgemm with w read transposed.
 * The naive twin ignores wt. */
void im_nn_linear_act_forward(float *out, float *wt, const float *in,
			      const float *w, const float *b, int N, int C, int OC,
			      im_nn_activation act);
void im_nn_linear_act_forward_naive(float *out, float *wt, const float *in,
				    const float *w, const float *b, int N, int C, int OC,
				    im_nn_activation act);

/* din += dout @ w; dw += dout^T @ in; db += sum over rows of dout.
 * din: (N, C) or NULL (no gradient wanted, e.g. the observations);
 * dw: (OC, C); db: (OC) or NULL; dout: (N, OC); in: (N, C); w: (OC, C). */
void im_nn_linear_backward(float *din, float *dw, float *db,
			   const float *dout, const float *in, const float *w, int N, int C,
			   int OC);
void im_nn_linear_backward_naive(float *din, float *dw, float *db,
				 const float *dout, const float *in, const float *w, int N, int C,
				 int OC);

/* The same, except that din is ASSIGNED: din = dout @ w (an sgemm with
 * beta 0), and its prior content, even NaN, is never read; dw and db still
 * accumulate.  For the first writer of a gradient buffer, which then needs
 * no zeroing pass first.  din: (N, C), not NULL. */
void im_nn_linear_backward_assign(float *din, float *dw, float *db,
				  const float *dout, const float *in, const float *w, int N, int C,
				  int OC);
void im_nn_linear_backward_assign_naive(float *din, float *dw, float *db,
					const float *dout, const float *in, const float *w, int N, int C,
					int OC);

/* ---- Elementwise activations ------------------------------------------- */

/* out = act(in); out may equal in.  n elements. */
void im_nn_act_forward(float *out, const float *in, size_t n,
		       im_nn_activation act);
/* din = dout * act'(x), written from the forward OUTPUT out = act(x)
 * (relu: out > 0; tanh: 1 - out^2).  Assigns; din may equal dout. */
void im_nn_act_backward(float *din, const float *dout, const float *out,
			size_t n, im_nn_activation act);
void im_nn_act_backward_naive(float *din, const float *dout,
			      const float *out, size_t n, im_nn_activation act);

/* The same over N rows of OC, and db (OC) += the column sums of din: the
 * bias gradient of the linear layer whose output went through the
 * activation, summed in the same pass (pass NULL as that layer's db).
 * Assigns din (din may equal dout); db accumulates and must not overlap. */
void im_nn_act_bias_backward(float *din, float *db, const float *dout,
			     const float *out, int N, int OC, im_nn_activation act);
void im_nn_act_bias_backward_naive(float *din, float *db, const float *dout,
				   const float *out, int N, int OC, im_nn_activation act);

/* ---- LSTM over T1 steps of B sequences, time-major ----------------------
 *
 * PyTorch nn.LSTM semantics, one layer: gate rows in the order (i, f, g, o),
 *   z = x @ w_ih^T + b_ih + h @ w_hh^T + b_hh            (B, 4H)
 *   i, f, o = sigmoid(z_i, z_f, z_o); g = tanh(z_g)
 *   c' = f * c + i * g;  h' = o * tanh(c')
 * Before step t, the state of sequence b is zeroed where reset[t, b] != 0;
 * no gradient flows back across such a reset. */

/* Activations kept by the forward for the backward; each array has
 * T1 * B rows, row t * B + b. */
typedef struct im_nn_lstm_cache {
	float *gates;  /* (T1*B, 4H) i, f, g, o after their nonlinearities */
	float *hprev;  /* (T1*B, H) state entering each step, after reset */
	float *cprev;  /* (T1*B, H) */
	float *c;      /* (T1*B, H) cell after each step */
	float *tanh_c; /* (T1*B, H) */
	float *h;      /* (T1*B, H) output after each step */
} im_nn_lstm_cache;

/* Floats of the contiguous block im_nn_lstm_cache_bind() carves. */
size_t im_nn_lstm_cache_floats(int T1, int B, int H);
/* Points cache's arrays into mem (im_nn_lstm_cache_floats() floats, owned
 * by the caller and outliving the cache). */
void im_nn_lstm_cache_bind(im_nn_lstm_cache *cache, float *mem, int T1,
			   int B, int H);

/* x: (T1*B, IN); reset: (T1*B) or NULL (never reset); h0, c0: (B, H) or NULL
 * (zero); w_ih: (4H, IN); w_hh: (4H, H); b_ih, b_hh: (4H).  Fills cache. */
void im_nn_lstm_forward(im_nn_lstm_cache *cache, const float *x,
			const uint8_t *reset, const float *h0, const float *c0,
			const float *w_ih, const float *w_hh, const float *b_ih,
			const float *b_hh, int T1, int B, int IN, int H);
void im_nn_lstm_forward_naive(im_nn_lstm_cache *cache, const float *x,
			      const uint8_t *reset, const float *h0, const float *c0,
			      const float *w_ih, const float *w_hh, const float *b_ih,
			      const float *b_hh, int T1, int B, int IN, int H);

/* Floats of scratch im_nn_lstm_backward() needs. */
size_t im_nn_lstm_scratch_floats(int T1, int B, int H);

/* Backpropagation through time from dh (T1*B, H), the loss gradient with
 * respect to every step's output h (read only).  Accumulates into dw_ih
 * (4H, IN), dw_hh (4H, H), db_ih, db_hh (4H), and into dx (T1*B, dx_cols)
 * the gradient of the FIRST dx_cols input columns (the caller's features;
 * dx NULL or dx_cols 0 for none).  No gradient is returned for h0, c0.
 * scratch: im_nn_lstm_scratch_floats() floats, clobbered. */
void im_nn_lstm_backward(float *dx, int dx_cols, float *dw_ih, float *dw_hh,
			 float *db_ih, float *db_hh, float *scratch, const float *dh,
			 const im_nn_lstm_cache *cache, const float *x, const uint8_t *reset,
			 const float *w_ih, const float *w_hh, int T1, int B, int IN, int H);
void im_nn_lstm_backward_naive(float *dx, int dx_cols, float *dw_ih,
			       float *dw_hh, float *db_ih, float *db_hh, float *scratch,
			       const float *dh, const im_nn_lstm_cache *cache, const float *x,
			       const uint8_t *reset, const float *w_ih, const float *w_hh, int T1,
			       int B, int IN, int H);

#endif
