// SPDX-License-Identifier: Apache-2.0
/* Internals shared by the files of common/nn; not part of the public API.
 * Non-static internal names carry the im_nni_ prefix. */
#ifndef IM_NN_INTERNAL_H
#define IM_NN_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "nn/model.h"

/* Deepest encoder MLP: linear layers = num_hidden_layers + 1. */
#define IM_NNI_MAX_LAYERS 16
/* Encoder tensors: 2 per MLP layer; the impala encoder has 15 convs and a
 * Linear, 32 tensors. */
#define IM_NNI_MAX_ENC_TENSORS 40
/* Tensors: the encoder's, 4 LSTM, 3 policy, 4 baseline, 3 obs_norm. */
#define IM_NNI_MAX_TENSORS (IM_NNI_MAX_ENC_TENSORS + 14)

/* Appends named tensors to a layout table, packed without padding. */
typedef struct im_nni_layout {
	im_tensor_desc *t;
	int n, cap;
	size_t off; /* floats so far */
} im_nni_layout;

/* Adds a 1-D (d1 == 0) or 2-D tensor; returns its index or IM_ERANGE. */
int im_nni_layout_add(im_nni_layout *l, const char *name, int64_t d0,
		      int64_t d1);
/* Adds a tensor of ndim (1..IM_TENSOR_MAX_DIMS) dimensions. */
int im_nni_layout_add_nd(im_nni_layout *l, const char *name, int ndim,
			 const int64_t *shape);

/* Text sink of describe: a FILE or a bounded buffer (snprintf rules). */
typedef struct im_nni_writer {
	FILE *f;
	char *buf;
	size_t len, pos;
	int err;
} im_nni_writer;

void im_nni_printf(im_nni_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One encoder kind: what the model needs from it.  Adding a kind is a new
 * file defining one of these (or a new case of encoder_conv.c's builder)
 * and a row in the table of encoder.c; nothing else in the model changes. */
typedef struct im_nni_encoder_ops {
	const char *name;
	/* Checks the spec's encoder fields, appends the encoder's tensors
	 * (named "encoder.*") to lay, and returns its private state. */
	int (*create)(void **state, const im_model_spec *s, im_nni_layout *lay);
	void (*destroy)(void *state);
	/* Floats of workspace for up to rows rows: forward cache and
	 * backward scratch. */
	size_t (*ws_floats)(const void *state, int rows);
	/* Features (rows, feature_dim) of obs (rows, obs_numel), returned as a
	 * pointer into ws, valid until the next call on ws. */
	const float *(*forward)(const void *state, const float *params,
				const void *obs, int rows, float *ws);
	/* Accumulates into grads from dfeat (grad_rows, feature_dim;
	 * clobbered), using the cache of the last forward on ws with the same
	 * obs over rows rows: the first grad_rows (<= rows) of them only. */
	void (*backward)(const void *state, const float *params, float *grads,
			 const void *obs, float *dfeat, int rows, int grad_rows,
			 float *ws);
	void (*describe)(const void *state, im_nni_writer *w);
	/* Multiply-adds of the forward per observation; *first: those of the
	 * first layer (whose input needs no gradient). */
	double (*macs)(const void *state, double *first);
} im_nni_encoder_ops;

/* NULL for an unknown kind. */
const im_nni_encoder_ops *im_nni_encoder_get(im_nn_encoder_kind kind);
extern const im_nni_encoder_ops im_nni_encoder_mlp;
/* minatar, nature and impala: create() builds the one spec->encoder names. */
extern const im_nni_encoder_ops im_nni_encoder_conv;

/* The model: spec, layout, arenas, and where each part's tensors are. */
struct im_model {
	im_model_spec spec;
	int obs_numel;
	int n;        /* policy outputs */
	int core_dim; /* lstm_hidden or feature_dim */
	int core_in;  /* LSTM input width: feature_dim + 1 + n */
	const im_nni_encoder_ops *enc;
	void *enc_state;
	im_tensor_desc tensors[IM_NNI_MAX_TENSORS];
	int ntensors;
	size_t nparams;
	/* Indices into tensors (-1 when absent). */
	int t_wih, t_whh, t_bih, t_bhh;
	int t_pw, t_pb, t_logstd, t_bw, t_bb;
	int t_mu, t_sigma;                   /* PopArt's statistics (non-trainable), or -1 */
	int t_on_mean, t_on_var, t_on_count; /* obs_norm's, or -1 */
	float *params;                       /* (nparams), 64-byte aligned */
	float *grads;                        /* (nparams) */
};

/* wt (C, O) = w (O, C) transposed, for products that run faster on the
 * untransposed weights (linear.c). */
void im_nni_transpose(float *restrict wt, const float *restrict w, int O,
		      int C);

/* The image encoders' flatten (flatten.c), one image of HW pixels by C
 * channels, the buffers the caller's and not overlapping:
 * dst (C, HW) = src (HW, C) transposed, through a ReLU when relu; and
 * dst (HW, C) = src (C, HW) transposed, 0 where mask (C, HW; NULL: none)
 * is not > 0.  The _naive twins are the element loops the tests hold
 * them to (bit for bit). */
void im_nni_hwc_to_chw(float *restrict dst, const float *restrict src, int HW,
		       int C, int relu);
void im_nni_hwc_to_chw_naive(float *restrict dst, const float *restrict src,
			     int HW, int C, int relu);
void im_nni_chw_to_hwc(float *restrict dst, const float *restrict src,
		       const float *restrict mask, int HW, int C);
void im_nni_chw_to_hwc_naive(float *restrict dst, const float *restrict src,
			     const float *restrict mask, int HW, int C);

/* The policy and baseline heads as one fused layer (heads.c).  ws: at
 * least im_nni_heads_ws_floats() floats, 64-byte aligned, owned by the
 * caller; the backward only needs params, core and rows as given to the
 * forward, not what the forward left in ws. */
size_t im_nni_heads_ws_floats(const im_model *m, int rows);
/* policy_out (rows, n) and baseline (rows) from core (rows, core_dim). */
void im_nni_heads_forward(float *policy_out, float *baseline, float *ws,
			  const im_model *m, const float *params, const float *core, int rows);
/* ASSIGNS dcore (rows, core_dim) and accumulates the heads' weight and
 * bias gradients into grads (arena layout). */
void im_nni_heads_backward(float *dcore, float *grads, float *ws,
			   const im_model *m, const float *params, const float *dpolicy,
			   const float *dbaseline, const float *core, int rows);

static inline const float *im_nni_t(const im_model *m, const float *arena,
				    int idx)
{
	return arena + m->tensors[idx].offset;
}

/* Rounds a float count up to 16 (64 bytes) so carved buffers stay aligned. */
static inline size_t im_nni_align(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

#endif
