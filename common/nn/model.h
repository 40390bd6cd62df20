// SPDX-License-Identifier: Apache-2.0
/* The actor-critic model: encoder -> optional LSTM core -> policy and
 * baseline heads, with all parameters in one contiguous float arena.
 *
 *   encoder (MLP): Linear(obs_numel, hidden_dim), act,
 *                  [Linear(hidden_dim, hidden_dim), act] * (num_hidden_layers-1),
 *                  Linear(hidden_dim, feature_dim), act
 *   core (LSTM, optional): input concat(features, clip(prev_reward, -1, 1),
 *                  one_hot(prev_action) | prev_action vector), state zeroed
 *                  before a step whose reset flag is set; output h.
 *                  Without LSTM the core output is the features.
 *   policy:   Linear(core_out, n): categorical logits (Discrete(n)) or the
 *             Gaussian mean (Box(n)), plus policy.log_std (n) for Box.
 *   baseline: Linear(core_out, 1); with spec.popart its output is
 *             sigma * (w h + b) + mu, with mu and sigma in the arena.
 *   With spec.obs_norm, float observations are normalised by running
 *   statistics in the arena before the encoder reads them (nn/obsnorm.h).
 *
 * Tensor names and (out, in) shapes are those of the equivalent PyTorch
 * module's state_dict ("encoder.0.weight", "core.weight_ih_l0", ...), in the
 * arena in that order with no padding.  Gradients use the same layout.
 *
 * The forward and backward functions take the parameter arena explicitly:
 * the actor swaps in a new arena received from the network, the learner may
 * run on a snapshot.  Sampling, log-probabilities and the loss live in
 * common/learn; this module hands them raw head outputs and takes back the
 * loss gradient with respect to those outputs. */
#ifndef IM_NN_MODEL_H
#define IM_NN_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nn/kernels.h"
#include "space.h"
#include "tensor.h"

/* How observations become features.  Each kind is one entry of the table in
 * encoder.c.  The image encoders read (H, W, C) observations, float32 or
 * uint8 (times obs.scale), and end, as the MLP does, with Linear to
 * feature_dim and ReLU (common/nn/encoder_conv.c has their layers):
 *   minatar: Conv 16 3x3 s1, ReLU                     (MinAtar's network)
 *   nature:  Conv 32 8x8 s4, ReLU, Conv 64 4x4 s2, ReLU, Conv 64 3x3 s1,
 *            ReLU                                     (Mnih et al. 2015)
 *   impala:  3 stacks of 16, 32, 32 channels: Conv 3x3 same, MaxPool 3x3 s2,
 *            2 residual blocks; ReLU                  (Espeholt et al. 2018)
 * They ignore hidden_dim and num_hidden_layers and need activation relu. */
typedef enum im_nn_encoder_kind {
	IM_NN_ENCODER_MLP = 0,
	IM_NN_ENCODER_MINATAR = 1,
	IM_NN_ENCODER_NATURE = 2,
	IM_NN_ENCODER_IMPALA = 3,
	IM_NN_ENCODER_COUNT_,
	/* Not an encoder but a choice (--encoder auto): resolved by
	 * im_nn_encoder_auto, which needs the observation space.  No model
	 * and no run spec holds it. */
	IM_NN_ENCODER_AUTO = IM_NN_ENCODER_COUNT_,
} im_nn_encoder_kind;

/* "mlp", "minatar", "nature", "impala", "auto"; NULL otherwise. */
const char *im_nn_encoder_name(im_nn_encoder_kind k);
/* Parses one of those names (auto included); IM_EINVAL otherwise, with the
 * accepted names in err (names.h; err may be NULL).  *out is set only on
 * success. */
int im_nn_encoder_parse(const char *s, im_nn_encoder_kind *out, char *err,
			size_t errlen);
/* The encoder --encoder auto picks: mlp for rank-1 observations; for
 * images, minatar when either side is below 36 pixels (tiny grids, where
 * nature's 8x8 stride-4 layer does not fit), nature otherwise (README:
 * why).  IM_EINVAL for other ranks. */
int im_nn_encoder_auto(const im_obs_space *obs, im_nn_encoder_kind *out);

/* Images per chunk of the image encoders' lowering and backward: as many as
 * keep the largest patch matrix near floats (default 2^18).  For tests and
 * benchmarks; takes effect for models created afterwards. */
void im_nn_set_conv_chunk_floats(size_t floats);

typedef enum im_nn_init {
	IM_NN_INIT_IDENTITY = 0, /* PyTorch's default layer init */
	IM_NN_INIT_ORTHOGONAL = 1,
	IM_NN_INIT_XAVIER_UNIFORM = 2,
	IM_NN_INIT_XAVIER_NORMAL = 3,
} im_nn_init;

/* "identity", "orthogonal", "xavier_uniform", "xavier_normal"; NULL
 * otherwise. */
const char *im_nn_init_name(im_nn_init m);
/* Parses one of those names; IM_EINVAL otherwise, with the accepted names
 * in err (names.h; err may be NULL).  *out is set only on success. */
int im_nn_init_parse(const char *s, im_nn_init *out, char *err,
		     size_t errlen);

typedef struct im_model_spec {
	im_obs_space obs; /* low/high are not used by the model */
	im_act_space act;
	im_nn_encoder_kind encoder;
	int hidden_dim;        /* width of the encoder's hidden layers */
	int num_hidden_layers; /* >= 1: "2x64" is hidden 64, layers 1, feature 64 */
	int feature_dim;
	im_nn_activation activation;
	int use_lstm;
	int lstm_hidden;
	im_nn_init init_method;
	uint64_t seed;
	/* PopArt (common/learn/popart.h): the baseline head gains two
	 * non-trainable tensors, baseline.mu and baseline.sigma (1,) (as a
	 * PyTorch module's registered buffers), and outputs the unnormalised
	 * value sigma * (w h + b) + mu; its backward scales the value
	 * gradient by sigma, so dL/d(normalised output) = sigma * dL/dV. */
	int popart;
	/* Observation normalisation (common/nn/obsnorm.h): three
	 * non-trainable tensors, obs_norm.mean and obs_norm.var (obs_numel)
	 * and obs_norm.count (1), last in the arena; every forward
	 * normalises and clips the observations with them first.  Float
	 * observations only (IM_EINVAL for uint8, which their scale already
	 * brings to [0, 1]). */
	int obs_norm;
} im_model_spec;

/* The learner's and actor's network shape for "HxW": hidden W, layers H-1,
 * feature W, relu, no LSTM, identity init.  Convenience for tests/benches. */
void im_model_spec_default(im_model_spec *s, const im_obs_space *obs,
			   const im_act_space *act, int width);

typedef struct im_model im_model;

/* Validates the spec, lays out the arena, allocates parameters and
 * gradients and initialises the parameters by spec->init_method with
 * spec->seed; gradients start at zero.  The spec is copied.
 * IM_EINVAL for a bad spec, IM_ENOMEM. */
int im_model_new(im_model **out, const im_model_spec *spec);
void im_model_free(im_model *m);

const im_model_spec *im_model_get_spec(const im_model *m);
size_t im_model_num_params(const im_model *m);
/* The model's own arenas (im_model_num_params() floats each, 64-byte
 * aligned), owned by the model and valid until im_model_free(). */
float *im_model_params(im_model *m);
float *im_model_grads(im_model *m);
void im_model_zero_grads(im_model *m);
/* The layout: *n descriptors, owned by the model. */
const im_tensor_desc *im_model_tensors(const im_model *m, int *n);
/* The descriptor named name ("policy.log_std"), or NULL. */
const im_tensor_desc *im_model_find(const im_model *m, const char *name);
/* n: number of logits (Discrete) or action dimensions (Box). */
int im_model_policy_dim(const im_model *m);
/* Width of the core output (lstm_hidden with LSTM, else feature_dim) and of
 * the LSTM state (0 without LSTM). */
int im_model_core_dim(const im_model *m);
int im_model_state_dim(const im_model *m);

/* Multiply-adds of the encoder's forward per observation, and in *first
 * (may be NULL) those of its first layer; for benchmarks' FLOP counts (a
 * backward costs twice the forward, less the first layer's input
 * gradient, which is never computed). */
double im_model_encoder_macs(const im_model *m, double *first);

/* Fills params (an arena of this model's layout, caller-owned) by
 * init_method with seed: each tensor draws from its own stream split from
 * the seed by its index, so the values are reproducible. */
int im_model_init_params(const im_model *m, float *params, im_nn_init method,
			 uint64_t seed);

/* Writes the architecture as a PyTorch-like module tree, the parameter
 * table and the total count.  The _buf form writes at most len bytes
 * (NUL-terminated when len > 0) and returns the length the full text needs,
 * as snprintf; the FILE form returns 0 or IM_EIO. */
int im_model_describe(const im_model *m, FILE *f);
int im_model_describe_buf(const im_model *m, char *buf, size_t len);

/* ---- Workspaces --------------------------------------------------------
 * A workspace holds every activation one forward keeps for its backward,
 * sized once for at most max_T1 steps by max_B sequences, so the forward and
 * backward never allocate.  One per thread; it borrows the model (which
 * must outlive it).  The actor uses max_T1 = 1, max_B = k. */
typedef struct im_model_ws im_model_ws;

int im_model_ws_new(im_model_ws **out, const im_model *m, int max_T1,
		    int max_B);
void im_model_ws_free(im_model_ws *ws);

/* Inputs of one forward, time-major: row t * B + b is step t of sequence b.
 * Arrays are borrowed; the learning forward keeps pointers to them until the
 * matching backward, so they must stay unchanged until then. */
typedef struct im_model_input {
	int T1, B;
	const void *obs;              /* (T1*B, obs_numel), spec.obs.dtype */
	const int32_t *prev_action;   /* (T1*B) Discrete, in [0, n) */
	const float *prev_action_box; /* (T1*B, n) Box */
	const float *prev_reward;     /* (T1*B), clipped to [-1, 1] inside */
	const uint8_t *reset;         /* (T1*B) or NULL: zero state first */
} im_model_input;

/* Acting: one step (in->T1 == 1) for B = in->B environments.
 * h, c: (B, H) LSTM state, read then overwritten with the new state (NULL
 * without LSTM).  Writes policy_out (B, n) and baseline (B), caller-owned.
 * IM_ESHAPE if the input exceeds the workspace, IM_EACTION for a Discrete
 * prev_action outside [0, n).  Allocation-free. */
int im_model_act(im_model_ws *ws, const float *params,
		 const im_model_input *in, float *h, float *c, float *policy_out,
		 float *baseline);

/* Rows that need a value but no gradient: for a step (t, b) truncated by a
 * time limit, V(final_obs) from the core state AFTER step t (no reset),
 * with prev_action a_t and prev_reward r_t. */
typedef struct im_model_extra {
	int n;
	const int32_t *index;         /* (n) t * B + b */
	const void *obs;              /* (n, obs_numel) */
	const int32_t *prev_action;   /* (n) Discrete */
	const float *prev_action_box; /* (n, D) Box */
	const float *prev_reward;     /* (n) */
} im_model_extra;

/* Learning forward over T1 x B with the initial state h0, c0 (B, H) (NULL
 * for zeros or without LSTM).  Writes policy_out (T1*B, n), baseline
 * (T1*B) and, when extra is non-NULL with n > 0, extra_value (extra->n);
 * all caller-owned.  Extra rows need a workspace made with max_T1 > 1
 * (IM_EINVAL otherwise), any number of them (run in chunks of max_B);
 * IM_ERANGE for an index outside [0, T1*B).  Keeps the activations for
 * im_model_backward(); the inputs stay borrowed until then. */
int im_model_forward(im_model_ws *ws, const float *params,
		     const im_model_input *in, const float *h0, const float *c0,
		     const im_model_extra *extra, float *policy_out, float *baseline,
		     float *extra_value);

/* Backward of the last im_model_forward() on this workspace, with the same
 * params: dpolicy_out (T1*B, n) and dbaseline (T1*B) are the loss gradients
 * (every row honoured).  Accumulates (+=) into grads (this model's layout;
 * policy.log_std is left to the caller).  IM_ESTATE without a forward. */
int im_model_backward(im_model_ws *ws, const float *params,
		      const float *dpolicy_out, const float *dbaseline, float *grads);

/* The same, where only the first grad_rows rows (1 .. T1*B) of
 * dpolicy_out and dbaseline may be non-zero: the caller's promise, which
 * the rows after are not read to check.  Without an LSTM core the
 * backward then runs over those rows alone (rows are time-major, so the
 * learner's bootstrap step T is the last B); the gradients are those of
 * im_model_backward with the rows after zeroed, summed in the same order
 * (test nn_forward).  With one, BPTT needs every step and all rows run.
 * IM_EINVAL for grad_rows outside 1 .. T1*B. */
int im_model_backward_rows(im_model_ws *ws, const float *params,
			   const float *dpolicy_out, const float *dbaseline,
			   float *grads, int grad_rows);

#endif
