// SPDX-License-Identifier: Apache-2.0
/* Validation: a table of named bad trajectories, each refused with its own
 * reason after a real encode/decode, plus good ones accepted (float32
 * and uint8 observations, vectors and [H, W, C] frames: shape, dtype and
 * byte length checked alike); Params with a
 * wrong checksum (and other faults) refused; Hello with a wrong protocol
 * version or environment refused with the right code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "validate.h"
#include "wire.h"

#include "../fixture/trajectory.h"

#define T 4
#define OBS 3
#define NA 3
#define H 2
#define D 2
#define RUN 0x1234567890abcdefULL
#define PREV_RUN 0x1111ULL

/* A run spec and one trajectory whose every array lives in the fixture
 * (tests/fixture/trajectory.h), so that a case can break exactly one
 * thing. */
typedef struct fx {
	Impala__RunSpec spec;
	Impala__ModelSpec model;
	uint32_t obs_shape[3];
	im_run_dims dims;
	im_validate_state st;
	fx_traj x;
} fx;

/* SPEC_U8_IMAGE: uint8 frames [H, W, C] = [1, OBS, 1]. */
enum { SPEC_DISCRETE_LSTM,
       SPEC_DISCRETE_MLP,
       SPEC_BOX,
       SPEC_U8,
       SPEC_U8_IMAGE };

/* Every actor but 99 said Hello with 4 environments, and its latest
 * Welcome carried version 3. */
static int known_actor(void *ctx, uint64_t id, im_validate_actor *out)
{
	(void)ctx;
	*out = (im_validate_actor){.num_envs = 4, .min_param_version = 3};
	return id != 99;
}

static void fx_spec(fx *f, int kind)
{
	impala__run_spec__init(&f->spec);
	impala__model_spec__init(&f->model);
	f->spec.run_id = RUN;
	f->spec.env_name = "CartPole-v1";
	f->spec.num_steps = T;
	f->obs_shape[0] = OBS;
	f->spec.n_obs_shape = 1;
	if (kind == SPEC_U8_IMAGE) {
		f->obs_shape[0] = 1;
		f->obs_shape[1] = OBS;
		f->obs_shape[2] = 1;
		f->spec.n_obs_shape = 3;
	}
	f->spec.obs_shape = f->obs_shape;
	f->spec.obs_dtype = kind == SPEC_U8 || kind == SPEC_U8_IMAGE
				    ? IMPALA__DTYPE__DTYPE_UINT8
				    : IMPALA__DTYPE__DTYPE_FLOAT32;
	f->spec.action_kind = kind == SPEC_BOX ? IMPALA__ACTION_KIND__ACTION_BOX
					       : IMPALA__ACTION_KIND__ACTION_DISCRETE;
	f->spec.num_actions = kind == SPEC_BOX ? 0 : NA;
	f->spec.action_dim = kind == SPEC_BOX ? D : 0;
	f->model.use_lstm = kind == SPEC_DISCRETE_LSTM;
	f->model.lstm_hidden = kind == SPEC_DISCRETE_LSTM ? H : 0;
	f->spec.model = &f->model;
	assert_int_equal(im_validate_dims(&f->dims, &f->spec), IM_OK);
	f->st = (im_validate_state){.run_id = RUN, .prev_run_id = PREV_RUN, .param_version = 10, .max_policy_lag = 5, .max_episode_steps = 500, .actor_lookup = known_actor};
}

/* Step 1 terminates an episode, step 2 is cut by a time limit. */
static void fx_arrays(fx *f)
{
	for (int i = 0; i < (T + 1) * OBS; i++) {
		f->x.obs_f[i] = 0.1f * (float)i - 0.5f;
		f->x.obs_u8[i] = (uint8_t)(i * 17);
	}
	for (int i = 0; i < T; i++) {
		f->x.act_i[i] = i % NA;
		f->x.rew[i] = 1.0f;
		f->x.logp[i] = -0.7f;
		f->x.term[i] = i == 1;
		f->x.trunc[i] = i == 2;
	}
	for (int i = 0; i < T * D; i++)
		f->x.act_f[i] = 0.25f * (float)i - 3.0f; /* beyond [-2, 2] on purpose */
	for (int i = 0; i < T * OBS; i++) {
		f->x.fin_f[i] = 2.0f;
		f->x.fin_u8[i] = 255;
	}
	for (int i = 0; i < H; i++) {
		f->x.h[i] = 0.5f;
		f->x.c[i] = -0.5f;
	}
	f->x.pa_i = 2;
	f->x.pa_f[0] = 0.5f;
	f->x.pa_f[1] = -0.5f;
}

static void fx_episodes(fx *f, size_t n)
{
	fx_traj_episodes(&f->x, n);
}

/* Actor 7 acted with version 8; step 1 terminates an episode, step 2 is
 * cut by a time limit (one final row). */
static void fx_init(fx *f, int kind)
{
	memset(f, 0, sizeof *f);
	fx_spec(f, kind);
	fx_arrays(f);
	fx_traj_wire(&f->x, &f->dims, RUN, 7, 8);
}

/* Encodes, decodes and validates, as the learner's receiver does. */
static im_reject fx_check(fx *f, char *msg, size_t len)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	assert_int_equal(im_wire_encode(&f->x.t.base, &buf, &n), IM_OK);
	Impala__Trajectory *d = NULL;
	int rc = im_wire_decode_trajectory(buf, n, IM_WIRE_MAX_TRAJECTORY, &d);
	free(buf);
	if (rc != IM_OK)
		return im_validate_decode_rc(rc);
	im_reject r = im_validate_trajectory(d, &f->dims, &f->st, msg, len);
	impala__trajectory__free_unpacked(d, NULL);
	return r;
}

static const float qnan = NAN;
static const float pinf = INFINITY;

/* ---- the mutations ---- */
static void m_none(fx *f) { (void)f; }
static void m_protocol(fx *f) { f->x.t.protocol_version = 1; }
static void m_stale_run(fx *f) { f->x.t.run_id = PREV_RUN; }
static void m_foreign_run(fx *f) { f->x.t.run_id = 0xdeadbeefULL; }
static void m_no_actor(fx *f) { f->x.t.actor_id = 0; }
static void m_unknown_actor(fx *f) { f->x.t.actor_id = 99; }
static void m_future(fx *f) { f->x.t.param_version = 11; }
static void m_lagging(fx *f) { f->x.t.param_version = 4; }
/* Issue 14: env_index and the handshake's version floor checked. */
static void m_env_index(fx *f) { f->x.t.env_index = 4; }
static void m_env_index_ok(fx *f) { f->x.t.env_index = 3; }
static void m_before_welcome(fx *f) { f->x.t.param_version = 2; }
/* Issue 14, defect 1: an episode longer than the time limit is made up. */
static void m_ep_long(fx *f) { f->x.ep[0].length = 501; }
static void m_ep_limit(fx *f) { f->x.ep[0].length = 500; }
static void m_no_lookup(fx *f)
{
	f->st.actor_lookup = NULL;
	f->x.t.actor_id = 99;
	f->x.t.env_index = 1000;
}
static void m_num_steps(fx *f) { f->x.t.num_steps = T + 1; }
static void m_obs_missing(fx *f) { f->x.t.obs = NULL; }
static void m_obs_rows(fx *f)
{
	f->x.obs_sh[0] = T;
	f->x.obs.data.len = T * OBS * 4;
}
static void m_obs_width(fx *f) { f->x.obs_sh[1] = OBS + 1; }
static void m_obs_rank(fx *f)
{
	f->x.obs.n_shape = 1;
	f->x.obs_sh[0] = (T + 1) * OBS;
}
static void m_obs_dtype(fx *f) { f->x.obs.dtype = IMPALA__DTYPE__DTYPE_UINT8; }
static void m_obs_short(fx *f) { f->x.obs.data.len -= 4; }
static void m_obs_nan(fx *f) { f->x.obs_f[7] = qnan; }
static void m_obs_inf(fx *f) { f->x.obs_f[(T + 1) * OBS - 1] = -pinf; }
static void m_act_high(fx *f) { f->x.act_i[3] = NA; }
static void m_act_neg(fx *f) { f->x.act_i[0] = -1; }
static void m_act_dtype(fx *f) { f->x.act.dtype = IMPALA__DTYPE__DTYPE_FLOAT32; }
static void m_act_missing(fx *f) { f->x.t.actions = NULL; }
static void m_rew_short(fx *f) { f->x.t.rewards.len = 4 * (T - 1); }
static void m_rew_nan(fx *f) { f->x.rew[2] = qnan; }
static void m_flag_two(fx *f) { f->x.term[0] = 2; }
static void m_flag_both(fx *f) { f->x.term[2] = 1; }
static void m_flag_short(fx *f) { f->x.t.truncated.len = T - 1; }
static void m_logp_pos(fx *f) { f->x.logp[1] = 0.01f; }
static void m_logp_inf(fx *f) { f->x.logp[3] = -pinf; }
static void m_logp_short(fx *f) { f->x.t.behaviour_logp.len = 0; }
static void m_final_missing(fx *f) { f->x.t.final_obs = NULL; }
static void m_final_rows(fx *f)
{
	f->x.fin_sh[0] = 2;
	f->x.fin.data.len = 2 * OBS * 4;
}
static void m_final_extra(fx *f)
{
	f->x.trunc[2] = 0;
	fx_episodes(f, 1);
}
static void m_final_width(fx *f)
{
	f->x.fin_sh[1] = OBS - 1;
	f->x.fin.data.len = (OBS - 1) * 4;
}
static void m_final_nan(fx *f) { f->x.fin_f[1] = qnan; }
static void m_lstm_short(fx *f) { f->x.t.lstm_h.len = 4; }
static void m_lstm_missing(fx *f) { f->x.t.lstm_c.len = 0; }
static void m_lstm_nan(fx *f) { f->x.c[1] = qnan; }
static void m_pa_missing(fx *f) { f->x.t.prev_action = NULL; }
static void m_pa_range(fx *f) { f->x.pa_i = NA; }
static void m_pa_dtype(fx *f) { f->x.pa.dtype = IMPALA__DTYPE__DTYPE_FLOAT32; }
static void m_pa_shape(fx *f) { f->x.pa_sh[0] = 2; }
static void m_prev_reward(fx *f) { f->x.t.prev_reward = pinf; }
static void m_episodes(fx *f) { fx_episodes(f, 3); }
static void m_ep_len(fx *f) { f->x.ep[1].length = 0; }
static void m_ep_ret(fx *f) { f->x.ep[0].episode_return = qnan; }
static void m_pa_scalar(fx *f) { f->x.pa.n_shape = 0; }
static void m_no_episodes(fx *f) { fx_episodes(f, 0); }
/* Non-LSTM spec. */
static void m_lstm_present(fx *f) { f->x.t.lstm_h = (ProtobufCBinaryData){4 * H, (uint8_t *)f->x.h}; }
/* Box spec. */
static void m_box_nan(fx *f) { f->x.act_f[5] = qnan; }
static void m_box_shape(fx *f)
{
	f->x.act.n_shape = 1;
	f->x.act_sh[0] = T * D;
}
static void m_box_logp_pos(fx *f) { f->x.logp[0] = 3.5f; }
static void m_box_pa_dim(fx *f)
{
	f->x.pa_sh[0] = 1;
	f->x.pa.data.len = 4;
}
static void m_box_pa_nan(fx *f) { f->x.pa_f[1] = qnan; }
/* uint8 spec. */
static void m_u8_f32(fx *f) { f->x.obs.dtype = IMPALA__DTYPE__DTYPE_FLOAT32; }
static void m_u8_final_dtype(fx *f)
{
	f->x.fin.dtype = IMPALA__DTYPE__DTYPE_FLOAT32;
	f->x.fin.data.len = OBS * 4;
}
/* Bytes are not floats: any value 0..255 is valid. */
static void m_u8_all_255(fx *f) { memset(f->x.obs_u8, 255, (T + 1) * OBS); }
static void m_u8_short(fx *f) { f->x.obs.data.len -= 1; }
static void m_u8_long(fx *f) { f->x.obs.data.len += 1; }
/* float32 payload under a uint8 label: four times the bytes. */
static void m_u8_float_bytes(fx *f) { f->x.obs.data = (ProtobufCBinaryData){4 * (T + 1) * OBS, (uint8_t *)f->x.obs_f}; }
static void m_u8_rows(fx *f)
{
	f->x.obs_sh[0] = T;
	f->x.obs.data.len = T * OBS;
}
static void m_u8_final_short(fx *f) { f->x.fin.data.len -= 1; }
static void m_u8_final_rows(fx *f)
{
	f->x.fin_sh[0] = 2;
	f->x.fin.data.len = 2 * OBS;
}
static void m_u8_final_missing(fx *f) { f->x.t.final_obs = NULL; }
/* uint8 image spec: the layout is checked dimension by dimension, so the
 * same bytes as [C, H, W] or flattened are refused. */
static void m_img_chw(fx *f)
{
	f->x.obs_sh[1] = 1;
	f->x.obs_sh[2] = 1;
	f->x.obs_sh[3] = OBS;
}
static void m_img_flat(fx *f)
{
	f->x.obs.n_shape = 2;
	f->x.obs_sh[1] = OBS;
}
static void m_img_final_chw(fx *f)
{
	f->x.fin_sh[2] = 1;
	f->x.fin_sh[3] = OBS;
}
static void m_img_f32(fx *f)
{
	f->x.obs.dtype = IMPALA__DTYPE__DTYPE_FLOAT32;
	f->x.obs.data = (ProtobufCBinaryData){4 * (T + 1) * OBS, (uint8_t *)f->x.obs_f};
}

typedef struct vcase {
	const char *name;
	int spec;
	void (*mutate)(fx *);
	im_reject want;
} vcase;

#define C(spec, fn, want) \
	{ \
#fn, SPEC_##spec, fn, IM_REJECT_##want \
	}
static const vcase cases[] = {
	C(DISCRETE_LSTM, m_none, OK),
	C(DISCRETE_LSTM, m_pa_scalar, OK),
	C(DISCRETE_LSTM, m_no_episodes, OK),
	C(DISCRETE_LSTM, m_protocol, BAD_PROTOCOL_VERSION),
	C(DISCRETE_LSTM, m_stale_run, STALE_RUN_ID),
	C(DISCRETE_LSTM, m_foreign_run, FOREIGN_RUN_ID),
	C(DISCRETE_LSTM, m_no_actor, MISSING_ACTOR_ID),
	C(DISCRETE_LSTM, m_unknown_actor, UNKNOWN_ACTOR),
	C(DISCRETE_LSTM, m_env_index, BAD_ENV_INDEX),
	C(DISCRETE_LSTM, m_env_index_ok, OK),
	C(DISCRETE_LSTM, m_before_welcome, STALE_SESSION),
	C(DISCRETE_LSTM, m_no_lookup, OK),
	C(DISCRETE_LSTM, m_future, FUTURE_PARAM_VERSION),
	C(DISCRETE_LSTM, m_lagging, POLICY_LAG),
	C(DISCRETE_LSTM, m_num_steps, BAD_NUM_STEPS),
	C(DISCRETE_LSTM, m_obs_missing, BAD_SHAPE),
	C(DISCRETE_LSTM, m_obs_rows, BAD_SHAPE),
	C(DISCRETE_LSTM, m_obs_width, BAD_SHAPE),
	C(DISCRETE_LSTM, m_obs_rank, BAD_SHAPE),
	C(DISCRETE_LSTM, m_obs_dtype, BAD_DTYPE),
	C(DISCRETE_LSTM, m_obs_short, BAD_LENGTH),
	C(DISCRETE_LSTM, m_obs_nan, NON_FINITE),
	C(DISCRETE_LSTM, m_obs_inf, NON_FINITE),
	C(DISCRETE_LSTM, m_act_high, BAD_ACTION),
	C(DISCRETE_LSTM, m_act_neg, BAD_ACTION),
	C(DISCRETE_LSTM, m_act_dtype, BAD_DTYPE),
	C(DISCRETE_LSTM, m_act_missing, BAD_SHAPE),
	C(DISCRETE_LSTM, m_rew_short, BAD_LENGTH),
	C(DISCRETE_LSTM, m_rew_nan, NON_FINITE),
	C(DISCRETE_LSTM, m_flag_two, BAD_FLAG),
	C(DISCRETE_LSTM, m_flag_both, BAD_FLAG),
	C(DISCRETE_LSTM, m_flag_short, BAD_LENGTH),
	C(DISCRETE_LSTM, m_logp_pos, BAD_LOGP),
	C(DISCRETE_LSTM, m_logp_inf, NON_FINITE),
	C(DISCRETE_LSTM, m_logp_short, BAD_LENGTH),
	C(DISCRETE_LSTM, m_final_missing, BAD_FINAL_OBS),
	C(DISCRETE_LSTM, m_final_rows, BAD_FINAL_OBS),
	C(DISCRETE_LSTM, m_final_extra, BAD_FINAL_OBS),
	C(DISCRETE_LSTM, m_final_width, BAD_SHAPE),
	C(DISCRETE_LSTM, m_final_nan, NON_FINITE),
	C(DISCRETE_LSTM, m_lstm_short, BAD_LSTM_STATE),
	C(DISCRETE_LSTM, m_lstm_missing, BAD_LSTM_STATE),
	C(DISCRETE_LSTM, m_lstm_nan, NON_FINITE),
	C(DISCRETE_LSTM, m_pa_missing, BAD_PREV_ACTION),
	C(DISCRETE_LSTM, m_pa_range, BAD_ACTION),
	C(DISCRETE_LSTM, m_pa_dtype, BAD_PREV_ACTION),
	C(DISCRETE_LSTM, m_pa_shape, BAD_PREV_ACTION),
	C(DISCRETE_LSTM, m_prev_reward, NON_FINITE),
	C(DISCRETE_LSTM, m_episodes, TOO_MANY_EPISODES),
	C(DISCRETE_LSTM, m_ep_len, BAD_EPISODE),
	C(DISCRETE_LSTM, m_ep_long, BAD_EPISODE),
	C(DISCRETE_LSTM, m_ep_limit, OK),
	C(DISCRETE_LSTM, m_ep_ret, NON_FINITE),
	C(DISCRETE_MLP, m_none, OK),
	C(DISCRETE_MLP, m_pa_missing, OK),
	C(DISCRETE_MLP, m_lstm_present, BAD_LSTM_STATE),
	C(BOX, m_none, OK),
	C(BOX, m_box_logp_pos, OK),
	C(BOX, m_box_nan, NON_FINITE),
	C(BOX, m_box_shape, BAD_SHAPE),
	C(BOX, m_act_dtype, OK), /* float32 is right for Box */
	C(BOX, m_box_pa_dim, BAD_PREV_ACTION),
	C(BOX, m_box_pa_nan, NON_FINITE),
	C(U8, m_none, OK),
	C(U8, m_u8_f32, BAD_DTYPE),
	C(U8, m_u8_final_dtype, BAD_DTYPE),
	C(U8, m_u8_all_255, OK),
	C(U8, m_obs_missing, BAD_SHAPE),
	C(U8, m_u8_short, BAD_LENGTH),
	C(U8, m_u8_long, BAD_LENGTH),
	C(U8, m_u8_float_bytes, BAD_LENGTH),
	C(U8, m_u8_rows, BAD_SHAPE),
	C(U8, m_obs_width, BAD_SHAPE),
	C(U8, m_u8_final_short, BAD_LENGTH),
	C(U8, m_u8_final_rows, BAD_FINAL_OBS),
	C(U8, m_u8_final_missing, BAD_FINAL_OBS),
	C(U8_IMAGE, m_none, OK),
	C(U8_IMAGE, m_u8_all_255, OK),
	C(U8_IMAGE, m_img_chw, BAD_SHAPE),
	C(U8_IMAGE, m_img_flat, BAD_SHAPE),
	C(U8_IMAGE, m_img_final_chw, BAD_SHAPE),
	C(U8_IMAGE, m_img_f32, BAD_DTYPE),
	C(U8_IMAGE, m_u8_short, BAD_LENGTH),
};
#undef C

static void test_trajectory_table(void **state)
{
	(void)state;
	fx *f = malloc(sizeof *f);
	assert_non_null(f);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const vcase *c = &cases[i];
		fx_init(f, c->spec);
		c->mutate(f);
		char msg[256];
		im_reject got = fx_check(f, msg, sizeof msg);
		if (got != c->want)
			fail_msg("%s: got %s (%s), want %s", c->name,
				 im_validate_reason_name(got), msg,
				 im_validate_reason_name(c->want));
		/* A rejection always says what was wrong. */
		if (got != IM_REJECT_OK && msg[0] == '\0')
			fail_msg("%s: no detail message", c->name);
	}
	free(f);
}

static void test_decode_failures(void **state)
{
	(void)state;
	fx *f = malloc(sizeof *f);
	assert_non_null(f);
	fx_init(f, SPEC_DISCRETE_LSTM);
	uint8_t *buf = NULL;
	size_t n = 0;
	assert_int_equal(im_wire_encode(&f->x.t.base, &buf, &n), IM_OK);
	Impala__Trajectory *d = NULL;
	/* A message cut short is not a valid encoding. */
	int rc = im_wire_decode_trajectory(buf, n - 5, IM_WIRE_MAX_TRAJECTORY, &d);
	assert_int_equal(im_validate_decode_rc(rc), IM_REJECT_DECODE_ERROR);
	rc = im_wire_decode_trajectory(buf, n, n - 1, &d);
	assert_int_equal(im_validate_decode_rc(rc), IM_REJECT_OVERSIZED);
	uint8_t junk[64];
	memset(junk, 0xff, sizeof junk);
	rc = im_wire_decode_trajectory(junk, sizeof junk, IM_WIRE_MAX_TRAJECTORY, &d);
	assert_int_equal(im_validate_decode_rc(rc), IM_REJECT_DECODE_ERROR);
	assert_null(d);
	free(buf);
	free(f);
}

/* Names are metric labels: distinct, lower-case, [a-z_]. */
static void test_reason_names(void **state)
{
	(void)state;
	for (int i = 0; i < IM_REJECT_COUNT; i++) {
		const char *a = im_validate_reason_name((im_reject)i);
		assert_true(strlen(a) > 0);
		for (const char *p = a; *p; p++)
			assert_true(islower((unsigned char)*p) || *p == '_');
		assert_true(strlen(im_validate_reason_text((im_reject)i)) > 0);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(a, im_validate_reason_name((im_reject)j));
	}
	assert_string_equal(im_validate_reason_name(IM_REJECT_COUNT), "unknown");
}

static void test_dims_refuse_bad_spec(void **state)
{
	(void)state;
	fx *f = malloc(sizeof *f);
	assert_non_null(f);
	im_run_dims d;
	fx_spec(f, SPEC_DISCRETE_LSTM);
	f->spec.num_steps = 0;
	assert_int_equal(im_validate_dims(&d, &f->spec), IM_ERANGE);
	fx_spec(f, SPEC_DISCRETE_LSTM);
	f->spec.num_actions = 0;
	assert_int_equal(im_validate_dims(&d, &f->spec), IM_ERANGE);
	fx_spec(f, SPEC_BOX);
	f->spec.action_dim = IM_VALIDATE_MAX_ACTION_DIM + 1;
	assert_int_equal(im_validate_dims(&d, &f->spec), IM_ERANGE);
	fx_spec(f, SPEC_DISCRETE_LSTM);
	f->model.lstm_hidden = 0;
	assert_int_equal(im_validate_dims(&d, &f->spec), IM_ERANGE);
	fx_spec(f, SPEC_DISCRETE_LSTM);
	f->spec.obs_dtype = IMPALA__DTYPE__DTYPE_INT32;
	assert_int_equal(im_validate_dims(&d, &f->spec), IM_ESHAPE);
	fx_spec(f, SPEC_DISCRETE_LSTM);
	f->spec.model = NULL;
	assert_int_equal(im_validate_dims(&d, &f->spec), IM_EINVAL);
	free(f);
}

/* ---- Params ---- */

static void params_fill(Impala__Params *p, float *w, size_t n)
{
	impala__params__init(p);
	for (size_t i = 0; i < n; i++)
		w[i] = 0.01f * (float)i;
	p->run_id = RUN;
	p->version = 3;
	p->param_count = n;
	p->data.data = (uint8_t *)w;
	p->data.len = n * sizeof(float);
	p->checksum = im_wire_crc32c(w, n * sizeof(float));
}

static im_reject params_roundtrip(Impala__Params *p, uint64_t count)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	assert_int_equal(im_wire_encode(&p->base, &buf, &n), IM_OK);
	Impala__Params *d = NULL;
	assert_int_equal(im_wire_decode_params(buf, n, IM_WIRE_MAX_PARAMS, &d), IM_OK);
	char msg[128];
	im_reject r = im_validate_params(d, RUN, count, msg, sizeof msg);
	impala__params__free_unpacked(d, NULL);
	free(buf);
	return r;
}

static void test_params(void **state)
{
	(void)state;
	float w[100];
	Impala__Params p;
	params_fill(&p, w, 100);
	assert_int_equal(params_roundtrip(&p, 100), IM_REJECT_OK);
	/* One flipped bit of one weight after the checksum was taken. */
	((uint8_t *)w)[37] ^= 0x10;
	assert_int_equal(params_roundtrip(&p, 100), IM_REJECT_BAD_CHECKSUM);
	params_fill(&p, w, 100);
	p.checksum ^= 1u;
	assert_int_equal(params_roundtrip(&p, 100), IM_REJECT_BAD_CHECKSUM);
	params_fill(&p, w, 100);
	p.run_id = PREV_RUN;
	assert_int_equal(params_roundtrip(&p, 100), IM_REJECT_FOREIGN_RUN_ID);
	params_fill(&p, w, 100);
	assert_int_equal(params_roundtrip(&p, 101), IM_REJECT_BAD_PARAM_COUNT);
	params_fill(&p, w, 100);
	p.data.len -= 4;
	p.checksum = im_wire_crc32c(w, p.data.len);
	assert_int_equal(params_roundtrip(&p, 100), IM_REJECT_BAD_LENGTH);
	params_fill(&p, w, 100);
	w[50] = qnan;
	p.checksum = im_wire_crc32c(w, sizeof w);
	assert_int_equal(params_roundtrip(&p, 100), IM_REJECT_NON_FINITE);
	/* Flow marks: at most IM_WIRE_MAX_FLOW_MARKS in either list. */
	static uint64_t marks[IM_WIRE_MAX_FLOW_MARKS + 1];
	params_fill(&p, w, 100);
	p.flow_actor_ids = p.flow_next_seqs = marks;
	p.n_flow_actor_ids = p.n_flow_next_seqs = IM_WIRE_MAX_FLOW_MARKS;
	assert_int_equal(params_roundtrip(&p, 100), IM_REJECT_OK);
	p.n_flow_next_seqs = IM_WIRE_MAX_FLOW_MARKS + 1;
	assert_int_equal(params_roundtrip(&p, 100), IM_REJECT_OVERSIZED);
	p.n_flow_actor_ids = IM_WIRE_MAX_FLOW_MARKS + 1;
	p.n_flow_next_seqs = 0;
	assert_int_equal(params_roundtrip(&p, 100), IM_REJECT_OVERSIZED);
}

/* ---- Hello ---- */

static void test_hello(void **state)
{
	(void)state;
	Impala__Hello h = IMPALA__HELLO__INIT;
	h.protocol_version = IMPALA__CONSTANTS__PROTOCOL_VERSION;
	h.actor_id = 5;
	h.host = "node-1";
	h.env_name = "CartPole-v1";
	h.num_envs = 8;
	h.instance = 0x1234;
	char why[128];
	assert_int_equal(im_validate_hello(&h, "CartPole-v1", why, sizeof why),
			 IMPALA__REFUSAL_CODE__REFUSAL_NONE);
	assert_string_equal(why, "");
	/* Any other version, the previous one included, with both named. */
	static const uint32_t others[] = {0, 1, 3, 0xffffffffu};
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		char want[96];
		h.protocol_version = others[i];
		assert_int_equal(im_validate_hello(&h, "CartPole-v1", why, sizeof why),
				 IMPALA__REFUSAL_CODE__REFUSAL_PROTOCOL_VERSION);
		snprintf(want, sizeof want, "learner speaks protocol version %u, "
					    "actor %u",
			 (unsigned)IMPALA__CONSTANTS__PROTOCOL_VERSION,
			 others[i]);
		assert_string_equal(why, want);
	}
	h.protocol_version = IMPALA__CONSTANTS__PROTOCOL_VERSION;
	/* Version 2 requires the instance nonce. */
	h.instance = 0;
	assert_int_equal(im_validate_hello(&h, "CartPole-v1", why, sizeof why),
			 IMPALA__REFUSAL_CODE__REFUSAL_BAD_REQUEST);
	assert_non_null(strstr(why, "instance"));
	h.instance = 0x1234;
	h.env_name = "Pendulum-v1";
	assert_int_equal(im_validate_hello(&h, "CartPole-v1", why, sizeof why),
			 IMPALA__REFUSAL_CODE__REFUSAL_WRONG_ENV);
	assert_non_null(strstr(why, "Pendulum-v1"));
	assert_non_null(strstr(why, "CartPole-v1"));
	h.env_name = "CartPole-v1";
	h.actor_id = 0;
	assert_int_equal(im_validate_hello(&h, "CartPole-v1", why, sizeof why),
			 IMPALA__REFUSAL_CODE__REFUSAL_BAD_REQUEST);
	/* No environment: no env_index could ever be valid. */
	h.actor_id = 5;
	h.num_envs = 0;
	assert_int_equal(im_validate_hello(&h, "CartPole-v1", why, sizeof why),
			 IMPALA__REFUSAL_CODE__REFUSAL_BAD_REQUEST);
	assert_non_null(strstr(why, "num_envs"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trajectory_table),
		cmocka_unit_test(test_decode_failures),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_dims_refuse_bad_spec),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_hello),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
