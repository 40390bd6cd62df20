// SPDX-License-Identifier: Apache-2.0
/* The image encoders (minatar, nature, impala) inside the whole model:
 * PyTorch names and shapes, gradients of the whole model by finite
 * differences with and without LSTM, acting equals learning, chunking
 * changes nothing, uint8 frames equal the float model on v * scale, every
 * init method, describe, and the specs they refuse. */
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

enum { T1 = 3,
       B = 2,
       ROWS = T1 * B,
       NA = 3,
       LSTM_H = 5 };

typedef struct enc_case {
	const char *name;
	im_nn_encoder_kind kind;
	int H, W, C;
} enc_case;

/* Small images that every layer accepts: minatar (6 - 2 = 4), nature
 * (36 -> 8 -> 3 -> 1), impala (9 -> 5 -> 3 -> 2 after the three pools). */
static const enc_case SMALL[] = {
	{"minatar", IM_NN_ENCODER_MINATAR, 6, 5, 3},
	{"nature", IM_NN_ENCODER_NATURE, 36, 37, 2},
	{"impala", IM_NN_ENCODER_IMPALA, 9, 10, 2},
};

static void spec_for(im_model_spec *s, const enc_case *c, int lstm,
		     int discrete)
{
	im_obs_space obs = {.ndim = 3, .shape = {c->H, c->W, c->C}, .dtype = IM_DTYPE_F32};
	im_act_space a = {.kind = discrete ? IM_ACT_DISCRETE : IM_ACT_BOX,
			  .n = discrete ? NA : 2};
	im_model_spec_default(s, &obs, &a, 8);
	s->encoder = c->kind;
	s->feature_dim = 6;
	s->use_lstm = lstm;
	s->lstm_hidden = LSTM_H;
	s->seed = 5;
}

static float *fbuf(size_t n)
{
	float *p = calloc(n ? n : 1, sizeof(float));
	assert_non_null(p);
	return p;
}

/* ---- names and shapes --------------------------------------------------- */

static void expect_tensor(const im_model *m, const char *name, int ndim,
			  int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
	const im_tensor_desc *t = im_model_find(m, name);
	if (!t)
		fail_msg("no tensor %s", name);
	int64_t want[4] = {d0, d1, d2, d3};
	assert_int_equal(t->ndim, ndim);
	for (int i = 0; i < ndim; i++)
		assert_int_equal(t->shape[i], want[i]);
}

static void test_names_and_shapes(void **state)
{
	(void)state;
	im_model_spec s;
	im_model *m;
	enc_case mc = {"minatar", IM_NN_ENCODER_MINATAR, 10, 10, 4};
	spec_for(&s, &mc, 0, 1);
	s.feature_dim = 128;
	assert_int_equal(im_model_new(&m, &s), IM_OK);
	expect_tensor(m, "encoder.0.weight", 4, 16, 4, 3, 3);
	expect_tensor(m, "encoder.0.bias", 1, 16, 0, 0, 0);
	expect_tensor(m, "encoder.3.weight", 2, 128, 8 * 8 * 16, 0, 0);
	expect_tensor(m, "encoder.3.bias", 1, 128, 0, 0, 0);
	im_model_free(m);

	enc_case nc = {"nature", IM_NN_ENCODER_NATURE, 84, 84, 4};
	spec_for(&s, &nc, 1, 1);
	s.feature_dim = 512;
	assert_int_equal(im_model_new(&m, &s), IM_OK);
	expect_tensor(m, "encoder.0.weight", 4, 32, 4, 8, 8);
	expect_tensor(m, "encoder.2.weight", 4, 64, 32, 4, 4);
	expect_tensor(m, "encoder.4.weight", 4, 64, 64, 3, 3);
	expect_tensor(m, "encoder.7.weight", 2, 512, 7 * 7 * 64, 0, 0);
	expect_tensor(m, "core.weight_ih_l0", 2, 4 * LSTM_H, 512 + 1 + NA, 0, 0);
	im_model_free(m);

	enc_case ic = {"impala", IM_NN_ENCODER_IMPALA, 64, 64, 3};
	spec_for(&s, &ic, 0, 0);
	s.feature_dim = 256;
	assert_int_equal(im_model_new(&m, &s), IM_OK);
	expect_tensor(m, "encoder.0.0.weight", 4, 16, 3, 3, 3);
	expect_tensor(m, "encoder.0.2.conv0.weight", 4, 16, 16, 3, 3);
	expect_tensor(m, "encoder.0.3.conv1.bias", 1, 16, 0, 0, 0);
	expect_tensor(m, "encoder.1.0.weight", 4, 32, 16, 3, 3);
	expect_tensor(m, "encoder.2.3.conv1.weight", 4, 32, 32, 3, 3);
	expect_tensor(m, "encoder.5.weight", 2, 256, 8 * 8 * 32, 0, 0);
	expect_tensor(m, "policy.log_std", 1, 2, 0, 0, 0);
	/* Packed in state_dict order, the encoder first. */
	int n;
	const im_tensor_desc *t = im_model_tensors(m, &n);
	assert_int_equal(n, 32 + 5);
	assert_string_equal(t[0].name, "encoder.0.0.weight");
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		assert_int_equal(t[i].offset, off);
		off += t[i].numel;
	}
	assert_int_equal(off, im_model_num_params(m));
	im_model_free(m);
}

/* ---- whole-model gradients ---------------------------------------------- */

/* The model of spec_for with a random input (tests/fixture/model.h). */
static fx_model *make_fixture(const enc_case *c, int lstm, int discrete)
{
	im_model_spec s;
	spec_for(&s, c, lstm, discrete);
	return fx_model_new(&s, T1, B, 77, 1.0f);
}

/* Up to 24 coordinates of every tensor (all of the small ones), spread
 * evenly: 70,000 conv weights one by one would take minutes.  Kinks are
 * told apart by one-sided differences (gradcheck.h, gradcheck_kinks): a
 * conv bias moves every pixel of its channel through dozens of ReLUs and
 * max-pool windows, and probes straddled kinks so close that the
 * differences at h and h/2 were off alike (they converged on the analytic
 * value as the step shrank: 1e-3, 2e-4, 1e-4, 5e-5, 2e-5 gave -0.0409,
 * -0.0403, -0.0401, -0.0384, -0.0376 for an analytic -0.0373). */
static void gradcheck_encoder(const enc_case *c, int lstm, int discrete)
{
	fx_model *f = make_fixture(c, lstm, discrete);
	float *p = im_model_params(f->m), *g = im_model_grads(f->m);
	size_t np = im_model_num_params(f->m);
	fx_model_loss(f);
	im_model_zero_grads(f->m);
	assert_int_equal(im_model_backward(f->ws, p, f->wpol, f->wbase, g),
			 IM_OK);
	float *ana = fbuf(np);
	memcpy(ana, g, np * sizeof(float));
	int nt;
	const im_tensor_desc *t = im_model_tensors(f->m, &nt);
	gc_result all = {0, 0, 0, 0};
	for (int k = 0; k < nt; k++) {
		if (!strcmp(t[k].name, "policy.log_std"))
			continue;
		size_t step = t[k].numel > 24 ? t[k].numel / 24 : 1;
		for (size_t i = 0; i < t[k].numel; i += step) {
			size_t at = t[k].offset + i;
			gc_result r = gradcheck_kinks(t[k].name, p + at,
						      ana + at, 1, fx_model_loss, f, 1e-3f);
			all.checked += r.checked;
			all.skipped += r.skipped;
			all.failed += r.failed;
			all.worst = r.worst > all.worst ? r.worst : all.worst;
		}
	}
	fprintf(stderr, "%s lstm %d discrete %d: %d checked, %d skipped, "
			"worst error/tolerance %.3f\n",
		c->name, lstm, discrete,
		all.checked, all.skipped, all.worst);
	assert_int_equal(all.failed, 0);
	/* Skips only at ReLU kinks and ties of the max-pool: rare. */
	assert_true(all.skipped * 20 <= all.checked);
	assert_true(all.checked > 80);
	free(ana);
	fx_model_free(f);
}

static void test_grad_minatar(void **s)
{
	(void)s;
	gradcheck_encoder(&SMALL[0], 0, 1);
}
static void test_grad_minatar_lstm(void **s)
{
	(void)s;
	gradcheck_encoder(&SMALL[0], 1, 0);
}
static void test_grad_nature(void **s)
{
	(void)s;
	gradcheck_encoder(&SMALL[1], 0, 0);
}
static void test_grad_nature_lstm(void **s)
{
	(void)s;
	gradcheck_encoder(&SMALL[1], 1, 1);
}
static void test_grad_impala(void **s)
{
	(void)s;
	gradcheck_encoder(&SMALL[2], 0, 1);
}
static void test_grad_impala_lstm(void **s)
{
	(void)s;
	gradcheck_encoder(&SMALL[2], 1, 0);
}

/* ---- acting, chunks, uint8 ---------------------------------------------- */

/* Acting step by step equals the learning forward, for each encoder. */
static void test_act_equals_learn(void **state)
{
	(void)state;
	for (int e = 0; e < 3; e++) {
		fx_model *f = make_fixture(&SMALL[e], 1, 1);
		f->in.reset = NULL;
		float *p = im_model_params(f->m);
		fx_model_loss(f);
		im_model_ws *aw;
		assert_int_equal(im_model_ws_new(&aw, f->m, 1, B), IM_OK);
		float h[B * LSTM_H], c[B * LSTM_H], pol[B * NA], base[B];
		memcpy(h, f->h0, sizeof(h));
		memcpy(c, f->c0, sizeof(c));
		size_t img = (size_t)SMALL[e].H * SMALL[e].W * SMALL[e].C;
		for (int t = 0; t < T1; t++) {
			im_model_input in = {.T1 = 1, .B = B, .obs = f->obs + (size_t)t * B * img, .prev_action = f->pa + t * B, .prev_reward = f->pr + t * B};
			assert_int_equal(im_model_act(aw, p, &in, h, c, pol, base),
					 IM_OK);
			for (int i = 0; i < B * NA; i++)
				assert_true(fabsf(pol[i] - f->pol[t * B * NA + i]) <=
					    1e-5f * (1 + fabsf(pol[i])));
			for (int i = 0; i < B; i++)
				assert_true(fabsf(base[i] - f->base[t * B + i]) <=
					    1e-5f * (1 + fabsf(base[i])));
		}
		im_model_ws_free(aw);
		fx_model_free(f);
	}
}

/* One image per chunk and all images in one chunk: the same outputs and
 * gradients (the lowering and the backward go chunk by chunk). */
static void test_chunks_change_nothing(void **state)
{
	(void)state;
	for (int e = 0; e < 3; e++) {
		float *out[2], *grad[2];
		size_t np = 0;
		for (int k = 0; k < 2; k++) {
			im_nn_set_conv_chunk_floats(k ? 1 : ((size_t)1 << 24));
			fx_model *f = make_fixture(&SMALL[e], 1, 1);
			np = im_model_num_params(f->m);
			fx_model_loss(f);
			im_model_zero_grads(f->m);
			assert_int_equal(im_model_backward(f->ws,
							   im_model_params(f->m), f->wpol, f->wbase,
							   im_model_grads(f->m)),
					 IM_OK);
			out[k] = fbuf(ROWS * (NA + 1));
			memcpy(out[k], f->pol, ROWS * NA * sizeof(float));
			memcpy(out[k] + ROWS * NA, f->base, ROWS * sizeof(float));
			grad[k] = fbuf(np);
			memcpy(grad[k], im_model_grads(f->m), np * sizeof(float));
			fx_model_free(f);
		}
		im_nn_set_conv_chunk_floats(0);
		for (int i = 0; i < ROWS * (NA + 1); i++)
			assert_true(fabsf(out[0][i] - out[1][i]) <=
				    1e-5f * (1 + fabsf(out[0][i])));
		for (size_t i = 0; i < np; i++)
			if (!(fabsf(grad[0][i] - grad[1][i]) <=
			      1e-4f * (1 + fabsf(grad[0][i]))))
				fail_msg("%s grad[%zu]: %g vs %g", SMALL[e].name, i,
					 (double)grad[0][i], (double)grad[1][i]);
		free(out[0]), free(out[1]), free(grad[0]), free(grad[1]);
	}
}

/* uint8 frames with scale 1/255 (and 0, meaning 1) are the float model
 * on v * scale: same outputs and gradients. */
static void test_uint8_frames(void **state)
{
	(void)state;
	for (int e = 0; e < 3; e++)
		for (int sc = 0; sc < 2; sc++) {
			float scale = sc ? 1.0f / 255 : 0.0f;
			fx_model *f = make_fixture(&SMALL[e], 0, 1);
			size_t on = (size_t)ROWS * SMALL[e].H * SMALL[e].W * SMALL[e].C;
			uint8_t *u = malloc(on);
			assert_non_null(u);
			for (size_t i = 0; i < on; i++) {
				u[i] = (uint8_t)((i * 131 + 7) % 256);
				f->obs[i] = (float)u[i] * (sc ? scale : 1.0f);
			}
			im_model_spec s = *im_model_get_spec(f->m);
			s.obs.dtype = IM_DTYPE_U8;
			s.obs.scale = scale;
			im_model *mu;
			im_model_ws *wu;
			assert_int_equal(im_model_new(&mu, &s), IM_OK);
			assert_int_equal(im_model_ws_new(&wu, mu, T1, B), IM_OK);
			size_t np = im_model_num_params(mu);
			memcpy(im_model_params(mu), im_model_params(f->m),
			       np * sizeof(float));
			fx_model_loss(f);
			im_model_zero_grads(f->m);
			assert_int_equal(im_model_backward(f->ws, im_model_params(f->m),
							   f->wpol, f->wbase, im_model_grads(f->m)),
					 IM_OK);
			float pol[ROWS * NA], base[ROWS];
			im_model_input in = f->in;
			in.obs = u;
			assert_int_equal(im_model_forward(wu, im_model_params(mu), &in,
							  NULL, NULL, NULL, pol, base, NULL),
					 IM_OK);
			assert_int_equal(im_model_backward(wu, im_model_params(mu),
							   f->wpol, f->wbase, im_model_grads(mu)),
					 IM_OK);
			for (int i = 0; i < ROWS * NA; i++)
				assert_true(fabsf(pol[i] - f->pol[i]) <=
					    1e-5f * (1 + fabsf(pol[i])));
			const float *g0 = im_model_grads(f->m), *g1 = im_model_grads(mu);
			for (size_t i = 0; i < np; i++)
				assert_true(fabsf(g0[i] - g1[i]) <=
					    1e-4f * (1 + fabsf(g0[i])));
			im_model_ws_free(wu);
			im_model_free(mu);
			free(u);
			fx_model_free(f);
		}
}

/* ---- init, describe, refusals ------------------------------------------- */

/* Every method builds every encoder; identity draws conv weights within
 * PyTorch's bound 1/sqrt(C * KH * KW); orthogonal gives orthonormal rows
 * of the flattened (O, C * KH * KW) weight; xavier_* zero the biases. */
static void test_init_methods(void **state)
{
	(void)state;
	for (int e = 0; e < 3; e++)
		for (int meth = 0; meth < 4; meth++) {
			im_model_spec s;
			spec_for(&s, &SMALL[e], 1, 1);
			s.init_method = (im_nn_init)meth;
			im_model *m;
			assert_int_equal(im_model_new(&m, &s), IM_OK);
			const float *p = im_model_params(m);
			const im_tensor_desc *w = im_model_find(m, e == 2
									   ? "encoder.1.0.weight"
									   : "encoder.0.weight");
			const im_tensor_desc *b = w + 1;
			size_t rows = (size_t)w->shape[0], cols = w->numel / rows;
			double bound = 1.0 / sqrt((double)cols), ss = 0;
			for (size_t i = 0; i < w->numel; i++) {
				ss += (double)p[w->offset + i] * p[w->offset + i];
				if (meth == IM_NN_INIT_IDENTITY)
					assert_true(fabs(p[w->offset + i]) <= bound);
			}
			assert_true(ss > 0);
			if (meth == IM_NN_INIT_ORTHOGONAL && rows <= cols) {
				for (size_t i = 0; i < rows; i++)
					for (size_t j = 0; j < rows; j++) {
						double d = dot_f(p + w->offset + i * cols,
								 p + w->offset + j * cols, cols);
						assert_true(fabs(d - (i == j)) < 1e-4);
					}
			}
			for (size_t i = 0; meth != IM_NN_INIT_IDENTITY && i < b->numel; i++)
				assert_true(p[b->offset + i] == 0.0f);
			im_model_free(m);
		}
}

static void test_describe(void **state)
{
	(void)state;
	static const char *const want[3][3] = {
		{"(0): Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1))",
		 "(3): Linear(in_features=192, out_features=6", "(4): ReLU()"},
		{"(2): Conv2d(32, 64, kernel_size=(4, 4), stride=(2, 2))",
		 "(7): Linear(in_features=64, out_features=6",
		 "encoder.4.weight     (64, 64, 3, 3)"},
		{"(1): MaxPool2d(kernel_size=3, stride=2, padding=1)",
		 "(conv1): Conv2d(32, 32, kernel_size=(3, 3), stride=(1, 1), "
		 "padding=(1, 1))",
		 "(5): Linear(in_features=128, out_features=6"},
	};
	for (int e = 0; e < 3; e++) {
		im_model_spec s;
		spec_for(&s, &SMALL[e], 1, 1);
		im_model *m;
		assert_int_equal(im_model_new(&m, &s), IM_OK);
		char buf[8192];
		int len = im_model_describe_buf(m, buf, sizeof(buf));
		assert_true(len > 0 && (size_t)len < sizeof(buf));
		for (int k = 0; k < 3; k++) {
			if (!strstr(buf, want[e][k]))
				fail_msg("missing '%s' in:\n%s", want[e][k], buf);
		}
		im_model_free(m);
	}
}

static void test_bad_specs_refused(void **state)
{
	(void)state;
	im_model_spec s;
	im_model *m = NULL;
	enc_case tiny = {"nature", IM_NN_ENCODER_NATURE, 35, 40, 1};
	spec_for(&s, &tiny, 0, 1);
	assert_int_equal(im_model_new(&m, &s), IM_EINVAL); /* below 36 */
	enc_case t2 = {"minatar", IM_NN_ENCODER_MINATAR, 2, 5, 1};
	spec_for(&s, &t2, 0, 1);
	assert_int_equal(im_model_new(&m, &s), IM_EINVAL); /* below 3x3 */
	spec_for(&s, &SMALL[2], 0, 1);
	s.activation = IM_NN_ACT_TANH;
	assert_int_equal(im_model_new(&m, &s), IM_EINVAL);
	spec_for(&s, &SMALL[0], 0, 1);
	s.obs.ndim = 1;
	s.obs.shape[0] = 90;
	assert_int_equal(im_model_new(&m, &s), IM_EINVAL); /* vectors */
	assert_null(m);
}

static void test_names_and_auto(void **state)
{
	(void)state;
	im_nn_encoder_kind k;
	static const char *const names[] = {"mlp", "minatar", "nature", "impala",
					    "auto"};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(im_nn_encoder_parse(names[i], &k, NULL, 0), IM_OK);
		assert_int_equal(k, i);
		assert_string_equal(im_nn_encoder_name(k), names[i]);
	}
	assert_int_equal(k, IM_NN_ENCODER_AUTO);
	assert_null(im_nn_encoder_name((im_nn_encoder_kind)5));
	char err[128] = "";
	assert_int_equal(im_nn_encoder_parse("conv", &k, err, sizeof err),
			 IM_EINVAL);
	assert_string_equal(err, "'conv' is not one of: mlp, minatar, nature, "
				 "impala, auto");
	assert_int_equal(k, IM_NN_ENCODER_AUTO); /* untouched */
	im_obs_space v = {.ndim = 1, .shape = {4}};
	im_obs_space grid = {.ndim = 3, .shape = {10, 10, 4}};
	im_obs_space atari = {.ndim = 3, .shape = {84, 84, 4}};
	im_obs_space flat = {.ndim = 2, .shape = {84, 84}};
	assert_int_equal(im_nn_encoder_auto(&v, &k), IM_OK);
	assert_int_equal(k, IM_NN_ENCODER_MLP);
	assert_int_equal(im_nn_encoder_auto(&grid, &k), IM_OK);
	assert_int_equal(k, IM_NN_ENCODER_MINATAR);
	assert_int_equal(im_nn_encoder_auto(&atari, &k), IM_OK);
	assert_int_equal(k, IM_NN_ENCODER_NATURE);
	assert_int_equal(im_nn_encoder_auto(&flat, &k), IM_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_shapes),
		cmocka_unit_test(test_grad_minatar),
		cmocka_unit_test(test_grad_minatar_lstm),
		cmocka_unit_test(test_grad_nature),
		cmocka_unit_test(test_grad_nature_lstm),
		cmocka_unit_test(test_grad_impala),
		cmocka_unit_test(test_grad_impala_lstm),
		cmocka_unit_test(test_act_equals_learn),
		cmocka_unit_test(test_chunks_change_nothing),
		cmocka_unit_test(test_uint8_frames),
		cmocka_unit_test(test_init_methods),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_bad_specs_refused),
		cmocka_unit_test(test_names_and_auto),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
