// SPDX-License-Identifier: Apache-2.0
#include "validate.h"

#include "err.h"
#include "wire.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The wire carries little-endian arrays and this file reads them in place. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "validate.c reads little-endian wire arrays natively; add byte swaps"
#endif

static const char *const reason_names[IM_REJECT_COUNT] = {
#define IM_XX_(id, name, text) [IM_REJECT_##id] = name,
	IM_REJECT_MAP(IM_XX_)
#undef IM_XX_
};

static const char *const reason_texts[IM_REJECT_COUNT] = {
#define IM_XX_(id, name, text) [IM_REJECT_##id] = text,
	IM_REJECT_MAP(IM_XX_)
#undef IM_XX_
};

const char *im_validate_reason_name(im_reject r)
{
	if ((unsigned)r >= IM_REJECT_COUNT)
		return "unknown";
	return reason_names[r];
}

const char *im_validate_reason_text(im_reject r)
{
	if ((unsigned)r >= IM_REJECT_COUNT)
		return "unknown reason";
	return reason_texts[r];
}

im_reject im_validate_decode_rc(int rc)
{
	if (rc == IM_OK)
		return IM_REJECT_OK;
	return rc == IM_ETOOBIG ? IM_REJECT_OVERSIZED : IM_REJECT_DECODE_ERROR;
}

/* Where a rejection's detail goes. */
typedef struct vmsg {
	char *buf;
	size_t len;
} vmsg;

__attribute__((format(printf, 3, 4))) static im_reject
reject(vmsg *m, im_reject r, const char *fmt, ...)
{
	if (m->buf && m->len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(m->buf, m->len, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* ---- the run's dimensions ---- */

static int dims_obs(im_run_dims *d, const Impala__RunSpec *s)
{
	if (s->n_obs_shape == 0 || s->n_obs_shape > IM_VALIDATE_MAX_OBS_DIMS)
		return IM_ERANGE;
	size_t n = 1;
	for (size_t i = 0; i < s->n_obs_shape; i++) {
		uint32_t k = s->obs_shape[i];
		if (k == 0 || k > IM_VALIDATE_MAX_OBS_NUMEL ||
		    n * k > IM_VALIDATE_MAX_OBS_NUMEL)
			return IM_ERANGE;
		n *= k;
		d->obs_shape[i] = k;
	}
	d->obs_ndim = (uint32_t)s->n_obs_shape;
	d->obs_numel = n;
	d->obs_dtype = s->obs_dtype;
	if (s->obs_dtype == IMPALA__DTYPE__DTYPE_FLOAT32)
		d->obs_elem = 4;
	else if (s->obs_dtype == IMPALA__DTYPE__DTYPE_UINT8)
		d->obs_elem = 1;
	else
		return IM_ESHAPE;
	return IM_OK;
}

static int dims_action(im_run_dims *d, const Impala__RunSpec *s)
{
	d->action_kind = s->action_kind;
	if (s->action_kind == IMPALA__ACTION_KIND__ACTION_DISCRETE) {
		if (s->num_actions == 0 ||
		    s->num_actions > IM_VALIDATE_MAX_ACTIONS)
			return IM_ERANGE;
		d->num_actions = s->num_actions;
		d->action_dim = 1;
		return IM_OK;
	}
	if (s->action_kind != IMPALA__ACTION_KIND__ACTION_BOX)
		return IM_ESHAPE;
	if (s->action_dim == 0 || s->action_dim > IM_VALIDATE_MAX_ACTION_DIM)
		return IM_ERANGE;
	d->num_actions = 0;
	d->action_dim = s->action_dim;
	return IM_OK;
}

int im_validate_dims(im_run_dims *out, const Impala__RunSpec *spec)
{
	if (!out || !spec || !spec->model)
		return IM_EINVAL;
	im_run_dims d;
	memset(&d, 0, sizeof d);
	if (spec->num_steps == 0 || spec->num_steps > IM_VALIDATE_MAX_STEPS)
		return IM_ERANGE;
	d.T = spec->num_steps;
	int rc = dims_obs(&d, spec);
	if (rc == IM_OK)
		rc = dims_action(&d, spec);
	if (rc != IM_OK)
		return rc;
	if (spec->model->use_lstm) {
		uint32_t h = spec->model->lstm_hidden;
		if (h == 0 || h > IM_VALIDATE_MAX_LSTM)
			return IM_ERANGE;
		d.lstm_hidden = h;
	}
	*out = d;
	return IM_OK;
}

size_t im_validate_max_trajectory_bytes(const im_run_dims *d)
{
	size_t T = d->T, row = d->obs_numel * d->obs_elem;
	size_t D = d->action_dim, H = d->lstm_hidden;
	size_t arrays = (2 * T + 1) * row     /* obs, and T final rows */
			+ (T + 1) * D * 4     /* actions, prev_action */
			+ T * (4 + 1 + 1 + 4) /* rewards, flags, logp */
			+ 2 * H * 4           /* lstm_h, lstm_c */
			+ T * 24;             /* episode records */
	/* Every other byte (tags, lengths, shapes, scalars) fits in this. */
	return arrays + 4096;
}

/* ---- small helpers ---- */

static float load_f32(const uint8_t *p, size_t i)
{
	float v;
	memcpy(&v, p + 4 * i, sizeof v);
	return v;
}

static int32_t load_i32(const uint8_t *p, size_t i)
{
	int32_t v;
	memcpy(&v, p + 4 * i, sizeof v);
	return v;
}

/* Index of the first non-finite float in n, or n when all are finite. */
static size_t first_non_finite(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(load_f32(p, i)))
			return i;
	return n;
}

static void fmt_shape(char *buf, size_t len, const uint32_t *s, size_t n)
{
	size_t off = (size_t)snprintf(buf, len, "[");
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%u",
					i ? "," : "", s[i]);
	if (off < len)
		snprintf(buf + off, len - off, "]");
}

/* Expected tensor layout: [lead, tail...] of dtype, each element elem
 * bytes. */
typedef struct tspec {
	const char *name;
	uint32_t shape[IM_VALIDATE_MAX_OBS_DIMS + 1];
	size_t ndim;
	Impala__DType dtype;
	size_t elem;
} tspec;

static int shape_equal(const Impala__Tensor *x, const tspec *e)
{
	if (x->n_shape != e->ndim)
		return 0;
	for (size_t i = 0; i < e->ndim; i++)
		if (x->shape[i] != e->shape[i])
			return 0;
	return 1;
}

static im_reject check_tensor(const Impala__Tensor *x, const tspec *e,
			      vmsg *m)
{
	char got[96], want[96];
	if (!x)
		return reject(m, IM_REJECT_BAD_SHAPE, "%s missing", e->name);
	if (!shape_equal(x, e)) {
		fmt_shape(got, sizeof got, x->shape, x->n_shape);
		fmt_shape(want, sizeof want, e->shape, e->ndim);
		return reject(m, IM_REJECT_BAD_SHAPE, "%s shape %s, expected %s",
			      e->name, got, want);
	}
	if (x->dtype != e->dtype)
		return reject(m, IM_REJECT_BAD_DTYPE, "%s dtype %d, expected %d",
			      e->name, (int)x->dtype, (int)e->dtype);
	size_t n = e->elem;
	for (size_t i = 0; i < e->ndim; i++)
		n *= e->shape[i];
	if (x->data.len != n)
		return reject(m, IM_REJECT_BAD_LENGTH, "%s has %zu bytes, expected %zu",
			      e->name, x->data.len, n);
	return IM_REJECT_OK;
}

static im_reject check_finite(const uint8_t *p, size_t n, const char *name,
			      vmsg *m)
{
	size_t i = first_non_finite(p, n);
	if (i < n)
		return reject(m, IM_REJECT_NON_FINITE, "%s[%zu] is %g", name, i,
			      (double)load_f32(p, i));
	return IM_REJECT_OK;
}

/* A float32 [n] bytes field. */
static im_reject check_f32_bytes(const ProtobufCBinaryData *b, size_t n,
				 const char *name, vmsg *m)
{
	if (b->len != 4 * n)
		return reject(m, IM_REJECT_BAD_LENGTH, "%s has %zu bytes, expected %zu",
			      name, b->len, 4 * n);
	return check_finite(b->data, n, name, m);
}

static void obs_tspec(tspec *e, const im_run_dims *d, const char *name,
		      uint32_t lead)
{
	e->name = name;
	e->shape[0] = lead;
	memcpy(e->shape + 1, d->obs_shape, d->obs_ndim * sizeof(uint32_t));
	e->ndim = 1 + d->obs_ndim;
	e->dtype = d->obs_dtype;
	e->elem = d->obs_elem;
}

/* ---- the trajectory, field by field ---- */

static im_reject check_run(const Impala__Trajectory *t,
			   const im_validate_state *st, vmsg *m)
{
	if (t->protocol_version != IMPALA__CONSTANTS__PROTOCOL_VERSION)
		return reject(m, IM_REJECT_BAD_PROTOCOL_VERSION,
			      "protocol version %u, expected %u",
			      t->protocol_version,
			      (unsigned)IMPALA__CONSTANTS__PROTOCOL_VERSION);
	if (t->run_id != st->run_id) {
		im_reject r = (st->prev_run_id && t->run_id == st->prev_run_id)
				      ? IM_REJECT_STALE_RUN_ID
				      : IM_REJECT_FOREIGN_RUN_ID;
		return reject(m, r, "run id %016llx, expected %016llx",
			      (unsigned long long)t->run_id,
			      (unsigned long long)st->run_id);
	}
	if (t->actor_id == 0)
		return reject(m, IM_REJECT_MISSING_ACTOR_ID, "actor id is 0");
	if (!st->actor_lookup)
		return IM_REJECT_OK;
	im_validate_actor a;
	if (!st->actor_lookup(st->actor_ctx, t->actor_id, &a))
		return reject(m, IM_REJECT_UNKNOWN_ACTOR,
			      "actor %llu has no handshake",
			      (unsigned long long)t->actor_id);
	if (t->env_index >= a.num_envs)
		return reject(m, IM_REJECT_BAD_ENV_INDEX,
			      "env_index %u, actor %llu has %u environments",
			      t->env_index, (unsigned long long)t->actor_id,
			      a.num_envs);
	if (t->param_version < a.min_param_version)
		return reject(m, IM_REJECT_STALE_SESSION,
			      "param version %llu, actor welcomed at %llu",
			      (unsigned long long)t->param_version,
			      (unsigned long long)a.min_param_version);
	return IM_REJECT_OK;
}

static im_reject check_version(const Impala__Trajectory *t,
			       const im_validate_state *st, vmsg *m)
{
	if (t->param_version > st->param_version)
		return reject(m, IM_REJECT_FUTURE_PARAM_VERSION,
			      "param version %llu > learner's %llu",
			      (unsigned long long)t->param_version,
			      (unsigned long long)st->param_version);
	uint64_t lag = st->param_version - t->param_version;
	if (st->max_policy_lag && lag > st->max_policy_lag)
		return reject(m, IM_REJECT_POLICY_LAG,
			      "policy lag %llu > max %llu",
			      (unsigned long long)lag,
			      (unsigned long long)st->max_policy_lag);
	return IM_REJECT_OK;
}

static im_reject check_obs(const Impala__Trajectory *t, const im_run_dims *d,
			   vmsg *m)
{
	tspec e;
	obs_tspec(&e, d, "obs", d->T + 1);
	im_reject r = check_tensor(t->obs, &e, m);
	if (r == IM_REJECT_OK && d->obs_dtype == IMPALA__DTYPE__DTYPE_FLOAT32)
		r = check_finite(t->obs->data.data, (d->T + 1) * d->obs_numel,
				 "obs", m);
	return r;
}

static im_reject check_discrete_values(const uint8_t *p, size_t n,
				       uint32_t num_actions, const char *name,
				       vmsg *m)
{
	for (size_t i = 0; i < n; i++) {
		int32_t a = load_i32(p, i);
		if (a < 0 || (uint32_t)a >= num_actions)
			return reject(m, IM_REJECT_BAD_ACTION,
				      "%s[%zu] = %d outside [0, %u)", name, i,
				      (int)a, num_actions);
	}
	return IM_REJECT_OK;
}

static im_reject check_actions(const Impala__Trajectory *t,
			       const im_run_dims *d, vmsg *m)
{
	tspec e = {.name = "actions", .shape = {d->T}, .ndim = 1};
	int discrete = d->action_kind == IMPALA__ACTION_KIND__ACTION_DISCRETE;
	if (discrete) {
		e.dtype = IMPALA__DTYPE__DTYPE_INT32;
	} else {
		e.shape[1] = d->action_dim;
		e.ndim = 2;
		e.dtype = IMPALA__DTYPE__DTYPE_FLOAT32;
	}
	e.elem = 4;
	im_reject r = check_tensor(t->actions, &e, m);
	if (r != IM_REJECT_OK)
		return r;
	const uint8_t *p = t->actions->data.data;
	if (discrete)
		return check_discrete_values(p, d->T, d->num_actions, "actions",
					     m);
	return check_finite(p, (size_t)d->T * d->action_dim, "actions", m);
}

/* terminated and truncated; counts the truncated and done steps. */
static im_reject check_flags(const Impala__Trajectory *t,
			     const im_run_dims *d, uint32_t *n_trunc,
			     uint32_t *n_done, vmsg *m)
{
	if (t->terminated.len != d->T || t->truncated.len != d->T)
		return reject(m, IM_REJECT_BAD_LENGTH,
			      "terminated/truncated have %zu/%zu bytes, expected %u",
			      t->terminated.len, t->truncated.len, d->T);
	*n_trunc = *n_done = 0;
	for (uint32_t i = 0; i < d->T; i++) {
		uint8_t a = t->terminated.data[i], b = t->truncated.data[i];
		if (a > 1 || b > 1 || (a && b))
			return reject(m, IM_REJECT_BAD_FLAG,
				      "step %u: terminated=%u truncated=%u", i,
				      a, b);
		*n_trunc += b;
		*n_done += a | b;
	}
	return IM_REJECT_OK;
}

static im_reject check_logp(const Impala__Trajectory *t, const im_run_dims *d,
			    vmsg *m)
{
	im_reject r = check_f32_bytes(&t->behaviour_logp, d->T,
				      "behaviour_logp", m);
	if (r != IM_REJECT_OK ||
	    d->action_kind != IMPALA__ACTION_KIND__ACTION_DISCRETE)
		return r;
	/* A probability mass is at most 1; a Gaussian density may exceed 1,
	 * so only Discrete log-probabilities are bounded. */
	for (uint32_t i = 0; i < d->T; i++) {
		float v = load_f32(t->behaviour_logp.data, i);
		if (v > 0.0f)
			return reject(m, IM_REJECT_BAD_LOGP,
				      "behaviour_logp[%u] = %g > 0", i,
				      (double)v);
	}
	return IM_REJECT_OK;
}

static im_reject check_final_obs(const Impala__Trajectory *t,
				 const im_run_dims *d, uint32_t n_trunc,
				 vmsg *m)
{
	const Impala__Tensor *x = t->final_obs;
	if (n_trunc == 0 && (!x || x->data.len == 0))
		return IM_REJECT_OK;
	if (!x || x->n_shape == 0 || x->shape[0] != n_trunc)
		return reject(m, IM_REJECT_BAD_FINAL_OBS,
			      "final_obs has %u rows, %u steps truncated",
			      x && x->n_shape ? x->shape[0] : 0u, n_trunc);
	tspec e;
	obs_tspec(&e, d, "final_obs", n_trunc);
	im_reject r = check_tensor(x, &e, m);
	if (r == IM_REJECT_OK && d->obs_dtype == IMPALA__DTYPE__DTYPE_FLOAT32)
		r = check_finite(x->data.data, (size_t)n_trunc * d->obs_numel,
				 "final_obs", m);
	return r;
}

static im_reject check_lstm(const Impala__Trajectory *t, const im_run_dims *d,
			    vmsg *m)
{
	size_t want = 4 * (size_t)d->lstm_hidden;
	if (t->lstm_h.len != want || t->lstm_c.len != want)
		return reject(m, IM_REJECT_BAD_LSTM_STATE,
			      "lstm_h/lstm_c have %zu/%zu bytes, expected %zu",
			      t->lstm_h.len, t->lstm_c.len, want);
	im_reject r = check_finite(t->lstm_h.data, d->lstm_hidden, "lstm_h", m);
	if (r == IM_REJECT_OK)
		r = check_finite(t->lstm_c.data, d->lstm_hidden, "lstm_c", m);
	return r;
}

static im_reject check_prev_action(const Impala__Trajectory *t,
				   const im_run_dims *d, vmsg *m)
{
	const Impala__Tensor *x = t->prev_action;
	if (!isfinite(t->prev_reward))
		return reject(m, IM_REJECT_NON_FINITE, "prev_reward is %g",
			      (double)t->prev_reward);
	if (!x) {
		if (!d->lstm_hidden)
			return IM_REJECT_OK;
		return reject(m, IM_REJECT_BAD_PREV_ACTION,
			      "prev_action missing with an LSTM core");
	}
	int discrete = d->action_kind == IMPALA__ACTION_KIND__ACTION_DISCRETE;
	Impala__DType want = discrete ? IMPALA__DTYPE__DTYPE_INT32
				      : IMPALA__DTYPE__DTYPE_FLOAT32;
	/* A Discrete action may be a scalar ([]) or a one-element vector. */
	int shape_ok = discrete ? (x->n_shape == 0 ||
				   (x->n_shape == 1 && x->shape[0] == 1))
				: (x->n_shape == 1 && x->shape[0] == d->action_dim);
	if (!shape_ok || x->dtype != want || x->data.len != 4 * d->action_dim)
		return reject(m, IM_REJECT_BAD_PREV_ACTION,
			      "prev_action: %zu dims, dtype %d, %zu bytes",
			      x->n_shape, (int)x->dtype, x->data.len);
	if (discrete)
		return check_discrete_values(x->data.data, 1, d->num_actions,
					     "prev_action", m);
	return check_finite(x->data.data, d->action_dim, "prev_action", m);
}

static im_reject check_episodes(const Impala__Trajectory *t, uint32_t n_done,
				uint32_t max_len, vmsg *m)
{
	if (t->n_episodes > n_done)
		return reject(m, IM_REJECT_TOO_MANY_EPISODES,
			      "%zu episodes, %u done steps", t->n_episodes,
			      n_done);
	for (size_t i = 0; i < t->n_episodes; i++) {
		const Impala__Episode *e = t->episodes[i];
		if (!isfinite(e->episode_return))
			return reject(m, IM_REJECT_NON_FINITE,
				      "episode %zu return is %g", i,
				      (double)e->episode_return);
		if (e->length == 0)
			return reject(m, IM_REJECT_BAD_EPISODE,
				      "episode %zu has length 0", i);
		if (max_len && e->length > max_len)
			return reject(m, IM_REJECT_BAD_EPISODE,
				      "episode %zu has length %u, time limit %u",
				      i, e->length, max_len);
	}
	return IM_REJECT_OK;
}

/* Runs one check and returns from the caller on rejection. */
#define TRY(expr) \
	do { \
		im_reject r_ = (expr); \
		if (r_ != IM_REJECT_OK) \
			return r_; \
	} while (0)

im_reject im_validate_trajectory(const Impala__Trajectory *t,
				 const im_run_dims *d,
				 const im_validate_state *st, char *msg,
				 size_t msg_len)
{
	vmsg m = {msg, msg_len};
	if (msg && msg_len)
		msg[0] = '\0';
	if (!t)
		return reject(&m, IM_REJECT_DECODE_ERROR, "no message");
	TRY(check_run(t, st, &m));
	TRY(check_version(t, st, &m));
	if (t->num_steps != d->T)
		return reject(&m, IM_REJECT_BAD_NUM_STEPS,
			      "num_steps %u, expected %u", t->num_steps, d->T);
	uint32_t n_trunc = 0, n_done = 0;
	TRY(check_obs(t, d, &m));
	TRY(check_actions(t, d, &m));
	TRY(check_f32_bytes(&t->rewards, d->T, "rewards", &m));
	TRY(check_flags(t, d, &n_trunc, &n_done, &m));
	TRY(check_logp(t, d, &m));
	TRY(check_final_obs(t, d, n_trunc, &m));
	TRY(check_lstm(t, d, &m));
	TRY(check_prev_action(t, d, &m));
	TRY(check_episodes(t, n_done, st->max_episode_steps, &m));
	return IM_REJECT_OK;
}

/* ---- Params (actor side) and Hello (learner side) ---- */

im_reject im_validate_params(const Impala__Params *p, uint64_t run_id,
			     uint64_t param_count, char *msg, size_t msg_len)
{
	vmsg m = {msg, msg_len};
	if (msg && msg_len)
		msg[0] = '\0';
	if (!p)
		return reject(&m, IM_REJECT_DECODE_ERROR, "no message");
	if (p->run_id != run_id)
		return reject(&m, IM_REJECT_FOREIGN_RUN_ID,
			      "run id %016llx, expected %016llx",
			      (unsigned long long)p->run_id,
			      (unsigned long long)run_id);
	if (p->param_count != param_count)
		return reject(&m, IM_REJECT_BAD_PARAM_COUNT,
			      "param_count %llu, expected %llu",
			      (unsigned long long)p->param_count,
			      (unsigned long long)param_count);
	if (param_count > SIZE_MAX / 4 || p->data.len != 4 * param_count)
		return reject(&m, IM_REJECT_BAD_LENGTH,
			      "data has %zu bytes, expected %llu * 4",
			      p->data.len, (unsigned long long)param_count);
	if (p->n_flow_actor_ids > IM_WIRE_MAX_FLOW_MARKS ||
	    p->n_flow_next_seqs > IM_WIRE_MAX_FLOW_MARKS)
		return reject(&m, IM_REJECT_OVERSIZED,
			      "%zu flow marks, at most %u",
			      p->n_flow_actor_ids > p->n_flow_next_seqs
				      ? p->n_flow_actor_ids
				      : p->n_flow_next_seqs,
			      IM_WIRE_MAX_FLOW_MARKS);
	uint32_t crc = im_wire_crc32c(p->data.data, p->data.len);
	if (crc != p->checksum)
		return reject(&m, IM_REJECT_BAD_CHECKSUM,
			      "crc32c %08x, message says %08x", crc,
			      p->checksum);
	return check_finite(p->data.data, param_count, "params", &m);
}

__attribute__((format(printf, 3, 4))) static void
reason_printf(char *buf, size_t len, const char *fmt, ...)
{
	if (!buf || !len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

Impala__RefusalCode im_validate_hello(const Impala__Hello *h,
				      const char *env_name, char *reason,
				      size_t reason_len)
{
	reason_printf(reason, reason_len, "%s", "");
	if (!h) {
		reason_printf(reason, reason_len, "no hello");
		return IMPALA__REFUSAL_CODE__REFUSAL_BAD_REQUEST;
	}
	if (h->protocol_version != IMPALA__CONSTANTS__PROTOCOL_VERSION) {
		reason_printf(reason, reason_len,
			      "learner speaks protocol version %u, actor %u",
			      (unsigned)IMPALA__CONSTANTS__PROTOCOL_VERSION,
			      h->protocol_version);
		return IMPALA__REFUSAL_CODE__REFUSAL_PROTOCOL_VERSION;
	}
	if (h->actor_id == 0) {
		reason_printf(reason, reason_len, "actor id must be nonzero");
		return IMPALA__REFUSAL_CODE__REFUSAL_BAD_REQUEST;
	}
	if (h->instance == 0) {
		reason_printf(reason, reason_len, "instance must be nonzero");
		return IMPALA__REFUSAL_CODE__REFUSAL_BAD_REQUEST;
	}
	if (h->num_envs == 0) {
		reason_printf(reason, reason_len, "num_envs must be nonzero");
		return IMPALA__REFUSAL_CODE__REFUSAL_BAD_REQUEST;
	}
	const char *env = h->env_name ? h->env_name : "";
	/* An actor that names no environment takes the learner's. */
	if (env[0] && strcmp(env, env_name) != 0) {
		reason_printf(reason, reason_len,
			      "learner trains %.100s, actor offered %.100s",
			      env_name, env);
		return IMPALA__REFUSAL_CODE__REFUSAL_WRONG_ENV;
	}
	return IMPALA__REFUSAL_CODE__REFUSAL_NONE;
}
