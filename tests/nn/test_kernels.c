// SPDX-License-Identifier: Apache-2.0
/* The nn kernels: each fast kernel equals its naive twin, and each backward
 * is the gradient of its forward (finite differences, see gradcheck.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nn/fastmath.h"
#include "nn/kernels.h"

static float *fbuf(size_t n)
{
	float *p = calloc(n ? n : 1, sizeof(float));
	assert_non_null(p);
	return p;
}

/* Fast and naive results agree elementwise to float rounding of sums of
 * length k: |a - b| <= 1e-5 * (1 + |b|) * sqrt(k)-ish; 1e-4 relative covers
 * k up to a few hundred with a wide margin, and any indexing or transpose
 * error is O(1). */
static void assert_close(const float *a, const float *b, size_t n, double rel)
{
	for (size_t i = 0; i < n; i++) {
		double tol = rel * (1.0 + fabs(b[i]));
		/* Written so that a NaN on either side fails too. */
		if (!(fabs((double)a[i] - b[i]) <= tol)) {
			fprintf(stderr, "index %zu: %.8g vs %.8g\n", i,
				(double)a[i], (double)b[i]);
			fail();
		}
	}
}

/* The linear kernels run with their products split into blocks of rows
 * (forced on), in one call each (forced off), and as the running OpenBLAS
 * core decides: the blocked path is reached on every machine. */
static int blocks_on(void **state)
{
	(void)state;
	im_nn_set_row_blocks(1);
	return 0;
}

static int blocks_off(void **state)
{
	(void)state;
	im_nn_set_row_blocks(0);
	return 0;
}

static int blocks_auto(void **state)
{
	(void)state;
	im_nn_set_row_blocks(-1);
	return 0;
}

static void test_linear_forward_matches_naive(void **state)
{
	(void)state;
	/* The last two are split into blocks of rows (linear.c, row_block):
	 * 700 rows of 64 x 64 in blocks of 240, 300 of 4 x 900 in 272. */
	static const int shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {33, 17, 65}, {64, 4, 128}, {2, 300, 1}, {700, 64, 64}, {300, 4, 900}};
	im_rng r;
	im_rng_init(&r, 1);
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		int N = shapes[s][0], C = shapes[s][1], OC = shapes[s][2];
		float *in = fbuf((size_t)N * C), *w = fbuf((size_t)OC * C);
		float *b = fbuf(OC), *o1 = fbuf((size_t)N * OC);
		float *o2 = fbuf((size_t)N * OC), *wt = fbuf((size_t)OC * C);
		fill_randn(in, (size_t)N * C, 1, &r);
		fill_randn(w, (size_t)OC * C, 0.3f, &r);
		fill_randn(b, OC, 1, &r);
		for (int withb = 0; withb < 2; withb++) {
			im_nn_linear_forward(o1, in, w, withb ? b : NULL, N, C, OC);
			im_nn_linear_forward_naive(o2, in, w, withb ? b : NULL, N,
						   C, OC);
			assert_close(o1, o2, (size_t)N * OC, 1e-4);
		}
		for (int a = IM_NN_ACT_RELU; a <= IM_NN_ACT_TANH; a++) {
			for (int withb = 0; withb < 2; withb++) {
				const float *bb = withb ? b : NULL;
				im_nn_linear_act_forward_naive(o2, NULL, in, w, bb,
							       N, C, OC, a);
				/* With and without the transpose scratch. */
				im_nn_linear_act_forward(o1, wt, in, w, bb, N, C,
							 OC, a);
				assert_close(o1, o2, (size_t)N * OC, 1e-4);
				im_nn_linear_act_forward(o1, NULL, in, w, bb, N, C,
							 OC, a);
				assert_close(o1, o2, (size_t)N * OC, 1e-4);
			}
		}
		free(in), free(w), free(b), free(o1), free(o2), free(wt);
	}
}

/* Inputs of a linear backward case: random in, w, dout, and two equal
 * copies g1 (for the fast kernel) and g2 (naive) of non-zero starting
 * gradients din, dw, db, so that accumulation shows. */
typedef struct bwd_case {
	int N, C, OC;
	size_t sz[3];
	float *in, *w, *dout, *g1[3], *g2[3];
} bwd_case;

static bwd_case bwd_case_new(const int shape[3], im_rng *r)
{
	bwd_case c = {.N = shape[0], .C = shape[1], .OC = shape[2]};
	c.sz[0] = (size_t)c.N * c.C;
	c.sz[1] = (size_t)c.OC * c.C;
	c.sz[2] = (size_t)c.OC;
	c.in = fbuf(c.sz[0]), c.w = fbuf(c.sz[1]);
	c.dout = fbuf((size_t)c.N * c.OC);
	fill_randn(c.in, c.sz[0], 1, r);
	fill_randn(c.w, c.sz[1], 0.3f, r);
	fill_randn(c.dout, (size_t)c.N * c.OC, 1, r);
	for (int k = 0; k < 3; k++) {
		c.g1[k] = fbuf(c.sz[k]), c.g2[k] = fbuf(c.sz[k]);
		fill_randn(c.g1[k], c.sz[k], 1, r);
		memcpy(c.g2[k], c.g1[k], c.sz[k] * sizeof(float));
	}
	return c;
}

static void bwd_case_free(bwd_case *c)
{
	free(c->in), free(c->w), free(c->dout);
	for (int k = 0; k < 3; k++)
		free(c->g1[k]), free(c->g2[k]);
}

/* Accumulating backward, on shapes in one call, (the second and third)
 * in blocks of rows when blocks are on, and (the last two: the MinAtar
 * presets' 20-row Linear layer, and an odd one whose last block is
 * short) in blocks of columns. */
static void test_linear_backward_matches_naive(void **state)
{
	(void)state;
	static const int shapes[][3] = {{37, 19, 23}, {700, 64, 64}, {300, 4, 900}, {20, 1024, 128}, {21, 1000, 130}};
	im_rng r;
	im_rng_init(&r, 2);
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		bwd_case c = bwd_case_new(shapes[s], &r);
		im_nn_linear_backward(c.g1[0], c.g1[1], c.g1[2], c.dout, c.in,
				      c.w, c.N, c.C, c.OC);
		im_nn_linear_backward_naive(c.g2[0], c.g2[1], c.g2[2], c.dout,
					    c.in, c.w, c.N, c.C, c.OC);
		for (int k = 0; k < 3; k++)
			assert_close(c.g1[k], c.g2[k], c.sz[k], 1e-4);
		/* din NULL: weight gradients still accumulate, nothing else
		 * read. */
		im_nn_linear_backward(NULL, c.g1[1], NULL, c.dout, c.in, c.w,
				      c.N, c.C, c.OC);
		im_nn_linear_backward_naive(NULL, c.g2[1], NULL, c.dout, c.in,
					    c.w, c.N, c.C, c.OC);
		assert_close(c.g1[1], c.g2[1], c.sz[1], 1e-4);
		bwd_case_free(&c);
	}
}

/* The _assign variant writes din without reading it (NaN before the call
 * must vanish) and still accumulates dw and db.  Shapes on both sides of
 * OpenBLAS's small-matrix threshold (M*N*K around 1e6 for SkylakeX), whose
 * beta-0 paths differ, and (the last two) in blocks of columns under it
 * when blocks are on. */
static void test_linear_backward_assign_matches_naive(void **state)
{
	(void)state;
	static const int shapes[][3] = {{37, 19, 23}, {300, 64, 64}, {500, 64, 3}, {20, 1024, 128}, {21, 1000, 130}};
	im_rng r;
	im_rng_init(&r, 8);
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		bwd_case c = bwd_case_new(shapes[s], &r);
		for (size_t i = 0; i < c.sz[0]; i++)
			c.g1[0][i] = c.g2[0][i] = NAN;
		im_nn_linear_backward_assign(c.g1[0], c.g1[1], c.g1[2], c.dout,
					     c.in, c.w, c.N, c.C, c.OC);
		im_nn_linear_backward_assign_naive(c.g2[0], c.g2[1], c.g2[2],
						   c.dout, c.in, c.w, c.N, c.C, c.OC);
		for (int k = 0; k < 3; k++)
			assert_close(c.g1[k], c.g2[k], c.sz[k], 1e-4);
		/* The naive twin itself: din is exactly what accumulating into
		 * zeros gives. */
		memset(c.g1[0], 0, c.sz[0] * sizeof(float));
		im_nn_linear_backward_naive(c.g1[0], c.g1[1], c.g1[2], c.dout,
					    c.in, c.w, c.N, c.C, c.OC);
		assert_close(c.g1[0], c.g2[0], c.sz[0], 0.0);
		bwd_case_free(&c);
	}
}

static void test_act_backward_matches_naive(void **state)
{
	(void)state;
	im_rng r;
	im_rng_init(&r, 3);
	size_t n = 1001;
	float *x = fbuf(n), *y = fbuf(n), *d = fbuf(n), *a = fbuf(n), *b = fbuf(n);
	fill_randn(x, n, 1, &r);
	fill_randn(d, n, 1, &r);
	for (int act = IM_NN_ACT_RELU; act <= IM_NN_ACT_TANH; act++) {
		im_nn_act_forward(y, x, n, act);
		for (size_t i = 0; i < n; i++)
			assert_true(act == IM_NN_ACT_RELU
					    ? y[i] == (x[i] > 0 ? x[i] : 0)
					    : fabsf(y[i] - tanhf(x[i])) < 1e-6f);
		im_nn_act_backward(a, d, y, n, act);
		im_nn_act_backward_naive(b, d, y, n, act);
		assert_close(a, b, n, 1e-6);
		/* In place gives the same. */
		memcpy(a, d, n * sizeof(float));
		im_nn_act_backward(a, a, y, n, act);
		assert_close(a, b, n, 1e-6);
	}
	free(x), free(y), free(d), free(a), free(b);
}

/* The activation backward with the bias gradient summed in its pass: din
 * as im_nn_act_backward's (in place too), db accumulated onto a non-zero
 * start, for widths that do and do not fill a vector. */
static void test_act_bias_backward_matches_naive(void **state)
{
	(void)state;
	static const int shapes[][2] = {{1, 1}, {37, 5}, {129, 64}};
	im_rng r;
	im_rng_init(&r, 9);
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		int N = shapes[s][0], OC = shapes[s][1];
		size_t n = (size_t)N * OC;
		float *x = fbuf(n), *y = fbuf(n), *d = fbuf(n), *a = fbuf(n);
		float *b = fbuf(n), *db1 = fbuf(OC), *db2 = fbuf(OC);
		fill_randn(x, n, 1, &r);
		fill_randn(d, n, 1, &r);
		for (int act = IM_NN_ACT_RELU; act <= IM_NN_ACT_TANH; act++) {
			im_nn_act_forward(y, x, n, act);
			fill_randn(db1, OC, 1, &r);
			memcpy(db2, db1, OC * sizeof(float));
			im_nn_act_bias_backward(a, db1, d, y, N, OC, act);
			im_nn_act_bias_backward_naive(b, db2, d, y, N, OC, act);
			assert_close(a, b, n, 1e-6);
			assert_close(db1, db2, OC, 1e-4);
			/* In place: the same again on top. */
			memcpy(a, d, n * sizeof(float));
			im_nn_act_bias_backward(a, db1, a, y, N, OC, act);
			im_nn_act_bias_backward_naive(b, db2, d, y, N, OC, act);
			assert_close(a, b, n, 1e-6);
			assert_close(db1, db2, OC, 1e-4);
		}
		free(x), free(y), free(d), free(a), free(b), free(db1);
		free(db2);
	}
}

/* The vectorisable exp, sigmoid and tanh the fast kernels use are within a
 * few float ulps of libm in double (measured: 8e-8 relative for exp, 9e-8
 * and 1.1e-7 absolute for sigmoid and tanh), saturate cleanly far out, and
 * never produce NaN or infinity. */
static void test_fast_math_accuracy(void **state)
{
	(void)state;
	double me = 0, ms = 0, mt = 0;
	for (double x = -100; x <= 100; x += 1e-3) {
		float f = (float)x;
		if (f > -87.0f && f < 88.0f)
			me = fmax(me, fabs(im_nni_expf(f) - exp(f)) / exp(f));
		ms = fmax(ms, fabs(im_nni_sigmoidf(f) - 1 / (1 + exp(-(double)f))));
		mt = fmax(mt, fabs(im_nni_tanhf(f) - tanh((double)f)));
	}
	assert_true(me < 2e-7);
	assert_true(ms < 2e-7);
	assert_true(mt < 2e-7);
	static const float far[] = {-1e30f, -1e4f, 1e4f, 1e30f};
	for (int i = 0; i < 4; i++) {
		float s = im_nni_sigmoidf(far[i]), t = im_nni_tanhf(far[i]);
		assert_true(isfinite(s) && isfinite(t));
		assert_true(fabsf(s - (far[i] > 0 ? 1.0f : 0.0f)) < 1e-7f);
		assert_true(fabsf(t - (far[i] > 0 ? 1.0f : -1.0f)) < 1e-7f);
	}
}

/* ---- finite differences of the linear layer and activations ---------- */

typedef struct lin_ctx {
	float *in, *w, *b, *out, *wout;
	int N, C, OC;
	int act; /* -1: plain linear */
} lin_ctx;

static double lin_loss(void *p)
{
	lin_ctx *c = p;
	if (c->act < 0)
		im_nn_linear_forward(c->out, c->in, c->w, c->b, c->N, c->C, c->OC);
	else
		im_nn_act_forward(c->out, c->in, (size_t)c->N * c->C, c->act);
	size_t n = (size_t)c->N * (c->act < 0 ? c->OC : c->C);
	return dot_f(c->out, c->wout, n);
}

static void test_linear_gradcheck(void **state)
{
	(void)state;
	im_rng r;
	im_rng_init(&r, 4);
	lin_ctx c = {.N = 6, .C = 5, .OC = 4, .act = -1};
	c.in = fbuf(30), c.w = fbuf(20), c.b = fbuf(4), c.out = fbuf(24);
	c.wout = fbuf(24);
	fill_randn(c.in, 30, 1, &r);
	fill_randn(c.w, 20, 0.5f, &r);
	fill_randn(c.b, 4, 1, &r);
	fill_randn(c.wout, 24, 1, &r);
	float *din = fbuf(30), *dw = fbuf(20), *db = fbuf(4);
	im_nn_linear_backward(din, dw, db, c.wout, c.in, c.w, 6, 5, 4);
	gc_result g[3] = {gradcheck("din", c.in, din, 30, lin_loss, &c),
			  gradcheck("dw", c.w, dw, 20, lin_loss, &c),
			  gradcheck("db", c.b, db, 4, lin_loss, &c)};
	for (int k = 0; k < 3; k++) {
		assert_int_equal(g[k].failed, 0);
		assert_int_equal(g[k].skipped, 0);
	}
	free(c.in), free(c.w), free(c.b), free(c.out), free(c.wout);
	free(din), free(dw), free(db);
}

static void test_activation_gradcheck(void **state)
{
	(void)state;
	im_rng r;
	im_rng_init(&r, 5);
	for (int act = IM_NN_ACT_RELU; act <= IM_NN_ACT_TANH; act++) {
		lin_ctx c = {.N = 8, .C = 9, .act = act};
		c.in = fbuf(72), c.out = fbuf(72), c.wout = fbuf(72);
		/* |x| >= 0.1 keeps relu's kink outside the +-h probes. */
		fill_away_from_zero(c.in, 72, 0.1f, 2.0f, &r);
		fill_randn(c.wout, 72, 1, &r);
		float *din = fbuf(72);
		lin_loss(&c);
		im_nn_act_backward(din, c.wout, c.out, 72, act);
		gc_result g = gradcheck("dx", c.in, din, 72, lin_loss, &c);
		assert_int_equal(g.failed, 0);
		assert_int_equal(g.skipped, 0);
		free(c.in), free(c.out), free(c.wout), free(din);
	}
}

/* ---- LSTM -------------------------------------------------------------- */

enum { LT = 5,
       LB = 3,
       LI = 4,
       LH = 6 };

typedef struct lstm_ctx {
	float x[LT * LB * LI], h0[LB * LH], c0[LB * LH];
	float wih[4 * LH * LI], whh[4 * LH * LH], bih[4 * LH], bhh[4 * LH];
	uint8_t reset[LT * LB];
	float wout[LT * LB * LH], wc[LB * LH];
	float *mem;
	im_nn_lstm_cache k;
	int naive;
} lstm_ctx;

static void lstm_setup(lstm_ctx *c, uint64_t seed)
{
	im_rng r;
	im_rng_init(&r, seed);
	memset(c, 0, sizeof(*c));
	fill_randn(c->x, sizeof(c->x) / 4, 1, &r);
	fill_randn(c->h0, LB * LH, 0.5f, &r);
	fill_randn(c->c0, LB * LH, 0.5f, &r);
	fill_randn(c->wih, sizeof(c->wih) / 4, 0.4f, &r);
	fill_randn(c->whh, sizeof(c->whh) / 4, 0.4f, &r);
	fill_randn(c->bih, 4 * LH, 0.3f, &r);
	fill_randn(c->bhh, 4 * LH, 0.3f, &r);
	fill_randn(c->wout, sizeof(c->wout) / 4, 1, &r);
	/* Sequence 1 resets before step 2, sequence 2 before steps 1 and 4. */
	c->reset[2 * LB + 1] = 1;
	c->reset[1 * LB + 2] = 1;
	c->reset[4 * LB + 2] = 1;
	c->mem = fbuf(im_nn_lstm_cache_floats(LT, LB, LH));
	im_nn_lstm_cache_bind(&c->k, c->mem, LT, LB, LH);
}

static double lstm_loss(void *p)
{
	lstm_ctx *c = p;
	(c->naive ? im_nn_lstm_forward_naive : im_nn_lstm_forward)(&c->k, c->x,
								   c->reset, c->h0, c->c0, c->wih, c->whh, c->bih, c->bhh, LT, LB,
								   LI, LH);
	return dot_f(c->k.h, c->wout, LT * LB * LH);
}

typedef struct lstm_grads {
	float dx[LT * LB * LI], dwih[4 * LH * LI], dwhh[4 * LH * LH];
	float dbih[4 * LH], dbhh[4 * LH];
} lstm_grads;

static void lstm_grad(lstm_ctx *c, lstm_grads *g, int naive, int dx_cols)
{
	memset(g, 0, sizeof(*g));
	float *scratch = fbuf(im_nn_lstm_scratch_floats(LT, LB, LH));
	c->naive = naive;
	lstm_loss(c);
	(naive ? im_nn_lstm_backward_naive : im_nn_lstm_backward)(g->dx, dx_cols,
								  g->dwih, g->dwhh, g->dbih, g->dbhh, scratch, c->wout, &c->k, c->x,
								  c->reset, c->wih, c->whh, LT, LB, LI, LH);
	free(scratch);
}

static void test_lstm_matches_naive(void **state)
{
	(void)state;
	lstm_ctx *c = malloc(sizeof(*c));
	assert_non_null(c);
	lstm_setup(c, 6);
	float *mem2 = fbuf(im_nn_lstm_cache_floats(LT, LB, LH));
	im_nn_lstm_cache k2;
	im_nn_lstm_cache_bind(&k2, mem2, LT, LB, LH);
	im_nn_lstm_forward_naive(&k2, c->x, c->reset, c->h0, c->c0, c->wih,
				 c->whh, c->bih, c->bhh, LT, LB, LI, LH);
	c->naive = 0;
	lstm_loss(c);
	assert_close(c->mem, mem2, im_nn_lstm_cache_floats(LT, LB, LH), 1e-5);
	lstm_grads *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	lstm_grad(c, a, 0, LI);
	lstm_grad(c, b, 1, LI);
	assert_close((float *)a, (float *)b, sizeof(*a) / sizeof(float), 1e-5);
	/* Fewer dx columns: the first ones equal, the rest untouched. */
	lstm_grad(c, b, 0, 2);
	for (int r = 0; r < LT * LB; r++) {
		assert_close(b->dx + r * 2, a->dx + r * LI, 2, 1e-6);
	}
	free(mem2), free(a), free(b), free(c->mem), free(c);
}

static void test_lstm_gradcheck_bptt_with_resets(void **state)
{
	(void)state;
	lstm_ctx *c = malloc(sizeof(*c));
	assert_non_null(c);
	lstm_setup(c, 7);
	lstm_grads *g = malloc(sizeof(*g));
	lstm_grad(c, g, 0, LI);
	c->naive = 0;
	struct {
		const char *name;
		float *p;
		float *ana;
		size_t n;
	} t[] = {
		{"dx", c->x, g->dx, LT * LB * LI},
		{"dw_ih", c->wih, g->dwih, 4 * LH * LI},
		{"dw_hh", c->whh, g->dwhh, 4 * LH * LH},
		{"db_ih", c->bih, g->dbih, 4 * LH},
		{"db_hh", c->bhh, g->dbhh, 4 * LH},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		gc_result r = gradcheck(t[i].name, t[i].p, t[i].ana, t[i].n,
					lstm_loss, c);
		assert_int_equal(r.failed, 0);
		assert_int_equal(r.skipped, 0);
	}
	/* No gradient crosses a reset: sequence 2 resets before step 4, so
	 * an output weight only at step 4 gives zero gradient to x at steps
	 * < 4 of that sequence, while sequence 0 (no reset) gets some. */
	memset(c->wout, 0, sizeof(c->wout));
	for (int j = 0; j < LH; j++) {
		c->wout[(4 * LB + 2) * LH + j] = 1;
		c->wout[(4 * LB + 0) * LH + j] = 1;
	}
	lstm_grad(c, g, 0, LI);
	double s2 = 0, s0 = 0;
	for (int t2 = 0; t2 < 4; t2++)
		for (int i = 0; i < LI; i++) {
			s2 += fabs(g->dx[(t2 * LB + 2) * LI + i]);
			s0 += fabs(g->dx[(t2 * LB + 0) * LI + i]);
		}
	assert_true(s2 == 0.0);
	assert_true(s0 > 1e-3);
	free(g), free(c->mem), free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define IN_EVERY_BLOCK_MODE(t) \
	cmocka_unit_test_setup_teardown(t, blocks_on, blocks_auto), \
		cmocka_unit_test_setup_teardown(t, blocks_off, blocks_auto), \
		cmocka_unit_test(t)
		IN_EVERY_BLOCK_MODE(test_linear_forward_matches_naive),
		IN_EVERY_BLOCK_MODE(test_linear_backward_matches_naive),
		IN_EVERY_BLOCK_MODE(test_linear_backward_assign_matches_naive),
		cmocka_unit_test(test_act_backward_matches_naive),
		cmocka_unit_test(test_act_bias_backward_matches_naive),
		cmocka_unit_test(test_fast_math_accuracy),
		cmocka_unit_test(test_linear_gradcheck),
		cmocka_unit_test(test_activation_gradcheck),
		cmocka_unit_test(test_lstm_matches_naive),
		cmocka_unit_test(test_lstm_gradcheck_bptt_with_resets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
