// SPDX-License-Identifier: Apache-2.0
/* Model timings: the learning forward + backward over T+1 = 81 steps by
 * B = 32 unrolls for MLP 2x64, 2x512 and the LSTM core at 256, the acting
 * step for k = 32 environments at 2x64, and a plain sgemm of the dominant
 * shape as the ceiling, all in the same run.  Medians of repeated timings.
 * Last line: one JSON object.
 * Usage: bench_nn [--threads N] [--seconds S] (OpenBLAS threads, default 1;
 * seconds per configuration, default 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "nn/model.h"

void openblas_set_num_threads(int n);

enum { T = 80,
       BB = 32,
       OBS = 4,
       A = 2,
       K = 32,
       MAXREP = 100000 };

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median seconds per call of fn(ctx), run for about `seconds`. */
static double median_time(void (*fn)(void *), void *ctx, double seconds)
{
	static double t[MAXREP];
	int n = 0;
	for (int i = 0; i < 3; i++)
		fn(ctx);
	double end = now() + seconds;
	while (n < MAXREP && (n < 5 || now() < end)) {
		double t0 = now();
		fn(ctx);
		t[n++] = now() - t0;
	}
	qsort(t, n, sizeof(double), cmp);
	return t[n / 2];
}

typedef struct run {
	im_model *m;
	im_model_ws *ws;
	im_model_input in;
	float *h, *c, *pol, *base, *dpol, *dbase;
} run;

static void learn_step(void *p)
{
	run *r = p;
	float *w = im_model_params(r->m);
	im_model_forward(r->ws, w, &r->in, r->h, r->c, NULL, r->pol, r->base,
			 NULL);
	im_model_backward(r->ws, w, r->dpol, r->dbase, im_model_grads(r->m));
}

static void act_step(void *p)
{
	run *r = p;
	im_model_act(r->ws, im_model_params(r->m), &r->in, r->h, r->c, r->pol,
		     r->base);
}

static float *frand(size_t n, unsigned *seed)
{
	float *x = malloc(n * sizeof(float));
	for (size_t i = 0; x && i < n; i++)
		x[i] = (float)rand_r(seed) / RAND_MAX - 0.5f;
	return x;
}

static void setup(run *r, int width, int lstm, int T1, int B)
{
	im_obs_space obs = {.ndim = 1, .shape = {OBS}};
	im_act_space act = {.kind = IM_ACT_DISCRETE, .n = A};
	im_model_spec s;
	im_model_spec_default(&s, &obs, &act, width);
	s.use_lstm = lstm > 0;
	s.lstm_hidden = lstm > 0 ? lstm : 1;
	unsigned seed = 1;
	size_t N = (size_t)T1 * B, H = (size_t)s.lstm_hidden;
	if (im_model_new(&r->m, &s) || im_model_ws_new(&r->ws, r->m, T1, B))
		exit(1);
	int32_t *pa = calloc(N, sizeof(int32_t));
	uint8_t *reset = calloc(N, 1);
	for (size_t i = 0; i < N; i++) {
		pa[i] = rand_r(&seed) % A;
		reset[i] = rand_r(&seed) % 50 == 0;
	}
	r->in = (im_model_input){.T1 = T1, .B = B, .obs = frand(N * OBS, &seed), .prev_action = pa, .prev_reward = frand(N, &seed), .reset = reset};
	r->h = lstm ? frand(B * H, &seed) : NULL;
	r->c = lstm ? frand(B * H, &seed) : NULL;
	r->pol = frand(N * A, &seed);
	r->base = frand(N, &seed);
	r->dpol = frand(N * A, &seed);
	r->dbase = frand(N, &seed);
}

static void teardown(run *r)
{
	free((void *)r->in.obs), free((void *)r->in.prev_action);
	free((void *)r->in.prev_reward), free((void *)r->in.reset);
	free(r->h), free(r->c), free(r->pol), free(r->base), free(r->dpol);
	free(r->dbase);
	im_model_ws_free(r->ws);
	im_model_free(r->m);
}

/* Matrix-product FLOPs of one learning forward + backward (the
 * elementwise work is not counted). */
static double learn_flops(int width, int lstm, double N)
{
	double F = width, fwd = OBS * F + F * F, bwd = OBS * F + 2 * F * F;
	double core = lstm ? lstm : F;
	fwd += core * (A + 1);
	bwd += 2 * core * (A + 1);
	if (lstm) {
		double In = F + 1 + A, G = 4.0 * lstm;
		fwd += G * (In + lstm);
		bwd += G * (In + lstm) + G * F + G * lstm;
	}
	return 2 * N * (fwd + bwd);
}

static double sgemm_gflops(int M, int Nn, int Kk, double seconds)
{
	unsigned seed = 2;
	float *a = frand((size_t)M * Kk, &seed), *b = frand((size_t)Kk * Nn, &seed);
	float *c = frand((size_t)M * Nn, &seed);
	double t = 1e30;
	for (int rep = 0; rep < 3; rep++) {
		double t0 = now();
		int n = 0;
		while (now() - t0 < seconds / 3 || n < 3) {
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, Nn,
				    Kk, 1.0f, a, Kk, b, Kk, 0.0f, c, Nn);
			n++;
		}
		double per = (now() - t0) / n;
		t = per < t ? per : t;
	}
	free(a), free(b), free(c);
	return 2.0 * M * Nn * Kk / t / 1e9;
}

int main(int argc, char **argv)
{
	int threads = 1;
	double seconds = 1.0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--threads"))
			threads = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
	}
	openblas_set_num_threads(threads);
	const int N = (T + 1) * BB;
	double ceiling = sgemm_gflops(N, 512, 512, seconds);
	printf("sgemm %dx512x512: %.1f GFLOP/s\n", N, ceiling);
	static const struct {
		const char *name;
		int width, lstm;
	} cfg[] = {
		{"mlp64", 64, 0}, {"mlp512", 512, 0}, {"lstm256", 256, 256}};
	double sps[3], gf[3];
	for (int i = 0; i < 3; i++) {
		run r;
		setup(&r, cfg[i].width, cfg[i].lstm, T + 1, BB);
		double t = median_time(learn_step, &r, seconds);
		sps[i] = T * BB / t;
		gf[i] = learn_flops(cfg[i].width, cfg[i].lstm, N) / t / 1e9;
		printf("learn %-8s fwd+bwd %.3f ms  %.0f samples/s  %.1f GFLOP/s"
		       " (%.0f%% of sgemm)\n",
		       cfg[i].name, t * 1e3, sps[i], gf[i],
		       100 * gf[i] / ceiling);
		teardown(&r);
	}
	run r;
	setup(&r, 64, 0, 1, K);
	double ta = median_time(act_step, &r, seconds);
	teardown(&r);
	setup(&r, 64, 64, 1, K);
	double tl = median_time(act_step, &r, seconds);
	teardown(&r);
	printf("act mlp64 k=%d: %.2f us/step  %.0f frames/s; with lstm64 "
	       "%.0f frames/s\n",
	       K, ta * 1e6, K / ta, K / tl);
	printf("{\"threads\": %d, \"sgemm_gflops\": %.1f, "
	       "\"learn_samples_per_s\": {\"mlp64\": %.0f, \"mlp512\": %.0f, "
	       "\"lstm256\": %.0f}, \"learn_gflops\": {\"mlp64\": %.1f, "
	       "\"mlp512\": %.1f, \"lstm256\": %.1f}, "
	       "\"act_frames_per_s\": {\"mlp64\": %.0f, \"mlp64_lstm64\": %.0f}}\n",
	       threads, ceiling, sps[0], sps[1], sps[2], gf[0], gf[1], gf[2],
	       K / ta, K / tl);
	return 0;
}
