// SPDX-License-Identifier: Apache-2.0
/* The MLP encoder for vector observations:
 *   Linear(obs, hidden), act, [Linear(hidden, hidden), act] * (layers - 1),
 *   Linear(hidden, feature), act
 * as a PyTorch Sequential, so linear layer l is "encoder.<2l>".  uint8
 * observations are converted into the workspace as v * scale (the space's
 * im_obs_scale: 1/255 for 0..255 frames, 1 for grids and when unset), so
 * the first layer reads floats; a float model fed the same products gives
 * the same bits. */
#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "nn/internal.h"

typedef struct mlp {
	int L;                            /* linear layers */
	int width[IM_NNI_MAX_LAYERS + 1]; /* width[0] = obs, width[L] = feature */
	size_t w_off[IM_NNI_MAX_LAYERS];  /* (width[l+1], width[l]) */
	size_t b_off[IM_NNI_MAX_LAYERS];  /* (width[l+1]) */
	im_nn_activation act;
	int u8;      /* observations are uint8 */
	float scale; /* uint8 only: input is v * scale */
} mlp;

static int mlp_create(void **state, const im_model_spec *s, im_nni_layout *lay)
{
	if (s->num_hidden_layers < 1 ||
	    s->num_hidden_layers >= IM_NNI_MAX_LAYERS || s->hidden_dim < 1 ||
	    s->feature_dim < 1)
		return IM_EINVAL;
	if (s->activation != IM_NN_ACT_RELU && s->activation != IM_NN_ACT_TANH)
		return IM_EINVAL;
	mlp *e = calloc(1, sizeof(*e));
	if (!e)
		return IM_ENOMEM;
	e->L = s->num_hidden_layers + 1;
	e->width[0] = (int)im_obs_numel(&s->obs);
	for (int l = 1; l < e->L; l++)
		e->width[l] = s->hidden_dim;
	e->width[e->L] = s->feature_dim;
	e->act = s->activation;
	e->u8 = s->obs.dtype == IM_DTYPE_U8;
	e->scale = im_obs_scale(&s->obs);
	for (int l = 0; l < e->L; l++) {
		char name[IM_TENSOR_NAME_MAX];
		snprintf(name, sizeof(name), "encoder.%d.weight", 2 * l);
		int w = im_nni_layout_add(lay, name, e->width[l + 1], e->width[l]);
		snprintf(name, sizeof(name), "encoder.%d.bias", 2 * l);
		int b = im_nni_layout_add(lay, name, e->width[l + 1], 0);
		if (w < 0 || b < 0) {
			free(e);
			return IM_ERANGE;
		}
		e->w_off[l] = lay->t[w].offset;
		e->b_off[l] = lay->t[b].offset;
	}
	*state = e;
	return IM_OK;
}

static void mlp_destroy(void *state)
{
	free(state);
}

static int max_width(const mlp *e)
{
	int w = 0;
	for (int l = 1; l <= e->L; l++)
		w = e->width[l] > w ? e->width[l] : w;
	return w;
}

/* Floats of the largest weight matrix (the forward's transpose scratch). */
static size_t max_weight(const mlp *e)
{
	size_t w = 0;
	for (int l = 0; l < e->L; l++) {
		size_t n = (size_t)e->width[l] * e->width[l + 1];
		w = n > w ? n : w;
	}
	return w;
}

/* Workspace: [uint8 conversion (rows, obs)] [output of each layer]
 * [two gradient buffers (rows, max width) for the backward]
 * [one weight matrix transposed, for the forward]. */
static size_t mlp_ws_floats(const void *state, int rows)
{
	const mlp *e = state;
	size_t n = e->u8 ? im_nni_align((size_t)rows * e->width[0]) : 0;
	for (int l = 1; l <= e->L; l++)
		n += im_nni_align((size_t)rows * e->width[l]);
	return n + 2 * im_nni_align((size_t)rows * max_width(e)) +
	       im_nni_align(max_weight(e));
}

/* Where layer l's output (l = 1..L) and the gradient buffers live. */
static float *layer_out(const mlp *e, float *ws, int rows, int l)
{
	float *p = ws + (e->u8 ? im_nni_align((size_t)rows * e->width[0]) : 0);
	for (int j = 1; j < l; j++)
		p += im_nni_align((size_t)rows * e->width[j]);
	return p;
}

static const float *input_of(const mlp *e, const void *obs, float *ws,
			     int rows, int convert)
{
	if (!e->u8)
		return obs;
	if (convert) {
		const uint8_t *o = obs;
		const float k = e->scale;
		for (size_t i = 0; i < (size_t)rows * e->width[0]; i++)
			ws[i] = (float)o[i] * k;
	}
	return ws;
}

static const float *mlp_forward(const void *state, const float *params,
				const void *obs, int rows, float *ws)
{
	const mlp *e = state;
	const float *in = input_of(e, obs, ws, rows, 1);
	float *wt = layer_out(e, ws, rows, e->L + 1) +
		    2 * im_nni_align((size_t)rows * max_width(e));
	for (int l = 0; l < e->L; l++) {
		float *out = layer_out(e, ws, rows, l + 1);
		im_nn_linear_act_forward(out, wt, in, params + e->w_off[l],
					 params + e->b_off[l], rows, e->width[l], e->width[l + 1],
					 e->act);
		in = out;
	}
	return in;
}

static void mlp_backward(const void *state, const float *params,
			 float *grads, const void *obs, float *dfeat, int rows,
			 int grad_rows, float *ws)
{
	const mlp *e = state;
	float *bufs[2];
	bufs[0] = layer_out(e, ws, rows, e->L + 1);
	bufs[1] = bufs[0] + im_nni_align((size_t)rows * max_width(e));
	float *d = dfeat;
	for (int l = e->L - 1; l >= 0; l--) {
		const float *out = layer_out(e, ws, rows, l + 1);
		const float *in = l ? layer_out(e, ws, rows, l)
				    : input_of(e, obs, ws, rows, 0);
		/* The bias gradient is summed in the activation's pass. */
		im_nn_act_bias_backward(d, grads + e->b_off[l], d, out, grad_rows,
					e->width[l + 1], e->act);
		/* The first layer's input is the observations: no gradient.
		 * Elsewhere din is assigned, so the buffer needs no zeroing. */
		float *din = l ? bufs[l & 1] : NULL, *dw = grads + e->w_off[l];
		const float *w = params + e->w_off[l];
		int C = e->width[l], OC = e->width[l + 1];
		if (din)
			im_nn_linear_backward_assign(din, dw, NULL, d, in, w,
						     grad_rows, C, OC);
		else
			im_nn_linear_backward(NULL, dw, NULL, d, in, w, grad_rows,
					      C, OC);
		d = din;
	}
}

static void mlp_describe(const void *state, im_nni_writer *w)
{
	const mlp *e = state;
	const char *act = e->act == IM_NN_ACT_TANH ? "Tanh" : "ReLU";
	im_nni_printf(w, "  (encoder): Sequential(\n");
	for (int l = 0; l < e->L; l++) {
		im_nni_printf(w,
			      "    (%d): Linear(in_features=%d, out_features=%d, "
			      "bias=True)\n    (%d): %s()\n",
			      2 * l, e->width[l], e->width[l + 1], 2 * l + 1, act);
	}
	im_nni_printf(w, "  )\n");
}

static double mlp_macs(const void *state, double *first)
{
	const mlp *e = state;
	double all = 0;
	for (int l = 0; l < e->L; l++)
		all += (double)e->width[l] * e->width[l + 1];
	*first = (double)e->width[0] * e->width[1];
	return all;
}

const im_nni_encoder_ops im_nni_encoder_mlp = {
	.macs = mlp_macs,
	.name = "mlp",
	.create = mlp_create,
	.destroy = mlp_destroy,
	.ws_floats = mlp_ws_floats,
	.forward = mlp_forward,
	.backward = mlp_backward,
	.describe = mlp_describe,
};
