// SPDX-License-Identifier: Apache-2.0
/* The full learner update (common/learn/update.h: im_update_compute +
 * im_update_apply = forward over T+1 by B, bootstrap values of truncated
 * steps, V-trace, loss, backward, global-norm clipping, RMSprop) in samples
 * (T*B) per second, for MLP 2x64 and 2x512 and the LSTM core at 256
 * (obs dim 4 and 2 actions, like CartPole; T = 80, B = 32), and the image
 * encoders of issue 10 on uint8 frames with 6 actions: nature at 84x84x4
 * (T = 20, feature 512), impala at 64x64x3 (T = 20, feature 256), both
 * scaled by 1/255, and minatar at 10x10x4 (T = 80, feature 128, 0/1
 * grids), and seaquest5x4: the minatar network as the MinAtar presets
 * train it (T = 5, B = 4: 20 frames an update, where the per-update
 * costs that 20 rows do not amortise show) on frames of the built-in
 * MinAtar/Seaquest-v0 under a random policy (10 channels, sparse as the
 * game's), at each requested OpenBLAS thread count.  Beside each figure: the achieved
 * matrix-product GFLOP/s (formula in bench_util.h, bench_learn_flops) and a
 * plain sgemm at the configuration's dominant shape measured in the same
 * run (the ceiling), and their ratio.
 *
 * The batch looks like CartPole's: rewards 1, about 2% terminal steps and
 * 0.5% truncated ones (each with a bootstrap row), episode resets in the
 * LSTM input.  Medians of repeated timed updates after warm-up.  The last
 * line of stdout is one JSON object.
 *
 * Usage: bench_update [--threads 1,2] [--seconds S]
 *                     [--configs mlp64,mlp512,lstm256,nature,impala,minatar,seaquest5x4]
 *   S: timed seconds per configuration and thread count (default 2). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "env/env.h"
#include "learn/update.h"

enum { BDEF = 32,
       OBS = 4,
       MAXT = 8 };

typedef struct cfg {
	const char *name;
	int width, lstm;
	im_nn_encoder_kind enc; /* image configs: frames (H, W, C) uint8 */
	int T, A, H, W, C;
	float scale;
	int B;            /* unrolls a batch; 0: BDEF */
	const char *game; /* frames from this built-in environment */
} cfg;

static const cfg CFGS[] = {
	{"mlp64", 64, 0, IM_NN_ENCODER_MLP, 80, 2, 0, 0, 0, 0, 0, NULL},
	{"mlp512", 512, 0, IM_NN_ENCODER_MLP, 80, 2, 0, 0, 0, 0, 0, NULL},
	{"lstm256", 256, 256, IM_NN_ENCODER_MLP, 80, 2, 0, 0, 0, 0, 0, NULL},
	{"nature", 512, 0, IM_NN_ENCODER_NATURE, 20, 6, 84, 84, 4, 1.0f / 255, 0, NULL},
	{"impala", 256, 0, IM_NN_ENCODER_IMPALA, 20, 6, 64, 64, 3, 1.0f / 255, 0, NULL},
	{"minatar", 128, 0, IM_NN_ENCODER_MINATAR, 80, 6, 10, 10, 4, 1.0f, 0, NULL},
	{"seaquest5x4", 128, 0, IM_NN_ENCODER_MINATAR, 5, 6, 10, 10, 10, 1.0f, 4,
	 "MinAtar/Seaquest-v0"},
};
enum { NCFG = sizeof CFGS / sizeof CFGS[0] };

typedef struct run {
	im_model *m;
	im_update *u;
	im_optim *opt;
	im_update_batch b;
	im_loss_opts lo;
	size_t np;
	int T, A;
	int failures; /* updates that returned an error (reported) */
	/* owned inputs */
	void *obs, *xobs; /* float (mlp) or uint8 frames */
	float *prew, *h0, *c0, *blogp, *rew, *xrew;
	int32_t *pact, *act, *xidx, *xact;
	uint8_t *reset, *term, *trunc;
} run;

static void update_step(void *p)
{
	run *r = p;
	im_update_stats st;
	float *w = im_model_params(r->m), *g = im_model_grads(r->m);
	if (im_update_compute(r->u, w, g, &r->b, &r->lo, &st) ||
	    im_update_apply(r->opt, w, g, r->np, 4e-4f, 40.0, &st))
		r->failures++;
}

static int batch_of(const cfg *c)
{
	return c->B ? c->B : BDEF;
}

/* rows frames of c->game (uint8, H x W x C each) under a uniformly random
 * policy, episodes restarted as they end; 0 or -1. */
static int game_frames(uint8_t *u, const cfg *c, size_t rows, unsigned *seed)
{
	im_env *e;
	char err[256];
	if (im_env_make(&e, c->game, err, sizeof err)) {
		fprintf(stderr, "%s: %s\n", c->game, err);
		return -1;
	}
	size_t per = (size_t)c->H * c->W * c->C;
	int rc = im_obs_bytes(im_env_obs_space(e)) == per ? 0 : -1;
	if (!rc)
		rc = im_env_reset(e, *seed, u);
	for (size_t i = 1; !rc && i < rows; i++) {
		int32_t a = rand_r(seed) % c->A;
		im_env_result res;
		rc = im_env_step(e, &a, u + i * per, &res);
		if (!rc && (res.terminated || res.truncated))
			rc = im_env_reset_next(e, u + i * per);
	}
	im_env_free(e);
	return rc ? -1 : 0;
}

/* Observations: floats in [-0.5, 0.5) for the MLPs, uint8 frames of
 * random bytes (0/1 for minatar's grids) for the image encoders, or a
 * game's own frames. */
static void *make_obs(const cfg *c, size_t rows, unsigned *seed)
{
	if (c->enc == IM_NN_ENCODER_MLP)
		return bench_frand(rows * OBS, seed);
	size_t n = rows * c->H * c->W * c->C;
	uint8_t *u = malloc(n ? n : 1);
	if (u && c->game) {
		if (game_frames(u, c, rows, seed)) {
			free(u);
			return NULL;
		}
		return u;
	}
	for (size_t i = 0; u && i < n; i++)
		u[i] = (uint8_t)(rand_r(seed) >> 3) &
		       (c->enc == IM_NN_ENCODER_MINATAR ? 1 : 255);
	return u;
}

/* A CartPole-like batch: actions and their "previous action" shift agree,
 * episodes end at terminal and truncated steps (the next step resets). */
static int make_batch(run *r, const cfg *c)
{
	int T = c->T, A = c->A, H = c->lstm, B = batch_of(c);
	size_t N = (size_t)(T + 1) * B, TB = (size_t)T * B;
	unsigned seed = 7;
	r->obs = make_obs(c, N, &seed);
	r->prew = calloc(N, sizeof(float));
	r->pact = calloc(N, sizeof(int32_t));
	r->reset = calloc(N, 1);
	r->act = calloc(TB, sizeof(int32_t));
	r->blogp = calloc(TB, sizeof(float));
	r->rew = calloc(TB, sizeof(float));
	r->term = calloc(TB, 1);
	r->trunc = calloc(TB, 1);
	r->xidx = calloc(TB, sizeof(int32_t));
	r->xact = calloc(TB, sizeof(int32_t));
	r->xrew = calloc(TB, sizeof(float));
	r->xobs = make_obs(c, TB, &seed);
	if (!r->obs || !r->prew || !r->pact || !r->reset || !r->act ||
	    !r->blogp || !r->rew || !r->term || !r->trunc || !r->xidx ||
	    !r->xact || !r->xrew || !r->xobs)
		return -1;
	int nx = 0;
	for (size_t i = 0; i < TB; i++) {
		r->act[i] = rand_r(&seed) % A;
		r->blogp[i] = -0.69f + 0.2f * ((float)rand_r(&seed) / RAND_MAX - 0.5f);
		r->rew[i] = 1.0f;
		int u = rand_r(&seed) % 1000;
		r->term[i] = u < 20;
		r->trunc[i] = u >= 20 && u < 25;
		int ended = r->term[i] || r->trunc[i];
		/* step t+1's inputs: the action and reward of step t, unless
		 * the episode ended (then zero state and inputs) */
		r->reset[i + B] = (uint8_t)ended;
		r->pact[i + B] = ended ? 0 : r->act[i];
		r->prew[i + B] = ended ? 0.0f : r->rew[i];
		if (r->trunc[i]) {
			r->xidx[nx] = (int32_t)i;
			r->xact[nx] = r->act[i];
			r->xrew[nx++] = r->rew[i];
		}
	}
	if (H) {
		r->h0 = bench_frand((size_t)B * H, &seed);
		r->c0 = bench_frand((size_t)B * H, &seed);
	}
	r->b = (im_update_batch){
		.in = {.T1 = T + 1, .B = B, .obs = r->obs, .prev_action = r->pact, .prev_reward = r->prew, .reset = r->reset},
		.h0 = r->h0,
		.c0 = r->c0,
		.extra = {.n = nx, .index = r->xidx, .obs = r->xobs, .prev_action = r->xact, .prev_reward = r->xrew},
		.act_discrete = r->act,
		.behaviour_logp = r->blogp,
		.rewards = r->rew,
		.terminated = r->term,
		.truncated = r->trunc};
	return 0;
}

static void teardown(run *r)
{
	im_update_free(r->u);
	im_optim_free(r->opt);
	im_model_free(r->m);
	free(r->obs), free(r->prew), free(r->h0), free(r->c0), free(r->blogp);
	free(r->rew), free(r->xobs), free(r->xrew), free(r->pact), free(r->act);
	free(r->xidx), free(r->xact), free(r->reset), free(r->term);
	free(r->trunc);
}

static int setup(run *r, const cfg *c)
{
	memset(r, 0, sizeof *r);
	r->T = c->T;
	r->A = c->A;
	im_obs_space obs = {.ndim = 1, .shape = {OBS}};
	if (c->enc != IM_NN_ENCODER_MLP)
		obs = (im_obs_space){.ndim = 3, .shape = {c->H, c->W, c->C}, .dtype = IM_DTYPE_U8, .scale = c->scale};
	im_act_space act = {.kind = IM_ACT_DISCRETE, .n = c->A};
	im_model_spec s;
	im_model_spec_default(&s, &obs, &act, c->width);
	s.encoder = c->enc;
	s.use_lstm = c->lstm > 0;
	s.lstm_hidden = c->lstm > 0 ? c->lstm : 1;
	im_optim_opts oo = im_optim_defaults(IM_OPTIM_RMSPROP);
	if (im_model_new(&r->m, &s) || im_update_new(&r->u, r->m, c->T, batch_of(c)))
		return -1;
	r->np = im_model_num_params(r->m);
	if (im_optim_new(&r->opt, &oo, r->np))
		return -1;
	r->lo = im_loss_defaults();
	return make_batch(r, c);
}

typedef struct figures {
	double sps, best_sps, ms, gflops, sgemm, frac;
	int reps, failures;
	char shape[32];
} figures;

/* The dominant matrix product of a configuration: the hidden layer over
 * all rows for the MLPs, the LSTM's input-to-gates product for the LSTM.
 * The image encoders' products are many and narrow (16 to 64 output
 * channels): their ceiling is the plain (T+1)*B x 512 x 512 sgemm. */
static void dominant_shape(const cfg *c, int *M, int *N, int *K)
{
	*M = (c->T + 1) * batch_of(c);
	*N = c->lstm ? 4 * c->lstm : c->width;
	*K = c->width;
	if (c->enc != IM_NN_ENCODER_MLP)
		*N = *K = 512;
}

/* FLOPs of one learning forward + backward's products: the MLPs by
 * bench_learn_flops; the image encoders from the model's own count (a
 * backward is twice the forward, less the first layer's input gradient),
 * plus the heads' (F (A + 1), backward twice that). */
static double learn_flops(const run *r, const cfg *c)
{
	double N = (double)(c->T + 1) * batch_of(c);
	if (c->enc == IM_NN_ENCODER_MLP)
		return bench_learn_flops(OBS, c->width, c->lstm, c->A, N);
	double first, enc = im_model_encoder_macs(r->m, &first);
	double heads = (double)c->width * (c->A + 1);
	return 2 * N * (3 * enc - first + 3 * heads);
}

static int bench_cfg(const cfg *c, double seconds, figures *f)
{
	run r;
	if (setup(&r, c)) {
		teardown(&r);
		return -1;
	}
	int M, N, K;
	dominant_shape(c, &M, &N, &K);
	snprintf(f->shape, sizeof f->shape, "%dx%dx%d", M, N, K);
	/* The ceiling's calls interleaved with the updates, so load from other
	 * processes hits both alike (it also leaves the update's buffers
	 * partly out of cache, as a fresh batch from the receiver would). */
	bench_sgemm_ctx g = bench_sgemm_new(M, N, K);
	double t, tg, best;
	/* The image configurations take 0.1-1 s an update: at least 3. */
	int minrep = c->enc == IM_NN_ENCODER_MLP ? 5 : 3;
	bench_median_time2(update_step, &r, bench_sgemm_call, &g, seconds,
			   c->enc == IM_NN_ENCODER_MLP ? 2 : 1, minrep, &t, &tg,
			   &best, &f->reps);
	bench_sgemm_free(&g);
	f->failures = r.failures;
	f->sps = c->T * batch_of(c) / t;
	f->best_sps = c->T * batch_of(c) / best;
	f->ms = t * 1e3;
	f->gflops = learn_flops(&r, c) / t / 1e9;
	f->sgemm = 2.0 * M * N * K / tg / 1e9;
	f->frac = f->gflops / f->sgemm;
	teardown(&r);
	return 0;
}

static int select_cfgs(const char *list, int *sel)
{
	int n = 0;
	for (int i = 0; i < NCFG; i++) {
		const char *p = strstr(list, CFGS[i].name);
		size_t l = strlen(CFGS[i].name);
		sel[i] = p && (p == list || p[-1] == ',') &&
			 (p[l] == 0 || p[l] == ',');
		n += sel[i];
	}
	return n;
}

int main(int argc, char **argv)
{
	int threads[MAXT] = {1, 2}, nt = 2, sel[NCFG];
	double seconds = 2.0;
	const char *configs = "mlp64,mlp512,lstm256,nature,impala,minatar,"
			      "seaquest5x4";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--threads"))
			nt = bench_parse_ints(argv[i + 1], threads, MAXT);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--configs"))
			configs = argv[i + 1];
	}
	if (nt < 1 || !select_cfgs(configs, sel) || !(seconds > 0)) {
		fprintf(stderr, "usage: bench_update [--threads 1,2] "
				"[--seconds S] [--configs mlp64,mlp512,lstm256,"
				"nature,impala,minatar,seaquest5x4]\n");
		return 2;
	}
	static figures f[MAXT][NCFG];
	double peak[MAXT];
	for (int ti = 0; ti < nt; ti++) {
		openblas_set_num_threads(threads[ti]);
		peak[ti] = bench_sgemm_gflops(81 * BDEF, 512, 512, 0.5);
		printf("threads %d: sgemm %dx512x512 %.1f GFLOP/s\n", threads[ti],
		       81 * BDEF, peak[ti]);
		for (int ci = 0; ci < NCFG; ci++) {
			if (!sel[ci])
				continue;
			if (bench_cfg(&CFGS[ci], seconds, &f[ti][ci])) {
				fprintf(stderr, "setup of %s failed\n",
					CFGS[ci].name);
				return 1;
			}
			figures *x = &f[ti][ci];
			printf("  update %-8s %8.3f ms  %9.0f samples/s  %5.1f "
			       "GFLOP/s  sgemm %s %5.1f GFLOP/s  ratio %.2f  "
			       "(%d reps, %d failed)\n",
			       CFGS[ci].name, x->ms,
			       x->sps, x->gflops, x->shape, x->sgemm, x->frac,
			       x->reps, x->failures);
		}
	}
	printf("{\"T\": 80, \"B\": %d, \"seconds\": %g, \"blas_core\": \"%s\", "
	       "\"sgemm_512_gflops\": {",
	       BDEF, seconds, openblas_get_corename());
	for (int ti = 0; ti < nt; ti++)
		printf("%s\"%d\": %.1f", ti ? ", " : "", threads[ti], peak[ti]);
	printf("}, \"update\": {");
	int first = 1;
	for (int ci = 0; ci < NCFG; ci++) {
		if (!sel[ci])
			continue;
		printf("%s\"%s\": {\"T\": %d, \"B\": %d, ", first ? "" : ", ",
		       CFGS[ci].name, CFGS[ci].T, batch_of(&CFGS[ci]));
		first = 0;
		for (int ti = 0; ti < nt; ti++) {
			figures *x = &f[ti][ci];
			printf("%s\"%d\": {\"samples_per_s\": %.0f, "
			       "\"best_samples_per_s\": %.0f, \"ms\": %.3f, "
			       "\"gflops\": %.2f, \"sgemm_shape\": \"%s\", "
			       "\"sgemm_gflops\": %.2f, \"ratio_to_sgemm\": %.3f, "
			       "\"reps\": %d, \"failed\": %d}",
			       ti ? ", " : "",
			       threads[ti], x->sps, x->best_sps, x->ms,
			       x->gflops, x->shape,
			       x->sgemm, x->frac, x->reps, x->failures);
		}
		printf("}");
	}
	printf("}}\n");
	return 0;
}
