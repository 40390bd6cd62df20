// SPDX-License-Identifier: Apache-2.0
#include "config_ckpt.h"

#include "err.h"
#include "learn/ckpt.h"
#include "learn/json.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef enum field_kind { INT,
			  BOOL,
			  ACTIVATION,
			  ENCODER } field_kind;

/* An architecture flag and its key in the run spec. */
typedef struct arch_field {
	const char *flag;
	const char *key;
	field_kind kind;
	size_t off; /* INT and BOOL: offset of the int in the config */
} arch_field;

#define INT_FIELD(flag, key, kind) \
	{ \
		flag, #key, kind, offsetof(im_learner_config, key) \
	}

/* --lstm-hidden is handled after these: the spec stores 0 without LSTM. */
static const arch_field fields[] = {
	INT_FIELD("hidden-dim", hidden_dim, INT),
	INT_FIELD("num-hidden-layers", num_hidden_layers, INT),
	INT_FIELD("feature-dim", feature_dim, INT),
	{"activation", "activation", ACTIVATION, 0},
	{"encoder", "encoder", ENCODER, 0},
	INT_FIELD("use-lstm", use_lstm, BOOL),
	INT_FIELD("popart", popart, BOOL),
	INT_FIELD("obs-norm", obs_norm, BOOL),
};

static int *int_at(im_learner_config *c, const arch_field *f)
{
	return (int *)(void *)((char *)c + f->off);
}

/* The value the spec holds for f, as an int (enums by their value). */
static int spec_value(const arch_field *f, const im_json *v, int *out,
		      char *err, size_t errlen)
{
	char why[160];
	if (f->kind == ACTIVATION || f->kind == ENCODER) {
		if (v->type != IM_JSON_STRING)
			return im_errf(err, errlen, IM_ECORRUPT,
				       "run spec: %s is not a name", f->key);
		im_nn_activation a;
		im_nn_encoder_kind e;
		int rc = f->kind == ACTIVATION
				 ? im_nn_activation_parse(v->str, &a, why, sizeof why)
				 : im_nn_encoder_parse(v->str, &e, why, sizeof why);
		if (rc || (f->kind == ENCODER && e == IM_NN_ENCODER_AUTO))
			return im_errf(err, errlen, IM_ECORRUPT, "run spec: %s %s",
				       f->key, rc ? why : "'auto' is not an encoder");
		*out = f->kind == ACTIVATION ? (int)a : (int)e;
		return IM_OK;
	}
	if (v->type != IM_JSON_NUMBER || !v->is_uint || v->uint > 1u << 20)
		return im_errf(err, errlen, IM_ECORRUPT,
			       "run spec: %s is not a size", f->key);
	*out = (int)v->uint;
	return IM_OK;
}

static int get(const im_learner_config *c, const arch_field *f)
{
	if (f->kind == ACTIVATION)
		return (int)c->activation;
	if (f->kind == ENCODER)
		return (int)c->encoder;
	return *int_at((im_learner_config *)c, f);
}

static void set(im_learner_config *c, const arch_field *f, int v)
{
	if (f->kind == ACTIVATION)
		c->activation = (im_nn_activation)v;
	else if (f->kind == ENCODER)
		c->encoder = (im_nn_encoder_kind)v;
	else
		*int_at(c, f) = v;
}

/* "--hidden-dim 64", "--activation tanh", "--use-lstm", "--no-popart". */
static void flag_text(const arch_field *f, int v, char *buf, size_t len)
{
	if (f->kind == BOOL)
		snprintf(buf, len, "--%s%s", v ? "" : "no-", f->flag);
	else if (f->kind == ACTIVATION)
		snprintf(buf, len, "--%s %s", f->flag,
			 im_nn_activation_name((im_nn_activation)v));
	else if (f->kind == ENCODER)
		snprintf(buf, len, "--%s %s", f->flag,
			 im_nn_encoder_name((im_nn_encoder_kind)v));
	else
		snprintf(buf, len, "--%s %d", f->flag, v);
}

static void note_add(char *note, size_t len, const char *what)
{
	size_t n = strlen(note);
	if (n < len)
		snprintf(note + n, len - n, "%s%s", n ? ", " : "", what);
}

/* Applies one field: adopt it, or check a given value against it. */
static int apply(im_learner_config *c, const arch_field *f, int want,
		 const char *path, char *note, size_t notelen, char *err,
		 size_t errlen)
{
	char theirs[96], ours[96];
	flag_text(f, want, theirs, sizeof theirs);
	if (!im_learner_config_given(c, f->flag)) {
		if (get(c, f) != want)
			note_add(note, notelen, theirs);
		set(c, f, want);
		return IM_OK;
	}
	if (get(c, f) == want ||
	    (f->kind == ENCODER && c->encoder == IM_NN_ENCODER_AUTO)) {
		set(c, f, want);
		return IM_OK;
	}
	flag_text(f, get(c, f), ours, sizeof ours);
	return im_errf(err, errlen, IM_EINVAL, "%s contradicts the checkpoint "
					       "%s, trained with %s: drop the flag to use the "
					       "checkpoint's architecture",
		       ours, path, theirs);
}

/* --lstm-hidden: the spec's value when the checkpoint has an LSTM core,
 * else (nothing to match) --feature-dim's, as the parser would set it. */
static int apply_lstm(im_learner_config *c, const im_json *spec,
		      const char *path, char *note, size_t notelen, char *err,
		      size_t errlen)
{
	static const arch_field lstm = INT_FIELD("lstm-hidden", lstm_hidden, INT);
	const im_json *v = im_json_get(spec, "lstm_hidden");
	int want = 0;
	if (v) {
		int rc = spec_value(&lstm, v, &want, err, errlen);
		if (rc)
			return rc;
	}
	if (c->use_lstm && want > 0)
		return apply(c, &lstm, want, path, note, notelen, err, errlen);
	if (!im_learner_config_given(c, "lstm-hidden"))
		c->lstm_hidden = c->feature_dim;
	return IM_OK;
}

static int adopt_env(im_learner_config *c, const im_json *spec, char *note,
		     size_t notelen)
{
	const im_json *v = im_json_get(spec, "env");
	if (!v || v->type != IM_JSON_STRING || !v->str[0] ||
	    v->len >= sizeof c->env_buf || im_learner_config_given(c, "env"))
		return IM_OK;
	if (strcmp(c->env, v->str) != 0) {
		char what[300];
		snprintf(what, sizeof what, "--env %s", v->str);
		note_add(note, notelen, what);
	}
	memcpy(c->env_buf, v->str, v->len + 1);
	c->env = c->env_buf;
	return IM_OK;
}

static int adopt(im_learner_config *c, const im_json *spec, const char *path,
		 int with_env, char *note, size_t notelen, char *err,
		 size_t errlen)
{
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		const im_json *v = im_json_get(spec, fields[i].key);
		int want, rc;
		if (!v)
			continue;
		if ((rc = spec_value(&fields[i], v, &want, err, errlen)) ||
		    (rc = apply(c, &fields[i], want, path, note, notelen, err,
				errlen)))
			return rc;
	}
	int rc = apply_lstm(c, spec, path, note, notelen, err, errlen);
	if (rc == IM_OK && with_env)
		rc = adopt_env(c, spec, note, notelen);
	return rc;
}

int im_config_ckpt_adopt(im_learner_config *c, const char *path,
			 int with_env, char *note, size_t notelen, char *err,
			 size_t errlen)
{
	if (notelen)
		note[0] = '\0';
	im_ckpt *f = NULL;
	char why[400];
	int rc = im_ckpt_open(&f, path, why, sizeof why);
	if (rc)
		return im_errf(err, errlen, rc, "--init-model-path %s: %s", path,
			       why);
	const char *text = im_ckpt_meta(f, "run_spec");
	im_json *spec = NULL;
	if (text && (rc = im_json_parse(&spec, text, strlen(text), why,
					sizeof why)))
		rc = im_errf(err, errlen, IM_ECORRUPT, "--init-model-path %s: "
						       "run spec: %s",
			     path, why);
	im_learner_config work = *c;
	if (spec && spec->type == IM_JSON_OBJECT) {
		char e[600];
		rc = adopt(&work, spec, path, with_env, note, notelen, e, sizeof e);
		if (rc == IM_ECORRUPT)
			im_errf(err, errlen, rc, "--init-model-path %s: %s", path, e);
		else if (rc)
			im_errf(err, errlen, rc, "%s", e);
	}
	if (rc == IM_OK) {
		int own_env = work.env == work.env_buf;
		*c = work;
		if (own_env)
			c->env = c->env_buf;
	}
	im_json_free(spec);
	im_ckpt_close(f);
	return rc;
}
