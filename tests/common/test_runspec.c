/* RunSpec <-> model spec: a spec built from a model describes that model
 * again, and sizes from the network that would overflow are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_wrapping_obs_shape_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
