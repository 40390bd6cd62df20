// SPDX-License-Identifier: Apache-2.0
/* Observation normalisation (nn/obsnorm.h, learn/obsnorm.h): the running
 * statistics against a naive two-pass computation over every row seen so
 * far (named cases, numerically hard ones included), the update on a
 * model's arena, the model's input stage against normalising by hand,
 * actors and the learner normalising alike from the same Params, the
 * optimisers leaving the statistics alone, the checkpoint round trip, and
 * the error paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "err.h"
#include "frozen.h"
#include "learn/obsnorm.h"
#include "learn/optim.h"
#include "nn/model.h"
#include "rng.h"
#include "runspec.h"

/* ---- the statistics ----------------------------------------------------- */

enum { MAXD = 3,
       MAXROWS = 4096,
       MAXBATCHES = 40 };

/* Each case draws batches of rows, element i from loc[i] + spread[i] N(0,1),
 * and checks the statistics after every batch. */
typedef struct stats_case {
	const char *name;
	int D;
	float loc[MAXD], spread[MAXD];
	int nbatches;
	int sizes[MAXBATCHES];
} stats_case;

static const stats_case stats_cases[] = {
	{"first batch replaces the initial (0, 1)", 3, {3.0f, -2.0f, 0.5f}, {1.0f, 0.1f, 10.0f}, 1, {40}},
	{"batches of unequal sizes", 3, {3.0f, -2.0f, 0.5f}, {1.0f, 0.1f, 10.0f}, 5, {1, 7, 64, 3, 200}},
	{"MountainCar-like scales", 2, {-0.5f, 0.0f}, {0.3f, 0.02f}, 4, {160, 160, 160, 160}},
	{"large offset, unit spread", 2, {1e4f, -1e4f}, {1.0f, 1.0f}, 6, {50, 50, 50, 50, 50, 50}},
	{"very large offset", 1, {1e6f}, {1.0f}, 4, {100, 100, 100, 100}},
	{"tiny spread", 1, {0.0f}, {1e-4f}, 3, {30, 30, 30}},
	{"constant element beside a varying one", 2, {7.0f, 1.0f}, {0.0f, 2.0f}, 3, {20, 5, 9}},
	{"one row at a time", 2, {1.0f, -1.0f}, {0.5f, 3.0f}, 30, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
};

/* Population mean and variance of column i of rows (n, D), two passes in
 * double: the reference. */
static void naive_moments(double *mean, double *var, const float *rows,
			  int n, int D, int i)
{
	double s = 0.0, q = 0.0;
	for (int r = 0; r < n; r++)
		s += rows[r * D + i];
	s /= n;
	for (int r = 0; r < n; r++)
		q += (rows[r * D + i] - s) * (rows[r * D + i] - s);
	*mean = s;
	*var = q / n;
}

/* The mean is stored as a float, so it carries an error up to e = half
 * its spacing (|mean| 2^-24); each merge's delta^2 term then moves by up
 * to 2 |delta| e, and the spread around the stored mean differs from the
 * spread around the exact one by e^2.  Beyond that: 1e-5 relative (float
 * storage of var and double sums).  For a unit spread at 1e4 this is
 * 1e-3 of the variance; a one-pass float sum of squares there is off by
 * more than the variance itself. */
static void expect_stats(const char *name, int batch, int i, float mean,
			 float var, double rmean, double rvar)
{
	double e = fabs(rmean) * ldexp(1.0, -24);
	double sd = sqrt(rvar);
	double tm = 2.0 * e + 1e-6 * sd + 1e-30;
	double tv = 1e-5 * rvar + 8.0 * e * sd + 4.0 * e * e + 1e-30;
	if (fabs(mean - rmean) > tm || fabs(var - rvar) > tv)
		fail_msg("%s, batch %d, element %d: mean %.9g var %.9g, want "
			 "%.9g %.9g",
			 name, batch, i, (double)mean, (double)var,
			 rmean, rvar);
}

static void run_stats_case(const stats_case *k, uint64_t seed, float *all)
{
	float mean[MAXD], var[MAXD], count = 0.0f;
	for (int i = 0; i < MAXD; i++) {
		mean[i] = 0.0f;
		var[i] = 1.0f;
	}
	im_rng r;
	im_rng_init(&r, seed);
	int seen = 0;
	for (int b = 0; b < k->nbatches; b++) {
		float *x = all + seen * k->D;
		for (int row = 0; row < k->sizes[b]; row++)
			for (int i = 0; i < k->D; i++)
				x[row * k->D + i] = k->loc[i] +
						    k->spread[i] * (float)im_rng_normal(&r);
		assert_int_equal(im_obsnorm_stats(mean, var, &count, x,
						  (size_t)k->sizes[b], k->D),
				 IM_OK);
		seen += k->sizes[b];
		assert_true(count == (float)seen);
		for (int i = 0; i < k->D; i++) {
			double rm, rv;
			naive_moments(&rm, &rv, all, seen, k->D, i);
			expect_stats(k->name, b, i, mean[i], var[i], rm, rv);
			if (k->spread[i] == 0.0f)
				assert_true(mean[i] == k->loc[i] && var[i] == 0.0f);
		}
	}
}

static void test_stats_against_two_pass(void **state)
{
	(void)state;
	float *all = malloc(sizeof(float) * MAXROWS * MAXD);
	assert_non_null(all);
	for (size_t c = 0; c < sizeof stats_cases / sizeof stats_cases[0]; c++)
		run_stats_case(&stats_cases[c], 11 + c, all);
	free(all);
}

/* What an implementation that sums squares in float would get wrong: at
 * an offset of 1e4 the variance must still come out near 1, not 0 or
 * hundreds (the tolerance above is 1e-3 of it). */
static void test_large_offset_keeps_variance(void **state)
{
	(void)state;
	float x[] = {10000.0f, 10001.0f, 9999.0f, 10002.0f, 9998.0f};
	float mean = 0.0f, var = 1.0f, count = 0.0f;
	assert_int_equal(im_obsnorm_stats(&mean, &var, &count, x, 5, 1), IM_OK);
	assert_true(mean == 10000.0f);
	assert_true(fabsf(var - 2.0f) < 1e-5f);
	/* A second batch equal to the first leaves both unchanged. */
	assert_int_equal(im_obsnorm_stats(&mean, &var, &count, x, 5, 1), IM_OK);
	assert_true(mean == 10000.0f && fabsf(var - 2.0f) < 1e-5f);
	assert_true(count == 10.0f);
}

static void test_stats_errors(void **state)
{
	(void)state;
	float x[4] = {1.0f, 2.0f, 3.0f, 4.0f};
	float mean[2] = {0.5f, -0.5f}, var[2] = {2.0f, 3.0f}, count = 8.0f;
	assert_int_equal(im_obsnorm_stats(mean, var, &count, x, 2, 0), IM_EINVAL);
	assert_int_equal(im_obsnorm_stats(mean, var, &count, x, 0, 2), IM_OK);
	assert_true(mean[0] == 0.5f && var[1] == 3.0f && count == 8.0f);
	x[3] = NAN;
	assert_int_equal(im_obsnorm_stats(mean, var, &count, x, 2, 2),
			 IM_ENONFINITE);
	x[3] = INFINITY;
	assert_int_equal(im_obsnorm_stats(mean, var, &count, x, 2, 2),
			 IM_ENONFINITE);
	assert_true(mean[0] == 0.5f && mean[1] == -0.5f && var[0] == 2.0f &&
		    var[1] == 3.0f && count == 8.0f);
	x[3] = 4.0f;
	count = -1.0f;
	assert_int_equal(im_obsnorm_stats(mean, var, &count, x, 2, 2), IM_EINVAL);
	count = 8.0f;
	var[1] = -1.0f;
	assert_int_equal(im_obsnorm_stats(mean, var, &count, x, 2, 2), IM_EINVAL);
	assert_true(mean[0] == 0.5f && count == 8.0f);
}

/* ---- the model's input stage -------------------------------------------- */

enum { OBS = 3,
       NA = 3,
       T1 = 3,
       B = 2,
       ROWS = T1 * B };

typedef struct net {
	im_model *m;
	im_model_ws *ws;
	float pol[ROWS * NA], val[ROWS];
} net;

static void spec_of(im_model_spec *s, int obs_norm)
{
	im_obs_space obs = {.ndim = 1, .shape = {OBS}, .dtype = IM_DTYPE_F32};
	im_act_space a = {.kind = IM_ACT_DISCRETE, .n = NA};
	im_model_spec_default(s, &obs, &a, 8);
	s->popart = 1;
	s->obs_norm = obs_norm;
	s->seed = 5;
}

static void net_from_spec(net *n, const im_model_spec *s)
{
	assert_int_equal(im_model_new(&n->m, s), IM_OK);
	assert_int_equal(im_model_ws_new(&n->ws, n->m, T1, B), IM_OK);
}

static void net_new(net *n, int obs_norm)
{
	im_model_spec s;
	spec_of(&s, obs_norm);
	net_from_spec(n, &s);
}

static void net_free(net *n)
{
	im_model_ws_free(n->ws);
	im_model_free(n->m);
}

static const float obs_rows[ROWS * OBS] = {
	-0.5f,
	0.01f,
	3.0f,
	-0.4f,
	-0.02f,
	2.0f,
	0.3f,
	0.05f,
	1.0f,
	-2.5f,
	0.0f,
	0.0f,
	0.5f,
	0.9f,
	2.5f, /* -2.5, 0.9: clipped */
	-0.6f,
	-0.001f,
	1.5f,
};
static const int32_t prev_rows[ROWS] = {0, 1, 2, 2, 1, 0};
static const float prew_rows[ROWS] = {-1, -1, -1, -1, -1, -1};

static void set_stats(net *n, float *params)
{
	static const float mean[OBS] = {-0.5f, 0.0f, 1.5f};
	static const float var[OBS] = {0.09f, 4e-4f, 1.0f};
	memcpy(params + im_model_find(n->m, "obs_norm.mean")->offset, mean,
	       sizeof mean);
	memcpy(params + im_model_find(n->m, "obs_norm.var")->offset, var,
	       sizeof var);
	params[im_model_find(n->m, "obs_norm.count")->offset] = 640.0f;
}

static void net_forward(net *n, const float *params, const float *obs)
{
	im_model_input in = {T1, B, obs, prev_rows, NULL, prew_rows, NULL};
	assert_int_equal(im_model_forward(n->ws, params, &in, NULL, NULL, NULL,
					  n->pol, n->val, NULL),
			 IM_OK);
}

/* Copies the tensors b has into b's arena from a's (same names). */
static void copy_shared(net *b, const net *a, const float *pa)
{
	int nt;
	const im_tensor_desc *t = im_model_tensors(b->m, &nt);
	for (int i = 0; i < nt; i++) {
		const im_tensor_desc *s = im_model_find(a->m, t[i].name);
		assert_non_null(s);
		memcpy(im_model_params(b->m) + t[i].offset, pa + s->offset,
		       t[i].numel * sizeof(float));
	}
}

static void expect_close(const char *what, const float *a, const float *b,
			 int n, float tol)
{
	for (int i = 0; i < n; i++)
		if (fabsf(a[i] - b[i]) > tol * fmaxf(1.0f, fabsf(b[i])))
			fail_msg("%s[%d]: %.9g, want %.9g", what, i, (double)a[i],
				 (double)b[i]);
}

/* A model with obs_norm on raw observations computes what the same model
 * without it computes on observations normalised and clipped by hand, and
 * its backward gives the same gradients (none for the statistics). */
static void test_model_normalises_input(void **state)
{
	(void)state;
	net a, b;
	net_new(&a, 1);
	net_new(&b, 0);
	float *pa = im_model_params(a.m);
	set_stats(&a, pa);
	copy_shared(&b, &a, pa);
	const float *mean = pa + im_model_find(a.m, "obs_norm.mean")->offset;
	const float *var = pa + im_model_find(a.m, "obs_norm.var")->offset;
	float normed[ROWS * OBS];
	int clipped = 0;
	for (int r = 0; r < ROWS; r++)
		for (int i = 0; i < OBS; i++) {
			double z = (obs_rows[r * OBS + i] - mean[i]) /
				   sqrt(var[i] + 1e-8);
			clipped += fabs(z) > 5.0;
			normed[r * OBS + i] = (float)fmax(-5.0, fmin(5.0, z));
		}
	assert_true(clipped >= 2);
	net_forward(&a, pa, obs_rows);
	net_forward(&b, im_model_params(b.m), normed);
	expect_close("policy", a.pol, b.pol, ROWS * NA, 1e-6f);
	expect_close("value", a.val, b.val, ROWS, 1e-6f);
	float dpol[ROWS * NA], dval[ROWS];
	for (int i = 0; i < ROWS * NA; i++)
		dpol[i] = 0.1f * (float)((i % 5) - 2);
	for (int i = 0; i < ROWS; i++)
		dval[i] = (float)i - 2.5f;
	size_t npa = im_model_num_params(a.m), npb = im_model_num_params(b.m);
	float *ga = calloc(npa, sizeof(float)), *gb = calloc(npb, sizeof(float));
	assert_non_null(ga);
	assert_non_null(gb);
	assert_int_equal(im_model_backward(a.ws, pa, dpol, dval, ga), IM_OK);
	assert_int_equal(im_model_backward(b.ws, im_model_params(b.m), dpol,
					   dval, gb),
			 IM_OK);
	int nt;
	const im_tensor_desc *t = im_model_tensors(a.m, &nt);
	for (int i = 0; i < nt; i++) {
		const im_tensor_desc *tb = im_model_find(b.m, t[i].name);
		if (tb) {
			expect_close(t[i].name, ga + t[i].offset,
				     gb + tb->offset, (int)t[i].numel, 1e-5f);
			continue;
		}
		for (size_t k = 0; k < t[i].numel; k++)
			assert_true(ga[t[i].offset + k] == 0.0f);
	}
	/* The statistics matter: at the initial (0, 1) the outputs differ. */
	float keep[ROWS];
	memcpy(keep, a.val, sizeof keep);
	im_model_init_params(a.m, pa, IM_NN_INIT_IDENTITY, 5);
	net_forward(&a, pa, obs_rows);
	assert_memory_not_equal(keep, a.val, sizeof keep);
	free(ga);
	free(gb);
	net_free(&a);
	net_free(&b);
}

/* The actor builds its model from the run spec the learner sends
 * (runspec.h) and acts one step at a time; the learner runs T+1 by B.
 * Given the same Params and observations both normalise alike. */
static void test_actor_and_learner_agree(void **state)
{
	(void)state;
	net l;
	net_new(&l, 1);
	float *params = im_model_params(l.m);
	set_stats(&l, params);
	im_runspec_store rs;
	assert_int_equal(im_runspec_build(&rs, 42, "Test-v0", 20, 5,
					  im_model_get_spec(l.m),
					  im_model_num_params(l.m)),
			 IM_OK);
	im_model_spec as;
	char err[128] = "";
	assert_int_equal(im_runspec_model(&as, &rs.spec, err, sizeof err), IM_OK);
	assert_int_equal(as.obs_norm, 1);
	im_model *am;
	im_model_ws *aws;
	assert_int_equal(im_model_new(&am, &as), IM_OK);
	assert_int_equal(im_model_num_params(am), im_model_num_params(l.m));
	assert_int_equal(im_model_ws_new(&aws, am, 1, 1), IM_OK);
	net_forward(&l, params, obs_rows);
	for (int r = 0; r < ROWS; r++) {
		float pol[NA], val;
		im_model_input in = {1, 1, obs_rows + r * OBS, prev_rows + r,
				     NULL, prew_rows + r, NULL};
		assert_int_equal(im_model_act(aws, params, &in, NULL, NULL, pol,
					      &val),
				 IM_OK);
		expect_close("actor policy", pol, l.pol + r * NA, NA, 1e-5f);
		expect_close("actor value", &val, l.val + r, 1, 1e-5f);
	}
	im_model_ws_free(aws);
	im_model_free(am);
	net_free(&l);
}

/* uint8 images are refused: by the model and by the run spec's reader. */
static void test_uint8_refused(void **state)
{
	(void)state;
	im_obs_space obs = {.ndim = 1, .shape = {OBS}, .dtype = IM_DTYPE_U8, .scale = 1.0f};
	im_act_space a = {.kind = IM_ACT_DISCRETE, .n = NA};
	im_model_spec s;
	im_model_spec_default(&s, &obs, &a, 8);
	im_model *m = NULL;
	s.obs_norm = 1;
	assert_int_equal(im_model_new(&m, &s), IM_EINVAL);
	assert_null(m);
	s.obs_norm = 0;
	im_runspec_store rs;
	assert_int_equal(im_runspec_build(&rs, 1, "Test-v0", 20, 5, &s, 10),
			 IM_OK);
	rs.model.obs_norm = 1;
	im_model_spec back;
	char err[128] = "";
	assert_int_equal(im_runspec_model(&back, &rs.spec, err, sizeof err),
			 IM_EINVAL);
	assert_non_null(strstr(err, "obs_norm"));
}

/* The update on the arena is the statistics' update on its tensors, and
 * needs a model that has them. */
static void test_update_on_arena(void **state)
{
	(void)state;
	net n, plain;
	net_new(&n, 1);
	net_new(&plain, 0);
	float *params = im_model_params(n.m);
	size_t np = im_model_num_params(n.m);
	float *before = malloc(np * sizeof(float));
	assert_non_null(before);
	memcpy(before, params, np * sizeof(float));
	float mean[OBS] = {0}, var[OBS] = {1, 1, 1}, count = 0.0f;
	assert_int_equal(im_obsnorm_update(n.m, params, obs_rows, ROWS), IM_OK);
	assert_int_equal(im_obsnorm_stats(mean, var, &count, obs_rows, ROWS,
					  OBS),
			 IM_OK);
	const im_tensor_desc *tm = im_model_find(n.m, "obs_norm.mean");
	const im_tensor_desc *tv = im_model_find(n.m, "obs_norm.var");
	const im_tensor_desc *tc = im_model_find(n.m, "obs_norm.count");
	assert_memory_equal(params + tm->offset, mean, sizeof mean);
	assert_memory_equal(params + tv->offset, var, sizeof var);
	assert_true(params[tc->offset] == (float)ROWS);
	/* Nothing else in the arena moved. */
	assert_memory_equal(params, before, tm->offset * sizeof(float));
	assert_int_equal(im_obsnorm_update(plain.m, im_model_params(plain.m),
					   obs_rows, ROWS),
			 IM_EINVAL);
	free(before);
	net_free(&n);
	net_free(&plain);
}

static void forward_rows(void *n, const float *params)
{
	net_forward(n, params, obs_rows);
}

/* The statistics have no gradient: neither optimiser moves them, and
 * their moments stay zero. */
static void test_optimisers_leave_stats(void **state)
{
	(void)state;
	im_optim_kind kinds[] = {IM_OPTIM_RMSPROP, IM_OPTIM_ADAM};
	for (int k = 0; k < 2; k++) {
		net n;
		net_new(&n, 1);
		set_stats(&n, im_model_params(n.m));
		/* mean, var, count */
		frozen_range r = {im_model_find(n.m, "obs_norm.mean")->offset,
				  2 * OBS + 1};
		frozen_net fn = {n.m, n.ws, ROWS, NA, forward_rows, &n};
		frozen_under_optimiser(&fn, kinds[k], &r, 1);
		net_free(&n);
	}
}

/* The learner's checkpoint carries the statistics: a resume restores them
 * bit for bit, and a model without obs_norm refuses the file (and the
 * other way round) instead of training on half a model. */
static void test_checkpoint_round_trip(void **state)
{
	(void)state;
	net a, b, plain;
	net_new(&a, 1);
	net_new(&b, 1);
	net_new(&plain, 0);
	float *pa = im_model_params(a.m);
	set_stats(&a, pa);
	assert_int_equal(im_obsnorm_update(a.m, pa, obs_rows, ROWS), IM_OK);
	size_t np = im_model_num_params(a.m);
	im_optim_opts oo = im_optim_defaults(IM_OPTIM_RMSPROP);
	im_optim *opt, *opt2;
	assert_int_equal(im_optim_new(&opt, &oo, np), IM_OK);
	assert_int_equal(im_optim_new(&opt2, &oo, np), IM_OK);
	char path[] = "/tmp/im_obsnorm_ckpt_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	im_ckpt_counters c = {.run_id = 7, .frames = 1000, .updates = 10, .param_version = 10};
	snprintf(c.env, sizeof c.env, "Test-v0");
	char err[256] = "";
	assert_int_equal(im_checkpoint_save(path, a.m, pa, opt, &c, "{}", err,
					    sizeof err),
			 IM_OK);
	im_ckpt_counters back;
	float *pb = im_model_params(b.m);
	assert_int_equal(im_checkpoint_load(path, b.m, pb, opt2, &back, err,
					    sizeof err),
			 IM_OK);
	assert_memory_equal(pb, pa, np * sizeof(float));
	assert_true(pb[im_model_find(b.m, "obs_norm.count")->offset] ==
		    640.0f + ROWS);
	float *pp = im_model_params(plain.m);
	assert_int_equal(im_checkpoint_load(path, plain.m, pp, NULL, &back, err,
					    sizeof err),
			 IM_EARCH);
	assert_non_null(strstr(err, "obs_norm.mean"));
	err[0] = '\0';
	assert_int_equal(im_checkpoint_save(path, plain.m, pp, NULL, &c, "{}",
					    err, sizeof err),
			 IM_OK);
	assert_int_equal(im_checkpoint_load(path, b.m, pb, NULL, &back, err,
					    sizeof err),
			 IM_EARCH);
	assert_non_null(strstr(err, "obs_norm"));
	unlink(path);
	im_optim_free(opt);
	im_optim_free(opt2);
	net_free(&a);
	net_free(&b);
	net_free(&plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats_against_two_pass),
		cmocka_unit_test(test_large_offset_keeps_variance),
		cmocka_unit_test(test_stats_errors),
		cmocka_unit_test(test_model_normalises_input),
		cmocka_unit_test(test_actor_and_learner_agree),
		cmocka_unit_test(test_uint8_refused),
		cmocka_unit_test(test_update_on_arena),
		cmocka_unit_test(test_optimisers_leave_stats),
		cmocka_unit_test(test_checkpoint_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
