// SPDX-License-Identifier: Apache-2.0
/* The model's forward and backward: whole-model gradients by finite
 * differences (MLP and LSTM, Discrete and Box), acting equals learning,
 * the extra bootstrap rows equal what the learning forward gives for that
 * observation in that state, uint8 observations (their scale and their
 * bootstrap rows), and the error paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gradcheck.h"
#include "nn/model.h"

#include "../fixture/model.h"

enum { T1 = 5,
       B = 3,
       OBS = 3,
       H = 3 };

static void small_spec(im_model_spec *s, int discrete, int lstm,
		       im_nn_activation act)
{
	im_obs_space obs = {.ndim = 1, .shape = {OBS}, .dtype = IM_DTYPE_F32};
	im_act_space a = {.kind = discrete ? IM_ACT_DISCRETE : IM_ACT_BOX,
			  .n = discrete ? 3 : 2};
	im_model_spec_default(s, &obs, &a, 5);
	s->num_hidden_layers = 2;
	s->feature_dim = 4;
	s->activation = act;
	s->use_lstm = lstm;
	s->lstm_hidden = H;
	s->seed = 11;
}

/* The model of small_spec with a random input (tests/fixture/model.h). */
static fx_model *make_fixture(int discrete, int lstm, im_nn_activation act,
			      uint64_t seed)
{
	im_model_spec s;
	small_spec(&s, discrete, lstm, act);
	s.seed = seed;
	return fx_model_new(&s, T1, B, seed + 100, 1.5f); /* rewards beyond +-1 */
}

static void gradcheck_model(int discrete, int lstm, im_nn_activation act)
{
	fx_model *f = make_fixture(discrete, lstm, act, 21 + discrete + 2 * lstm);
	float *p = im_model_params(f->m), *g = im_model_grads(f->m);
	size_t n = im_model_num_params(f->m);
	fx_model_loss(f);
	im_model_zero_grads(f->m);
	assert_int_equal(im_model_backward(f->ws, p, f->wpol, f->wbase, g),
			 IM_OK);
	float *ana = malloc(n * sizeof(float));
	assert_non_null(ana);
	memcpy(ana, g, n * sizeof(float));
	gc_result r = gradcheck_step("param", p, ana, n, fx_model_loss, f,
				     act == IM_NN_ACT_RELU ? 1e-3f : 5e-3f);
	fprintf(stderr, "discrete %d lstm %d act %d: %d checked, %d skipped, "
			"worst error/tolerance %.3f\n",
		discrete, lstm, act, r.checked,
		r.skipped, r.worst);
	assert_int_equal(r.failed, 0);
	/* Skips only at ReLU kinks (about 2% of the probes through these
	 * tiny ReLU layers); at most 5%, so that nearly every parameter is
	 * checked.  A wrong derivative is a failure, not a skip: away from a
	 * kink the differences at h and h/2 agree. */
	if (act == IM_NN_ACT_TANH)
		assert_int_equal(r.skipped, 0);
	else
		assert_true(r.skipped * 20 <= (int)n);
	/* log_std is the loss's to fill: untouched by the model. */
	const im_tensor_desc *ls = im_model_find(f->m, "policy.log_std");
	for (size_t i = 0; ls && i < ls->numel; i++)
		assert_true(g[ls->offset + i] == 0.0f);
	/* Backward accumulates: a second call doubles the gradients. */
	assert_int_equal(im_model_backward(f->ws, p, f->wpol, f->wbase, g),
			 IM_OK);
	for (size_t i = 0; i < n; i++)
		assert_true(fabsf(g[i] - 2 * ana[i]) <= 1e-6f * (1 + fabsf(ana[i])));
	free(ana);
	fx_model_free(f);
}

static void test_grad_mlp_discrete(void **s)
{
	(void)s;
	gradcheck_model(1, 0, IM_NN_ACT_TANH);
}
static void test_grad_mlp_box(void **s)
{
	(void)s;
	gradcheck_model(0, 0, IM_NN_ACT_TANH);
}
static void test_grad_lstm_discrete(void **s)
{
	(void)s;
	gradcheck_model(1, 1, IM_NN_ACT_TANH);
}
static void test_grad_lstm_box(void **s)
{
	(void)s;
	gradcheck_model(0, 1, IM_NN_ACT_TANH);
}
static void test_grad_mlp_relu(void **s)
{
	(void)s;
	gradcheck_model(1, 0, IM_NN_ACT_RELU);
}
static void test_grad_lstm_relu(void **s)
{
	(void)s;
	gradcheck_model(0, 1, IM_NN_ACT_RELU);
}

/* Float results of the same maths through differently shaped sgemm calls
 * agree to rounding: 1e-5 relative is ~100 ulps. */
static void assert_close_tol(const float *a, const float *b, size_t n,
			     double rel)
{
	for (size_t i = 0; i < n; i++) {
		/* Written so that a NaN on either side fails too. */
		if (!(fabs((double)a[i] - b[i]) <= rel * (1 + fabs(b[i])))) {
			fprintf(stderr, "index %zu: %.8g vs %.8g\n", i, (double)a[i],
				(double)b[i]);
			fail();
		}
	}
}

static void assert_close(const float *a, const float *b, size_t n)
{
	assert_close_tol(a, b, n, 1e-5);
}

/* One learning forward and backward at the learner's 81 x 32 rows; writes
 * the policy, baseline and gradients (grads zeroed first). */
static void learn_once(im_model *m, const float *params, const float *obs,
		       const int32_t *pa, const float *dpol, const float *dbase, float *pol,
		       float *base, float *grads)
{
	enum { LT1 = 81,
	       LB = 32 };
	im_model_ws *ws;
	assert_int_equal(im_model_ws_new(&ws, m, LT1, LB), IM_OK);
	im_model_input in = {.T1 = LT1, .B = LB, .obs = obs, .prev_action = pa};
	memset(grads, 0, im_model_num_params(m) * sizeof(float));
	assert_int_equal(im_model_forward(ws, params, &in, NULL, NULL, NULL,
					  pol, base, NULL),
			 IM_OK);
	assert_int_equal(im_model_backward(ws, params, dpol, dbase, grads),
			 IM_OK);
	im_model_ws_free(ws);
}

/* The linear kernels' blocks of rows (nn/linear.c, row_block; on by
 * default only on OpenBLAS cores with small-matrix kernels) change no
 * result beyond rounding, through the whole model on every machine: blocks
 * forced on against forced off, for 2x64 (blocks of 240 rows; the 4-wide
 * input layer in one untransposed block), 2x128 with tanh, and an LSTM
 * core.  Gradients sum 2592 rows in another order: 1e-4 relative. */
static void blocks_change_nothing(int hidden, int obs_n, int lstm,
				  im_nn_activation act)
{
	enum { ROWS = 81 * 32 };
	im_obs_space obs = {.ndim = 1, .shape = {obs_n}, .dtype = IM_DTYPE_F32};
	im_act_space a = {.kind = IM_ACT_DISCRETE, .n = 2};
	im_model_spec s;
	im_model_spec_default(&s, &obs, &a, hidden);
	s.feature_dim = hidden;
	s.activation = act;
	s.use_lstm = lstm;
	s.lstm_hidden = 32;
	im_model *m;
	assert_int_equal(im_model_new(&m, &s), IM_OK);
	size_t np = im_model_num_params(m);
	float *params = im_model_params(m);
	assert_int_equal(im_model_init_params(m, params, IM_NN_INIT_ORTHOGONAL,
					      5),
			 IM_OK);
	im_rng r;
	im_rng_init(&r, 77);
	float *o = malloc(sizeof(float) * ROWS * obs_n);
	float *dpol = malloc(sizeof(float) * ROWS * 2);
	float *dbase = malloc(sizeof(float) * ROWS);
	int32_t *pa = malloc(sizeof(int32_t) * ROWS);
	float *out[2][3];
	for (int k = 0; k < 2; k++) {
		out[k][0] = malloc(sizeof(float) * ROWS * 2);
		out[k][1] = malloc(sizeof(float) * ROWS);
		out[k][2] = malloc(sizeof(float) * np);
	}
	fill_randn(o, (size_t)ROWS * obs_n, 1, &r);
	fill_randn(dpol, ROWS * 2, 1, &r);
	fill_randn(dbase, ROWS, 1, &r);
	for (int i = 0; i < ROWS; i++)
		pa[i] = (int32_t)im_rng_below(&r, 2);
	for (int k = 0; k < 2; k++) {
		im_nn_set_row_blocks(k);
		learn_once(m, params, o, pa, dpol, dbase, out[k][0], out[k][1],
			   out[k][2]);
	}
	im_nn_set_row_blocks(-1);
	assert_close_tol(out[1][0], out[0][0], ROWS * 2, 1e-5);
	assert_close_tol(out[1][1], out[0][1], ROWS, 1e-5);
	assert_close_tol(out[1][2], out[0][2], np, 1e-4);
	for (int k = 0; k < 2; k++)
		free(out[k][0]), free(out[k][1]), free(out[k][2]);
	free(o), free(dpol), free(dbase), free(pa);
	im_model_free(m);
}

static void test_blocks_mlp64(void **s)
{
	(void)s;
	blocks_change_nothing(64, 4, 0, IM_NN_ACT_RELU);
}
static void test_blocks_mlp128_tanh(void **s)
{
	(void)s;
	blocks_change_nothing(128, 8, 0, IM_NN_ACT_TANH);
}
static void test_blocks_lstm(void **s)
{
	(void)s;
	blocks_change_nothing(64, 4, 1, IM_NN_ACT_RELU);
}

/* Acting step by step, carrying the state, equals every row of the
 * learning forward over the same inputs. */
static void act_equals_learn(int discrete, int lstm)
{
	fx_model *f = make_fixture(discrete, lstm, IM_NN_ACT_RELU, 31);
	const float *p = im_model_params(f->m);
	fx_model_loss(f);
	im_model_ws *aws;
	assert_int_equal(im_model_ws_new(&aws, f->m, 1, B), IM_OK);
	float h[B * H], c[B * H], pol[B * 3], base[B];
	memcpy(h, f->h0, sizeof(h));
	memcpy(c, f->c0, sizeof(c));
	for (int t = 0; t < T1; t++) {
		im_model_input in = {.T1 = 1, .B = B, .obs = f->obs + t * B * OBS, .prev_reward = f->pr + t * B, .reset = f->reset + t * B};
		if (discrete)
			in.prev_action = f->pa + t * B;
		else
			in.prev_action_box = f->pab + t * B * 2;
		assert_int_equal(im_model_act(aws, p, &in, lstm ? h : NULL,
					      lstm ? c : NULL, pol, base),
				 IM_OK);
		assert_close(pol, f->pol + t * B * f->n, (size_t)B * f->n);
		assert_close(base, f->base + t * B, B);
	}
	im_model_ws_free(aws);
	fx_model_free(f);
}

static void test_act_equals_learn_mlp(void **s)
{
	(void)s;
	act_equals_learn(1, 0);
}
static void test_act_equals_learn_lstm_discrete(void **s)
{
	(void)s;
	act_equals_learn(1, 1);
}
static void test_act_equals_learn_lstm_box(void **s)
{
	(void)s;
	act_equals_learn(0, 1);
}

/* Extra row (t, b) must equal the learning forward's output at step t + 1
 * of sequence b on a batch whose step t + 1 has that observation, action
 * and reward and no reset.  Five rows with max_B = 3 also exercise the
 * chunking. */
static void extras_equal_learn(int discrete, int lstm)
{
	fx_model *f = make_fixture(discrete, lstm, IM_NN_ACT_TANH, 41);
	const float *p = im_model_params(f->m);
	enum { NE = 5 };
	int32_t idx[NE] = {0 * B + 1, 1 * B + 0, 2 * B + 2, 3 * B + 1, 1 * B + 2};
	float eobs[NE * OBS], epr[NE], epab[NE * 2], ev[NE];
	int32_t epa[NE];
	im_rng r;
	im_rng_init(&r, 77);
	fill_randn(eobs, NE * OBS, 1, &r);
	fill_randn(epab, NE * 2, 1, &r);
	for (int j = 0; j < NE; j++) {
		epa[j] = (int32_t)im_rng_below(&r, (uint64_t)f->n);
		epr[j] = (float)im_rng_normal(&r) * 2;
	}
	im_model_extra ex = {.n = NE, .index = idx, .obs = eobs, .prev_reward = epr};
	if (discrete)
		ex.prev_action = epa;
	else
		ex.prev_action_box = epab;
	assert_int_equal(im_model_forward(f->ws, p, &f->in, f->h0, f->c0, &ex,
					  f->pol, f->base, ev),
			 IM_OK);
	for (int j = 0; j < NE; j++) {
		fx_model *g = make_fixture(discrete, lstm, IM_NN_ACT_TANH, 41);
		int row = idx[j] + B;
		memcpy(g->obs + row * OBS, eobs + j * OBS, OBS * sizeof(float));
		g->pa[row] = epa[j];
		memcpy(g->pab + row * 2, epab + j * 2, 2 * sizeof(float));
		g->pr[row] = epr[j];
		g->reset[row] = 0;
		fx_model_loss(g);
		assert_close(&ev[j], &g->base[row], 1);
		fx_model_free(g);
	}
	/* The backward after a forward with extras is the plain backward. */
	float *gr = im_model_grads(f->m);
	assert_int_equal(im_model_backward(f->ws, p, f->wpol, f->wbase, gr),
			 IM_OK);
	fx_model_free(f);
}

static void test_extras_mlp(void **s)
{
	(void)s;
	extras_equal_learn(1, 0);
}
static void test_extras_lstm_discrete(void **s)
{
	(void)s;
	extras_equal_learn(1, 1);
}
static void test_extras_lstm_box(void **s)
{
	(void)s;
	extras_equal_learn(0, 1);
}

/* uint8 observations are the float model on their values. */
static void test_uint8_observations(void **state)
{
	(void)state;
	im_model_spec s;
	small_spec(&s, 1, 1, IM_NN_ACT_TANH);
	im_model *mf, *mu;
	assert_int_equal(im_model_new(&mf, &s), IM_OK);
	s.obs.dtype = IM_DTYPE_U8;
	assert_int_equal(im_model_new(&mu, &s), IM_OK);
	im_model_ws *wf, *wu;
	assert_int_equal(im_model_ws_new(&wf, mf, 2, 2), IM_OK);
	assert_int_equal(im_model_ws_new(&wu, mu, 2, 2), IM_OK);
	uint8_t ou[4 * OBS];
	float of[4 * OBS], pf[4 * 3], pu[4 * 3], bf[4], bu[4];
	for (int i = 0; i < 4 * OBS; i++) {
		ou[i] = (uint8_t)(i * 37 % 256);
		of[i] = ou[i] / 64.0f; /* scaled into the tanh's useful range */
		ou[i] = (uint8_t)(of[i] * 64.0f);
	}
	for (int i = 0; i < 4 * OBS; i++)
		of[i] = ou[i];
	int32_t pa[4] = {0, 1, 2, 0};
	im_model_input in = {.T1 = 2, .B = 2, .obs = of, .prev_action = pa};
	assert_int_equal(im_model_forward(wf, im_model_params(mf), &in, NULL,
					  NULL, NULL, pf, bf, NULL),
			 IM_OK);
	in.obs = ou;
	assert_int_equal(im_model_forward(wu, im_model_params(mu), &in, NULL,
					  NULL, NULL, pu, bu, NULL),
			 IM_OK);
	assert_memory_equal(pf, pu, sizeof(pf));
	assert_memory_equal(bf, bu, sizeof(bf));
	im_model_ws_free(wf), im_model_ws_free(wu);
	im_model_free(mf), im_model_free(mu);
}

/* A uint8 model with scale k is the float model on v * k: the same bits,
 * with the scale applied inside the first layer's input loop. */
static void test_uint8_scale(void **state)
{
	(void)state;
	const float k = 1.0f / 255.0f;
	im_model_spec s;
	small_spec(&s, 1, 1, IM_NN_ACT_RELU);
	im_model *mf, *mu, *m1;
	assert_int_equal(im_model_new(&mf, &s), IM_OK);
	s.obs.dtype = IM_DTYPE_U8;
	assert_int_equal(im_model_new(&m1, &s), IM_OK); /* scale unset: 1 */
	s.obs.scale = k;
	assert_int_equal(im_model_new(&mu, &s), IM_OK);
	im_model_ws *wf, *wu, *w1;
	assert_int_equal(im_model_ws_new(&wf, mf, 2, 2), IM_OK);
	assert_int_equal(im_model_ws_new(&wu, mu, 2, 2), IM_OK);
	assert_int_equal(im_model_ws_new(&w1, m1, 2, 2), IM_OK);
	uint8_t ou[4 * OBS];
	float of[4 * OBS], pf[4 * 3], pu[4 * 3], p1[4 * 3], bf[4], bu[4], b1[4];
	for (int i = 0; i < 4 * OBS; i++) {
		ou[i] = (uint8_t)(i * 53 % 256);
		of[i] = (float)ou[i] * k;
	}
	int32_t pa[4] = {0, 1, 2, 0};
	im_model_input in = {.T1 = 2, .B = 2, .obs = of, .prev_action = pa};
	assert_int_equal(im_model_forward(wf, im_model_params(mf), &in, NULL,
					  NULL, NULL, pf, bf, NULL),
			 IM_OK);
	in.obs = ou;
	assert_int_equal(im_model_forward(wu, im_model_params(mu), &in, NULL,
					  NULL, NULL, pu, bu, NULL),
			 IM_OK);
	assert_int_equal(im_model_forward(w1, im_model_params(m1), &in, NULL,
					  NULL, NULL, p1, b1, NULL),
			 IM_OK);
	assert_memory_equal(pf, pu, sizeof(pf));
	assert_memory_equal(bf, bu, sizeof(bf));
	/* The scale matters: unscaled bytes give other outputs. */
	assert_true(memcmp(pu, p1, sizeof(pu)) != 0);
	/* The backward sees the scaled input too: the same weight
	 * gradients as the float model. */
	size_t np = im_model_num_params(mf);
	float dpol[4 * 3], dbase[4];
	for (int i = 0; i < 4 * 3; i++)
		dpol[i] = 0.1f * (float)(i % 5) - 0.2f;
	for (int i = 0; i < 4; i++)
		dbase[i] = 0.3f - 0.1f * (float)i;
	float *gf = calloc(np, sizeof(float)), *gu = calloc(np, sizeof(float));
	assert_non_null(gf);
	assert_non_null(gu);
	assert_int_equal(im_model_backward(wf, im_model_params(mf), dpol, dbase,
					   gf),
			 IM_OK);
	assert_int_equal(im_model_backward(wu, im_model_params(mu), dpol, dbase,
					   gu),
			 IM_OK);
	assert_memory_equal(gf, gu, np * sizeof(float));
	free(gf), free(gu);
	/* A scale that is negative or not finite, or one on a float space,
	 * is refused. */
	im_model *bad = NULL;
	s.obs.scale = -k;
	assert_int_equal(im_model_new(&bad, &s), IM_EINVAL);
	s.obs.scale = NAN;
	assert_int_equal(im_model_new(&bad, &s), IM_EINVAL);
	s.obs.dtype = IM_DTYPE_F32;
	s.obs.scale = k;
	assert_int_equal(im_model_new(&bad, &s), IM_EINVAL);
	assert_null(bad);
	im_model_ws_free(wf), im_model_ws_free(wu), im_model_ws_free(w1);
	im_model_free(mf), im_model_free(mu), im_model_free(m1);
}

/* The bootstrap rows of a uint8 model are read as rows of bytes: five of
 * them, in chunks of max_B = B = 3, give bit for bit the values the
 * float model gives for v * scale, with and without LSTM.  Every row
 * differs, so a row read at a float's stride shows. */
static void uint8_extras(int lstm)
{
	const float k = 1.0f / 255.0f;
	enum { NE = 5 };
	im_model_spec s;
	small_spec(&s, 1, lstm, IM_NN_ACT_TANH);
	im_model *mf, *mu;
	assert_int_equal(im_model_new(&mf, &s), IM_OK);
	s.obs.dtype = IM_DTYPE_U8;
	s.obs.scale = k;
	assert_int_equal(im_model_new(&mu, &s), IM_OK);
	im_model_ws *wf, *wu;
	assert_int_equal(im_model_ws_new(&wf, mf, T1, B), IM_OK);
	assert_int_equal(im_model_ws_new(&wu, mu, T1, B), IM_OK);
	uint8_t ou[T1 * B * OBS], eu[NE * OBS];
	float of[T1 * B * OBS], ef[NE * OBS], pr[T1 * B], epr[NE];
	int32_t pa[T1 * B], epa[NE];
	for (int i = 0; i < T1 * B * OBS; i++) {
		ou[i] = (uint8_t)(i * 53 % 256);
		of[i] = (float)ou[i] * k;
	}
	for (int i = 0; i < NE * OBS; i++) {
		eu[i] = (uint8_t)(i * 71 % 256);
		ef[i] = (float)eu[i] * k;
	}
	for (int i = 0; i < T1 * B; i++) {
		pa[i] = i % 3;
		pr[i] = 0.1f * (float)(i % 4);
	}
	for (int j = 0; j < NE; j++) {
		epa[j] = (j + 1) % 3;
		epr[j] = -0.2f * (float)j;
	}
	int32_t idx[NE] = {0 * B + 1, 1 * B + 0, 2 * B + 2, 3 * B + 1, 1 * B + 2};
	im_model_input in = {.T1 = T1, .B = B, .obs = of, .prev_action = pa, .prev_reward = pr};
	im_model_extra ex = {.n = NE, .index = idx, .obs = ef, .prev_action = epa, .prev_reward = epr};
	float pol[T1 * B * 3], base[T1 * B], vf[NE], vu[NE];
	assert_int_equal(im_model_forward(wf, im_model_params(mf), &in, NULL,
					  NULL, &ex, pol, base, vf),
			 IM_OK);
	in.obs = ou;
	ex.obs = eu;
	assert_int_equal(im_model_forward(wu, im_model_params(mu), &in, NULL,
					  NULL, &ex, pol, base, vu),
			 IM_OK);
	assert_memory_equal(vf, vu, sizeof vf);
	for (int j = 1; j < NE; j++)
		assert_true(vu[j] != vu[0]);
	im_model_ws_free(wf), im_model_ws_free(wu);
	im_model_free(mf), im_model_free(mu);
}

static void test_uint8_extras_mlp(void **s)
{
	(void)s;
	uint8_extras(0);
}
static void test_uint8_extras_lstm(void **s)
{
	(void)s;
	uint8_extras(1);
}

/* im_model_backward_rows (the learner skips its bootstrap step's rows):
 * with the last B rows' gradients zero, the trimmed backward gives the
 * full one's gradients; and it really skips them without an LSTM (a
 * broken promise changes nothing) but not with one (BPTT runs every
 * row).  MLP, LSTM, and the minatar conv encoder on a sparse 0/1 grid
 * (the direct kernels). */
static void backward_rows_case(const im_model_spec *s, int grid)
{
	fx_model *f = fx_model_new(s, T1, B, 77, 1.5f);
	size_t rows = (size_t)T1 * B, keep = rows - B, n = (size_t)f->n;
	size_t np = im_model_num_params(f->m), numel = im_obs_numel(&s->obs);
	for (size_t i = 0; grid && i < rows * numel; i++)
		f->obs[i] = i % 13 == 0 ? 1.0f : 0.0f;
	const float *p = im_model_params(f->m);
	float *dpol = fx_model_buf(rows * n, sizeof(float));
	float *dbase = fx_model_buf(rows, sizeof(float));
	memcpy(dpol, f->wpol, keep * n * sizeof(float));
	memcpy(dbase, f->wbase, keep * sizeof(float));
	float *g[4];
	for (int k = 0; k < 4; k++)
		g[k] = fx_model_buf(np, sizeof(float));
	const float *h0 = f->lstm ? f->h0 : NULL, *c0 = f->lstm ? f->c0 : NULL;
	for (int k = 0; k < 4; k++) {
		assert_int_equal(im_model_forward(f->ws, p, &f->in, h0, c0, NULL,
						  f->pol, f->base, NULL),
				 IM_OK);
		const float *dp = k < 2 ? dpol : f->wpol;
		const float *db = k < 2 ? dbase : f->wbase;
		int rc = k % 2 ? im_model_backward(f->ws, p, dp, db, g[k])
			       : im_model_backward_rows(f->ws, p, dp, db, g[k],
							(int)keep);
		assert_int_equal(rc, IM_OK);
	}
	assert_close(g[0], g[1], np);
	/* the promise broken: the skipped rows show only with an LSTM */
	assert_close(g[2], f->lstm ? g[3] : g[1], np);
	assert_true(memcmp(g[1], g[3], np * sizeof(float)) != 0);
	assert_int_equal(im_model_backward_rows(f->ws, p, dpol, dbase, g[0], 0),
			 IM_EINVAL);
	assert_int_equal(im_model_backward_rows(f->ws, p, dpol, dbase, g[0],
						(int)rows + 1),
			 IM_EINVAL);
	for (int k = 0; k < 4; k++)
		free(g[k]);
	free(dpol), free(dbase);
	fx_model_free(f);
}

static void test_backward_rows(void **state)
{
	(void)state;
	im_model_spec s;
	small_spec(&s, 1, 0, IM_NN_ACT_RELU);
	backward_rows_case(&s, 0);
	small_spec(&s, 0, 1, IM_NN_ACT_TANH);
	backward_rows_case(&s, 0);
	im_obs_space grid = {.ndim = 3, .shape = {10, 10, 4}, .dtype = IM_DTYPE_F32};
	im_act_space a = {.kind = IM_ACT_DISCRETE, .n = 3};
	im_model_spec_default(&s, &grid, &a, 16);
	s.encoder = IM_NN_ENCODER_MINATAR;
	s.seed = 5;
	backward_rows_case(&s, 1);
}

static void test_errors(void **state)
{
	(void)state;
	fx_model *f = make_fixture(1, 1, IM_NN_ACT_RELU, 51);
	const float *p = im_model_params(f->m);
	float *g = im_model_grads(f->m);
	/* Backward before any forward. */
	assert_int_equal(im_model_backward(f->ws, p, f->wpol, f->wbase, g),
			 IM_ESTATE);
	/* Larger than the workspace. */
	im_model_input big = f->in;
	big.T1 = T1 + 1;
	assert_int_equal(im_model_forward(f->ws, p, &big, NULL, NULL, NULL,
					  f->pol, f->base, NULL),
			 IM_ESHAPE);
	/* Acting takes exactly one step. */
	assert_int_equal(im_model_act(f->ws, p, &f->in, NULL, NULL, f->pol,
				      f->base),
			 IM_ESHAPE);
	/* A Discrete previous action outside [0, n). */
	f->pa[4] = 3;
	assert_int_equal(im_model_forward(f->ws, p, &f->in, NULL, NULL, NULL,
					  f->pol, f->base, NULL),
			 IM_EACTION);
	assert_int_equal(im_model_backward(f->ws, p, f->wpol, f->wbase, g),
			 IM_ESTATE);
	f->pa[4] = -1;
	assert_int_equal(im_model_forward(f->ws, p, &f->in, NULL, NULL, NULL,
					  f->pol, f->base, NULL),
			 IM_EACTION);
	f->pa[4] = 0;
	/* An extra row pointing outside the batch. */
	int32_t idx = T1 * B;
	float eobs[OBS] = {0}, epr = 0, ev;
	int32_t epa = 0;
	im_model_extra ex = {.n = 1, .index = &idx, .obs = eobs, .prev_action = &epa, .prev_reward = &epr};
	assert_int_equal(im_model_forward(f->ws, p, &f->in, NULL, NULL, &ex,
					  f->pol, f->base, &ev),
			 IM_ERANGE);
	fx_model_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grad_mlp_discrete),
		cmocka_unit_test(test_grad_mlp_box),
		cmocka_unit_test(test_grad_lstm_discrete),
		cmocka_unit_test(test_grad_lstm_box),
		cmocka_unit_test(test_grad_mlp_relu),
		cmocka_unit_test(test_grad_lstm_relu),
		cmocka_unit_test(test_act_equals_learn_mlp),
		cmocka_unit_test(test_act_equals_learn_lstm_discrete),
		cmocka_unit_test(test_act_equals_learn_lstm_box),
		cmocka_unit_test(test_extras_mlp),
		cmocka_unit_test(test_extras_lstm_discrete),
		cmocka_unit_test(test_extras_lstm_box),
		cmocka_unit_test(test_blocks_mlp64),
		cmocka_unit_test(test_blocks_mlp128_tanh),
		cmocka_unit_test(test_blocks_lstm),
		cmocka_unit_test(test_uint8_observations),
		cmocka_unit_test(test_uint8_scale),
		cmocka_unit_test(test_uint8_extras_mlp),
		cmocka_unit_test(test_uint8_extras_lstm),
		cmocka_unit_test(test_backward_rows),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
