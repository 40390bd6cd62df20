// SPDX-License-Identifier: Apache-2.0
/* The model object: spec validation, the arena layout, the arenas and the
 * describe text. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nn/internal.h"
#include "nn/obsnorm.h"

void im_model_spec_default(im_model_spec *s, const im_obs_space *obs,
			   const im_act_space *act, int width)
{
	memset(s, 0, sizeof(*s));
	s->obs = *obs;
	s->act = *act;
	s->encoder = IM_NN_ENCODER_MLP;
	s->hidden_dim = width;
	s->num_hidden_layers = 1;
	s->feature_dim = width;
	s->activation = IM_NN_ACT_RELU;
	s->lstm_hidden = width;
	s->init_method = IM_NN_INIT_IDENTITY;
}

/* Specs come from plugins and the network: these bounds keep every size
 * product of the layout and the workspaces (feature + 1 + n, 4 * H) inside
 * int, as the wire's own limits do (validate.h). */
#define MAX_OBS_NUMEL (1u << 24)
#define MAX_ACTIONS (1 << 20)
#define MAX_WIDTH (1 << 24)

static int check_spec(const im_model_spec *s)
{
	if (s->obs.ndim < 1 || s->obs.ndim > IM_SPACE_MAX_DIMS)
		return IM_EINVAL;
	/* Checked step by step: the plain product of four int dimensions can
	 * wrap around size_t (65536^4 is 0). */
	size_t numel = 1;
	for (int i = 0; i < s->obs.ndim; i++) {
		if (s->obs.shape[i] < 1)
			return IM_EINVAL;
		numel *= (size_t)s->obs.shape[i];
		if (numel > MAX_OBS_NUMEL)
			return IM_EINVAL;
	}
	if (s->obs.dtype != IM_DTYPE_F32 && s->obs.dtype != IM_DTYPE_U8)
		return IM_EINVAL;
	if (im_obs_scale_problem(s->obs.dtype, s->obs.scale))
		return IM_EINVAL;
	if (s->obs_norm && s->obs.dtype != IM_DTYPE_F32)
		return IM_EINVAL;
	if (s->feature_dim > MAX_WIDTH ||
	    (s->use_lstm && s->lstm_hidden > MAX_WIDTH))
		return IM_EINVAL;
	if (s->act.kind == IM_ACT_DISCRETE) {
		if (s->act.n < 1 || s->act.n > MAX_ACTIONS)
			return IM_EINVAL;
	} else if (s->act.kind == IM_ACT_BOX) {
		if (s->act.n < 1 || s->act.n > IM_SPACE_MAX_ACTION_DIM)
			return IM_EINVAL;
	} else {
		return IM_EINVAL;
	}
	if (s->use_lstm && s->lstm_hidden < 1)
		return IM_EINVAL;
	if ((unsigned)s->init_method > IM_NN_INIT_XAVIER_NORMAL)
		return IM_EINVAL;
	return IM_OK;
}

/* Core and heads after the encoder, in state_dict order. */
static int layout_rest(im_model *m, im_nni_layout *lay)
{
	int H = m->spec.lstm_hidden, C = m->core_dim;
	m->t_wih = m->t_whh = m->t_bih = m->t_bhh = m->t_logstd = -1;
	if (m->spec.use_lstm) {
		m->t_wih = im_nni_layout_add(lay, "core.weight_ih_l0", 4 * H,
					     m->core_in);
		m->t_whh = im_nni_layout_add(lay, "core.weight_hh_l0", 4 * H, H);
		m->t_bih = im_nni_layout_add(lay, "core.bias_ih_l0", 4 * H, 0);
		m->t_bhh = im_nni_layout_add(lay, "core.bias_hh_l0", 4 * H, 0);
	}
	m->t_pw = im_nni_layout_add(lay, "policy.weight", m->n, C);
	m->t_pb = im_nni_layout_add(lay, "policy.bias", m->n, 0);
	if (m->spec.act.kind == IM_ACT_BOX)
		m->t_logstd = im_nni_layout_add(lay, "policy.log_std", m->n, 0);
	m->t_bw = im_nni_layout_add(lay, "baseline.weight", 1, C);
	m->t_bb = im_nni_layout_add(lay, "baseline.bias", 1, 0);
	m->t_mu = m->t_sigma = -1;
	if (m->spec.popart) {
		m->t_mu = im_nni_layout_add(lay, "baseline.mu", 1, 0);
		m->t_sigma = im_nni_layout_add(lay, "baseline.sigma", 1, 0);
		if (m->t_sigma < 0)
			return IM_ERANGE;
	}
	m->t_on_mean = m->t_on_var = m->t_on_count = -1;
	if (m->spec.obs_norm) {
		m->t_on_mean = im_nni_layout_add(lay, "obs_norm.mean",
						 m->obs_numel, 0);
		m->t_on_var = im_nni_layout_add(lay, "obs_norm.var",
						m->obs_numel, 0);
		m->t_on_count = im_nni_layout_add(lay, "obs_norm.count", 1, 0);
		if (m->t_on_count < 0)
			return IM_ERANGE;
	}
	return m->t_bb < 0 ? IM_ERANGE : IM_OK;
}

int im_model_new(im_model **out, const im_model_spec *spec)
{
	im_nni_layout lay;
	int rc = check_spec(spec);
	if (rc)
		return rc;
	im_model *m = calloc(1, sizeof(*m));
	if (!m)
		return IM_ENOMEM;
	m->spec = *spec;
	m->spec.obs.low = m->spec.obs.high = NULL; /* not ours to keep */
	m->obs_numel = (int)im_obs_numel(&spec->obs);
	m->n = spec->act.n;
	m->core_dim = spec->use_lstm ? spec->lstm_hidden : spec->feature_dim;
	m->core_in = spec->feature_dim + 1 + m->n;
	rc = IM_EINVAL;
	m->enc = im_nni_encoder_get(spec->encoder);
	if (!m->enc)
		goto fail;
	lay = (im_nni_layout){m->tensors, 0, IM_NNI_MAX_TENSORS, 0};
	rc = m->enc->create(&m->enc_state, spec, &lay);
	if (rc)
		goto fail;
	rc = layout_rest(m, &lay);
	if (rc)
		goto fail;
	m->ntensors = lay.n;
	m->nparams = lay.off;
	rc = IM_ENOMEM;
	size_t bytes = im_nni_align(m->nparams) * sizeof(float);
	m->params = aligned_alloc(64, bytes);
	m->grads = aligned_alloc(64, bytes);
	if (!m->params || !m->grads)
		goto fail;
	memset(m->grads, 0, bytes);
	rc = im_model_init_params(m, m->params, spec->init_method, spec->seed);
	if (rc)
		goto fail;
	*out = m;
	return IM_OK;
fail:
	im_model_free(m);
	return rc;
}

void im_model_free(im_model *m)
{
	if (!m)
		return;
	if (m->enc && m->enc_state)
		m->enc->destroy(m->enc_state);
	free(m->params);
	free(m->grads);
	free(m);
}

const im_model_spec *im_model_get_spec(const im_model *m)
{
	return &m->spec;
}

size_t im_model_num_params(const im_model *m)
{
	return m->nparams;
}

float *im_model_params(im_model *m)
{
	return m->params;
}

float *im_model_grads(im_model *m)
{
	return m->grads;
}

void im_model_zero_grads(im_model *m)
{
	memset(m->grads, 0, m->nparams * sizeof(float));
}

const im_tensor_desc *im_model_tensors(const im_model *m, int *n)
{
	*n = m->ntensors;
	return m->tensors;
}

const im_tensor_desc *im_model_find(const im_model *m, const char *name)
{
	for (int i = 0; i < m->ntensors; i++)
		if (!strcmp(m->tensors[i].name, name))
			return &m->tensors[i];
	return NULL;
}

double im_model_encoder_macs(const im_model *m, double *first)
{
	double f = 0, all = m->enc->macs(m->enc_state, &f);
	if (first)
		*first = f;
	return all;
}

int im_model_policy_dim(const im_model *m)
{
	return m->n;
}

int im_model_core_dim(const im_model *m)
{
	return m->core_dim;
}

int im_model_state_dim(const im_model *m)
{
	return m->spec.use_lstm ? m->spec.lstm_hidden : 0;
}

static void describe(const im_model *m, im_nni_writer *w)
{
	const im_model_spec *s = &m->spec;
	int C = m->core_dim;
	im_nni_printf(w, "ActorCritic(\n");
	if (s->obs_norm)
		im_nni_printf(w, "  (obs_norm): RunningMeanStd(%d, clip=%g)  "
				 "# (x - mean) / sqrt(var + %g), clipped; mean, var, "
				 "count: buffers\n",
			      m->obs_numel, (double)IM_OBSNORM_CLIP,
			      IM_OBSNORM_EPS);
	m->enc->describe(m->enc_state, w);
	if (s->use_lstm)
		im_nni_printf(w, "  (core): LSTM(%d, %d)  "
				 "# input: features %d + clipped reward 1 + %s %d\n",
			      m->core_in, s->lstm_hidden, s->feature_dim,
			      s->act.kind == IM_ACT_DISCRETE ? "one-hot action"
							     : "action",
			      m->n);
	im_nni_printf(w, "  (policy): Linear(in_features=%d, out_features=%d, "
			 "bias=True)  # %s\n",
		      C, m->n,
		      s->act.kind == IM_ACT_DISCRETE
			      ? "categorical logits"
			      : "Gaussian mean; log_std: learned, state-independent");
	im_nni_printf(w, "  (baseline): %s(in_features=%d, "
			 "out_features=1, bias=True)%s\n)\n",
		      s->popart ? "PopArt" : "Linear", C,
		      s->popart ? "  # sigma * (w h + b) + mu; mu, sigma: buffers"
				: "");
	im_nni_printf(w, "init: %s, seed %llu\n", im_nn_init_name(s->init_method),
		      (unsigned long long)s->seed);
	for (int i = 0; i < m->ntensors; i++) {
		const im_tensor_desc *t = &m->tensors[i];
		im_nni_printf(w, "  %-20s (", t->name);
		for (int d = 0; d < t->ndim; d++)
			im_nni_printf(w, "%s%lld", d ? ", " : "",
				      (long long)t->shape[d]);
		im_nni_printf(w, t->ndim == 1 ? ",)\n" : ")\n");
	}
	im_nni_printf(w, "parameters: %zu (%.1f KiB as float32)\n", m->nparams,
		      (double)m->nparams * 4.0 / 1024.0);
}

int im_model_describe(const im_model *m, FILE *f)
{
	im_nni_writer w = {.f = f};
	describe(m, &w);
	return w.err ? IM_EIO : IM_OK;
}

int im_model_describe_buf(const im_model *m, char *buf, size_t len)
{
	im_nni_writer w = {.buf = buf, .len = len};
	if (len)
		buf[0] = '\0';
	describe(m, &w);
	return w.err ? IM_EIO : (int)w.pos;
}
