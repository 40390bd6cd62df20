// SPDX-License-Identifier: Apache-2.0
/* The actor-critic model: layout and names, initialisation, whole-model
 * gradients by finite differences, acting versus learning forward, the
 * extra bootstrap rows, describe, and error paths. */
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

static float *fbuf(size_t n)
{
	float *p = calloc(n ? n : 1, sizeof(float));
	assert_non_null(p);
	return p;
}

static void small_spec(im_model_spec *s, int discrete, int lstm,
		       im_nn_activation act)
{
	im_obs_space obs = {.ndim = 1, .shape = {3}, .dtype = IM_DTYPE_F32};
	im_act_space a = {.kind = discrete ? IM_ACT_DISCRETE : IM_ACT_BOX,
			  .n = discrete ? 3 : 2};
	im_model_spec_default(s, &obs, &a, 5);
	s->num_hidden_layers = 2;
	s->feature_dim = 4;
	s->activation = act;
	s->use_lstm = lstm;
	s->lstm_hidden = 3;
	s->seed = 11;
}

static im_model *new_model(const im_model_spec *s)
{
	im_model *m = NULL;
	assert_int_equal(im_model_new(&m, s), IM_OK);
	return m;
}

/* ---- layout ------------------------------------------------------------ */

static void check_layout(int discrete, int lstm, const char *const *names)
{
	im_model_spec s;
	small_spec(&s, discrete, lstm, IM_NN_ACT_RELU);
	im_model *m = new_model(&s);
	int n;
	const im_tensor_desc *t = im_model_tensors(m, &n);
	size_t off = 0;
	int i = 0;
	for (; names[i]; i++) {
		assert_true(i < n);
		assert_string_equal(t[i].name, names[i]);
		assert_int_equal(t[i].offset, off);
		size_t numel = 1;
		for (int d = 0; d < t[i].ndim; d++)
			numel *= (size_t)t[i].shape[d];
		assert_int_equal(numel, t[i].numel);
		off += numel;
	}
	assert_int_equal(i, n);
	assert_int_equal(off, im_model_num_params(m));
	assert_true((im_model_find(m, "policy.log_std") != NULL) == !discrete);
	/* Shapes are PyTorch's (out, in). */
	const im_tensor_desc *e0 = im_model_find(m, "encoder.0.weight");
	assert_int_equal(e0->shape[0], 5);
	assert_int_equal(e0->shape[1], 3);
	const im_tensor_desc *e4 = im_model_find(m, "encoder.4.weight");
	assert_int_equal(e4->shape[0], 4);
	assert_int_equal(e4->shape[1], 5);
	int core = lstm ? 3 : 4, na = discrete ? 3 : 2;
	const im_tensor_desc *pw = im_model_find(m, "policy.weight");
	assert_int_equal(pw->shape[0], na);
	assert_int_equal(pw->shape[1], core);
	if (lstm) {
		const im_tensor_desc *wih = im_model_find(m, "core.weight_ih_l0");
		assert_int_equal(wih->shape[0], 12);
		assert_int_equal(wih->shape[1], 4 + 1 + na);
	}
	im_model_free(m);
}

static void test_layout_names_and_sizes(void **state)
{
	(void)state;
	static const char *const mlp_d[] = {"encoder.0.weight",
					    "encoder.0.bias", "encoder.2.weight", "encoder.2.bias",
					    "encoder.4.weight", "encoder.4.bias", "policy.weight",
					    "policy.bias", "baseline.weight", "baseline.bias", NULL};
	static const char *const lstm_b[] = {"encoder.0.weight",
					     "encoder.0.bias", "encoder.2.weight", "encoder.2.bias",
					     "encoder.4.weight", "encoder.4.bias", "core.weight_ih_l0",
					     "core.weight_hh_l0", "core.bias_ih_l0", "core.bias_hh_l0",
					     "policy.weight", "policy.bias", "policy.log_std",
					     "baseline.weight", "baseline.bias", NULL};
	check_layout(1, 0, mlp_d);
	check_layout(0, 1, lstm_b);
}

/* ---- initialisation ---------------------------------------------------- */

static void big_spec(im_model_spec *s, im_nn_init method, uint64_t seed)
{
	im_obs_space obs = {.ndim = 1, .shape = {4}, .dtype = IM_DTYPE_F32};
	im_act_space a = {.kind = IM_ACT_BOX, .n = 2};
	im_model_spec_default(s, &obs, &a, 32);
	s->use_lstm = 1;
	s->lstm_hidden = 16;
	s->init_method = method;
	s->seed = seed;
}

/* max |W W^T - I| over rows of W (r, c) with row stride c. */
static double orth_error(const float *w, int r, int c, int rows_orthonormal)
{
	int k = rows_orthonormal ? r : c;
	double worst = 0;
	for (int a = 0; a < k; a++)
		for (int b = 0; b < k; b++) {
			double s = 0;
			int len = rows_orthonormal ? c : r;
			for (int i = 0; i < len; i++)
				s += rows_orthonormal
					     ? (double)w[a * c + i] * w[b * c + i]
					     : (double)w[i * c + a] * w[i * c + b];
			worst = fmax(worst, fabs(s - (a == b)));
		}
	return worst;
}

static void test_init_orthogonal(void **state)
{
	(void)state;
	im_model_spec s;
	big_spec(&s, IM_NN_INIT_ORTHOGONAL, 3);
	im_model *m = new_model(&s);
	const float *p = im_model_params(m);
	int n;
	const im_tensor_desc *t = im_model_tensors(m, &n);
	for (int i = 0; i < n; i++) {
		const float *w = p + t[i].offset;
		if (t[i].ndim == 1) {
			for (size_t j = 0; j < t[i].numel; j++)
				assert_true(w[j] == 0.0f);
			continue;
		}
		int r = (int)t[i].shape[0], c = (int)t[i].shape[1];
		int blocks = !strncmp(t[i].name, "core.", 5) ? 4 : 1;
		r /= blocks;
		for (int g = 0; g < blocks; g++) {
			/* Square or wide: W W^T = I; tall: W^T W = I. */
			double e = orth_error(w + (size_t)g * r * c, r, c, r <= c);
			if (e > 1e-5)
				fprintf(stderr, "%s: %g\n", t[i].name, e);
			assert_true(e < 1e-5);
		}
	}
	im_model_free(m);
}

static void test_init_bounds_and_moments(void **state)
{
	(void)state;
	for (int method = IM_NN_INIT_IDENTITY; method <= IM_NN_INIT_XAVIER_NORMAL;
	     method++) {
		if (method == IM_NN_INIT_ORTHOGONAL)
			continue;
		im_model_spec s;
		big_spec(&s, (im_nn_init)method, 9);
		im_model *m = new_model(&s);
		const float *p = im_model_params(m);
		const im_tensor_desc *w2 = im_model_find(m, "encoder.2.weight");
		const im_tensor_desc *b2 = im_model_find(m, "encoder.2.bias");
		const im_tensor_desc *hh = im_model_find(m, "core.weight_hh_l0");
		const im_tensor_desc *ls = im_model_find(m, "policy.log_std");
		double fi = 32, fo = 32;
		double bound = method == IM_NN_INIT_IDENTITY ? 1 / sqrt(fi)
							     : sqrt(6 / (fi + fo));
		double mx = 0, ss = 0;
		for (size_t j = 0; j < w2->numel; j++) {
			double v = p[w2->offset + j];
			mx = fmax(mx, fabs(v));
			ss += v * v;
		}
		double sd = sqrt(ss / w2->numel);
		if (method == IM_NN_INIT_XAVIER_NORMAL) {
			/* 1024 draws: the sample sd is within 10% w.h.p. */
			assert_true(fabs(sd - sqrt(2 / (fi + fo))) <
				    0.1 * sqrt(2 / (fi + fo)));
		} else {
			assert_true(mx <= bound && mx > 0.95 * bound);
			assert_true(fabs(sd - bound / sqrt(3)) < 0.1 * bound);
		}
		/* Biases: PyTorch's U(+-1/sqrt(fan_in)) for identity, else 0. */
		for (size_t j = 0; j < b2->numel; j++) {
			float v = p[b2->offset + j];
			if (method == IM_NN_INIT_IDENTITY)
				assert_true(fabs(v) <= 1 / sqrt(fi));
			else
				assert_true(v == 0.0f);
		}
		if (method == IM_NN_INIT_IDENTITY)
			for (size_t j = 0; j < hh->numel; j++)
				assert_true(fabs(p[hh->offset + j]) <= 1 / sqrt(16.0));
		for (size_t j = 0; j < ls->numel; j++)
			assert_true(p[ls->offset + j] == 0.0f);
		im_model_free(m);
	}
}

static void test_init_reproducible_and_seeded(void **state)
{
	(void)state;
	for (int method = IM_NN_INIT_IDENTITY; method <= IM_NN_INIT_XAVIER_NORMAL;
	     method++) {
		im_model_spec s;
		big_spec(&s, (im_nn_init)method, 5);
		im_model *a = new_model(&s), *b = new_model(&s);
		s.seed = 6;
		im_model *c = new_model(&s);
		size_t n = im_model_num_params(a);
		assert_memory_equal(im_model_params(a), im_model_params(b),
				    n * sizeof(float));
		size_t same = 0, nonzero = 0;
		for (size_t i = 0; i < n; i++) {
			float x = im_model_params(a)[i], y = im_model_params(c)[i];
			nonzero += x != 0.0f;
			same += x == y && x != 0.0f;
		}
		assert_true(nonzero > n / 2);
		assert_int_equal(same, 0);
		/* The explicit form gives the same arena. */
		float *q = fbuf(n);
		assert_int_equal(im_model_init_params(a, q, (im_nn_init)method, 5),
				 IM_OK);
		assert_memory_equal(q, im_model_params(a), n * sizeof(float));
		free(q);
		im_model_free(a), im_model_free(b), im_model_free(c);
	}
}

/* ---- describe and errors --------------------------------------------- */

static void test_describe(void **state)
{
	(void)state;
	im_model_spec s;
	small_spec(&s, 1, 1, IM_NN_ACT_TANH);
	im_model *m = new_model(&s);
	char buf[4096], small[32], count[64];
	int len = im_model_describe_buf(m, buf, sizeof(buf));
	assert_true(len > 0 && (size_t)len < sizeof(buf));
	assert_int_equal(strlen(buf), (size_t)len);
	snprintf(count, sizeof(count), "parameters: %zu", im_model_num_params(m));
	const char *want[] = {"(0): Linear(in_features=3, out_features=5",
			      "(1): Tanh()", "(4): Linear(in_features=5, out_features=4",
			      "(core): LSTM(8, 3)", "(policy): Linear(in_features=3, "
						    "out_features=3",
			      "(baseline): Linear(in_features=3, "
			      "out_features=1",
			      "core.weight_hh_l0", count};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(buf, want[i]))
			fprintf(stderr, "missing '%s' in:\n%s", want[i], buf);
		assert_non_null(strstr(buf, want[i]));
	}
	/* Truncation: snprintf's contract. */
	assert_int_equal(im_model_describe_buf(m, small, sizeof(small)), len);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, buf, sizeof(small) - 1);
	/* The FILE form writes the same text. */
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(im_model_describe(m, f), IM_OK);
	rewind(f);
	char back[4096] = {0};
	assert_int_equal(fread(back, 1, sizeof(back) - 1, f), (size_t)len);
	assert_string_equal(back, buf);
	fclose(f);
	im_model_free(m);
}

static void test_bad_specs_refused(void **state)
{
	(void)state;
	im_model_spec s;
	im_model *m = (im_model *)&s; /* must stay untouched on failure */
	small_spec(&s, 1, 0, IM_NN_ACT_RELU);
	s.num_hidden_layers = 0;
	assert_int_equal(im_model_new(&m, &s), IM_EINVAL);
	small_spec(&s, 1, 0, IM_NN_ACT_RELU);
	s.act.n = 0;
	assert_int_equal(im_model_new(&m, &s), IM_EINVAL);
	small_spec(&s, 1, 1, IM_NN_ACT_RELU);
	s.lstm_hidden = 0;
	assert_int_equal(im_model_new(&m, &s), IM_EINVAL);
	small_spec(&s, 1, 0, IM_NN_ACT_RELU);
	s.encoder = IM_NN_ENCODER_COUNT_;
	assert_int_equal(im_model_new(&m, &s), IM_EINVAL);
	small_spec(&s, 1, 0, IM_NN_ACT_RELU);
	s.init_method = (im_nn_init)7;
	assert_int_equal(im_model_new(&m, &s), IM_EINVAL);
	assert_ptr_equal(m, (im_model *)&s);
	im_model_free(NULL);
	im_model_ws_free(NULL);
}

/* Sizes from a plugin or a run spec: products that wrap around size_t or
 * int must be refused, not turned into a tiny or negative layout. */
static void test_huge_sizes_refused(void **state)
{
	(void)state;
	im_model_spec s;
	im_model *m = (im_model *)&s; /* must stay untouched on failure */
	small_spec(&s, 1, 0, IM_NN_ACT_RELU);
	s.obs.ndim = 4; /* 2^64 elements: the size_t product wraps to 0 */
	for (int i = 0; i < 4; i++)
		s.obs.shape[i] = 65536;
	assert_int_equal(im_model_new(&m, &s), IM_EINVAL);
	small_spec(&s, 1, 1, IM_NN_ACT_RELU);
	s.act.n = 2147483647; /* LSTM input width feature + 1 + n: int overflow */
	assert_int_equal(im_model_new(&m, &s), IM_EINVAL);
	small_spec(&s, 1, 1, IM_NN_ACT_RELU);
	s.feature_dim = 2147483647;
	assert_int_equal(im_model_new(&m, &s), IM_EINVAL);
	small_spec(&s, 1, 1, IM_NN_ACT_RELU);
	s.lstm_hidden = 1 << 30; /* 4 * H gate rows: int overflow */
	assert_int_equal(im_model_new(&m, &s), IM_EINVAL);
	assert_ptr_equal(m, (im_model *)&s);
}

/* Every name parses to its value and back; a bad one is refused with the
 * accepted names, and leaves the output as it was. */
typedef struct name_case {
	const char *s;
	int is_init; /* im_nn_init_parse, else im_nn_activation_parse */
	int rc;
	int value;       /* IM_OK */
	const char *err; /* IM_EINVAL: the whole message */
} name_case;

static const name_case name_cases[] = {
	{"identity", 1, IM_OK, IM_NN_INIT_IDENTITY, NULL},
	{"orthogonal", 1, IM_OK, IM_NN_INIT_ORTHOGONAL, NULL},
	{"xavier_uniform", 1, IM_OK, IM_NN_INIT_XAVIER_UNIFORM, NULL},
	{"xavier_normal", 1, IM_OK, IM_NN_INIT_XAVIER_NORMAL, NULL},
	{"kaiming", 1, IM_EINVAL, 0, "'kaiming' is not one of: identity, "
				     "orthogonal, xavier_uniform, xavier_normal"},
	{"Orthogonal", 1, IM_EINVAL, 0, "'Orthogonal' is not one of"},
	{NULL, 1, IM_EINVAL, 0, "'(null)' is not one of"},
	{"relu", 0, IM_OK, IM_NN_ACT_RELU, NULL},
	{"tanh", 0, IM_OK, IM_NN_ACT_TANH, NULL},
	{"gelu", 0, IM_EINVAL, 0, "'gelu' is not one of: relu, tanh"},
	{"", 0, IM_EINVAL, 0, "'' is not one of: relu, tanh"},
};

static void test_names_parse(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof name_cases / sizeof name_cases[0]; k++) {
		const name_case *c = &name_cases[k];
		char err[160] = "";
		im_nn_init i = (im_nn_init)77;
		im_nn_activation a = (im_nn_activation)77;
		int rc = c->is_init ? im_nn_init_parse(c->s, &i, err, sizeof err)
				    : im_nn_activation_parse(c->s, &a, err,
							     sizeof err);
		int got = c->is_init ? (int)i : (int)a;
		print_message("%s: rc %d, value %d, err '%s'\n",
			      c->s ? c->s : "NULL", rc, got, err);
		assert_int_equal(rc, c->rc);
		if (rc) {
			assert_int_equal(got, 77);
			assert_non_null(strstr(err, c->err));
			continue;
		}
		assert_int_equal(got, c->value);
		assert_string_equal(c->is_init ? im_nn_init_name(i)
					       : im_nn_activation_name(a),
				    c->s);
		/* NULL err is allowed. */
		assert_int_equal(c->is_init ? im_nn_init_parse(c->s, &i, NULL, 0)
					    : im_nn_activation_parse(c->s, &a,
								     NULL, 0),
				 IM_OK);
	}
	assert_null(im_nn_init_name((im_nn_init)4));
	assert_null(im_nn_activation_name((im_nn_activation)2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_names_and_sizes),
		cmocka_unit_test(test_init_orthogonal),
		cmocka_unit_test(test_init_bounds_and_moments),
		cmocka_unit_test(test_init_reproducible_and_seeded),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_bad_specs_refused),
		cmocka_unit_test(test_huge_sizes_refused),
		cmocka_unit_test(test_names_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
