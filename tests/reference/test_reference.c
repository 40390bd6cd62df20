// SPDX-License-Identifier: Apache-2.0
/* The learner update against PyTorch: tests/reference/make_reference.py
 * builds the same network in torch (float64), runs the same batch and dumps
 * the V-trace targets, the loss terms, every gradient, the norm and the
 * parameters after one clipped RMSprop step and one clipped Adam step, and
 * for the PopArt case the parameters after the statistics step that follows
 * the RMSprop step.  Here the C update (float32) must match all of them.
 *
 * The image cases (issue 10: minatar, nature and impala encoders, each
 * with a Discrete head and with an LSTM and a Box head) draw their
 * parameters and frames from the splitmix64 streams make_reference.py uses
 * (regenerated here bit for bit, and checked against the dumped
 * parameters), and their dumps hold tensors of more than sample_above
 * elements at every sample_stride-th element: those are compared there.
 *
 * Tolerance: |c - torch| <= 2e-4 + 2e-4 * |torch| for every value.  The C
 * side runs in float32 (about 7 significant digits) through a few hundred
 * accumulations; 2e-4 relative is 1000 times float32's epsilon yet far below
 * any real error (a wrong sign, a missing term or a transposed weight moves
 * values by whole percents). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "learn/ckpt.h"
#include "learn/obsnorm.h"
#include "learn/popart.h"
#include "learn/update.h"

#define ATOL 2e-4
#define RTOL 2e-4

typedef struct ref {
	im_ckpt *f;
	int T, B, n, discrete, use_lstm;
	/* Image cases: encoder name or NULL, frame shape, uint8 frames, and
	 * the sampling of large tensors in the dump (0: none). */
	const char *encoder;
	int H, W, C, u8;
	size_t sample_above, sample_stride;
} ref;

static int meta_int(const im_ckpt *f, const char *key)
{
	const char *v = im_ckpt_meta(f, key);
	assert_non_null(v);
	return atoi(v);
}

static double meta_num(const im_ckpt *f, const char *key)
{
	const char *v = im_ckpt_meta(f, key);
	assert_non_null(v);
	return atof(v);
}

/* A tensor of the dump as a fresh float array (numel checked). */
static float *get(const ref *r, const char *name, size_t want)
{
	const im_ckpt_tensor *t = im_ckpt_find(r->f, name);
	if (!t)
		fail_msg("dump has no tensor %s", name);
	if (want && t->numel != want)
		fail_msg("%s: %zu values, expected %zu", name, t->numel, want);
	float *x = malloc((t->numel ? t->numel : 1) * sizeof *x);
	im_ckpt_copy(r->f, t, x);
	return x;
}

static int32_t *get_int(const ref *r, const char *name, size_t want)
{
	float *x = get(r, name, want);
	int32_t *y = malloc(want * sizeof *y);
	for (size_t i = 0; i < want; i++)
		y[i] = (int32_t)lrintf(x[i]);
	free(x);
	return y;
}

static uint8_t *get_flags(const ref *r, const char *name, size_t want)
{
	float *x = get(r, name, want);
	uint8_t *y = malloc(want);
	for (size_t i = 0; i < want; i++)
		y[i] = x[i] != 0.0f;
	free(x);
	return y;
}

static void expect_close(const char *what, const float *c, const float *ref_v,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)c[i] - (double)ref_v[i]);
		if (!(d <= ATOL + RTOL * fabs((double)ref_v[i])))
			fail_msg("%s[%zu]: C %.8g, PyTorch %.8g (diff %.3g)",
				 what, i, (double)c[i], (double)ref_v[i], d);
	}
}

/* ---- the generator make_reference.py shares with this test -------------- */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Tensor k from stream k: (2u - 1) / sqrt(fan_in), a bias with its
 * weight's fan_in, the LSTM's 1 / sqrt(H), log_std (u - 0.5) * 0.4. */
static void gen_params(const ref *r, const im_model *m, float *arena)
{
	uint64_t seed = (uint64_t)meta_int(r->f, "param_seed");
	double fan = 1;
	int nt;
	const im_tensor_desc *d = im_model_tensors(m, &nt);
	for (int k = 0; k < nt; k++) {
		uint64_t st = (seed << 32) + (uint64_t)k;
		int logstd = strstr(d[k].name, "log_std") != NULL;
		if (d[k].ndim >= 2)
			fan = (double)d[k].numel / (double)d[k].shape[0];
		double bound = 1.0 / sqrt(strncmp(d[k].name, "core.", 5)
						  ? fan
						  : (double)im_model_state_dim(m));
		for (size_t i = 0; i < d[k].numel; i++) {
			double u = (double)(splitmix64(&st) >> 40) / 16777216.0;
			arena[d[k].offset + i] = logstd
							 ? (float)((u - 0.5) * 0.4)
							 : (float)((2.0 * u - 1.0) * bound);
		}
	}
}

/* Frames of stream 0xFFFF (observations) or 0xFFFE (extra rows): uint8,
 * or 0/1 grids (v >> 7) as float32. */
static void *gen_frames(const ref *r, uint64_t stream, size_t n)
{
	uint64_t st = ((uint64_t)meta_int(r->f, "param_seed") << 32) + stream;
	uint8_t *u = malloc(n ? n : 1);
	float *f = r->u8 ? NULL : malloc((n ? n : 1) * sizeof *f);
	for (size_t i = 0; i < n; i++)
		u[i] = (uint8_t)(splitmix64(&st) >> 56);
	if (r->u8)
		return u;
	for (size_t i = 0; i < n; i++)
		f[i] = (float)(u[i] >> 7);
	free(u);
	return f;
}

static im_model *make_model(const ref *r)
{
	im_model_spec s;
	im_obs_space obs = {.ndim = 1, .shape = {meta_int(r->f, "obs")}};
	if (r->encoder)
		obs = (im_obs_space){.ndim = 3, .shape = {r->H, r->W, r->C}, .dtype = r->u8 ? IM_DTYPE_U8 : IM_DTYPE_F32, .scale = (float)meta_num(r->f, "obs_scale")};
	im_act_space act = {.kind = r->discrete ? IM_ACT_DISCRETE : IM_ACT_BOX,
			    .n = r->n};
	for (int i = 0; i < r->n; i++) {
		act.low[i] = -1e6f;
		act.high[i] = 1e6f;
	}
	im_model_spec_default(&s, &obs, &act, meta_int(r->f, "hidden_dim"));
	s.feature_dim = meta_int(r->f, "feature_dim");
	s.use_lstm = r->use_lstm;
	s.lstm_hidden = meta_int(r->f, "lstm_hidden");
	if (r->encoder)
		assert_int_equal(im_nn_encoder_parse(r->encoder, &s.encoder, NULL, 0), IM_OK);
	const char *popart = im_ckpt_meta(r->f, "popart");
	s.popart = popart && atoi(popart);
	const char *obs_norm = im_ckpt_meta(r->f, "obs_norm");
	s.obs_norm = obs_norm && atoi(obs_norm);
	im_model *m = NULL;
	assert_int_equal(im_model_new(&m, &s), IM_OK);
	return m;
}

/* Copies prefix.<name> of every model tensor into arena. */
static void load_group(const ref *r, const im_model *m, const char *prefix,
		       float *arena)
{
	int nt;
	const im_tensor_desc *d = im_model_tensors(m, &nt);
	for (int i = 0; i < nt; i++) {
		char name[160];
		snprintf(name, sizeof name, "%s.%s", prefix, d[i].name);
		float *x = get(r, name, d[i].numel);
		memcpy(arena + d[i].offset, x, d[i].numel * sizeof(float));
		free(x);
	}
}

/* Compares the dump's prefix.<name> of every tensor with arena: every
 * element, or every sample_stride-th of a tensor beyond sample_above. */
static void expect_group(const ref *r, const im_model *m, const char *prefix,
			 const float *arena)
{
	int nt;
	const im_tensor_desc *d = im_model_tensors(m, &nt);
	for (int i = 0; i < nt; i++) {
		char name[160];
		snprintf(name, sizeof name, "%s.%s", prefix, d[i].name);
		size_t st = r->sample_above && d[i].numel > r->sample_above
				    ? r->sample_stride
				    : 1;
		size_t n = (d[i].numel + st - 1) / st;
		float *want = get(r, name, n), *c = malloc(n * sizeof *c);
		for (size_t k = 0; k < n; k++)
			c[k] = arena[d[i].offset + k * st];
		expect_close(name, c, want, n);
		free(c);
		free(want);
	}
}

typedef struct inputs {
	void *frames, *extra_frames; /* image cases */
	float *obs, *prev_reward, *prev_action_box, *h0, *c0, *extra_obs;
	float *extra_prev_reward, *extra_prev_action_box, *act_box;
	float *blogp, *rewards;
	int32_t *prev_action, *extra_index, *extra_prev_action, *act;
	uint8_t *reset, *term, *trunc;
} inputs;

static void load_inputs(const ref *r, const im_model *m, inputs *x,
			im_update_batch *b)
{
	size_t T = (size_t)r->T, B = (size_t)r->B, n = (size_t)r->n;
	size_t O = (size_t)meta_int(r->f, "obs");
	size_t H = (size_t)im_model_state_dim(m);
	int ne = meta_int(r->f, "n_extra");
	memset(x, 0, sizeof *x);
	memset(b, 0, sizeof *b);
	if (r->encoder) {
		O = (size_t)r->H * r->W * r->C;
		x->frames = gen_frames(r, 0xFFFF, (T + 1) * B * O);
		x->extra_frames = gen_frames(r, 0xFFFE, (size_t)ne * O);
	} else {
		x->obs = get(r, "in.obs", (T + 1) * B * O);
		x->extra_obs = get(r, "in.extra_obs", (size_t)ne * O);
	}
	x->prev_reward = get(r, "in.prev_reward", (T + 1) * B);
	x->reset = get_flags(r, "in.reset", (T + 1) * B);
	x->rewards = get(r, "in.rewards", T * B);
	x->blogp = get(r, "in.behaviour_logp", T * B);
	x->term = get_flags(r, "in.terminated", T * B);
	x->trunc = get_flags(r, "in.truncated", T * B);
	x->extra_index = get_int(r, "in.extra_index", (size_t)ne);
	x->extra_prev_reward = get(r, "in.extra_prev_reward", (size_t)ne);
	if (r->discrete) {
		x->prev_action = get_int(r, "in.prev_action", (T + 1) * B);
		x->act = get_int(r, "in.actions", T * B);
		x->extra_prev_action = get_int(r, "in.extra_prev_action", (size_t)ne);
	} else {
		x->prev_action_box = get(r, "in.prev_action", (T + 1) * B * n);
		x->act_box = get(r, "in.actions", T * B * n);
		x->extra_prev_action_box = get(r, "in.extra_prev_action", (size_t)ne * n);
	}
	if (H) {
		x->h0 = get(r, "in.h0", B * H);
		x->c0 = get(r, "in.c0", B * H);
	}
	b->in = (im_model_input){(int)T + 1, (int)B,
				 x->frames ? x->frames : (void *)x->obs,
				 x->prev_action,
				 x->prev_action_box, x->prev_reward, x->reset};
	b->h0 = x->h0;
	b->c0 = x->c0;
	b->extra = (im_model_extra){ne, x->extra_index,
				    x->extra_frames ? x->extra_frames
						    : (void *)x->extra_obs,
				    x->extra_prev_action,
				    x->extra_prev_action_box,
				    x->extra_prev_reward};
	b->act_discrete = x->act;
	b->act_box = x->act_box;
	b->behaviour_logp = x->blogp;
	b->rewards = x->rewards;
	b->terminated = x->term;
	b->truncated = x->trunc;
}

static void free_inputs(inputs *x)
{
	void *all[] = {x->obs, x->prev_reward, x->prev_action_box, x->h0,
		       x->c0, x->extra_obs, x->extra_prev_reward,
		       x->extra_prev_action_box, x->act_box, x->blogp,
		       x->rewards, x->prev_action, x->extra_index,
		       x->extra_prev_action, x->act, x->reset, x->term,
		       x->trunc, x->frames, x->extra_frames};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		free(all[i]);
}

/* Returns the stepped parameters (the caller frees them). */
static float *check_step(const ref *r, const im_model *m, const float *params,
			 const float *grads, im_optim_kind kind,
			 const char *prefix)
{
	size_t np = im_model_num_params(m);
	float *p = malloc(np * sizeof *p), *g = malloc(np * sizeof *g);
	memcpy(p, params, np * sizeof *p);
	memcpy(g, grads, np * sizeof *g);
	im_optim_opts oo = im_optim_defaults(kind);
	float lr;
	if (kind == IM_OPTIM_RMSPROP) {
		oo.alpha = (float)meta_num(r->f, "alpha");
		oo.eps = (float)meta_num(r->f, "eps");
		lr = (float)meta_num(r->f, "lr");
	} else {
		oo.beta1 = (float)meta_num(r->f, "beta1");
		oo.beta2 = (float)meta_num(r->f, "beta2");
		oo.eps = (float)meta_num(r->f, "adam_eps");
		lr = (float)meta_num(r->f, "adam_lr");
	}
	im_optim *opt = NULL;
	assert_int_equal(im_optim_new(&opt, &oo, np), IM_OK);
	im_update_stats st;
	assert_int_equal(im_update_apply(opt, p, g, np, lr,
					 meta_num(r->f, "max_grad_norm"), &st),
			 IM_OK);
	expect_group(r, m, prefix, p);
	im_optim_free(opt);
	free(g);
	return p;
}

/* PopArt's statistics step after the optimiser's, from this batch's vs. */
static void check_popart(const ref *r, const im_model *m, float *stepped,
			 const float *vs)
{
	size_t np = im_model_num_params(m);
	size_t TB = (size_t)r->T * (size_t)r->B;
	assert_int_equal(im_popart_update(m, stepped, vs, TB,
					  meta_num(r->f, "popart_beta")),
			 IM_OK);
	float *want = malloc(np * sizeof *want);
	load_group(r, m, "popart", want);
	expect_close("popart", stepped, want, np);
	free(want);
}

/* The observation statistics' step after the optimiser's, from the
 * batch's steps 0..T-1 (the first T * B rows of the time-major obs). */
static void check_obsnorm(const ref *r, const im_model *m, float *stepped,
			  const float *obs)
{
	size_t np = im_model_num_params(m);
	size_t TB = (size_t)r->T * (size_t)r->B;
	assert_int_equal(im_obsnorm_update(m, stepped, obs, TB), IM_OK);
	float *want = malloc(np * sizeof *want);
	load_group(r, m, "obsnorm", want);
	expect_close("obsnorm", stepped, want, np);
	free(want);
}

static void run_case(const char *name)
{
	char path[512], err[256];
	snprintf(path, sizeof path, "%s/%s.safetensors", REFERENCE_DIR, name);
	ref r = {0};
	assert_int_equal(im_ckpt_open(&r.f, path, err, sizeof err), IM_OK);
	r.T = meta_int(r.f, "T");
	r.B = meta_int(r.f, "B");
	r.n = meta_int(r.f, "n");
	r.discrete = meta_int(r.f, "discrete");
	r.use_lstm = meta_int(r.f, "use_lstm");
	r.encoder = im_ckpt_meta(r.f, "encoder");
	if (r.encoder) {
		r.H = meta_int(r.f, "H");
		r.W = meta_int(r.f, "W");
		r.C = meta_int(r.f, "C");
		r.u8 = meta_int(r.f, "obs_u8");
		r.sample_above = (size_t)meta_int(r.f, "sample_above");
		r.sample_stride = (size_t)meta_int(r.f, "sample_stride");
	}
	im_model *m = make_model(&r);
	size_t np = im_model_num_params(m);
	float *params = im_model_params(m), *grads = im_model_grads(m);
	if (r.encoder) {
		gen_params(&r, m, params);
		expect_group(&r, m, "param", params); /* same generator */
	} else {
		load_group(&r, m, "param", params);
	}

	inputs x;
	im_update_batch b;
	load_inputs(&r, m, &x, &b);
	im_loss_opts lo = im_loss_defaults();
	lo.discount = (float)meta_num(r.f, "discount");
	lo.baseline_coef = (float)meta_num(r.f, "baseline_coef");
	lo.ent_coef = (float)meta_num(r.f, "ent_coef");
	lo.clip_rewards = meta_int(r.f, "clip_rewards");

	im_update *u = NULL;
	assert_int_equal(im_update_new(&u, m, r.T, r.B), IM_OK);
	im_update_stats st;
	/* compute zeroes the gradients itself (NaN before is gone); the
	 * learner's form takes them zeroed and gives the same bits, and,
	 * as its contract says, does not zero them (NaN stays). */
	for (size_t i = 0; i < np; i++)
		grads[i] = NAN;
	assert_int_equal(im_update_compute(u, params, grads, &b, &lo, &st), IM_OK);
	float *gz = calloc(np, sizeof *gz);
	assert_non_null(gz);
	assert_int_equal(im_update_compute_zeroed(u, params, gz, &b, &lo, &st),
			 IM_OK);
	assert_memory_equal(gz, grads, np * sizeof *gz);
	for (size_t i = 0; i < np; i++)
		gz[i] = NAN;
	assert_int_equal(im_update_compute_zeroed(u, params, gz, &b, &lo, &st),
			 IM_OK);
	assert_true(isnan(gz[np - 1]) && isnan(gz[0]));
	free(gz);
	assert_int_equal(im_update_compute(u, params, grads, &b, &lo, &st), IM_OK);

	size_t T1B = (size_t)(r.T + 1) * (size_t)r.B, TB = (size_t)r.T * (size_t)r.B;
	float *w = get(&r, "out.policy", T1B * (size_t)r.n);
	expect_close("policy outputs", im_update_policy(u), w, T1B * (size_t)r.n);
	free(w);
	w = get(&r, "out.values", T1B);
	expect_close("values", im_update_values(u), w, T1B);
	free(w);
	w = get(&r, "out.vs", TB);
	expect_close("vs", im_update_vs(u), w, TB);
	free(w);
	w = get(&r, "out.pg_adv", TB);
	expect_close("pg_adv", im_update_pg_adv(u), w, TB);
	free(w);
	w = get(&r, "out.loss", 4);
	float c_loss[4] = {(float)st.loss.pg_loss, (float)st.loss.baseline_loss,
			   (float)st.loss.entropy_loss, (float)st.loss.total};
	expect_close("loss terms (pg, baseline, entropy, total)", c_loss, w, 4);
	free(w);
	w = get(&r, "out.mean_entropy", 1);
	float me = (float)st.loss.mean_entropy;
	expect_close("mean entropy", &me, w, 1);
	free(w);

	expect_group(&r, m, "grad", grads);
	/* The norm before clipping. */
	float *gcopy = malloc(np * sizeof *gcopy);
	memcpy(gcopy, grads, np * sizeof *gcopy);
	float norm = (float)im_optim_clip_grad_norm(gcopy, np, 0);
	free(gcopy);
	w = get(&r, "out.grad_norm", 1);
	expect_close("grad norm", &norm, w, 1);
	free(w);

	float *stepped = check_step(&r, m, params, grads, IM_OPTIM_RMSPROP,
				    "rmsprop");
	if (im_model_find(m, "baseline.sigma"))
		check_popart(&r, m, stepped, im_update_vs(u));
	if (im_model_find(m, "obs_norm.mean"))
		check_obsnorm(&r, m, stepped, b.in.obs);
	free(stepped);
	free(check_step(&r, m, params, grads, IM_OPTIM_ADAM, "adam"));

	im_update_free(u);
	free_inputs(&x);
	im_model_free(m);
	im_ckpt_close(r.f);
}

static void test_mlp_discrete(void **state)
{
	(void)state;
	run_case("mlp_discrete");
}

static void test_mlp_box(void **state)
{
	(void)state;
	run_case("mlp_box");
}

static void test_lstm_discrete(void **state)
{
	(void)state;
	run_case("lstm_discrete");
}

static void test_lstm_box(void **state)
{
	(void)state;
	run_case("lstm_box");
}

static void test_minatar_discrete(void **state)
{
	(void)state;
	run_case("minatar_discrete");
}

static void test_minatar_lstm_box(void **state)
{
	(void)state;
	run_case("minatar_lstm_box");
}

static void test_nature_discrete(void **state)
{
	(void)state;
	run_case("nature_discrete");
}

static void test_nature_lstm_box(void **state)
{
	(void)state;
	run_case("nature_lstm_box");
}

static void test_impala_discrete(void **state)
{
	(void)state;
	run_case("impala_discrete");
}

static void test_impala_lstm_box(void **state)
{
	(void)state;
	run_case("impala_lstm_box");
}

static void test_mlp_popart(void **state)
{
	(void)state;
	run_case("mlp_popart");
}

static void test_mlp_obsnorm(void **state)
{
	(void)state;
	run_case("mlp_obsnorm");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mlp_discrete),
		cmocka_unit_test(test_mlp_box),
		cmocka_unit_test(test_lstm_discrete),
		cmocka_unit_test(test_lstm_box),
		cmocka_unit_test(test_minatar_discrete),
		cmocka_unit_test(test_minatar_lstm_box),
		cmocka_unit_test(test_nature_discrete),
		cmocka_unit_test(test_nature_lstm_box),
		cmocka_unit_test(test_impala_discrete),
		cmocka_unit_test(test_impala_lstm_box),
		cmocka_unit_test(test_mlp_popart),
		cmocka_unit_test(test_mlp_obsnorm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
