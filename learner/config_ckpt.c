// SPDX-License-Identifier: Apache-2.0
#include "config_ckpt.h"

#include "err.h"
#include "flags.h"
#include "learn/ckpt.h"
#include "learn/json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The inclusive range the flag table (config.c) gives flag: the one
 * source of the limits, so that a run spec cannot hold a size the flag
 * would refuse. */
static void flag_range(const char *flag, double *lo, double *hi)
{
	im_learner_config tmp;
	im_flag t[IM_LEARNER_MAX_FLAGS];
	im_learner_config_defaults(&tmp);
	size_t n = im_learner_config_table(&tmp, t);
	*lo = 1, *hi = 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, flag))
			*lo = t[i].lo, *hi = t[i].hi;
}

/* An enum field: its name in the spec, parsed by the module's own parser. */
static int spec_enum(const arch_field *f, const im_json *v, int *out,
		     char *err, size_t errlen)
{
	char why[160];
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

/* The value the spec holds for f, as an int (enums by their value): a
 * BOOL is 0 or 1, an INT within its flag's range. */
static int spec_value(const arch_field *f, const im_json *v, int *out,
		      char *err, size_t errlen)
{
	if (f->kind == ACTIVATION || f->kind == ENCODER)
		return spec_enum(f, v, out, err, errlen);
	double lo = 0, hi = 1;
	if (f->kind == INT)
		flag_range(f->flag, &lo, &hi);
	if (v->type != IM_JSON_NUMBER || !v->is_uint)
		return im_errf(err, errlen, IM_ECORRUPT,
			       "run spec: %s is not a whole number", f->key);
	if ((double)v->uint < lo || (double)v->uint > hi)
		return im_errf(err, errlen, IM_ECORRUPT,
			       "run spec: %s %llu is outside --%s's range "
			       "[%.0f, %.0f]",
			       f->key, (unsigned long long)v->uint, f->flag, lo,
			       hi);
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

/* Every run spec this project wrote records the activation (it has since
 * the first one), and the tensors' shapes are the same for relu and tanh:
 * a checkpoint without it is another writer's, and guessing would build a
 * network that computes something else.  Only an explicit --activation
 * makes it unambiguous (README, "Checkpoints"). */
static int no_activation(const im_json *spec, char *err, size_t errlen)
{
	const char *what = spec ? "its run spec records no activation"
				: "it has no run spec";
	return im_errf(err, errlen, IM_ECORRUPT,
		       "%s, and the tensors cannot tell relu from tanh: give "
		       "--activation relu or --activation tanh",
		       what);
}

static int adopt(im_learner_config *c, const im_json *spec, const char *path,
		 int with_env, char *note, size_t notelen, char *err,
		 size_t errlen)
{
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		const im_json *v = im_json_get(spec, fields[i].key);
		int want, rc;
		if (!v && fields[i].kind == ACTIVATION &&
		    !im_learner_config_given(c, fields[i].flag))
			return no_activation(spec, err, errlen);
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
	if (rc == IM_OK && spec && spec->type != IM_JSON_OBJECT)
		rc = im_errf(err, errlen, IM_ECORRUPT, "--init-model-path %s: "
						       "run spec is not a JSON object",
			     path);
	im_learner_config work = *c;
	if (rc == IM_OK) {
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

/* key and a number printed by fmt, after a comma unless the first member
 * (the buffer then holds only the opening brace). */
static void spec_raw(im_json_buf *b, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void spec_raw(im_json_buf *b, const char *key, const char *fmt, ...)
{
	char v[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(v, sizeof v, fmt, ap);
	va_end(ap);
	im_json_buf_cstr(b, b->len > 1 ? "," : "");
	im_json_buf_str(b, key);
	im_json_buf_cstr(b, ":");
	im_json_buf_raw(b, v, n < 0 ? 0 : (size_t)n < sizeof v ? (size_t)n
							       : sizeof v - 1);
}

/* key and the string v, escaped. */
static void spec_str(im_json_buf *b, const char *key, const char *v)
{
	im_json_buf_cstr(b, b->len > 1 ? "," : "");
	im_json_buf_str(b, key);
	im_json_buf_cstr(b, ":");
	im_json_buf_str(b, v);
}

int im_config_ckpt_spec_json(const im_learner_config *c, const char *env,
			     im_nn_encoder_kind encoder, char **out)
{
	im_json_buf b = {0};
	im_json_buf_cstr(&b, "{");
	spec_str(&b, "env", env);
	spec_raw(&b, "num_steps", "%d", c->num_steps);
	spec_raw(&b, "batch_size", "%d", c->batch_size);
	spec_raw(&b, "hidden_dim", "%d", c->hidden_dim);
	spec_raw(&b, "num_hidden_layers", "%d", c->num_hidden_layers);
	spec_raw(&b, "feature_dim", "%d", c->feature_dim);
	spec_str(&b, "activation", im_nn_activation_name(c->activation));
	spec_str(&b, "encoder", im_nn_encoder_name(encoder));
	spec_raw(&b, "use_lstm", "%d", c->use_lstm);
	spec_raw(&b, "lstm_hidden", "%d", c->use_lstm ? c->lstm_hidden : 0);
	spec_str(&b, "network_init_method",
		 im_nn_init_name(c->network_init_method));
	spec_str(&b, "optimizer", im_optim_kind_name(c->optimizer));
	spec_raw(&b, "lr", "%g", c->lr);
	spec_raw(&b, "discount", "%g", c->discount);
	spec_raw(&b, "popart", "%d", c->popart);
	spec_raw(&b, "obs_norm", "%d", c->obs_norm);
	spec_raw(&b, "explore_eps", "%g", c->explore_eps);
	spec_raw(&b, "explore_hold", "%g", c->explore_hold);
	spec_raw(&b, "seed", "%" PRId64, c->seed);
	im_json_buf_cstr(&b, "}");
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	return IM_OK;
}
