// SPDX-License-Identifier: Apache-2.0
/* The image kernels (common/nn/conv.h): the fast Conv2d, max-pool and
 * residual add equal their naive twins on a table of shapes (odd sizes,
 * stride > 1, padding, batch 1, several chunks, uint8 input, ReLU read,
 * sparse 0/1 grids), the Conv2d through each of its paths (im2col and the
 * direct kernels, forced, and the choice left to the input's density),
 * and each backward is the gradient of its forward by finite differences
 * (gradcheck.h). */
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
#include "nn/conv.h"

static float *fbuf(size_t n)
{
	float *p = calloc(n ? n : 1, sizeof(float));
	assert_non_null(p);
	return p;
}

/* Fast (float, sgemm) against naive (double) sums of up to a few thousand
 * terms: 1e-4 relative to 1 + |value| is a hundred times the rounding of
 * such sums, and an indexing or permutation error is O(1). */
static void assert_close(const char *what, const float *a, const float *b,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		double tol = 1e-4 * (1.0 + fabs(b[i]));
		if (!(fabs((double)a[i] - b[i]) <= tol))
			fail_msg("%s[%zu]: fast %.8g naive %.8g", what, i,
				 (double)a[i], (double)b[i]);
	}
}

typedef struct conv_case {
	const char *name;
	int N, H, W, C, O, K, stride, pad, chunk;
	int u8, relu_in, relu_out;
	int KW;     /* 0: K (a square kernel); otherwise K is KH */
	int sparse; /* u8: a 0/1 grid with about 1 value in 16 set, scale 1;
		     * 2: about 1 in 16 set to any byte, scale 1/255 */
} conv_case;

static const conv_case CONV_CASES[] = {
	{"odd 7x5x3, 3x3, valid", 2, 7, 5, 3, 4, 3, 1, 0, 2, 0, 0, 0, 0, 0},
	{"stride 2, padding 1, odd", 3, 9, 7, 2, 5, 3, 2, 1, 3, 0, 0, 1, 0, 0},
	{"nature first layer shape, 8x8 stride 4", 2, 20, 24, 4, 6, 8, 4, 0, 1, 0, 0, 1, 0, 0},
	{"4x4 stride 2", 2, 10, 9, 5, 7, 4, 2, 0, 2, 0, 0, 0, 0, 0},
	{"batch 1, padding 1, one channel", 1, 5, 5, 1, 3, 3, 1, 1, 1, 0, 0, 0, 0, 0},
	{"chunks of 1 over 3 images, last short", 3, 6, 6, 2, 3, 3, 1, 1, 1, 0, 0, 1, 0, 0},
	{"chunks of 2 over 5 images", 5, 6, 5, 3, 2, 3, 2, 1, 2, 0, 0, 0, 0, 0},
	{"uint8 input scaled 1/255", 2, 8, 8, 4, 5, 3, 1, 0, 2, 1, 0, 1, 0, 0},
	{"uint8 input, stride 4 padding 1", 2, 11, 9, 3, 4, 4, 4, 1, 1, 1, 0, 0, 0, 0},
	{"ReLU read (residual block)", 2, 6, 7, 4, 4, 3, 1, 1, 2, 0, 1, 0, 0, 0},
	{"1x1 kernel", 2, 4, 3, 6, 5, 1, 1, 0, 2, 0, 0, 0, 0, 0},
	/* Non-square kernels: stride 1 cannot take the flipped-kernel path
	 * (one padding for both axes), so they scatter. */
	{"3x5 kernel, stride 1, padding 1", 2, 7, 9, 3, 4, 3, 1, 1, 2, 0, 0, 1, 5, 0},
	{"5x2 kernel, stride 2", 3, 9, 6, 2, 3, 5, 2, 0, 2, 0, 1, 0, 2, 0},
	/* MinAtar: 10 x 10 grids of 4 to 10 channels, 16 3x3 filters. */
	{"MinAtar Breakout grid, 0/1, sparse", 5, 10, 10, 4, 16, 3, 1, 0, 2, 1, 0, 1, 0, 1},
	{"MinAtar Seaquest grid, 0/1, sparse", 3, 10, 10, 10, 16, 3, 1, 0, 3, 1, 0, 1, 0, 1},
	/* The direct kernels skip zeros 8 bytes at a time: an image of 105
	 * bytes (not a multiple of 8), any byte value. */
	{"uint8 sparse bytes, 7x5x3, padding 1", 3, 7, 5, 3, 4, 3, 1, 1, 3, 1, 0, 1, 0, 2},
	{"sparse grid, padding 1, 5 filters", 2, 7, 6, 3, 5, 3, 1, 1, 1, 1, 0, 0, 0, 1},
};

typedef struct conv_fix {
	im_nn_conv2d s;
	im_nn_conv_src src;
	float *in, *w, *b, *out, *scratch;
	uint8_t *u8;
	size_t nin, nw, nout, nscratch;
} conv_fix;

static void conv_fix_make(conv_fix *f, const conv_case *c, im_rng *r)
{
	memset(f, 0, sizeof(*f));
	int kw = c->KW ? c->KW : c->K;
	assert_int_equal(im_nn_conv2d_init(&f->s, c->H, c->W, c->C, c->O, c->K,
					   kw, c->stride, c->pad),
			 IM_OK);
	f->nin = (size_t)c->N * c->H * c->W * c->C;
	f->nw = (size_t)c->O * c->C * c->K * kw;
	f->nout = (size_t)c->N * f->s.OH * f->s.OW * c->O;
	f->nscratch = im_nn_conv2d_scratch_floats(&f->s, c->chunk, 1);
	f->in = fbuf(f->nin);
	f->w = fbuf(f->nw);
	f->b = fbuf((size_t)c->O);
	f->out = fbuf(f->nout);
	f->scratch = fbuf(f->nscratch);
	fill_randn(f->in, f->nin, 1, r);
	fill_randn(f->w, f->nw, 0.3f, r);
	fill_randn(f->b, (size_t)c->O, 0.3f, r);
	if (c->u8) {
		f->u8 = malloc(f->nin);
		assert_non_null(f->u8);
		for (size_t i = 0; i < f->nin; i++)
			f->u8[i] = c->sparse == 1 ? im_rng_below(r, 16) == 0
				   : c->sparse == 2 && im_rng_below(r, 16)
					   ? 0
					   : (uint8_t)im_rng_below(r, 256);
		f->src = (im_nn_conv_src){.u8 = f->u8,
					  .scale = c->sparse == 1 ? 1.0f : 1.0f / 255};
	} else {
		f->src = (im_nn_conv_src){.f = f->in, .relu = c->relu_in};
	}
}

static void conv_fix_free(conv_fix *f)
{
	free(f->in), free(f->w), free(f->b), free(f->out), free(f->scratch);
	free(f->u8);
}

static void conv_case_matches_naive(const conv_case *c)
{
	im_rng r;
	im_rng_init(&r, 7);
	conv_fix f;
	conv_fix_make(&f, c, &r);
	float *want = fbuf(f.nout);
	im_nn_conv2d_forward(f.out, f.scratch, &f.src, f.w, f.b, c->N, &f.s,
			     c->chunk, c->relu_out);
	im_nn_conv2d_forward_naive(want, NULL, &f.src, f.w, f.b, c->N, &f.s,
				   c->chunk, c->relu_out);
	assert_close(c->name, f.out, want, f.nout);

	/* Backward: every gradient starts non-zero, so accumulation is
	 * checked too. */
	float *dout = fbuf(f.nout);
	fill_randn(dout, f.nout, 1, &r);
	float *din[2], *dw[2], *db[2];
	for (int k = 0; k < 2; k++) {
		din[k] = fbuf(f.nin);
		dw[k] = fbuf(f.nw);
		db[k] = fbuf((size_t)c->O);
	}
	fill_randn(din[0], f.nin, 1, &r);
	fill_randn(dw[0], f.nw, 1, &r);
	fill_randn(db[0], (size_t)c->O, 1, &r);
	memcpy(din[1], din[0], f.nin * sizeof(float));
	memcpy(dw[1], dw[0], f.nw * sizeof(float));
	memcpy(db[1], db[0], (size_t)c->O * sizeof(float));
	float *di = c->u8 ? NULL : din[0], *dn = c->u8 ? NULL : din[1];
	im_nn_conv2d_backward(di, dw[0], db[0], f.scratch, dout, &f.src, f.w,
			      c->N, &f.s, c->chunk);
	im_nn_conv2d_backward_naive(dn, dw[1], db[1], NULL, dout, &f.src,
				    f.w, c->N, &f.s, c->chunk);
	assert_close("din", din[0], din[1], f.nin);
	assert_close("dw", dw[0], dw[1], f.nw);
	assert_close("db", db[0], db[1], (size_t)c->O);
	/* The _assign form overwrites din, NaN included (stride 1 takes the
	 * convolution-of-dout path, other strides the scatter). */
	if (!c->u8) {
		for (size_t i = 0; i < f.nin; i++)
			din[0][i] = NAN;
		im_nn_conv2d_backward_assign(din[0], dw[0], db[0], f.scratch,
					     dout, &f.src, f.w, c->N, &f.s, c->chunk);
		im_nn_conv2d_backward_assign_naive(din[1], dw[1], db[1], NULL,
						   dout, &f.src, f.w, c->N, &f.s, c->chunk);
		assert_close("din assigned", din[0], din[1], f.nin);
		assert_close("dw after two", dw[0], dw[1], f.nw);
	}
	for (int k = 0; k < 2; k++)
		free(din[k]), free(dw[k]), free(db[k]);
	free(dout);
	free(want);
	conv_fix_free(&f);
}

/* Every case through each path: im2col forced (mode 0), the direct
 * kernels forced (1; stride 1 only), and the choice by density (-1). */
static void test_conv_matches_naive(void **state)
{
	(void)state;
	static const int modes[] = {0, 1, -1};
	for (size_t m = 0; m < 3; m++) {
		im_nn_set_conv_direct(modes[m]);
		for (size_t i = 0; i < sizeof(CONV_CASES) / sizeof(CONV_CASES[0]);
		     i++) {
			if (modes[m] == 1 && CONV_CASES[i].stride != 1)
				continue;
			fprintf(stderr, "case: %s (direct mode %d)\n",
				CONV_CASES[i].name, modes[m]);
			conv_case_matches_naive(&CONV_CASES[i]);
		}
	}
	im_nn_set_conv_direct(-1);
}

/* The density rule: a sparse 0/1 grid takes the direct kernels, a dense
 * frame, a stride of 2 or a forced mode 0 do not. */
static void test_conv_direct_choice(void **state)
{
	(void)state;
	im_nn_conv2d s, s2;
	assert_int_equal(im_nn_conv2d_init(&s, 10, 10, 4, 16, 3, 3, 1, 0), IM_OK);
	assert_int_equal(im_nn_conv2d_init(&s2, 10, 10, 4, 16, 3, 3, 2, 0), IM_OK);
	enum { N = 3,
	       n = N * 10 * 10 * 4 };
	uint8_t grid[n];
	/* One value in 10 set: under the 1-in-IM_NN_CONV_DIRECT_DENSITY bar. */
	for (int i = 0; i < n; i++)
		grid[i] = i % 10 == 0;
	im_nn_conv_src src = {.u8 = grid, .scale = 1.0f};
	assert_true(im_nn_conv2d_direct_pays(&s, &src, N));
	assert_false(im_nn_conv2d_direct_pays(&s2, &src, N));
	im_nn_set_conv_direct(0);
	assert_false(im_nn_conv2d_direct_pays(&s, &src, N));
	im_nn_set_conv_direct(-1);
	/* One in 4 set: dense enough for im2col. */
	for (int i = 0; i < n; i++)
		grid[i] = i % 4 == 0;
	assert_false(im_nn_conv2d_direct_pays(&s, &src, N));
	/* The count at the bar exactly, over 1203 bytes (not a multiple of 8,
	 * the word-at-a-time count's tail), any non-zero byte value: 150
	 * non-zero is at most 1 in 8, 151 is not. */
	enum { m = 1203 };
	uint8_t odd[m] = {0};
	for (int i = 0; i < 150; i++)
		odd[(i * 8 + i % 8) % m] = (uint8_t)(i % 3 == 0 ? 0x80 : i % 3 == 1 ? 0xff
										    : 1);
	im_nn_conv_src os = {.u8 = odd, .scale = 1.0f};
	im_nn_conv2d s3;
	assert_int_equal(im_nn_conv2d_init(&s3, 1, 1, m, 1, 1, 1, 1, 0), IM_OK);
	assert_true(im_nn_conv2d_direct_pays(&s3, &os, 1));
	odd[m - 1] = 0x40;
	assert_false(im_nn_conv2d_direct_pays(&s3, &os, 1));
	/* A float input after a ReLU: the negative values read as zeros. */
	float f[n];
	for (int i = 0; i < n; i++)
		f[i] = i % 10 == 0 ? 1.0f : -1.0f;
	im_nn_conv_src fs = {.f = f, .relu = 1};
	assert_true(im_nn_conv2d_direct_pays(&s, &fs, N));
	fs.relu = 0;
	assert_false(im_nn_conv2d_direct_pays(&s, &fs, N));
}

/* ---- finite differences of the fast conv -------------------------------- */

typedef struct conv_gc {
	conv_fix f;
	const conv_case *c;
	float *wout;
} conv_gc;

static double conv_loss(void *p)
{
	conv_gc *g = p;
	im_nn_conv2d_forward(g->f.out, g->f.scratch, &g->f.src, g->f.w,
			     g->f.b, g->c->N, &g->f.s, g->c->chunk, 0);
	return dot_f(g->f.out, g->wout, g->f.nout);
}

static void test_conv_gradcheck(void **state)
{
	(void)state;
	/* Stride, padding, several chunks, and a ReLU read away from 0;
	 * the last two through the direct kernels (forced: random floats
	 * are dense). */
	static const conv_case cases[] = {
		{"stride 2 padding 1", 3, 7, 6, 2, 3, 3, 2, 1, 2, 0, 0, 0, 0, 0},
		{"ReLU read", 2, 5, 5, 3, 2, 3, 1, 1, 1, 0, 1, 0, 0, 0},
		{"direct, padding 1", 2, 6, 5, 3, 4, 3, 1, 1, 2, 0, 0, 0, 0, 0},
		{"direct, ReLU read, valid", 2, 6, 6, 2, 3, 3, 1, 0, 1, 0, 1, 0, 0, 0},
	};
	static const int direct[] = {-1, -1, 1, 1};
	for (size_t k = 0; k < 4; k++) {
		im_nn_set_conv_direct(direct[k]);
		im_rng r;
		im_rng_init(&r, 31 + k);
		conv_gc g = {.c = &cases[k]};
		conv_fix_make(&g.f, &cases[k], &r);
		fill_away_from_zero(g.f.in, g.f.nin, 0.2f, 1.5f, &r);
		g.wout = fbuf(g.f.nout);
		fill_randn(g.wout, g.f.nout, 1, &r);
		float *din = fbuf(g.f.nin), *dw = fbuf(g.f.nw);
		float *db = fbuf((size_t)cases[k].O);
		im_nn_conv2d_backward(din, dw, db, g.f.scratch, g.wout, &g.f.src,
				      g.f.w, cases[k].N, &g.f.s, cases[k].chunk);
		/* With a ReLU read, din is the gradient of what the layer
		 * read; the caller masks it (conv.h). */
		for (size_t i = 0; cases[k].relu_in && i < g.f.nin; i++)
			din[i] = g.f.in[i] > 0.0f ? din[i] : 0.0f;
		gc_result a = gradcheck("conv din", g.f.in, din, g.f.nin,
					conv_loss, &g);
		gc_result b = gradcheck("conv dw", g.f.w, dw, g.f.nw, conv_loss,
					&g);
		gc_result c = gradcheck("conv db", g.f.b, db,
					(size_t)cases[k].O, conv_loss, &g);
		assert_int_equal(a.failed + b.failed + c.failed, 0);
		assert_true(a.checked > 0 && b.checked > 0 && c.checked > 0);
		/* Inputs sit at least 0.2 from the ReLU's kink. */
		assert_int_equal(a.skipped, 0);
		free(din), free(dw), free(db), free(g.wout);
		conv_fix_free(&g.f);
	}
	im_nn_set_conv_direct(-1);
}

/* ---- max-pool ----------------------------------------------------------- */

typedef struct pool_case {
	const char *name;
	int N, H, W, C, K, stride, pad;
	int ties; /* inputs of few integer values: many equal maxima */
} pool_case;

static const pool_case POOL_CASES[] = {
	{"3x3 stride 2 padding 1, odd", 2, 9, 7, 5, 3, 2, 1, 0},
	{"3x3 stride 2 padding 1, even", 2, 8, 8, 3, 3, 2, 1, 0},
	{"batch 1, 2x2 stride 2", 1, 6, 5, 4, 2, 2, 0, 0},
	{"70 channels (two blocks)", 2, 5, 5, 70, 3, 2, 1, 0},
	{"ties go to the first maximum", 3, 7, 6, 4, 3, 2, 1, 1},
	{"stride 1 overlapping windows", 2, 5, 6, 3, 3, 1, 1, 1},
	/* Past 2^24 values in one image a float no longer holds every offset:
	 * the backward must still route to the exact maximum. */
	{"one image of 3 x 5.6M values (over 2^24)", 1, 3, 5600000, 1, 3, 2, 1,
	 0},
};

static void pool_case_matches_naive(const pool_case *c)
{
	im_nn_pool2d s;
	assert_int_equal(im_nn_pool2d_init(&s, c->H, c->W, c->C, c->K,
					   c->stride, c->pad),
			 IM_OK);
	size_t nin = (size_t)c->N * c->H * c->W * c->C;
	size_t nout = (size_t)c->N * s.OH * s.OW * c->C;
	im_rng r;
	im_rng_init(&r, 5);
	float *in = fbuf(nin), *o1 = fbuf(nout), *o2 = fbuf(nout);
	float *dout = fbuf(nout), *d1 = fbuf(nin), *d2 = fbuf(nin);
	fill_randn(in, nin, 1, &r);
	if (c->ties)
		for (size_t i = 0; i < nin; i++)
			in[i] = (float)im_rng_below(&r, 3);
	fill_randn(dout, nout, 1, &r);
	fill_randn(d1, nin, 1, &r);
	memcpy(d2, d1, nin * sizeof(float));
	im_nn_maxpool_forward(o1, in, c->N, &s);
	im_nn_maxpool_forward_naive(o2, in, c->N, &s);
	assert_close(c->name, o1, o2, nout);
	im_nn_maxpool_backward(d1, dout, in, o1, c->N, &s);
	im_nn_maxpool_backward_naive(d2, dout, in, o2, c->N, &s);
	assert_close("pool din", d1, d2, nin);
	free(in), free(o1), free(o2), free(dout), free(d1), free(d2);
}

static void test_pool_matches_naive(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(POOL_CASES) / sizeof(POOL_CASES[0]); i++) {
		fprintf(stderr, "case: %s\n", POOL_CASES[i].name);
		pool_case_matches_naive(&POOL_CASES[i]);
	}
}

typedef struct pool_gc {
	im_nn_pool2d s;
	int N;
	float *in, *out, *wout;
	size_t nout;
} pool_gc;

static double pool_loss(void *p)
{
	pool_gc *g = p;
	im_nn_maxpool_forward(g->out, g->in, g->N, &g->s);
	return dot_f(g->out, g->wout, g->nout);
}

static void test_pool_gradcheck(void **state)
{
	(void)state;
	pool_gc g = {.N = 2};
	assert_int_equal(im_nn_pool2d_init(&g.s, 7, 6, 3, 3, 2, 1), IM_OK);
	size_t nin = (size_t)g.N * 7 * 6 * 3;
	g.nout = (size_t)g.N * g.s.OH * g.s.OW * 3;
	im_rng r;
	im_rng_init(&r, 9);
	g.in = fbuf(nin);
	g.out = fbuf(g.nout);
	g.wout = fbuf(g.nout);
	/* Distinct values spaced well beyond the step: no maximum changes
	 * under a probe. */
	for (size_t i = 0; i < nin; i++)
		g.in[i] = 0.05f * (float)i;
	for (size_t i = nin - 1; i > 0; i--) {
		size_t j = (size_t)im_rng_below(&r, i + 1);
		float t = g.in[i];
		g.in[i] = g.in[j];
		g.in[j] = t;
	}
	fill_randn(g.wout, g.nout, 1, &r);
	float *din = fbuf(nin);
	pool_loss(&g);
	im_nn_maxpool_backward(din, g.wout, g.in, g.out, g.N, &g.s);
	gc_result res = gradcheck_step("pool din", g.in, din, nin, pool_loss,
				       &g, 1e-3f);
	assert_int_equal(res.failed, 0);
	assert_int_equal(res.skipped, 0);
	free(g.in), free(g.out), free(g.wout), free(din);
}

/* ---- residual add ------------------------------------------------------- */

static void test_residual(void **state)
{
	(void)state;
	enum { n = 37 };
	im_rng r;
	im_rng_init(&r, 3);
	float x[n], fx[n], y1[n], y2[n], dy[n], dx[2][n], dfx[2][n];
	fill_randn(x, n, 1, &r);
	fill_randn(fx, n, 1, &r);
	fill_randn(dy, n, 1, &r);
	fill_randn(dx[0], n, 1, &r);
	fill_randn(dfx[0], n, 1, &r);
	memcpy(dx[1], dx[0], sizeof(dx[0]));
	memcpy(dfx[1], dfx[0], sizeof(dfx[0]));
	im_nn_residual_forward(y1, x, fx, n);
	im_nn_residual_forward_naive(y2, x, fx, n);
	assert_close("residual", y1, y2, n);
	for (int i = 0; i < n; i++)
		assert_true(y1[i] == x[i] + fx[i]);
	im_nn_residual_backward(dx[0], dfx[0], dy, n);
	im_nn_residual_backward_naive(dx[1], dfx[1], dy, n);
	assert_close("residual dx", dx[0], dx[1], n);
	assert_close("residual dfx", dfx[0], dfx[1], n);
	/* In place: y = x + y. */
	memcpy(y2, fx, sizeof(y2));
	im_nn_residual_forward(y2, x, y2, n);
	assert_close("residual in place", y2, y1, n);
}

static void test_shapes_refused(void **state)
{
	(void)state;
	im_nn_conv2d c;
	im_nn_pool2d p;
	assert_int_equal(im_nn_conv2d_init(&c, 84, 84, 4, 32, 8, 8, 4, 0), IM_OK);
	assert_int_equal(c.OH, 20);
	assert_int_equal(c.OW, 20);
	assert_int_equal(im_nn_conv2d_init(&c, 5, 5, 1, 1, 6, 6, 1, 0), IM_EINVAL);
	assert_int_equal(im_nn_conv2d_init(&c, 5, 5, 0, 1, 3, 3, 1, 0), IM_EINVAL);
	assert_int_equal(im_nn_conv2d_init(&c, 5, 5, 1, 1, 3, 3, 0, 0), IM_EINVAL);
	assert_int_equal(im_nn_conv2d_init(&c, 5, 5, 1, 1, 3, 3, 1, 3), IM_EINVAL);
	assert_int_equal(im_nn_pool2d_init(&p, 64, 64, 16, 3, 2, 1), IM_OK);
	assert_int_equal(p.OH, 32);
	assert_int_equal(im_nn_pool2d_init(&p, 9, 9, 1, 3, 2, 1), IM_OK);
	assert_int_equal(p.OH, 5);
	assert_int_equal(im_nn_pool2d_init(&p, 9, 9, 1, 3, 2, 2), IM_EINVAL);
	assert_int_equal(im_nn_pool2d_init(&p, 2, 2, 1, 3, 2, 0), IM_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conv_matches_naive),
		cmocka_unit_test(test_conv_direct_choice),
		cmocka_unit_test(test_conv_gradcheck),
		cmocka_unit_test(test_pool_matches_naive),
		cmocka_unit_test(test_pool_gradcheck),
		cmocka_unit_test(test_residual),
		cmocka_unit_test(test_shapes_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
