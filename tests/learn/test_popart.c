// SPDX-License-Identifier: Apache-2.0
/* PopArt (learn/popart.h): the statistics' update against a double
 * computation, the step size schedule, the sigma clamp, the rescale that
 * preserves a linear layer's unnormalised output, the model's PopArt head
 * (output sigma * n + mu, value gradient scaled by sigma, no gradient for
 * the statistics), a whole im_popart_update that leaves the model's values
 * and policy unchanged, and the error paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "frozen.h"
#include "learn/optim.h"
#include "learn/popart.h"
#include "naive.h"
#include "nn/model.h"
#include "rng.h"

enum { NV = 50 };

static void targets(float *vs, int n, float loc, float spread, uint64_t seed)
{
	im_rng r;
	im_rng_init(&r, seed);
	for (int i = 0; i < n; i++)
		vs[i] = loc + spread * (float)im_rng_normal(&r);
}

/* Named cases of one statistics step, checked against double arithmetic. */
typedef struct stats_case {
	const char *name;
	float mu, sigma, loc, spread;
	double beta;
} stats_case;

static const stats_case stats_cases[] = {
	{"first step takes the batch moments", 0.0f, 1.0f, -80.0f, 12.0f, 1.0},
	{"small step from the identity", 0.0f, 1.0f, -80.0f, 12.0f, 3e-4},
	{"moving statistics", 5.0f, 3.0f, 20.0f, 0.5f, 0.1},
	{"targets far below", 100.0f, 2.0f, -1e4f, 50.0f, 0.5},
};

static void test_stats_update(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof stats_cases / sizeof stats_cases[0]; c++) {
		const stats_case *k = &stats_cases[c];
		float vs[NV];
		targets(vs, NV, k->loc, k->spread, 7 + c);
		double m1 = 0, m2 = 0;
		for (int i = 0; i < NV; i++) {
			m1 += vs[i];
			m2 += (double)vs[i] * vs[i];
		}
		m1 /= NV;
		m2 /= NV;
		double nu = (double)k->sigma * k->sigma + (double)k->mu * k->mu;
		double mu = (1 - k->beta) * k->mu + k->beta * m1;
		double sg = sqrt((1 - k->beta) * nu + k->beta * m2 - mu * mu);
		float gm = k->mu, gs = k->sigma;
		assert_int_equal(im_popart_stats(&gm, &gs, vs, NV, k->beta), IM_OK);
		if (rel_err(gm, mu) > 1e-5 || rel_err(gs, sg) > 1e-4)
			fail_msg("%s: mu %.7g sigma %.7g, want %.7g %.7g",
				 k->name, gm, gs, mu, sg);
	}
}

static void test_stats_first_step_is_batch_std(void **state)
{
	(void)state;
	float vs[4] = {1, 2, 3, 6}; /* mean 3, population variance 3.5 */
	float mu = 0, sigma = 1;
	assert_int_equal(im_popart_stats(&mu, &sigma, vs, 4, 1.0), IM_OK);
	assert_float_equal(mu, 3.0f, 1e-6);
	assert_float_equal(sigma, sqrtf(3.5f), 1e-6);
}

static void test_stats_clamp(void **state)
{
	(void)state;
	float vs[NV];
	for (int i = 0; i < NV; i++)
		vs[i] = -42.0f; /* no spread at all */
	float mu = 0, sigma = 1;
	assert_int_equal(im_popart_stats(&mu, &sigma, vs, NV, 1.0), IM_OK);
	assert_float_equal(mu, -42.0f, 1e-6);
	assert_float_equal(sigma, (float)IM_POPART_SIGMA_MIN, 1e-9);
	targets(vs, NV, 0.0f, 1e8f, 3);
	assert_int_equal(im_popart_stats(&mu, &sigma, vs, NV, 1.0), IM_OK);
	assert_float_equal(sigma, (float)IM_POPART_SIGMA_MAX, 1.0);
}

static void test_step_schedule(void **state)
{
	(void)state;
	assert_true(im_popart_step(3e-4, 0) == 1.0);
	assert_true(im_popart_step(3e-4, 1) == 0.5);
	assert_true(im_popart_step(3e-4, 99) == 0.01);
	assert_true(im_popart_step(3e-4, 1000000) == 3e-4);
	/* As a running mean: k steps of 1 / (t + 1) give the plain mean. */
	float mu = 0, sigma = 1;
	float a[2] = {2, 4}, b[2] = {10, 12};
	im_popart_stats(&mu, &sigma, a, 2, im_popart_step(1e-6, 0));
	im_popart_stats(&mu, &sigma, b, 2, im_popart_step(1e-6, 1));
	assert_float_equal(mu, 7.0f, 1e-5);
	assert_float_equal(sigma, sqrtf(17.0f), 1e-5); /* E[x^2] 66 - 49 */
}

static void test_rescale_preserves_output(void **state)
{
	(void)state;
	enum { C = 9 };
	im_rng r;
	im_rng_init(&r, 5);
	float w[C], h[C], b = 0.3f;
	for (int i = 0; i < C; i++) {
		w[i] = (float)im_rng_normal(&r);
		h[i] = (float)im_rng_normal(&r);
	}
	const float mu = 1.5f, sigma = 2.0f, mu2 = -60.0f, sigma2 = 17.0f;
	double before = b;
	for (int i = 0; i < C; i++)
		before += (double)w[i] * h[i];
	before = sigma * before + mu;
	assert_int_equal(im_popart_rescale(w, &b, C, mu, sigma, mu2, sigma2),
			 IM_OK);
	double after = b;
	for (int i = 0; i < C; i++)
		after += (double)w[i] * h[i];
	after = sigma2 * after + mu2;
	assert_true(rel_err(after, before) < 1e-5);
	assert_int_equal(im_popart_rescale(w, &b, C, mu, 0.0f, mu2, sigma2),
			 IM_EINVAL);
	assert_int_equal(im_popart_rescale(w, &b, C, mu, sigma, mu2, -1.0f),
			 IM_EINVAL);
}

/* ---- the model's PopArt head -------------------------------------------- */

enum { MB = 6,
       OBS = 4 };

typedef struct net {
	im_model *m;
	im_model_ws *ws;
	float obs[MB * OBS];
	int32_t prev[MB];
	float prew[MB];
	float pol[MB * 3], val[MB];
} net;

static void net_new(net *n, int popart)
{
	im_obs_space obs = {.ndim = 1, .shape = {OBS}, .dtype = IM_DTYPE_F32};
	im_act_space a = {.kind = IM_ACT_DISCRETE, .n = 3};
	im_model_spec s;
	im_model_spec_default(&s, &obs, &a, 8);
	s.popart = popart;
	s.seed = 3;
	assert_int_equal(im_model_new(&n->m, &s), IM_OK);
	assert_int_equal(im_model_ws_new(&n->ws, n->m, 1, MB), IM_OK);
	im_rng r;
	im_rng_init(&r, 9);
	for (int i = 0; i < MB * OBS; i++)
		n->obs[i] = (float)im_rng_normal(&r);
	memset(n->prev, 0, sizeof n->prev);
	memset(n->prew, 0, sizeof n->prew);
}

static void net_free(net *n)
{
	im_model_ws_free(n->ws);
	im_model_free(n->m);
}

static void net_forward(net *n, const float *params)
{
	im_model_input in = {1, MB, n->obs, n->prev, NULL, n->prew, NULL};
	assert_int_equal(im_model_forward(n->ws, params, &in, NULL, NULL, NULL,
					  n->pol, n->val, NULL),
			 IM_OK);
}

static float *stat(net *n, const char *name)
{
	const im_tensor_desc *t = im_model_find(n->m, name);
	assert_non_null(t);
	assert_int_equal(t->numel, 1);
	return im_model_params(n->m) + t->offset;
}

static void test_head_layout_and_init(void **state)
{
	(void)state;
	net a, b;
	net_new(&a, 0);
	net_new(&b, 1);
	assert_null(im_model_find(a.m, "baseline.mu"));
	assert_int_equal(im_model_num_params(b.m), im_model_num_params(a.m) + 2);
	assert_true(*stat(&b, "baseline.mu") == 0.0f);
	assert_true(*stat(&b, "baseline.sigma") == 1.0f);
	/* The identity statistics change nothing: same seed, same outputs. */
	net_forward(&a, im_model_params(a.m));
	net_forward(&b, im_model_params(b.m));
	assert_memory_equal(a.val, b.val, sizeof a.val);
	assert_memory_equal(a.pol, b.pol, sizeof a.pol);
	net_free(&a);
	net_free(&b);
}

static void test_head_forward_backward(void **state)
{
	(void)state;
	net n;
	net_new(&n, 1);
	size_t np = im_model_num_params(n.m);
	const im_tensor_desc *bw = im_model_find(n.m, "baseline.weight");
	const im_tensor_desc *bb = im_model_find(n.m, "baseline.bias");
	float v1[MB], dval[MB], dpol[MB * 3] = {0};
	for (int i = 0; i < MB; i++)
		dval[i] = 0.25f * (float)(i + 1);
	float *g1 = calloc(np, sizeof(float)), *g2 = calloc(np, sizeof(float));
	assert_true(g1 && g2);
	net_forward(&n, im_model_params(n.m));
	memcpy(v1, n.val, sizeof v1);
	assert_int_equal(im_model_backward(n.ws, im_model_params(n.m), dpol,
					   dval, g1),
			 IM_OK);
	*stat(&n, "baseline.mu") = -30.0f;
	*stat(&n, "baseline.sigma") = 4.0f;
	net_forward(&n, im_model_params(n.m));
	for (int i = 0; i < MB; i++)
		assert_float_equal(n.val[i], 4.0f * v1[i] - 30.0f, 1e-4);
	assert_int_equal(im_model_backward(n.ws, im_model_params(n.m), dpol,
					   dval, g2),
			 IM_OK);
	/* dL/dn = sigma dL/dV, so the head's gradient is 4 times larger. */
	for (size_t i = 0; i < bw->numel; i++)
		assert_float_equal(g2[bw->offset + i], 4.0f * g1[bw->offset + i],
				   1e-5);
	assert_float_equal(g2[bb->offset], 4.0f * g1[bb->offset], 1e-5);
	/* The statistics are not trained. */
	assert_true(g2[im_model_find(n.m, "baseline.mu")->offset] == 0.0f);
	assert_true(g2[im_model_find(n.m, "baseline.sigma")->offset] == 0.0f);
	free(g1);
	free(g2);
	net_free(&n);
}

static void forward_net(void *n, const float *params)
{
	net_forward(n, params);
}

/* mu and sigma are set only by im_popart_update: neither optimiser moves
 * them, and Adam's and RMSprop's moments for them stay zero (a moment
 * that grew there would move them once the gradient changed). */
static void test_optimisers_leave_stats(void **state)
{
	(void)state;
	im_optim_kind kinds[] = {IM_OPTIM_RMSPROP, IM_OPTIM_ADAM};
	for (int k = 0; k < 2; k++) {
		net n;
		net_new(&n, 1);
		float *params = im_model_params(n.m);
		size_t om = im_model_find(n.m, "baseline.mu")->offset;
		size_t os = im_model_find(n.m, "baseline.sigma")->offset;
		params[om] = -7.0f;
		params[os] = 3.0f;
		frozen_range r[] = {{om, 1}, {os, 1}};
		frozen_net fn = {n.m, n.ws, MB, 3, forward_net, &n};
		frozen_under_optimiser(&fn, kinds[k], r, 2);
		net_free(&n);
	}
}

static void test_update_preserves_model_outputs(void **state)
{
	(void)state;
	net n;
	net_new(&n, 1);
	float *params = im_model_params(n.m);
	float v0[MB], p0[MB * 3], vs[NV];
	net_forward(&n, params);
	memcpy(v0, n.val, sizeof v0);
	memcpy(p0, n.pol, sizeof p0);
	targets(vs, NV, -95.0f, 20.0f, 4);
	for (uint64_t step = 0; step < 3; step++) {
		assert_int_equal(im_popart_update(n.m, params, vs, NV,
						  im_popart_step(0.01, step)),
				 IM_OK);
		net_forward(&n, params);
		for (int i = 0; i < MB; i++)
			if (fabsf(n.val[i] - v0[i]) > 1e-4f * fmaxf(1.0f, fabsf(v0[i])))
				fail_msg("step %d row %d: V %.7g, was %.7g",
					 (int)step, i, n.val[i], v0[i]);
		assert_memory_equal(n.pol, p0, sizeof p0);
	}
	assert_true(*stat(&n, "baseline.mu") < -80.0f);
	assert_true(*stat(&n, "baseline.sigma") > 10.0f);
	net_free(&n);
}

static void test_bad_inputs(void **state)
{
	(void)state;
	float vs[3] = {1, 2, NAN}, mu = 0.5f, sigma = 2.0f;
	assert_int_equal(im_popart_stats(&mu, &sigma, vs, 3, 0.0), IM_EINVAL);
	assert_int_equal(im_popart_stats(&mu, &sigma, vs, 3, 1.5), IM_EINVAL);
	assert_int_equal(im_popart_stats(&mu, &sigma, vs, 3, 0.1),
			 IM_ENONFINITE);
	assert_true(mu == 0.5f && sigma == 2.0f);
	assert_int_equal(im_popart_stats(&mu, &sigma, vs, 0, 0.1), IM_OK);
	assert_true(mu == 0.5f && sigma == 2.0f);
	sigma = 0.0f;
	assert_int_equal(im_popart_stats(&mu, &sigma, vs, 2, 0.1), IM_EINVAL);
	net n;
	net_new(&n, 0);
	assert_int_equal(im_popart_update(n.m, im_model_params(n.m), vs, 2, 0.1),
			 IM_EINVAL);
	net_free(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats_update),
		cmocka_unit_test(test_stats_first_step_is_batch_std),
		cmocka_unit_test(test_stats_clamp),
		cmocka_unit_test(test_step_schedule),
		cmocka_unit_test(test_rescale_preserves_output),
		cmocka_unit_test(test_head_layout_and_init),
		cmocka_unit_test(test_head_forward_backward),
		cmocka_unit_test(test_optimisers_leave_stats),
		cmocka_unit_test(test_update_preserves_model_outputs),
		cmocka_unit_test(test_bad_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
