// SPDX-License-Identifier: Apache-2.0
/* The whole loss: its three terms, mean entropy and V-trace outputs equal a
 * naive double-precision implementation, and its gradients w.r.t. logits,
 * Gaussian mean, log-std and baselines equal central finite differences of
 * the loss with vs and pg_adv held fixed (they carry no gradient), for
 * Discrete and Box, with and without reward clipping, and with PopArt's
 * value_scale (advantage and value error divided by sigma). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "learn/loss.h"
#include "naive.h"
#include "rng.h"

enum { T = 6,
       B = 3,
       R = T * B,
       NMAX = 4 };

typedef struct batch {
	im_act_kind kind;
	int n;
	float policy[(T + 1) * B * NMAX]; /* [T+1, B, n] as the learner's */
	float log_std[NMAX];
	float values[(T + 1) * B];
	float next_values[R];
	int32_t act_d[R];
	float act_b[R * NMAX];
	float blogp[R], rewards[R];
	uint8_t term[R], trunc[R];
	float scale; /* PopArt's sigma, 0 for none */
} batch;

static void make_batch(batch *b, im_act_kind kind, uint64_t seed)
{
	im_rng r;
	im_rng_init(&r, seed);
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	b->n = kind == IM_ACT_DISCRETE ? 4 : 3;
	for (int i = 0; i < (T + 1) * B * b->n; i++)
		b->policy[i] = (float)im_rng_normal(&r);
	for (int d = 0; d < b->n; d++)
		b->log_std[d] = im_rng_uniform(&r, -0.5f, 0.5f);
	for (int i = 0; i < (T + 1) * B; i++)
		b->values[i] = im_rng_uniform(&r, -1.0f, 1.0f);
	for (int k = 0; k < R; k++) {
		b->act_d[k] = (int32_t)im_rng_below(&r, (uint64_t)b->n);
		for (int d = 0; d < b->n; d++)
			b->act_b[k * b->n + d] = (float)im_rng_normal(&r);
		/* Far from the target's log-probabilities: rhos span e^+-2. */
		b->blogp[k] = im_rng_uniform(&r, -4.0f, 0.0f);
		b->rewards[k] = im_rng_uniform(&r, -2.0f, 2.0f);
		b->term[k] = im_rng_below(&r, 6) == 0;
		b->trunc[k] = !b->term[k] && im_rng_below(&r, 6) == 0;
		b->next_values[k] = b->trunc[k]
					    ? im_rng_uniform(&r, -1.0f, 1.0f)
					    : b->values[k + B];
	}
	b->trunc[R - 1] = 1; /* a truncation on the last step */
	b->term[R - 1] = 0;
}

static im_loss_batch view(const batch *b)
{
	im_loss_batch v = {
		.T = T,
		.B = B,
		.kind = b->kind,
		.n = b->n,
		.policy = b->policy,
		.log_std = b->log_std,
		.values = b->values,
		.next_values = b->next_values,
		.act_discrete = b->act_d,
		.act_box = b->act_b,
		.behaviour_logp = b->blogp,
		.rewards = b->rewards,
		.terminated = b->term,
		.truncated = b->trunc,
		.value_scale = b->scale,
	};
	return v;
}

/* Everything the test needs from the naive side, in double. */
typedef struct ref {
	double pol[R * NMAX], ls[NMAX], val[R];
	double vs[R], adv[R];
	double terms[4], mean_ent;
} ref;

static void ref_inputs(ref *f, const batch *b)
{
	for (int i = 0; i < R * b->n; i++)
		f->pol[i] = b->policy[i];
	for (int d = 0; d < b->n; d++)
		f->ls[d] = b->log_std[d];
	for (int k = 0; k < R; k++)
		f->val[k] = b->values[k];
}

static void row_logp_ent(const ref *f, const batch *b, int k, double *lp,
			 double *h)
{
	if (b->kind == IM_ACT_DISCRETE) {
		naive_cat(lp, h, f->pol + k * b->n, b->n, b->act_d[k]);
		return;
	}
	double a[NMAX];
	for (int d = 0; d < b->n; d++)
		a[d] = b->act_b[k * b->n + d];
	naive_gauss(lp, h, f->pol + k * b->n, f->ls, a, b->n);
}

/* The loss from f's (possibly perturbed) inputs.  With freeze set, vs and
 * pg_adv are kept as they are in f instead of recomputed. */
static double ref_loss(ref *f, const batch *b, const im_loss_opts *o,
		       int freeze)
{
	double lp[R], h[R], lr[R], disc[R], rew[R], nv[R];
	for (int k = 0; k < R; k++) {
		row_logp_ent(f, b, k, &lp[k], &h[k]);
		lr[k] = lp[k] - b->blogp[k];
		disc[k] = b->term[k] ? 0.0 : o->discount;
		rew[k] = b->rewards[k];
		if (o->clip_rewards)
			rew[k] = fmax(-1.0, fmin(1.0, rew[k]));
		nv[k] = b->next_values[k];
	}
	if (!freeze) {
		naive_vt nvt = {o->vtrace.rho_bar, o->vtrace.c_bar,
				o->vtrace.pg_rho_bar, o->vtrace.lambda};
		naive_vtrace(f->vs, f->adv, lr, disc, rew, f->val, nv, b->trunc,
			     T, B, nvt);
	}
	double pg = 0, sq = 0, ent = 0;
	double inv = b->scale > 0 ? 1.0 / b->scale : 1.0;
	for (int k = 0; k < R; k++) {
		double err = (f->vs[k] - f->val[k]) * inv;
		pg -= lp[k] * f->adv[k] * inv;
		sq += err * err;
		ent += h[k];
	}
	f->terms[0] = pg;
	f->terms[1] = o->baseline_coef * 0.5 * sq;
	f->terms[2] = -o->ent_coef * ent;
	f->terms[3] = f->terms[0] + f->terms[1] + f->terms[2];
	f->mean_ent = ent / R;
	return f->terms[3];
}

typedef struct out {
	float dpol[R * NMAX], dval[R], dls[NMAX], vs[R], adv[R];
	im_loss_stats st;
} out;

static void run_loss(out *o, const batch *b, const im_loss_opts *opts,
		     void *work)
{
	memset(o, 0, sizeof(*o));
	im_loss_grads g = {o->dpol, o->dval, o->dls, o->vs, o->adv};
	im_loss_batch v = view(b);
	assert_int_equal(im_loss(&o->st, &g, &v, opts, work), 0);
}

/* Cases 0-3 vary the options; 4-7 repeat them with PopArt's sigma. */
enum { NCASES = 8 };

static float scale_for(int i)
{
	return i >= 4 ? 7.5f : 0.0f;
}

static im_loss_opts opts_for(int i)
{
	im_loss_opts o = im_loss_defaults();
	o.clip_rewards = i & 1;
	if (i & 2) {
		o.vtrace = (im_vtrace_opts){1.5f, 0.8f, 1.2f, 0.9f};
		o.ent_coef = 0.3f;
		o.baseline_coef = 0.7f;
	}
	return o;
}

static void check_terms(im_act_kind kind)
{
	for (int i = 0; i < NCASES; i++) {
		batch b;
		make_batch(&b, kind, 10 + i);
		b.scale = scale_for(i);
		double inv = b.scale > 0 ? 1.0 / b.scale : 1.0;
		im_loss_opts o = opts_for(i);
		ref f;
		ref_inputs(&f, &b);
		ref_loss(&f, &b, &o, 0);
		out got;
		run_loss(&got, &b, &o, NULL);
		double st[4] = {got.st.pg_loss, got.st.baseline_loss,
				got.st.entropy_loss, got.st.total};
		for (int j = 0; j < 4; j++)
			if (rel_err(st[j], f.terms[j]) > 1e-5)
				fail_msg("case %d term %d: %.9g, naive %.9g", i,
					 j, st[j], f.terms[j]);
		assert_true(rel_err(got.st.mean_entropy, f.mean_ent) < 1e-5);
		for (int k = 0; k < R; k++) {
			assert_true(rel_err(got.vs[k], f.vs[k]) < 1e-5);
			assert_true(rel_err(got.adv[k], f.adv[k] * inv) < 1e-5);
		}
	}
}

static void test_terms_discrete(void **state)
{
	(void)state;
	check_terms(IM_ACT_DISCRETE);
}

static void test_terms_box(void **state)
{
	(void)state;
	check_terms(IM_ACT_BOX);
}

/* Central differences of the frozen-target loss w.r.t. x[i], in double. */
static void fd_compare(double *x, int n, const float *grad, const char *what,
		       ref *f, const batch *b, const im_loss_opts *o)
{
	const double h = 1e-5;
	for (int i = 0; i < n; i++) {
		double x0 = x[i];
		x[i] = x0 + h;
		double fp = ref_loss(f, b, o, 1);
		x[i] = x0 - h;
		double fm = ref_loss(f, b, o, 1);
		x[i] = x0;
		double fd = (fp - fm) / (2 * h);
		if (fabs(grad[i] - fd) > 1e-4 * fmax(1.0, fabs(fd)))
			fail_msg("%s[%d]: %.7g, finite difference %.7g", what,
				 i, grad[i], fd);
	}
}

static void check_grads(im_act_kind kind)
{
	for (int i = 0; i < NCASES; i++) {
		batch b;
		make_batch(&b, kind, 20 + i);
		b.scale = scale_for(i);
		im_loss_opts o = opts_for(i);
		ref f;
		ref_inputs(&f, &b);
		ref_loss(&f, &b, &o, 0); /* fixes vs and pg_adv */
		out got;
		run_loss(&got, &b, &o, NULL);
		fd_compare(f.pol, R * b.n, got.dpol,
			   kind == IM_ACT_DISCRETE ? "dlogits" : "dmean", &f,
			   &b, &o);
		fd_compare(f.val, R, got.dval, "dbaseline", &f, &b, &o);
		if (kind == IM_ACT_BOX)
			fd_compare(f.ls, b.n, got.dls, "dlog_std", &f, &b, &o);
	}
}

static void test_grads_discrete(void **state)
{
	(void)state;
	check_grads(IM_ACT_DISCRETE);
}

static void test_grads_box(void **state)
{
	(void)state;
	check_grads(IM_ACT_BOX);
}

/* A caller's work buffer gives the same results; dpolicy and dvalues are
 * overwritten and dlog_std accumulated, as the header says. */
static void test_work_buffer_and_accumulation(void **state)
{
	(void)state;
	batch b;
	make_batch(&b, IM_ACT_BOX, 30);
	im_loss_opts o = im_loss_defaults();
	out a, c;
	run_loss(&a, &b, &o, NULL);
	void *work = malloc(im_loss_work_size(T, B));
	assert_non_null(work);
	memset(&c, 0x7f, sizeof(c)); /* garbage in the written outputs */
	memset(c.dls, 0, sizeof(c.dls));
	im_loss_grads g = {c.dpol, c.dval, c.dls, NULL, NULL};
	im_loss_batch v = view(&b);
	for (int rep = 0; rep < 2; rep++)
		assert_int_equal(im_loss(&c.st, &g, &v, &o, work), 0);
	free(work);
	assert_memory_equal(a.dpol, c.dpol, sizeof(float) * R * b.n);
	assert_memory_equal(a.dval, c.dval, sizeof(a.dval));
	for (int d = 0; d < b.n; d++)
		assert_float_equal(c.dls[d], 2 * a.dls[d], 1e-5);
	assert_true(a.st.total == c.st.total);
}

/* A step both terminated and truncated counts as terminated whatever
 * next_values holds there (loss.h), even a value that is not finite. */
static void test_terminated_ignores_next_value(void **state)
{
	(void)state;
	const float junk[2] = {NAN, INFINITY};
	for (int kind = 0; kind < 2; kind++)
		for (int j = 0; j < 2; j++) {
			batch b;
			make_batch(&b, kind ? IM_ACT_BOX : IM_ACT_DISCRETE, 40);
			im_loss_opts o = im_loss_defaults();
			int k = 2 * B + 1; /* mid-unroll: the recursion runs on */
			b.term[k] = b.trunc[k] = 1;
			b.next_values[k] = 0.5f;
			out a, c;
			run_loss(&a, &b, &o, NULL);
			b.next_values[k] = junk[j];
			run_loss(&c, &b, &o, NULL);
			assert_true(isfinite(c.st.total));
			assert_memory_equal(a.vs, c.vs, sizeof(a.vs));
			assert_memory_equal(a.adv, c.adv, sizeof(a.adv));
			assert_memory_equal(a.dval, c.dval, sizeof(a.dval));
			assert_memory_equal(a.dpol, c.dpol,
					    sizeof(float) * R * b.n);
		}
}

static void test_bad_inputs(void **state)
{
	(void)state;
	batch b;
	make_batch(&b, IM_ACT_DISCRETE, 31);
	im_loss_opts o = im_loss_defaults();
	out c;
	im_loss_grads g = {c.dpol, c.dval, c.dls, NULL, NULL};
	b.act_d[5] = 4; /* n = 4 */
	im_loss_batch v = view(&b);
	assert_int_equal(im_loss(&c.st, &g, &v, &o, NULL), IM_EACTION);
	b.act_d[5] = -1;
	assert_int_equal(im_loss(&c.st, &g, &v, &o, NULL), IM_EACTION);
	b.act_d[5] = 0;
	v.T = 0;
	assert_int_equal(im_loss(&c.st, &g, &v, &o, NULL), IM_EINVAL);
	v = view(&b);
	v.kind = IM_ACT_BOX;
	v.log_std = NULL;
	assert_int_equal(im_loss(&c.st, &g, &v, &o, NULL), IM_EINVAL);
	const float bad_scale[3] = {-1.0f, NAN, INFINITY};
	for (int j = 0; j < 3; j++) {
		v = view(&b);
		v.value_scale = bad_scale[j];
		assert_int_equal(im_loss(&c.st, &g, &v, &o, NULL), IM_EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_terms_discrete),
		cmocka_unit_test(test_terms_box),
		cmocka_unit_test(test_grads_discrete),
		cmocka_unit_test(test_grads_box),
		cmocka_unit_test(test_work_buffer_and_accumulation),
		cmocka_unit_test(test_terminated_ignores_next_value),
		cmocka_unit_test(test_bad_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
