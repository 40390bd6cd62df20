// SPDX-License-Identifier: Apache-2.0
/* The model against PyTorch: tests/reference/<case>.safetensors (written by
 * tests/reference/make_reference.py in float64 from float32-exact weights
 * and inputs) holds a network's parameters, a batch, the policy outputs and
 * values, the V-trace targets and every parameter's gradient of the loss.
 * We load the parameters into our arena by name, run our forward on the
 * batch and compare the outputs; then we form the loss gradient with
 * respect to the head outputs from the dumped targets (policy gradient,
 * entropy and baseline terms, in double here), run our backward and compare
 * every gradient except policy.log_std (the loss's, not the model's).
 * Tolerance: 2e-5 * (1 + |x|) for outputs and 1e-4 * (1 + |x|) for
 * gradients: our float32 against their float64 over sums of a few hundred
 * terms; a convention error (gate order, reset timing, reward clip, one-hot)
 * is off by far more.  Usage: test_nn_reference <dir of dumps>. */
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
#include "nn/model.h"

static const char *ref_dir;

typedef struct stfile {
	char *hdr;     /* NUL-terminated JSON header */
	uint8_t *data; /* the byte buffer after the header */
	size_t ndata;
} stfile;

static int st_open(stfile *f, const char *path)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -1;
	uint8_t len8[8];
	uint64_t n = 0;
	int ok = fread(len8, 1, 8, fp) == 8;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | len8[i];
	ok = ok && n < (1u << 24);
	f->hdr = ok ? calloc(1, n + 1) : NULL;
	ok = f->hdr && fread(f->hdr, 1, n, fp) == n;
	long start = ftell(fp);
	fseek(fp, 0, SEEK_END);
	f->ndata = ok ? (size_t)(ftell(fp) - start) : 0;
	fseek(fp, start, SEEK_SET);
	f->data = ok ? malloc(f->ndata + 1) : NULL;
	ok = f->data && fread(f->data, 1, f->ndata, fp) == f->ndata;
	fclose(fp);
	return ok ? 0 : -1;
}

/* The float32 tensor called name: pointer (unaligned copy) and count. */
static float *st_get(const stfile *f, const char *name, size_t *count)
{
	char key[160];
	snprintf(key, sizeof(key), "\"%s\":", name);
	const char *p = strstr(f->hdr, key);
	if (!p)
		return NULL;
	const char *o = strstr(p, "\"data_offsets\":[");
	size_t a, b;
	if (!o || sscanf(o, "\"data_offsets\":[%zu,%zu]", &a, &b) != 2 ||
	    b < a || b > f->ndata || (b - a) % 4)
		return NULL;
	float *v = malloc(b - a + 4);
	assert_non_null(v);
	memcpy(v, f->data + a, b - a);
	*count = (b - a) / 4;
	return v;
}

static float *need(const stfile *f, const char *name, size_t count)
{
	size_t n = 0;
	float *v = st_get(f, name, &n);
	if (!v || n != count)
		fprintf(stderr, "%s: missing or %zu floats, want %zu\n", name, n,
			count);
	assert_non_null(v);
	assert_int_equal(n, count);
	return v;
}

static int meta_int(const stfile *f, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\":\"", key);
	const char *p = strstr(f->hdr, k);
	assert_non_null(p);
	return atoi(p + strlen(k));
}

static double meta_double(const stfile *f, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\":\"", key);
	const char *p = strstr(f->hdr, k);
	assert_non_null(p);
	return atof(p + strlen(k));
}

static void assert_close(const char *what, const float *a, const float *b,
			 size_t n, double rel)
{
	for (size_t i = 0; i < n; i++) {
		if (fabs((double)a[i] - b[i]) > rel * (1 + fabs(b[i]))) {
			fprintf(stderr, "%s[%zu]: ours %.8g, PyTorch %.8g\n", what,
				i, (double)a[i], (double)b[i]);
			fail();
		}
	}
}

/* d loss / d head outputs for rows t < T (rows of step T stay zero). */
static void head_grads(const stfile *f, int discrete, int T, int Bn, int n,
		       const float *pol, const float *val, float *dpol, float *dval,
		       const float *logstd)
{
	size_t TB = (size_t)T * Bn;
	float *act = need(f, "in.actions", TB * (discrete ? 1 : n));
	float *adv = need(f, "out.pg_adv", TB), *vs = need(f, "out.vs", TB);
	double bc = meta_double(f, "baseline_coef"), ec = meta_double(f, "ent_coef");
	for (size_t r = 0; r < TB; r++) {
		const float *z = pol + r * n;
		float *d = dpol + r * n;
		dval[r] = (float)(-bc * ((double)vs[r] - val[r]));
		if (!discrete) {
			/* -adv * d logp / d mean; the entropy ignores the mean. */
			for (int j = 0; j < n; j++) {
				double sd = exp(logstd[j]);
				double u = ((double)act[r * n + j] - z[j]) / sd;
				d[j] = (float)(-adv[r] * u / sd);
			}
			continue;
		}
		double mx = z[0], s = 0, lp[16], H = 0;
		for (int j = 1; j < n; j++)
			mx = fmax(mx, z[j]);
		for (int j = 0; j < n; j++)
			s += exp(z[j] - mx);
		for (int j = 0; j < n; j++) {
			lp[j] = z[j] - mx - log(s);
			H -= exp(lp[j]) * lp[j];
		}
		int a = (int)act[r];
		for (int j = 0; j < n; j++) {
			double p = exp(lp[j]);
			d[j] = (float)(-adv[r] * ((j == a) - p) +
				       ec * p * (lp[j] + H));
		}
	}
	free(act), free(adv), free(vs);
}

static void run_case(const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.safetensors", ref_dir, name);
	stfile f = {NULL, NULL, 0};
	if (st_open(&f, path)) {
		fprintf(stderr, "cannot read %s\n", path);
		fail();
	}
	int T = meta_int(&f, "T"), Bn = meta_int(&f, "B"), n = meta_int(&f, "n");
	int discrete = meta_int(&f, "discrete"), lstm = meta_int(&f, "use_lstm");
	int H = meta_int(&f, "lstm_hidden"), T1 = T + 1, N = T1 * Bn;
	im_obs_space obs = {.ndim = 1, .shape = {meta_int(&f, "obs")}};
	im_act_space as = {.kind = discrete ? IM_ACT_DISCRETE : IM_ACT_BOX, .n = n};
	im_model_spec s;
	im_model_spec_default(&s, &obs, &as, meta_int(&f, "hidden_dim"));
	s.feature_dim = meta_int(&f, "feature_dim");
	s.use_lstm = lstm;
	s.lstm_hidden = H;
	im_model *m;
	assert_int_equal(im_model_new(&m, &s), IM_OK);
	float *p = im_model_params(m), *g = im_model_grads(m);
	int nt;
	const im_tensor_desc *t = im_model_tensors(m, &nt);
	for (int i = 0; i < nt; i++) {
		char key[128];
		snprintf(key, sizeof(key), "param.%s", t[i].name);
		float *v = need(&f, key, t[i].numel);
		memcpy(p + t[i].offset, v, t[i].numel * sizeof(float));
		free(v);
	}
	/* Inputs: actions and flags are stored as floats in the dump. */
	size_t O = (size_t)obs.shape[0];
	float *xo = need(&f, "in.obs", N * O);
	float *pa = need(&f, "in.prev_action", (size_t)N * (discrete ? 1 : n));
	float *pr = need(&f, "in.prev_reward", N), *rs = need(&f, "in.reset", N);
	float *h0 = lstm ? need(&f, "in.h0", (size_t)Bn * H) : NULL;
	float *c0 = lstm ? need(&f, "in.c0", (size_t)Bn * H) : NULL;
	int32_t *pai = calloc(N, sizeof(int32_t));
	uint8_t *reset = calloc(N, 1);
	for (int r = 0; r < N; r++) {
		pai[r] = discrete ? (int32_t)pa[r] : 0;
		reset[r] = rs[r] != 0.0f;
	}
	im_model_input in = {.T1 = T1, .B = Bn, .obs = xo, .prev_reward = pr, .reset = reset};
	if (discrete)
		in.prev_action = pai;
	else
		in.prev_action_box = pa;
	im_model_ws *ws;
	assert_int_equal(im_model_ws_new(&ws, m, T1, Bn), IM_OK);
	float *pol = calloc((size_t)N * n, 4), *val = calloc(N, 4);
	assert_int_equal(im_model_forward(ws, p, &in, h0, c0, NULL, pol, val,
					  NULL),
			 IM_OK);
	float *rpol = need(&f, "out.policy", (size_t)N * n);
	float *rval = need(&f, "out.values", N);
	assert_close("policy", pol, rpol, (size_t)N * n, 2e-5);
	assert_close("values", val, rval, N, 2e-5);

	float *dpol = calloc((size_t)N * n, 4), *dval = calloc(N, 4);
	const im_tensor_desc *ls = im_model_find(m, "policy.log_std");
	head_grads(&f, discrete, T, Bn, n, pol, val, dpol, dval,
		   ls ? p + ls->offset : NULL);
	im_model_zero_grads(m);
	assert_int_equal(im_model_backward(ws, p, dpol, dval, g), IM_OK);
	for (int i = 0; i < nt; i++) {
		if (ls && &t[i] == ls)
			continue;
		char key[128];
		snprintf(key, sizeof(key), "grad.%s", t[i].name);
		float *v = need(&f, key, t[i].numel);
		assert_close(key, g + t[i].offset, v, t[i].numel, 1e-4);
		free(v);
	}
	free(xo), free(pa), free(pr), free(rs), free(h0), free(c0);
	free(pai), free(reset), free(pol), free(val), free(rpol), free(rval);
	free(dpol), free(dval), free(f.hdr), free(f.data);
	im_model_ws_free(ws);
	im_model_free(m);
}

static void test_mlp_discrete(void **s)
{
	(void)s;
	run_case("mlp_discrete");
}
static void test_mlp_box(void **s)
{
	(void)s;
	run_case("mlp_box");
}
static void test_lstm_discrete(void **s)
{
	(void)s;
	run_case("lstm_discrete");
}
static void test_lstm_box(void **s)
{
	(void)s;
	run_case("lstm_box");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s <tests/reference dir>\n", argv[0]);
		return 77;
	}
	ref_dir = argv[1];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mlp_discrete),
		cmocka_unit_test(test_mlp_box),
		cmocka_unit_test(test_lstm_discrete),
		cmocka_unit_test(test_lstm_box),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
