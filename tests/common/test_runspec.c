// SPDX-License-Identifier: Apache-2.0
/* RunSpec <-> model spec: a spec built from a model describes that model
 * again (uint8 observations with their scale too), and sizes from the
 * network that would overflow, unknown dtypes and bad scales are
 * refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "err.h"
#include "runspec.h"

static void base_spec(im_model_spec *m)
{
	im_obs_space obs = {.ndim = 1, .shape = {4}, .dtype = IM_DTYPE_F32};
	im_act_space act = {.kind = IM_ACT_DISCRETE, .n = 2};
	im_model_spec_default(m, &obs, &act, 8);
}

static void test_round_trip(void **state)
{
	(void)state;
	im_model_spec m, back;
	base_spec(&m);
	im_runspec_store s;
	assert_int_equal(im_runspec_build(&s, 1, "CartPole-v1", 80, 5, &m, 0),
			 IM_OK);
	char err[128];
	assert_int_equal(im_runspec_model(&back, &s.spec, err, sizeof err),
			 IM_OK);
	assert_int_equal(back.obs.ndim, 1);
	assert_int_equal(back.obs.shape[0], 4);
	assert_int_equal(back.act.kind, IM_ACT_DISCRETE);
	assert_int_equal(back.act.n, 2);
	assert_int_equal(back.hidden_dim, 8);
	assert_int_equal(back.feature_dim, 8);
	assert_int_equal(back.popart, 0);
	/* PopArt changes the arena's layout: actors must know of it. */
	m.popart = 1;
	assert_int_equal(im_runspec_build(&s, 1, "CartPole-v1", 80, 5, &m, 0),
			 IM_OK);
	assert_int_equal(im_runspec_model(&back, &s.spec, err, sizeof err),
			 IM_OK);
	assert_int_equal(back.popart, 1);
}

/* Each dimension is within its own bound, but 2^24 * 2^24 * 2^16 = 2^64:
 * a product taken only at the end wraps to 0 and passes any upper bound. */
static void test_wrapping_obs_shape_refused(void **state)
{
	(void)state;
	im_model_spec m, out;
	base_spec(&m);
	im_runspec_store s;
	assert_int_equal(im_runspec_build(&s, 1, "CartPole-v1", 80, 5, &m, 0),
			 IM_OK);
	uint32_t shape[3] = {1u << 24, 1u << 24, 1u << 16};
	s.spec.obs_shape = shape;
	s.spec.n_obs_shape = 3;
	memset(&out, 0x5a, sizeof out);
	im_model_spec before = out;
	char err[128] = "";
	assert_int_equal(im_runspec_model(&out, &s.spec, err, sizeof err),
			 IM_EINVAL);
	assert_non_null(strstr(err, "observation"));
	assert_memory_equal(&out, &before, sizeof out);
}

/* A uint8 image space's dtype and scale survive the wire; an unset scale
 * (0) is sent as the 1 it means. */
static void test_uint8_scale_round_trip(void **state)
{
	(void)state;
	static const float scales[] = {1.0f / 255.0f, 1.0f, 0.0f};
	for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++) {
		im_obs_space obs = {.ndim = 3, .shape = {84, 84, 4}, .dtype = IM_DTYPE_U8, .scale = scales[i]};
		im_act_space act = {.kind = IM_ACT_DISCRETE, .n = 6};
		im_model_spec m, back;
		im_model_spec_default(&m, &obs, &act, 8);
		im_runspec_store s;
		assert_int_equal(im_runspec_build(&s, 1, "plugin:x.so", 80, 5,
						  &m, 0),
				 IM_OK);
		assert_int_equal(s.spec.obs_dtype, IMPALA__DTYPE__DTYPE_UINT8);
		assert_true(s.spec.obs_scale == (scales[i] ? scales[i] : 1.0f));
		char err[128];
		assert_int_equal(im_runspec_model(&back, &s.spec, err, sizeof err),
				 IM_OK);
		assert_int_equal(back.obs.dtype, IM_DTYPE_U8);
		assert_int_equal(back.obs.ndim, 3);
		assert_int_equal(back.obs.shape[2], 4);
		assert_true(im_obs_scale(&back.obs) == im_obs_scale(&obs));
	}
}

typedef struct scase {
	const char *name;
	Impala__DType dtype;
	float scale;
	const char *why; /* NULL: accepted */
} scase;

static void test_scale_and_dtype_checked(void **state)
{
	(void)state;
	static const scase cases[] = {
		{"u8_absent", IMPALA__DTYPE__DTYPE_UINT8, 0.0f, NULL},
		{"u8_255th", IMPALA__DTYPE__DTYPE_UINT8, 1.0f / 255.0f, NULL},
		{"u8_minus_zero", IMPALA__DTYPE__DTYPE_UINT8, -0.0f, NULL},
		{"u8_negative", IMPALA__DTYPE__DTYPE_UINT8, -1.0f,
		 "obs_scale -1 is not finite and > 0"},
		{"u8_nan", IMPALA__DTYPE__DTYPE_UINT8, NAN, "is not finite"},
		{"u8_inf", IMPALA__DTYPE__DTYPE_UINT8, INFINITY, "is not finite"},
		{"f32_absent", IMPALA__DTYPE__DTYPE_FLOAT32, 0.0f, NULL},
		{"f32_one", IMPALA__DTYPE__DTYPE_FLOAT32, 1.0f, NULL},
		{"f32_scaled", IMPALA__DTYPE__DTYPE_FLOAT32, 0.5f,
		 "obs_scale 0.5 is only meaningful for uint8"},
		/* Not finite is the first complaint, whatever the dtype. */
		{"f32_negative", IMPALA__DTYPE__DTYPE_FLOAT32, -1.0f,
		 "is not finite and > 0"},
		{"f32_nan", IMPALA__DTYPE__DTYPE_FLOAT32, NAN, "is not finite"},
		{"int32_obs", IMPALA__DTYPE__DTYPE_INT32, 0.0f, "dtype"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const scase *c = &cases[i];
		im_model_spec m, out;
		base_spec(&m);
		im_runspec_store s;
		assert_int_equal(im_runspec_build(&s, 1, "CartPole-v1", 80, 5,
						  &m, 0),
				 IM_OK);
		s.spec.obs_dtype = c->dtype;
		s.spec.obs_scale = c->scale;
		char err[128] = "";
		int rc = im_runspec_model(&out, &s.spec, err, sizeof err);
		if (!c->why && rc != IM_OK)
			fail_msg("%s: refused: %s", c->name, err);
		if (c->why && (rc != IM_EINVAL || !strstr(err, c->why)))
			fail_msg("%s: rc %d, message '%s', want '%s'", c->name,
				 rc, err, c->why);
		/* What runspec accepts, the model accepts, and vice versa:
		 * both apply im_obs_scale_problem. */
		im_model *model = NULL;
		if (!c->why) {
			assert_int_equal(im_model_new(&model, &out), IM_OK);
			im_model_free(model);
		} else if (c->dtype != IMPALA__DTYPE__DTYPE_INT32) {
			m.obs.dtype = c->dtype == IMPALA__DTYPE__DTYPE_UINT8
					      ? IM_DTYPE_U8
					      : IM_DTYPE_F32;
			m.obs.scale = c->scale;
			if (im_model_new(&model, &m) != IM_EINVAL)
				fail_msg("%s: the model accepts it", c->name);
			assert_null(model);
		}
	}
}

/* Each encoder travels by name and comes back; an unknown name is refused
 * with a reason. */
static void test_encoders_round_trip(void **state)
{
	(void)state;
	for (int k = 0; k < IM_NN_ENCODER_COUNT_; k++) {
		im_model_spec m, back;
		base_spec(&m);
		m.obs = (im_obs_space){.ndim = 3, .shape = {84, 84, 4}, .dtype = IM_DTYPE_U8};
		m.encoder = (im_nn_encoder_kind)k;
		im_runspec_store s;
		assert_int_equal(im_runspec_build(&s, 1, "Pong", 80, 5, &m, 0),
				 IM_OK);
		assert_string_equal(s.model.encoder,
				    im_nn_encoder_name((im_nn_encoder_kind)k));
		char err[128];
		assert_int_equal(im_runspec_model(&back, &s.spec, err, sizeof err),
				 IM_OK);
		assert_int_equal(back.encoder, k);
	}
	im_model_spec m, out;
	base_spec(&m);
	im_runspec_store s;
	assert_int_equal(im_runspec_build(&s, 1, "CartPole-v1", 80, 5, &m, 0),
			 IM_OK);
	s.model.encoder = "conv";
	char err[128] = "";
	assert_int_equal(im_runspec_model(&out, &s.spec, err, sizeof err),
			 IM_EINVAL);
	assert_non_null(strstr(err, "encoder 'conv' is not one of: mlp, "
				    "minatar, nature, impala"));
	/* auto is a choice of the learner's flag, never a built encoder. */
	s.model.encoder = "auto";
	assert_int_equal(im_runspec_model(&out, &s.spec, err, sizeof err),
			 IM_EINVAL);
	assert_non_null(strstr(err, "'auto' is not an encoder"));
	s.model.encoder = "mlp";
	s.model.activation = "gelu";
	assert_int_equal(im_runspec_model(&out, &s.spec, err, sizeof err),
			 IM_EINVAL);
	assert_non_null(strstr(err, "activation 'gelu' is not one of: relu, "
				    "tanh"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uint8_scale_round_trip),
		cmocka_unit_test(test_scale_and_dtype_checked),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_wrapping_obs_shape_refused),
		cmocka_unit_test(test_encoders_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
