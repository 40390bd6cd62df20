// SPDX-License-Identifier: Apache-2.0
/* The three image encoders as one small network of stages (conv, max-pool,
 * residual block), then flatten, Linear to feature_dim and ReLU:
 *
 *   minatar: Conv 16 3x3 s1 (valid), ReLU
 *   nature:  Conv 32 8x8 s4, ReLU, Conv 64 4x4 s2, ReLU, Conv 64 3x3 s1, ReLU
 *   impala:  for 16, 32, 32 channels: Conv 3x3 (same), MaxPool 3x3 s2 (pad 1),
 *            two residual blocks x + Conv(ReLU(Conv(ReLU(x)))); then ReLU
 *
 * Images are (H, W, C) throughout (common/space.h).  The Linear layer's
 * weight is PyTorch's (feature, C * H * W): the flatten takes the channels
 * outermost, as nn.Flatten of an NCHW tensor does, so the checkpoint loads
 * into the equivalent torch module (the one in tests/reference/
 * make_reference.py, which only permutes its HWC input to NCHW first) with
 * strict=True.  Tensor names follow that module's state_dict:
 * "encoder.0.weight" (minatar, nature: a Sequential), "encoder.1.2.conv0
 * .weight" (impala: stack 1, its first residual block).
 *
 * Memory: the forward keeps, per image, each conv's and pool's output and
 * each residual block's inner activation and output; a residual block's
 * pre-activation ReLU is applied inside the next conv's gather, never
 * stored.  The backward runs chunk by chunk of images through all stages,
 * so its gradient buffers and the conv lowering hold one chunk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nn/conv.h"
#include "nn/internal.h"

enum { ST_CONV,
       ST_POOL,
       ST_RES };
enum { MAX_STAGES = 12 };

typedef struct conv_layer {
	im_nn_conv2d s;
	size_t w, b; /* offsets of (O, C, KH, KW) and (O) in the arena */
} conv_layer;

typedef struct stage {
	int kind;
	conv_layer c[2];    /* ST_CONV: c[0]; ST_RES: conv0, conv1 */
	im_nn_pool2d p;     /* ST_POOL */
	int relu;           /* ST_CONV: ReLU after */
	size_t in_n, out_n; /* floats per image in and out */
	size_t cache_n;     /* floats per image kept for the backward */
	char path[16];      /* module path: "2", "0.1" */
} stage;

typedef struct convnet {
	const char *name;
	int nst;
	stage st[MAX_STAGES];
	int H, W, C;    /* current image while building; then the last */
	int final_relu; /* impala: ReLU before the flatten */
	int flat, F;    /* Linear (F, flat) */
	size_t lw, lb;
	const char *flatten_at, *linear_at, *relu_at; /* module paths */
	int u8;
	float scale;
	int chunk;        /* images per chunk of the lowering and backward */
	size_t max_img;   /* largest activation of one image, floats */
	size_t max_patch; /* largest patch matrix of one image, floats */
} convnet;

/* Images whose patch matrices fill about this many floats make one chunk
 * (tests/bench/README.md: why this size). */
static size_t chunk_budget = (size_t)1 << 18;

void im_nn_set_conv_chunk_floats(size_t floats)
{
	chunk_budget = floats ? floats : (size_t)1 << 18;
}

/* ---- building ------------------------------------------------------------ */

static int add_conv(convnet *e, conv_layer *l, im_nni_layout *lay,
		    const char *path, int O, int K, int stride, int pad)
{
	int rc = im_nn_conv2d_init(&l->s, e->H, e->W, e->C, O, K, K, stride,
				   pad);
	if (rc)
		return rc;
	char name[IM_TENSOR_NAME_MAX];
	snprintf(name, sizeof(name), "encoder.%s.weight", path);
	int64_t shape[4] = {O, e->C, K, K};
	int w = im_nni_layout_add_nd(lay, name, 4, shape);
	snprintf(name, sizeof(name), "encoder.%s.bias", path);
	int b = im_nni_layout_add(lay, name, O, 0);
	if (w < 0 || b < 0)
		return IM_ERANGE;
	l->w = lay->t[w].offset;
	l->b = lay->t[b].offset;
	size_t patch = (size_t)l->s.OH * l->s.OW * K * K * e->C;
	e->max_patch = patch > e->max_patch ? patch : e->max_patch;
	e->H = l->s.OH;
	e->W = l->s.OW;
	e->C = O;
	return IM_OK;
}

static stage *new_stage(convnet *e, int kind, const char *path)
{
	if (e->nst >= MAX_STAGES)
		return NULL;
	stage *s = &e->st[e->nst++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->in_n = (size_t)e->H * e->W * e->C;
	snprintf(s->path, sizeof(s->path), "%s", path);
	return s;
}

static void end_stage(convnet *e, stage *s)
{
	s->out_n = (size_t)e->H * e->W * e->C;
	s->cache_n = s->kind == ST_RES ? 2 * s->out_n : s->out_n;
	if (s->in_n > e->max_img)
		e->max_img = s->in_n;
	if (s->out_n > e->max_img)
		e->max_img = s->out_n;
}

static int conv_stage(convnet *e, im_nni_layout *lay, const char *path,
		      int O, int K, int stride, int pad, int relu)
{
	stage *s = new_stage(e, ST_CONV, path);
	if (!s)
		return IM_ERANGE;
	s->relu = relu;
	int rc = add_conv(e, &s->c[0], lay, path, O, K, stride, pad);
	end_stage(e, s);
	return rc;
}

static int pool_stage(convnet *e, const char *path)
{
	stage *s = new_stage(e, ST_POOL, path);
	if (!s)
		return IM_ERANGE;
	int rc = im_nn_pool2d_init(&s->p, e->H, e->W, e->C, 3, 2, 1);
	if (rc)
		return rc;
	e->H = s->p.OH;
	e->W = s->p.OW;
	end_stage(e, s);
	return IM_OK;
}

static int res_stage(convnet *e, im_nni_layout *lay, const char *path)
{
	stage *s = new_stage(e, ST_RES, path);
	if (!s)
		return IM_ERANGE;
	char p[24];
	snprintf(p, sizeof(p), "%s.conv0", path);
	int rc = add_conv(e, &s->c[0], lay, p, e->C, 3, 1, 1);
	snprintf(p, sizeof(p), "%s.conv1", path);
	if (!rc)
		rc = add_conv(e, &s->c[1], lay, p, e->C, 3, 1, 1);
	end_stage(e, s);
	return rc;
}

static int build_minatar(convnet *e, im_nni_layout *lay)
{
	e->flatten_at = "2", e->linear_at = "3", e->relu_at = "4";
	return conv_stage(e, lay, "0", 16, 3, 1, 0, 1);
}

static int build_nature(convnet *e, im_nni_layout *lay)
{
	e->flatten_at = "6", e->linear_at = "7", e->relu_at = "8";
	int rc = conv_stage(e, lay, "0", 32, 8, 4, 0, 1);
	if (!rc)
		rc = conv_stage(e, lay, "2", 64, 4, 2, 0, 1);
	if (!rc)
		rc = conv_stage(e, lay, "4", 64, 3, 1, 0, 1);
	return rc;
}

static int build_impala(convnet *e, im_nni_layout *lay)
{
	static const int channels[3] = {16, 32, 32};
	e->final_relu = 1;
	e->flatten_at = "4", e->linear_at = "5", e->relu_at = "6";
	for (int i = 0; i < 3; i++) {
		char p[4][8];
		for (int k = 0; k < 4; k++)
			snprintf(p[k], sizeof(p[k]), "%d.%d", i, k);
		int rc = conv_stage(e, lay, p[0], channels[i], 3, 1, 1, 0);
		if (!rc)
			rc = pool_stage(e, p[1]);
		if (!rc)
			rc = res_stage(e, lay, p[2]);
		if (!rc)
			rc = res_stage(e, lay, p[3]);
		if (rc)
			return rc;
	}
	return IM_OK;
}

static int build(convnet *e, im_nn_encoder_kind kind, im_nni_layout *lay)
{
	switch (kind) {
	case IM_NN_ENCODER_MINATAR: e->name = "minatar"; return build_minatar(e, lay);
	case IM_NN_ENCODER_NATURE: e->name = "nature"; return build_nature(e, lay);
	case IM_NN_ENCODER_IMPALA: e->name = "impala"; return build_impala(e, lay);
	default: return IM_EINVAL;
	}
}

static int conv_create(void **state, const im_model_spec *s,
		       im_nni_layout *lay)
{
	/* Images only, and the encoders are ReLU networks by definition. */
	if (s->obs.ndim != 3 || s->feature_dim < 1 ||
	    s->activation != IM_NN_ACT_RELU)
		return IM_EINVAL;
	convnet *e = calloc(1, sizeof(*e));
	if (!e)
		return IM_ENOMEM;
	e->H = s->obs.shape[0];
	e->W = s->obs.shape[1];
	e->C = s->obs.shape[2];
	e->u8 = s->obs.dtype == IM_DTYPE_U8;
	e->scale = im_obs_scale(&s->obs);
	int rc = build(e, s->encoder, lay);
	if (rc) {
		free(e);
		return rc;
	}
	e->flat = e->H * e->W * e->C;
	e->F = s->feature_dim;
	char name[IM_TENSOR_NAME_MAX];
	snprintf(name, sizeof(name), "encoder.%s.weight", e->linear_at);
	int w = im_nni_layout_add(lay, name, e->F, e->flat);
	snprintf(name, sizeof(name), "encoder.%s.bias", e->linear_at);
	int b = im_nni_layout_add(lay, name, e->F, 0);
	if (w < 0 || b < 0) {
		free(e);
		return IM_ERANGE;
	}
	e->lw = lay->t[w].offset;
	e->lb = lay->t[b].offset;
	size_t c = chunk_budget / e->max_patch;
	e->chunk = c < 1 ? 1 : c > 4096 ? 4096
					: (int)c;
	*state = e;
	return IM_OK;
}

static void conv_destroy(void *state)
{
	free(state);
}

/* ---- workspace ---------------------------------------------------------- */

/* Where everything of a pass over rows images lives in ws. */
typedef struct plan {
	float *cache[MAX_STAGES]; /* (rows, cache_n) per stage */
	float *flat;              /* (rows, flat) */
	float *feat;              /* (rows, F) */
	float *dflat;             /* (rows, flat) */
	float *g[3];              /* (chunk, max_img) each */
	float *scratch;           /* conv lowering of one chunk */
	int chunk;
} plan;

static int chunk_of(const convnet *e, int rows)
{
	return rows < e->chunk ? rows : e->chunk;
}

static size_t scratch_floats(const convnet *e, int chunk)
{
	size_t n = 0;
	for (int i = 0; i < e->nst; i++)
		for (int k = 0; k < (e->st[i].kind == ST_RES ? 2 : 1); k++) {
			if (e->st[i].kind == ST_POOL)
				continue;
			size_t m = im_nn_conv2d_scratch_floats(&e->st[i].c[k].s,
							       chunk, 1);
			n = m > n ? m : n;
		}
	return n;
}

static size_t layout(const convnet *e, int rows, float *ws, plan *p)
{
	size_t R = (size_t)rows, off = 0;
	int chunk = chunk_of(e, rows);
	for (int i = 0; i < e->nst; i++) {
		if (p)
			p->cache[i] = ws + off;
		off += im_nni_align(R * e->st[i].cache_n);
	}
	float **tail[3] = {p ? &p->flat : NULL, p ? &p->feat : NULL,
			   p ? &p->dflat : NULL};
	size_t sz[3] = {R * e->flat, R * e->F, R * e->flat};
	for (int k = 0; k < 3; k++) {
		if (p)
			*tail[k] = ws + off;
		off += im_nni_align(sz[k]);
	}
	for (int k = 0; k < 3; k++) {
		if (p)
			p->g[k] = ws + off;
		off += im_nni_align((size_t)chunk * e->max_img);
	}
	if (p) {
		p->scratch = ws + off;
		p->chunk = chunk;
	}
	return off + im_nni_align(scratch_floats(e, chunk));
}

static size_t conv_ws_floats(const void *state, int rows)
{
	return layout(state, rows, NULL, NULL);
}

/* ---- forward ------------------------------------------------------------ */

/* Stage i's output over rows images: (rows, out_n).  A residual block
 * keeps r = ReLU(conv0(ReLU(x))) first, then its output y, each (rows,
 * out_n). */
static float *stage_out(const convnet *e, const plan *p, int i, int rows)
{
	const stage *s = &e->st[i];
	return p->cache[i] + (s->kind == ST_RES ? (size_t)rows * s->out_n : 0);
}

/* The input of stage i from image n0 on: the previous stage's output or
 * the observations. */
static im_nn_conv_src stage_src(const convnet *e, const plan *p,
				const void *obs, int i, int rows, int n0)
{
	im_nn_conv_src src = {0};
	size_t at = (size_t)n0 * e->st[i].in_n;
	if (i > 0)
		src.f = stage_out(e, p, i - 1, rows) + at;
	else if (e->u8)
		src = (im_nn_conv_src){.u8 = (const uint8_t *)obs + at,
				       .scale = e->scale};
	else
		src.f = (const float *)obs + at;
	return src;
}

static void forward_stage(const convnet *e, const plan *p,
			  const float *params, const void *obs, int i, int rows)
{
	const stage *s = &e->st[i];
	const conv_layer *c = s->c;
	float *out = p->cache[i];
	im_nn_conv_src in = stage_src(e, p, obs, i, rows, 0);
	if (s->kind == ST_CONV) {
		im_nn_conv2d_forward(out, p->scratch, &in, params + c[0].w,
				     params + c[0].b, rows, &c[0].s, p->chunk, s->relu);
	} else if (s->kind == ST_POOL) {
		im_nn_maxpool_forward(out, in.f, rows, &s->p);
	} else {
		float *y = stage_out(e, p, i, rows);
		in.relu = 1;
		im_nn_conv2d_forward(out, p->scratch, &in, params + c[0].w,
				     params + c[0].b, rows, &c[0].s, p->chunk, 1);
		im_nn_conv_src r = {.f = out};
		im_nn_conv2d_forward(y, p->scratch, &r, params + c[1].w,
				     params + c[1].b, rows, &c[1].s, p->chunk, 0);
		im_nn_residual_forward(y, in.f, y, (size_t)rows * s->out_n);
	}
}

/* flat (rows, C * H * W) = the last output (rows, H, W, C) with channels
 * outermost, through a ReLU for impala. */
static void flatten(const convnet *e, float *restrict flat,
		    const float *restrict x, int rows)
{
	for (size_t r = 0; r < (size_t)rows; r++)
		im_nni_hwc_to_chw(flat + r * e->flat, x + r * e->flat,
				  e->H * e->W, e->C, e->final_relu);
}

static const float *conv_forward(const void *state, const float *params,
				 const void *obs, int rows, float *ws)
{
	const convnet *e = state;
	plan p;
	layout(e, rows, ws, &p);
	for (int i = 0; i < e->nst; i++)
		forward_stage(e, &p, params, obs, i, rows);
	flatten(e, p.flat, stage_out(e, &p, e->nst - 1, rows), rows);
	im_nn_linear_act_forward(p.feat, NULL, p.flat, params + e->lw,
				 params + e->lb, rows, e->flat, e->F, IM_NN_ACT_RELU);
	return p.feat;
}

/* ---- backward ----------------------------------------------------------- */

/* Whether the last stage is a conv with a ReLU whose output the flatten
 * copied unchanged (no final ReLU): then its mask is flat > 0, applied by
 * unflatten, and the stage's backward skips its own pass. */
static int last_relu_in_unflatten(const convnet *e)
{
	const stage *s = &e->st[e->nst - 1];
	return s->kind == ST_CONV && s->relu && !e->final_relu;
}

/* g (m, H, W, C) = the flat gradient of images [n0, n0 + m) back in HWC,
 * zero where the final ReLU, or the last conv's ReLU (above), was off. */
static void unflatten(const convnet *e, const plan *p, float *restrict g,
		      int n0, int m)
{
	int mask = e->final_relu || last_relu_in_unflatten(e);
	for (size_t r = 0; r < (size_t)m; r++) {
		size_t at = ((size_t)n0 + r) * e->flat;
		im_nni_chw_to_hwc(g + r * e->flat, p->dflat + at,
				  mask ? p->flat + at : NULL, e->H * e->W, e->C);
	}
}

/* g *= (out > 0): the ReLU of the forward, from its output. */
static void relu_mask(float *restrict g, const float *restrict out,
		      size_t n)
{
	for (size_t i = 0; i < n; i++)
		g[i] = out[i] > 0.0f ? g[i] : 0.0f;
}

/* g += d * (x > 0): the gradient through a ReLU read, added. */
static void relu_add(float *restrict g, const float *restrict d,
		     const float *restrict x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		g[i] += x[i] > 0.0f ? d[i] : 0.0f;
}

/* One stage's backward over images [n0, n0 + m): *g holds the gradient of
 * its output and is replaced by that of its input (none for stage 0). */
static void backward_stage(const convnet *e, const plan *p,
			   const float *params, float *grads, const void *obs, int i, int rows,
			   int n0, int m, float **g, float **spare)
{
	const stage *s = &e->st[i];
	const conv_layer *c = s->c;
	size_t on = (size_t)m * s->out_n, inn = (size_t)m * s->in_n;
	im_nn_conv_src in = stage_src(e, p, obs, i, rows, n0);
	float *out = stage_out(e, p, i, rows) + (size_t)n0 * s->out_n;
	float *din = i ? spare[0] : NULL;
	if (s->kind == ST_CONV) {
		if (s->relu && !(i == e->nst - 1 && last_relu_in_unflatten(e)))
			relu_mask(*g, out, on);
		if (din)
			im_nn_conv2d_backward_assign(din, grads + c[0].w,
						     grads + c[0].b, p->scratch, *g, &in,
						     params + c[0].w, m, &c[0].s, m);
		else
			im_nn_conv2d_backward(NULL, grads + c[0].w,
					      grads + c[0].b, p->scratch, *g, &in,
					      params + c[0].w, m, &c[0].s, m);
	} else if (s->kind == ST_POOL) {
		memset(din, 0, inn * sizeof(float));
		im_nn_maxpool_backward(din, *g, in.f, out, m, &s->p);
	} else {
		/* y = x + conv1(r), r = ReLU(conv0(ReLU(x))) */
		float *r = p->cache[i] + (size_t)n0 * s->out_n;
		float *dr = spare[0], *dx1 = spare[1];
		im_nn_conv_src rs = {.f = r};
		im_nn_conv2d_backward_assign(dr, grads + c[1].w, grads + c[1].b,
					     p->scratch, *g, &rs, params + c[1].w, m, &c[1].s, m);
		relu_mask(dr, r, on);
		in.relu = 1;
		im_nn_conv2d_backward_assign(dx1, grads + c[0].w,
					     grads + c[0].b, p->scratch, dr, &in, params + c[0].w, m,
					     &c[0].s, m);
		/* dx = dy (the identity branch) + the branch through ReLU(x) */
		relu_add(*g, dx1, in.f, on);
		return;
	}
	float *t = *g;
	*g = spare[0];
	spare[0] = t;
}

static void conv_backward(const void *state, const float *params,
			  float *grads, const void *obs, float *dfeat, int rows,
			  int grad_rows, float *ws)
{
	const convnet *e = state;
	plan p;
	layout(e, rows, ws, &p);
	int gr = grad_rows;
	im_nn_act_bias_backward(dfeat, grads + e->lb, dfeat, p.feat, gr, e->F,
				IM_NN_ACT_RELU);
	im_nn_linear_backward_assign(p.dflat, grads + e->lw, NULL, dfeat,
				     p.flat, params + e->lw, gr, e->flat, e->F);
	for (int n0 = 0; n0 < gr; n0 += p.chunk) {
		int m = gr - n0 < p.chunk ? gr - n0 : p.chunk;
		float *g = p.g[0], *spare[2] = {p.g[1], p.g[2]};
		unflatten(e, &p, g, n0, m);
		for (int i = e->nst - 1; i >= 0; i--)
			backward_stage(e, &p, params, grads, obs, i, rows, n0, m,
				       &g, spare);
	}
}

/* ---- describe ----------------------------------------------------------- */

static void describe_conv(im_nni_writer *w, const char *indent,
			  const char *name, const im_nn_conv2d *s)
{
	im_nni_printf(w, "%s(%s): Conv2d(%d, %d, kernel_size=(%d, %d), "
			 "stride=(%d, %d)",
		      indent, name, s->C, s->O, s->KH, s->KW,
		      s->stride, s->stride);
	if (s->pad)
		im_nni_printf(w, ", padding=(%d, %d)", s->pad, s->pad);
	im_nni_printf(w, ")  # out %dx%dx%d\n", s->OH, s->OW, s->O);
}

static void describe_impala_stage(const convnet *e, im_nni_writer *w,
				  int i)
{
	const stage *s = &e->st[i];
	const char *k = strchr(s->path, '.') + 1;
	if (*k == '0')
		im_nni_printf(w, "    (%c): Sequential(\n", s->path[0]);
	if (s->kind == ST_CONV) {
		describe_conv(w, "      ", k, &s->c[0].s);
	} else if (s->kind == ST_POOL) {
		im_nni_printf(w, "      (%s): MaxPool2d(kernel_size=3, stride=2, "
				 "padding=1)  # out %dx%dx%d\n",
			      k, s->p.OH, s->p.OW,
			      s->p.C);
	} else {
		im_nni_printf(w, "      (%s): ResidualBlock(  "
				 "# x + conv1(relu(conv0(relu(x))))\n",
			      k);
		describe_conv(w, "        ", "conv0", &s->c[0].s);
		describe_conv(w, "        ", "conv1", &s->c[1].s);
		im_nni_printf(w, "      )\n");
		if (*k == '3')
			im_nni_printf(w, "    )\n");
	}
}

static void conv_describe(const void *state, im_nni_writer *w)
{
	const convnet *e = state;
	im_nni_printf(w, "  (encoder): Sequential(  # %s; input (H, W, C) = "
			 "(%d, %d, %d) %s, permuted to NCHW by the module\n",
		      e->name,
		      e->st[0].kind == ST_CONV ? e->st[0].c[0].s.H : 0,
		      e->st[0].c[0].s.W, e->st[0].c[0].s.C,
		      e->u8 ? "uint8" : "float32");
	if (e->u8)
		im_nni_printf(w, "    # uint8 input: the first layer reads v * "
				 "%g\n",
			      (double)e->scale);
	for (int i = 0; i < e->nst; i++) {
		const stage *s = &e->st[i];
		if (e->final_relu) {
			describe_impala_stage(e, w, i);
			continue;
		}
		describe_conv(w, "    ", s->path, &s->c[0].s);
		im_nni_printf(w, "    (%d): ReLU()\n", atoi(s->path) + 1);
	}
	if (e->final_relu)
		im_nni_printf(w, "    (3): ReLU()\n");
	im_nni_printf(w, "    (%s): Flatten(start_dim=1, end_dim=-1)  "
			 "# C * H * W = %d * %d * %d\n",
		      e->flatten_at, e->C, e->H, e->W);
	im_nni_printf(w, "    (%s): Linear(in_features=%d, out_features=%d, "
			 "bias=True)\n    (%s): ReLU()\n  )\n",
		      e->linear_at, e->flat, e->F,
		      e->relu_at);
}

static double layer_macs(const im_nn_conv2d *s)
{
	return (double)s->OH * s->OW * s->O * s->C * s->KH * s->KW;
}

static double conv_macs(const void *state, double *first)
{
	const convnet *e = state;
	double all = (double)e->flat * e->F;
	for (int i = 0; i < e->nst; i++) {
		const stage *s = &e->st[i];
		if (s->kind != ST_POOL)
			all += layer_macs(&s->c[0].s);
		if (s->kind == ST_RES)
			all += layer_macs(&s->c[1].s);
	}
	*first = layer_macs(&e->st[0].c[0].s);
	return all;
}

const im_nni_encoder_ops im_nni_encoder_conv = {
	.macs = conv_macs,
	.name = "conv",
	.create = conv_create,
	.destroy = conv_destroy,
	.ws_floats = conv_ws_floats,
	.forward = conv_forward,
	.backward = conv_backward,
	.describe = conv_describe,
};
