// SPDX-License-Identifier: Apache-2.0
/* Optimisers follow PyTorch's documented updates (re-implemented here in
 * double from the torch.optim docs) over several steps; eps sits outside the
 * square root; the fast loops match the naive ones; gradient clipping and
 * the learning-rate schedule do what torch and the design say; and, when
 * the PyTorch reference dumps are present, one clipped step from the dumped
 * gradients gives the dumped parameters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/ckpt.h"
#include "err.h"
#include "naive.h"
#include "learn/optim.h"
#include "learn/optim_loops.h"
#include "rng.h"

enum { NP = 1000,
       STEPS = 8 };

/* torch.optim.RMSprop / Adam as the PyTorch documentation writes them. */
static void torch_doc_step(im_optim_kind kind, double *p, const double *g,
			   double *s1, double *s2, int t, size_t n, double lr,
			   const im_optim_opts *o)
{
	for (size_t i = 0; i < n; i++) {
		if (kind == IM_OPTIM_RMSPROP) {
			s1[i] = o->alpha * s1[i] + (1 - o->alpha) * g[i] * g[i];
			p[i] -= lr * g[i] / (sqrt(s1[i]) + o->eps);
			continue;
		}
		s1[i] = o->beta1 * s1[i] + (1 - o->beta1) * g[i];
		s2[i] = o->beta2 * s2[i] + (1 - o->beta2) * g[i] * g[i];
		double mhat = s1[i] / (1 - pow(o->beta1, t));
		double vhat = s2[i] / (1 - pow(o->beta2, t));
		p[i] -= lr * mhat / (sqrt(vhat) + o->eps);
	}
}

static void check_kind(im_optim_kind kind, int naive)
{
	im_optim_opts o = im_optim_defaults(kind);
	im_optim *opt;
	assert_int_equal(im_optim_new(&opt, &o, NP), 0);
	static float p[NP], g[NP];
	static double dp[NP], dg[NP], s1[NP], s2[NP];
	im_rng r;
	im_rng_init(&r, 11 + kind);
	for (int i = 0; i < NP; i++) {
		p[i] = (float)im_rng_normal(&r);
		dp[i] = p[i];
		s1[i] = s2[i] = 0.0;
	}
	double lr = 0.01;
	for (int t = 1; t <= STEPS; t++) {
		for (int i = 0; i < NP; i++) {
			/* gradients over several magnitudes, some 0 */
			g[i] = (float)(im_rng_normal(&r) *
				       pow(10.0, (double)(i % 7) - 4.0));
			if (i % 50 == 0)
				g[i] = 0.0f;
			dg[i] = g[i];
		}
		if (naive)
			im_optim_step_naive(opt, p, g, (float)lr);
		else
			im_optim_step(opt, p, g, (float)lr);
		torch_doc_step(kind, dp, dg, s1, s2, t, NP, lr, &o);
	}
	assert_int_equal(opt->step, STEPS);
	for (int i = 0; i < NP; i++)
		if (fabs(p[i] - dp[i]) > 2e-6 * fmax(1.0, fabs(dp[i])))
			fail_msg("%s param %d: %.9g, reference %.9g",
				 im_optim_kind_name(kind), i, p[i], dp[i]);
	for (int i = 0; i < NP; i++)
		assert_true(rel_err(opt->m1[i], s1[i]) < 1e-5);
	im_optim_free(opt);
}

static void test_rmsprop_matches_torch_doc(void **state)
{
	(void)state;
	check_kind(IM_OPTIM_RMSPROP, 0);
	check_kind(IM_OPTIM_RMSPROP, 1);
}

static void test_adam_matches_torch_doc(void **state)
{
	(void)state;
	check_kind(IM_OPTIM_ADAM, 0);
	check_kind(IM_OPTIM_ADAM, 1);
}

/* The fast loops are vectorised (common/learn/optim_loops.c): lengths
 * around the vector width and an odd one exercise the remainder loop,
 * against the naive double reference, within check_kind's tolerances. */
static void check_lengths(im_optim_kind kind)
{
	static const size_t lens[] = {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 1003};
	im_rng r;
	im_rng_init(&r, 23 + kind);
	for (size_t c = 0; c < sizeof lens / sizeof lens[0]; c++) {
		size_t n = lens[c];
		im_optim_opts o = im_optim_defaults(kind);
		im_optim *fast, *ref;
		assert_int_equal(im_optim_new(&fast, &o, n), 0);
		assert_int_equal(im_optim_new(&ref, &o, n), 0);
		float *p = malloc(n * sizeof(float)), *q = malloc(n * sizeof(float));
		float *g = malloc(n * sizeof(float));
		for (size_t i = 0; i < n; i++)
			p[i] = q[i] = (float)im_rng_normal(&r);
		for (int t = 0; t < STEPS; t++) {
			for (size_t i = 0; i < n; i++)
				g[i] = (float)(im_rng_normal(&r) *
					       pow(10.0, (double)(i % 5) - 3.0));
			im_optim_step(fast, p, g, 0.01f);
			im_optim_step_naive(ref, q, g, 0.01f);
		}
		for (size_t i = 0; i < n; i++) {
			if (fabs(p[i] - q[i]) > 2e-6 * fmax(1.0, fabs(q[i])))
				fail_msg("%s n=%zu param %zu: %.9g, naive %.9g",
					 im_optim_kind_name(kind), n, i, p[i], q[i]);
			assert_true(rel_err(fast->m1[i], ref->m1[i]) < 1e-5);
			if (kind == IM_OPTIM_ADAM)
				assert_true(rel_err(fast->m2[i], ref->m2[i]) < 1e-5);
		}
		free(p);
		free(q);
		free(g);
		im_optim_free(fast);
		im_optim_free(ref);
	}
}

static void test_fast_matches_naive_any_length(void **state)
{
	(void)state;
	check_lengths(IM_OPTIM_RMSPROP);
	check_lengths(IM_OPTIM_ADAM);
}

/* Moments that decayed into the denormals are stored as 0 when eps is at
 * least IM_OPTIM_FLUSH_MIN_EPS (both defaults), and the parameters move
 * as the naive reference (which keeps them) says; with eps 0 they are
 * kept.  Element 0 has no gradient, element 1 a tiny one, element 2 an
 * ordinary one whose moments stay normal. */
static void check_denormals(im_optim_kind kind, float eps, int flushed)
{
	enum { N = 9 }; /* past one vector of 4 or 8 */
	const float tiny = 1e-44f;
	im_optim_opts o = im_optim_defaults(kind);
	o.eps = eps;
	im_optim *fast, *ref;
	assert_int_equal(im_optim_new(&fast, &o, N), 0);
	assert_int_equal(im_optim_new(&ref, &o, N), 0);
	float p[N], q[N], g[N];
	for (int i = 0; i < N; i++) {
		p[i] = q[i] = 0.5f;
		g[i] = i % 3 == 0 ? 0.0f : i % 3 == 1 ? 1e-30f
						      : 0.25f;
		for (int k = 0; k < im_optim_state_count(fast); k++)
			im_optim_state(fast, k)[i] = im_optim_state(ref, k)[i] =
				i % 3 == 2 ? 0.01f : tiny;
	}
	im_optim_step(fast, p, g, 0.01f);
	im_optim_step_naive(ref, q, g, 0.01f);
	for (int i = 0; i < N; i++) {
		if (fabs(p[i] - q[i]) > 2e-6 * fmax(1.0, fabs(q[i])))
			fail_msg("%s eps %g param %d: %.9g, naive %.9g",
				 im_optim_kind_name(kind), eps, i, p[i], q[i]);
		for (int k = 0; k < im_optim_state_count(fast); k++) {
			float got = im_optim_state(fast, k)[i];
			float want = im_optim_state(ref, k)[i];
			if (fabsf(want) >= FLT_MIN || !flushed)
				assert_float_equal(got, want, 1e-6 * fabsf(want));
			else
				assert_true(got == 0.0f);
		}
	}
	/* The held ones really were denormal in the reference. */
	float m0 = im_optim_state(ref, 0)[0];
	assert_true(m0 > 0.0f && m0 < FLT_MIN);
	im_optim_free(fast);
	im_optim_free(ref);
}

static void test_denormal_moments_flushed(void **state)
{
	(void)state;
	check_denormals(IM_OPTIM_RMSPROP, 0.01f, 1);
	check_denormals(IM_OPTIM_RMSPROP, 0.0f, 0);
	check_denormals(IM_OPTIM_ADAM, 1e-8f, 1);
	check_denormals(IM_OPTIM_ADAM, 0.0f, 0);
}

/* By hand: RMSprop's first step with g = 1, lr = 0.1, alpha 0.99, eps 0.01
 * is 0.1 / (sqrt(0.01) + 0.01) = 0.1 / 0.11 (eps inside the root would
 * give 0.1 / sqrt(0.02)).  Adam's first step is lr * g / (|g| + eps). */
static void test_first_steps_by_hand(void **state)
{
	(void)state;
	im_optim_opts o = im_optim_defaults(IM_OPTIM_RMSPROP);
	assert_float_equal(o.alpha, 0.99, 1e-9);
	assert_float_equal(o.eps, 0.01, 1e-9);
	im_optim *opt;
	float p = 0.0f, g = 1.0f;
	assert_int_equal(im_optim_new(&opt, &o, 1), 0);
	im_optim_step(opt, &p, &g, 0.1f);
	assert_float_equal(p, -0.1 / 0.11, 1e-6);
	im_optim_free(opt);

	o = im_optim_defaults(IM_OPTIM_ADAM);
	assert_float_equal(o.beta1, 0.9, 1e-9);
	assert_float_equal(o.beta2, 0.999, 1e-9);
	assert_float_equal(o.eps, 1e-8, 1e-12);
	assert_int_equal(im_optim_new(&opt, &o, 1), 0);
	p = 1.0f;
	g = -0.5f;
	im_optim_step(opt, &p, &g, 0.001f);
	assert_float_equal(p, 1.0 + 0.001 * 0.5 / (0.5 + 1e-8), 1e-7);
	assert_string_equal(im_optim_state_name(opt, 1), "exp_avg_sq");
	im_optim_free(opt);
}

static void test_clip_grad_norm(void **state)
{
	(void)state;
	float g[4] = {3.0f, 0.0f, 4.0f, 0.0f}, h[4];
	memcpy(h, g, sizeof(g));
	/* Below the threshold: the norm is reported, nothing changes. */
	assert_float_equal(im_optim_clip_grad_norm(g, 4, 40.0), 5.0, 1e-9);
	assert_memory_equal(g, h, sizeof(g));
	/* Above: scaled by max / (norm + 1e-6), norm before clipping back. */
	assert_float_equal(im_optim_clip_grad_norm(g, 4, 1.0), 5.0, 1e-9);
	double s = 1.0 / (5.0 + 1e-6);
	assert_float_equal(g[0], 3.0 * s, 1e-7);
	assert_float_equal(g[2], 4.0 * s, 1e-7);
	assert_float_equal(im_optim_clip_grad_norm(g, 4, 1.0), 5.0 * s, 1e-6);
	/* A non-finite norm is reported and the gradients left for the
	 * caller to discard. */
	g[1] = NAN;
	assert_true(isnan(im_optim_clip_grad_norm(g, 4, 1.0)));
	/* A long vector: the norm equals the double-precision sum. */
	static float big[100003];
	double ss = 0.0;
	for (int i = 0; i < 100003; i++) {
		big[i] = (float)sin(i);
		ss += (double)big[i] * big[i];
	}
	assert_float_equal(im_optim_clip_grad_norm(big, 100003, 0.0), sqrt(ss),
			   1e-9 * sqrt(ss));
}

/* The clip folded into the step (im_update_apply's path): stepping with
 * the factor is bit for bit clipping the gradients in place and then
 * stepping, for both optimisers, a clipping and a non-clipping factor
 * and lengths around the vector widths; the gradients are left as they
 * were. */
static void check_scaled_step(im_optim_kind kind, size_t n, double max_norm)
{
	im_optim_opts o = im_optim_defaults(kind);
	im_optim *fused, *twopass;
	assert_int_equal(im_optim_new(&fused, &o, n), 0);
	assert_int_equal(im_optim_new(&twopass, &o, n), 0);
	float *p = malloc(n * sizeof(float)), *q = malloc(n * sizeof(float));
	float *g = malloc(n * sizeof(float)), *h = malloc(n * sizeof(float));
	im_rng r;
	im_rng_init(&r, 31 + (uint64_t)n);
	for (size_t i = 0; i < n; i++)
		p[i] = q[i] = (float)im_rng_normal(&r);
	for (int t = 0; t < STEPS; t++) {
		for (size_t i = 0; i < n; i++)
			g[i] = h[i] = (float)(im_rng_normal(&r) *
					      pow(10.0, (double)(i % 5) - 1.0));
		double norm = im_optim_grad_norm(g, n);
		float s = im_optim_clip_scale(norm, max_norm);
		assert_true(max_norm <= 0.0 || norm <= max_norm || s < 1.0f);
		im_optim_step_scaled(fused, p, g, s, 0.01f);
		assert_float_equal(im_optim_clip_grad_norm(h, n, max_norm), norm,
				   0.0);
		im_optim_step(twopass, q, h, 0.01f);
		/* g as it was: h is it scaled, or, unclipped, untouched */
		for (size_t i = 0; i < n; i++)
			assert_true(h[i] == g[i] * s);
	}
	assert_memory_equal(p, q, n * sizeof(float));
	for (int k = 0; k < im_optim_state_count(fused); k++)
		assert_memory_equal(im_optim_state(fused, k),
				    im_optim_state(twopass, k), n * sizeof(float));
	free(p);
	free(q);
	free(g);
	free(h);
	im_optim_free(fused);
	im_optim_free(twopass);
}

static void test_scaled_step_is_clip_then_step(void **state)
{
	(void)state;
	static const size_t lens[] = {1, 5, 16, 17, 1003};
	for (size_t c = 0; c < sizeof lens / sizeof lens[0]; c++)
		for (int k = 0; k < 2; k++) {
			/* 0.5: every step clips; 0: none does */
			check_scaled_step((im_optim_kind)k, lens[c], 0.5);
			check_scaled_step((im_optim_kind)k, lens[c], 0.0);
		}
	assert_float_equal(im_optim_clip_scale(5.0, 40.0), 1.0, 0.0);
	assert_float_equal(im_optim_clip_scale(NAN, 40.0), 1.0, 0.0);
	assert_float_equal(im_optim_clip_scale(80.0, 0.0), 1.0, 0.0);
	assert_float_equal(im_optim_clip_scale(80.0, 40.0),
			   (float)(40.0 / (80.0 + 1e-6)), 0.0);
}

/* The lane sums of the norm against one plain double sum, at every
 * length from 0 to past two rounds of lanes (the remainder loop), and a
 * NaN anywhere comes out. */
static void test_grad_norm_lengths(void **state)
{
	(void)state;
	float g[2 * IM_OPTIM_SUM_LANES + 3];
	for (size_t i = 0; i < sizeof g / sizeof g[0]; i++)
		g[i] = (float)(1.0 + 0.37 * (double)i) * (i % 2 ? -1.0f : 1.0f);
	for (size_t n = 0; n <= sizeof g / sizeof g[0]; n++) {
		double ss = 0.0;
		for (size_t i = 0; i < n; i++)
			ss += (double)g[i] * g[i];
		assert_float_equal(im_optim_grad_norm(g, n), sqrt(ss),
				   1e-12 * sqrt(ss));
	}
	g[IM_OPTIM_SUM_LANES + 1] = NAN;
	assert_true(isnan(im_optim_grad_norm(g, sizeof g / sizeof g[0])));
}

static void test_lr_schedule(void **state)
{
	(void)state;
	assert_float_equal(im_optim_lr_linear(0.0004f, 0, 1000), 0.0004, 1e-9);
	assert_float_equal(im_optim_lr_linear(0.0004f, 250, 1000), 0.0003,
			   1e-9);
	assert_float_equal(im_optim_lr_linear(0.0004f, 1000, 1000), 0.0, 0.0);
	assert_float_equal(im_optim_lr_linear(0.0004f, 5000, 1000), 0.0, 0.0);
	assert_float_equal(im_optim_lr_linear(0.0004f, 5000, 0), 0.0004, 1e-9);
}

static void test_bad_options(void **state)
{
	(void)state;
	im_optim *opt = (im_optim *)&opt;
	im_optim_opts o = im_optim_defaults(IM_OPTIM_RMSPROP);
	o.alpha = 1.0f;
	assert_int_equal(im_optim_new(&opt, &o, 3), IM_EINVAL);
	assert_ptr_equal(opt, (im_optim *)&opt);
	o = im_optim_defaults(IM_OPTIM_ADAM);
	o.beta2 = -0.1f;
	assert_int_equal(im_optim_new(&opt, &o, 3), IM_EINVAL);
	im_optim_kind k;
	assert_int_equal(im_optim_kind_parse("adam", &k, NULL, 0), 0);
	assert_int_equal(k, IM_OPTIM_ADAM);
	assert_int_equal(im_optim_kind_parse("rmsprop", &k, NULL, 0), 0);
	assert_int_equal(k, IM_OPTIM_RMSPROP);
	char err[96] = "";
	assert_int_equal(im_optim_kind_parse("sgd", &k, err, sizeof err),
			 IM_EINVAL);
	assert_string_equal(err, "'sgd' is not one of: rmsprop, adam");
	assert_int_equal(k, IM_OPTIM_RMSPROP);
	assert_null(im_optim_kind_name((im_optim_kind)2));
	im_optim_free(NULL);
}

/* Reads the dumped float parameter map of one prefix into an arena. */
static float *dump_arena(im_ckpt *f, const char *prefix, size_t *n)
{
	size_t total = 0, k = 0, plen = strlen(prefix);
	for (size_t i = 0; i < im_ckpt_count(f); i++)
		if (!strncmp(im_ckpt_at(f, i)->name, prefix, plen))
			total += im_ckpt_at(f, i)->numel;
	float *a = malloc((total ? total : 1) * sizeof(float));
	assert_non_null(a);
	/* Header order is sorted by name in the dumps, the same for every
	 * prefix, so the arenas line up element for element. */
	for (size_t i = 0; i < im_ckpt_count(f); i++) {
		const im_ckpt_tensor *t = im_ckpt_at(f, i);
		if (!strncmp(t->name, prefix, plen)) {
			im_ckpt_copy(f, t, a + k);
			k += t->numel;
		}
	}
	*n = total;
	return a;
}

static double meta_num(im_ckpt *f, const char *key)
{
	const char *s = im_ckpt_meta(f, key);
	assert_non_null(s);
	return strtod(s, NULL);
}

static void check_dump(const char *path)
{
	char err[256];
	im_ckpt *f;
	int rc = im_ckpt_open(&f, path, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	size_t n, n2;
	float *param = dump_arena(f, "param.", &n);
	float *grad = dump_arena(f, "grad.", &n2);
	assert_int_equal(n, n2);
	float norm_want;
	im_ckpt_copy(f, im_ckpt_find(f, "out.grad_norm"), &norm_want);
	double norm = im_optim_clip_grad_norm(grad, n, meta_num(f, "max_grad_norm"));
	assert_true(rel_err(norm, norm_want) < 1e-5);
	for (int kind = 0; kind < 2; kind++) {
		im_optim_opts o = im_optim_defaults((im_optim_kind)kind);
		double lr = meta_num(f, kind ? "adam_lr" : "lr");
		if (kind) {
			o.beta1 = (float)meta_num(f, "beta1");
			o.beta2 = (float)meta_num(f, "beta2");
			o.eps = (float)meta_num(f, "adam_eps");
		} else {
			o.alpha = (float)meta_num(f, "alpha");
			o.eps = (float)meta_num(f, "eps");
		}
		im_optim *opt;
		assert_int_equal(im_optim_new(&opt, &o, n), 0);
		float *p = malloc(n * sizeof(float));
		memcpy(p, param, n * sizeof(float));
		im_optim_step(opt, p, grad, (float)lr);
		float *want = dump_arena(f, kind ? "adam." : "rmsprop.", &n2);
		assert_int_equal(n, n2);
		for (size_t i = 0; i < n; i++)
			if (fabs(p[i] - want[i]) > 1e-6 + 1e-5 * fabs(want[i]))
				fail_msg("%s %s[%zu]: %.8g, PyTorch %.8g", path,
					 im_optim_kind_name(o.kind), i, p[i],
					 want[i]);
		free(want);
		free(p);
		im_optim_free(opt);
	}
	free(param);
	free(grad);
	im_ckpt_close(f);
}

static void test_against_pytorch_dumps(void **state)
{
	(void)state;
	const char *dir = getenv("IMPALA_REFERENCE_DIR");
	const char *cases[] = {"mlp_discrete", "mlp_box", "lstm_discrete",
			       "lstm_box"};
	int found = 0;
	for (size_t i = 0; dir && i < 4; i++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s.safetensors", dir, cases[i]);
		FILE *fp = fopen(path, "rb");
		if (!fp)
			continue;
		fclose(fp);
		check_dump(path);
		found++;
	}
	if (!found)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rmsprop_matches_torch_doc),
		cmocka_unit_test(test_adam_matches_torch_doc),
		cmocka_unit_test(test_fast_matches_naive_any_length),
		cmocka_unit_test(test_denormal_moments_flushed),
		cmocka_unit_test(test_first_steps_by_hand),
		cmocka_unit_test(test_clip_grad_norm),
		cmocka_unit_test(test_scaled_step_is_clip_then_step),
		cmocka_unit_test(test_grad_norm_lengths),
		cmocka_unit_test(test_lr_schedule),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_against_pytorch_dumps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
