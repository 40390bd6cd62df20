// SPDX-License-Identifier: Apache-2.0
#include "runspec.h"

#include "err.h"

#include <stdio.h>
#include <string.h>

int im_runspec_build(im_runspec_store *s, uint64_t run_id,
		     const char *env_name, uint32_t num_steps, uint64_t seed,
		     const im_model_spec *m, uint64_t param_count)
{
	if (strlen(env_name) >= sizeof s->env_name ||
	    m->num_hidden_layers > IM_RUNSPEC_MAX_LAYERS ||
	    m->num_hidden_layers < 1)
		return IM_EINVAL;
	memset(s, 0, sizeof *s);
	impala__run_spec__init(&s->spec);
	impala__model_spec__init(&s->model);
	snprintf(s->env_name, sizeof s->env_name, "%s", env_name);
	s->spec.run_id = run_id;
	s->spec.env_name = s->env_name;
	s->spec.num_steps = num_steps;
	s->spec.seed = seed;
	for (int i = 0; i < m->obs.ndim; i++)
		s->obs_shape[i] = (uint32_t)m->obs.shape[i];
	s->spec.n_obs_shape = (size_t)m->obs.ndim;
	s->spec.obs_shape = s->obs_shape;
	s->spec.obs_dtype = m->obs.dtype == IM_DTYPE_U8
				    ? IMPALA__DTYPE__DTYPE_UINT8
				    : IMPALA__DTYPE__DTYPE_FLOAT32;
	/* Stated explicitly for uint8 (0 in the space means 1). */
	s->spec.obs_scale = m->obs.dtype == IM_DTYPE_U8 ? im_obs_scale(&m->obs)
							: 0.0f;
	if (m->act.kind == IM_ACT_DISCRETE) {
		s->spec.action_kind = IMPALA__ACTION_KIND__ACTION_DISCRETE;
		s->spec.num_actions = (uint32_t)m->act.n;
	} else {
		s->spec.action_kind = IMPALA__ACTION_KIND__ACTION_BOX;
		s->spec.action_dim = (uint32_t)m->act.n;
		memcpy(s->low, m->act.low, sizeof(float) * (size_t)m->act.n);
		memcpy(s->high, m->act.high, sizeof(float) * (size_t)m->act.n);
		s->spec.n_action_low = s->spec.n_action_high = (size_t)m->act.n;
		s->spec.action_low = s->low;
		s->spec.action_high = s->high;
	}
	for (int i = 0; i < m->num_hidden_layers; i++)
		s->hidden[i] = (uint32_t)m->hidden_dim;
	s->model.encoder = (char *)im_nn_encoder_name(m->encoder);
	s->model.n_hidden_sizes = (size_t)m->num_hidden_layers;
	s->model.hidden_sizes = s->hidden;
	s->model.feature_dim = (uint32_t)m->feature_dim;
	s->model.activation = (char *)im_nn_activation_name(m->activation);
	s->model.use_lstm = m->use_lstm != 0;
	s->model.lstm_hidden = m->use_lstm ? (uint32_t)m->lstm_hidden : 0;
	s->model.param_count = param_count;
	s->model.init_method = (char *)im_nn_init_name(m->init_method);
	s->model.popart = m->popart != 0;
	s->model.obs_norm = m->obs_norm != 0;
	s->spec.model = &s->model;
	return IM_OK;
}

static int spec_fail(char *err, size_t errlen, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, "run spec: %s", what);
	return IM_EINVAL;
}

static int model_part(im_model_spec *o, const Impala__ModelSpec *m, char *err,
		      size_t errlen)
{
	im_nn_encoder_kind enc = IM_NN_ENCODER_MLP;
	char why[200];
	if (im_nn_encoder_parse(m->encoder, &enc, why, sizeof why) ||
	    enc == IM_NN_ENCODER_AUTO)
		return im_errf(err, errlen, IM_EINVAL, "run spec: encoder %s",
			       enc == IM_NN_ENCODER_AUTO ? "'auto' is not an "
							   "encoder (the learner resolves it)"
							 : why);
	if (m->n_hidden_sizes < 1 || m->n_hidden_sizes > IM_RUNSPEC_MAX_LAYERS)
		return spec_fail(err, errlen, "hidden layer count out of range");
	for (size_t i = 1; i < m->n_hidden_sizes; i++)
		if (m->hidden_sizes[i] != m->hidden_sizes[0])
			return spec_fail(err, errlen, "hidden layers of unequal width");
	if (m->hidden_sizes[0] < 1 || m->hidden_sizes[0] > 65536 ||
	    m->feature_dim < 1 || m->feature_dim > 65536 ||
	    m->lstm_hidden > 65536 || (m->use_lstm && m->lstm_hidden < 1))
		return spec_fail(err, errlen, "layer width out of range");
	if (im_nn_activation_parse(m->activation, &o->activation, why,
				   sizeof why))
		return im_errf(err, errlen, IM_EINVAL, "run spec: activation %s",
			       why);
	if (im_nn_init_parse(m->init_method, &o->init_method, why, sizeof why))
		return im_errf(err, errlen, IM_EINVAL, "run spec: init method "
						       "%s",
			       why);
	o->encoder = enc;
	o->hidden_dim = (int)m->hidden_sizes[0];
	o->num_hidden_layers = (int)m->n_hidden_sizes;
	o->feature_dim = (int)m->feature_dim;
	o->use_lstm = m->use_lstm;
	o->lstm_hidden = (int)m->lstm_hidden;
	o->popart = m->popart;
	o->obs_norm = m->obs_norm;
	return IM_OK;
}

/* dtype and scale of the observations. */
static int dtype_part(im_obs_space *o, const Impala__RunSpec *s, char *err,
		      size_t errlen)
{
	float k = s->obs_scale;
	if (s->obs_dtype != IMPALA__DTYPE__DTYPE_FLOAT32 &&
	    s->obs_dtype != IMPALA__DTYPE__DTYPE_UINT8)
		return spec_fail(err, errlen, "observation dtype is neither "
					      "float32 nor uint8");
	o->dtype = s->obs_dtype == IMPALA__DTYPE__DTYPE_UINT8 ? IM_DTYPE_U8
							      : IM_DTYPE_F32;
	const char *why = im_obs_scale_problem(o->dtype, k);
	if (why) {
		char what[96];
		snprintf(what, sizeof what, "obs_scale %g %s", (double)k, why);
		return spec_fail(err, errlen, what);
	}
	o->scale = o->dtype == IM_DTYPE_U8 ? k : 0.0f;
	return IM_OK;
}

static int action_part(im_act_space *a, const Impala__RunSpec *s, char *err,
		       size_t errlen)
{
	memset(a, 0, sizeof *a);
	if (s->action_kind == IMPALA__ACTION_KIND__ACTION_DISCRETE) {
		if (s->num_actions < 1 || s->num_actions > (1u << 20))
			return spec_fail(err, errlen, "action count out of range");
		a->kind = IM_ACT_DISCRETE;
		a->n = (int)s->num_actions;
		return IM_OK;
	}
	if (s->action_kind != IMPALA__ACTION_KIND__ACTION_BOX)
		return spec_fail(err, errlen, "unknown action kind");
	if (s->action_dim < 1 || s->action_dim > IM_SPACE_MAX_ACTION_DIM ||
	    s->n_action_low != s->action_dim || s->n_action_high != s->action_dim)
		return spec_fail(err, errlen, "Box action bounds sized wrong");
	a->kind = IM_ACT_BOX;
	a->n = (int)s->action_dim;
	memcpy(a->low, s->action_low, sizeof(float) * s->action_dim);
	memcpy(a->high, s->action_high, sizeof(float) * s->action_dim);
	return IM_OK;
}

int im_runspec_model(im_model_spec *out, const Impala__RunSpec *spec,
		     char *err, size_t errlen)
{
	im_model_spec o;
	memset(&o, 0, sizeof o);
	if (!spec || !spec->model)
		return spec_fail(err, errlen, "missing model");
	if (spec->n_obs_shape < 1 || spec->n_obs_shape > IM_SPACE_MAX_DIMS)
		return spec_fail(err, errlen, "observation rank out of range");
	o.obs.ndim = (int)spec->n_obs_shape;
	size_t numel = 1;
	for (size_t i = 0; i < spec->n_obs_shape; i++) {
		if (spec->obs_shape[i] < 1 || spec->obs_shape[i] > (1u << 24))
			return spec_fail(err, errlen, "observation size out of range");
		o.obs.shape[i] = (int)spec->obs_shape[i];
		/* Bounded at every step: four factors of up to 2^24 would
		 * wrap size_t (to 0) before a check at the end. */
		numel *= spec->obs_shape[i];
		if (numel > (1u << 24))
			return spec_fail(err, errlen, "observation too large");
	}
	int rc = dtype_part(&o.obs, spec, err, errlen);
	if (rc)
		return rc;
	rc = action_part(&o.act, spec, err, errlen);
	if (rc)
		return rc;
	rc = model_part(&o, spec->model, err, errlen);
	if (rc)
		return rc;
	if (o.obs_norm && o.obs.dtype != IM_DTYPE_F32)
		return spec_fail(err, errlen, "obs_norm needs float32 "
					      "observations");
	o.seed = spec->seed;
	*out = o;
	return IM_OK;
}
