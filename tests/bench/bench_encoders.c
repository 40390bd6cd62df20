// SPDX-License-Identifier: Apache-2.0
/* The image encoders on one core (OpenBLAS at 1 thread), each beside a
 * plain sgemm timed call by call in the same run:
 *   act    im_model_act for k = 32 environments of uint8 frames (what an
 *          actor runs per step), frames/s
 *   learn  the model's learning forward + backward over the rows of one
 *          update (T+1 by B = 32), GFLOP/s of the encoder's products and
 *          their ratio to the sgemm ceiling (672 x 512 x 512)
 * nature at 84x84x4 (T = 20, feature 512), impala at 64x64x3 (T = 20,
 * feature 256), minatar at 10x10x4 (T = 80, feature 128), 6 actions.  The
 * learn rate counts only the multiply-adds of the products (forward,
 * weight and input gradients; im_model_encoder_macs) and includes every
 * other instruction of the pass (lowering, pooling, ReLUs), so it is a
 * lower bound of the products' own rate.  Last line: one JSON object.
 *
 * --T, --B and --channels replace the configurations' T, B = 32 and input
 * channels (the MinAtar presets: --T 20 --B 16; the games have 4 to 10
 * channels); --cpu times each call by the thread's CPU time instead of the
 * wall clock (bench_util.h: the steadier figure on a shared machine).
 *
 * --env NAME (minatar only) takes the frames from that environment stepped
 * with uniform random actions, and its channels: MinAtar's grids are 0/1
 * and sparse (2 to 10 values in 100 set), which the conv kernels' choice of
 * path depends on; without it frames are random bits (half set).
 *
 * --conv im2col|direct|auto forces the conv kernels' path (conv.h,
 * im_nn_set_conv_direct; auto, the default, decides by density).
 *
 * Usage: bench_encoders [--seconds S] [--k K] [--configs nature,impala,minatar]
 *                       [--T T] [--B B] [--channels C] [--env NAME]
 *                       [--conv im2col|direct|auto] [--cpu] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "env/env.h"
#include "nn/conv.h"
#include "nn/model.h"

enum { A = 6 };

/* Rows of the learning pass: (T + 1) by B; 0: the configuration's T. */
static int B = 32, T_override, C_override;
static const char *env_name; /* --env: frames from this environment */

/* n frames of obs_bytes each from env_name under uniform random actions;
 * -1 when it cannot be made or its frames are not obs_bytes long. */
static int frames_from_env(uint8_t *frames, size_t n, size_t obs_bytes)
{
	im_env *e;
	char err[256];
	if (im_env_make(&e, env_name, err, sizeof err)) {
		fprintf(stderr, "bench_encoders: %s\n", err);
		return -1;
	}
	const im_obs_space *o = im_env_obs_space(e);
	const im_act_space *a = im_env_act_space(e);
	int rc = im_obs_bytes(o) == obs_bytes && o->dtype == IM_DTYPE_U8 &&
				 a->kind == IM_ACT_DISCRETE
			 ? im_env_reset(e, 1, frames)
			 : -1;
	unsigned seed = 5;
	for (size_t i = 1; !rc && i < n; i++) {
		int32_t act = (int32_t)(rand_r(&seed) % (unsigned)a->n);
		im_env_result r;
		uint8_t *f = frames + i * obs_bytes;
		rc = im_env_step(e, &act, f, &r);
		if (!rc && (r.terminated || r.truncated))
			rc = im_env_reset_next(e, f);
	}
	im_env_free(e);
	return rc ? -1 : 0;
}

typedef struct enc_cfg {
	const char *name;
	im_nn_encoder_kind kind;
	int H, W, C, feat, T;
	float scale;
} enc_cfg;

static const enc_cfg CFGS[] = {
	{"nature", IM_NN_ENCODER_NATURE, 84, 84, 4, 512, 20, 1.0f / 255},
	{"impala", IM_NN_ENCODER_IMPALA, 64, 64, 3, 256, 20, 1.0f / 255},
	{"minatar", IM_NN_ENCODER_MINATAR, 10, 10, 4, 128, 80, 1.0f},
};
enum { NCFG = sizeof CFGS / sizeof CFGS[0] };

typedef struct ctx {
	im_model *m;
	im_model_ws *ws;
	im_model_input in;
	uint8_t *frames;
	int32_t *pact;
	float *prew, *pol, *base, *dpol, *dbase;
	int rows;
} ctx;

static void act_call(void *p)
{
	ctx *c = p;
	im_model_act(c->ws, im_model_params(c->m), &c->in, NULL, NULL, c->pol,
		     c->base);
}

static void learn_call(void *p)
{
	ctx *c = p;
	float *w = im_model_params(c->m);
	if (!im_model_forward(c->ws, w, &c->in, NULL, NULL, NULL, c->pol,
			      c->base, NULL))
		im_model_backward(c->ws, w, c->dpol, c->dbase,
				  im_model_grads(c->m));
}

static void teardown(ctx *c)
{
	im_model_ws_free(c->ws);
	im_model_free(c->m);
	free(c->frames), free(c->pact), free(c->prew), free(c->pol);
	free(c->base), free(c->dpol), free(c->dbase);
}

/* rows = T1 * b: T1 = 1 for acting. */
static int setup(ctx *c, const enc_cfg *e, int T1, int b)
{
	memset(c, 0, sizeof *c);
	int C = C_override ? C_override : e->C;
	im_obs_space obs = {.ndim = 3, .shape = {e->H, e->W, C}, .dtype = IM_DTYPE_U8, .scale = e->scale};
	im_act_space act = {.kind = IM_ACT_DISCRETE, .n = A};
	im_model_spec s;
	im_model_spec_default(&s, &obs, &act, e->feat);
	s.encoder = e->kind;
	c->rows = T1 * b;
	size_t n = (size_t)c->rows * e->H * e->W * C;
	c->frames = malloc(n);
	c->pact = calloc((size_t)c->rows, sizeof(int32_t));
	c->prew = calloc((size_t)c->rows, sizeof(float));
	c->pol = calloc((size_t)c->rows * A, sizeof(float));
	c->base = calloc((size_t)c->rows, sizeof(float));
	c->dpol = calloc((size_t)c->rows * A, sizeof(float));
	c->dbase = calloc((size_t)c->rows, sizeof(float));
	if (!c->frames || !c->pact || !c->prew || !c->pol || !c->base ||
	    !c->dpol || !c->dbase || im_model_new(&c->m, &s) ||
	    im_model_ws_new(&c->ws, c->m, T1, b))
		return -1;
	unsigned seed = 3;
	if (env_name && e->kind == IM_NN_ENCODER_MINATAR) {
		if (frames_from_env(c->frames, (size_t)c->rows,
				    n / (size_t)c->rows))
			return -1;
	} else {
		for (size_t i = 0; i < n; i++)
			c->frames[i] = (uint8_t)(rand_r(&seed) >> 3) &
				       (e->kind == IM_NN_ENCODER_MINATAR ? 1 : 255);
	}
	for (int i = 0; i < c->rows * A; i++)
		c->dpol[i] = 0.01f * (float)(i % 7 - 3);
	c->in = (im_model_input){.T1 = T1, .B = b, .obs = c->frames, .prev_action = c->pact, .prev_reward = c->prew};
	return 0;
}

typedef struct fig {
	double act_fps, learn_gflops, sgemm, ratio, learn_ms;
} fig;

static int bench(const enc_cfg *e, int k, double seconds, fig *f)
{
	ctx c;
	int T = T_override ? T_override : e->T;
	bench_sgemm_ctx g = bench_sgemm_new((T + 1) * B, 512, 512);
	double t, tg, best;
	int reps;
	if (setup(&c, e, 1, k)) {
		teardown(&c);
		return -1;
	}
	bench_median_time2(act_call, &c, bench_sgemm_call, &g, seconds, 3, 20,
			   &t, &tg, &best, &reps);
	f->act_fps = k / t;
	teardown(&c);
	if (setup(&c, e, T + 1, B)) {
		teardown(&c);
		return -1;
	}
	bench_median_time2(learn_call, &c, bench_sgemm_call, &g, seconds, 1, 3,
			   &t, &tg, &best, &reps);
	double first, macs = im_model_encoder_macs(c.m, &first);
	f->learn_ms = t * 1e3;
	f->learn_gflops = 2.0 * c.rows * (3 * macs - first) / t / 1e9;
	f->sgemm = 2.0 * g.M * g.N * g.K / tg / 1e9;
	f->ratio = f->learn_gflops / f->sgemm;
	teardown(&c);
	bench_sgemm_free(&g);
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = 1.0;
	int k = 32;
	const char *configs = "nature,impala,minatar";
	for (int i = 1; i < argc; i += 2) {
		if (!strcmp(argv[i], "--cpu")) {
			bench_use_cpu_clock(1);
			i--;
			continue;
		}
		if (i + 1 >= argc)
			break;
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--k"))
			k = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--configs"))
			configs = argv[i + 1];
		else if (!strcmp(argv[i], "--T"))
			T_override = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--B"))
			B = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--channels"))
			C_override = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--env"))
			env_name = argv[i + 1];
#ifdef IM_NN_CONV_DIRECT_DENSITY /* absent before the direct kernels */
		else if (!strcmp(argv[i], "--conv"))
			im_nn_set_conv_direct(!strcmp(argv[i + 1], "im2col")   ? 0
					      : !strcmp(argv[i + 1], "direct") ? 1
									       : -1);
#endif
	}
	if (!(seconds > 0) || k < 1 || k > 4096 || T_override < 0 ||
	    T_override > 1000 || B < 1 || B > 1024 || C_override < 0 ||
	    C_override > 64) {
		fprintf(stderr, "usage: bench_encoders [--seconds S] [--k K] "
				"[--configs nature,impala,minatar] [--T T] [--B B] "
				"[--channels C] [--env NAME] [--conv im2col|direct|auto] "
				"[--cpu]\n");
		return 2;
	}
	if (env_name) {
		/* The environment's channels replace the configuration's. */
		im_env *ev;
		char err[256];
		if (im_env_make(&ev, env_name, err, sizeof err)) {
			fprintf(stderr, "bench_encoders: %s\n", err);
			return 2;
		}
		const im_obs_space *o = im_env_obs_space(ev);
		C_override = o->ndim == 3 ? o->shape[2] : 0;
		im_env_free(ev);
	}
	openblas_set_num_threads(1);
	fig f[NCFG];
	int ran[NCFG] = {0};
	for (int i = 0; i < NCFG; i++) {
		if (!strstr(configs, CFGS[i].name))
			continue;
		if (bench(&CFGS[i], k, seconds, &f[i])) {
			fprintf(stderr, "setup of %s failed\n", CFGS[i].name);
			return 1;
		}
		ran[i] = 1;
		int T = T_override ? T_override : CFGS[i].T;
		printf("%-8s act k=%d %10.0f frames/s   learn %8.1f ms (%.2f us "
		       "a frame) %6.1f GFLOP/s  sgemm %6.1f  ratio %.2f\n",
		       CFGS[i].name, k, f[i].act_fps, f[i].learn_ms,
		       f[i].learn_ms * 1e3 / ((double)T * B), f[i].learn_gflops,
		       f[i].sgemm, f[i].ratio);
	}
	printf("{\"k\": %d, \"B\": %d, \"T\": %d, \"channels\": %d, "
	       "\"clock\": \"%s\", \"blas_core\": \"%s\", \"encoders\": {",
	       k, B,
	       T_override, C_override,
	       bench_clock == CLOCK_MONOTONIC ? "wall" : "thread_cpu",
	       openblas_get_corename());
	for (int i = 0, first = 1; i < NCFG; i++) {
		if (!ran[i])
			continue;
		printf("%s\"%s\": {\"act_frames_per_s\": %.0f, \"learn_ms\": %.1f, "
		       "\"learn_gflops\": %.2f, \"sgemm_gflops\": %.2f, "
		       "\"ratio_to_sgemm\": %.3f}",
		       first ? "" : ", ",
		       CFGS[i].name, f[i].act_fps, f[i].learn_ms,
		       f[i].learn_gflops, f[i].sgemm, f[i].ratio);
		first = 0;
	}
	printf("}}\n");
	return 0;
}
