// SPDX-License-Identifier: Apache-2.0
/* Environment stepping speed: steps per second on one core for each
 * built-in environment, through the single-environment interface, the
 * vectorised one (batched kernel) and the vectorised per-env reference
 * path, side by side in one run.  Actions come from a pre-drawn ring of
 * uniform random actions, so the figures are the environments' own cost
 * (including time limits, auto-reset and final-observation copies).
 *
 * Each configuration runs TRIALS short trials; the median rate is quoted
 * (the machine is shared and noisy).  Rates are per second of the
 * benchmark thread's CPU time, so that other processes on the shared
 * machine do not count against them.  The last line of stdout is one JSON
 * object with every figure.
 *
 * The MinAtar games get a fourth figure, "kernel_u8": k states stepped
 * through the game's own step (sticky rule, rules, the observation written
 * as bytes: im_ma_step_u8) with no interface around it, i.e. without the
 * action checks, episode bookkeeping and final-observation copies that
 * single and vec include.  The MinAtar target (10 million steps/s per
 * game on one core) is checked on the vec figure.
 *
 * Usage: bench_env [--seconds S] [--k K]
 *   S: seconds per configuration (default 0.15; 15 configurations)
 *   K: environments per vecenv (default 64) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "env/env.h"
#include "env/env_class.h"
#include "env/minatar.h"
#include "err.h"
#include "log.h"
#include "rng.h"

#define TRIALS 5
#define RING 64 /* action batches in the ring */
#define TARGET_CARTPOLE_VEC 10e6
#define TARGET_MINATAR 10e6

typedef struct ctx {
	im_env *env;
	im_vecenv *vec;
	int k;
	size_t asz;             /* bytes per single action */
	unsigned char *actions; /* (RING, k) actions */
	float obs[1000];        /* any space: up to Seaquest's 10 x 10 x 10 bytes */
	int naive;
	im_rng parent;
	/* MinAtar kernel: k states of cls, their (k, N) byte grids */
	const im_env_class *cls;
	unsigned char *states;
	uint8_t *cells;
	size_t numel;
} ctx;

/* Steps one chunk; returns how many environment steps it took. */
static long chunk_single(ctx *c)
{
	im_env_result r;
	for (int i = 0; i < RING * c->k; i++) {
		const void *a = c->actions + (size_t)i * c->asz;
		if (im_env_step(c->env, a, c->obs, &r))
			abort();
		if (r.terminated || r.truncated)
			im_env_reset_next(c->env, c->obs);
	}
	return (long)RING * c->k;
}

static long chunk_vec(ctx *c)
{
	for (int i = 0; i < RING; i++) {
		const void *a = c->actions + (size_t)i * c->k * c->asz;
		int rc = c->naive ? im_vecenv_step_naive(c->vec, a, NULL)
				  : im_vecenv_step(c->vec, a, NULL);
		if (rc)
			abort();
	}
	return (long)RING * c->k;
}

static long chunk_kernel(ctx *c)
{
	size_t ssz = c->cls->state_size;
	float reward;
	uint8_t term;
	for (int i = 0; i < RING; i++) {
		const int32_t *a = (const int32_t *)c->actions + (size_t)i * c->k;
		for (int j = 0; j < c->k; j++) {
			void *st = c->states + (size_t)j * ssz;
			im_ma_step_u8(st, a[j], c->cells + (size_t)j * c->numel,
				      &reward, &term);
			if (term)
				c->cls->reset(c->cls, st, &c->parent, c->obs);
		}
	}
	return (long)RING * c->k;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* This thread's CPU time: on a shared machine other processes' load does
 * not count against the rate (an idle machine gives the same figures). */
static uint64_t cpu_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Median over TRIALS of steps per second of CPU time. */
static double measure(ctx *c, long (*chunk)(ctx *), double seconds)
{
	double rates[TRIALS];
	for (int t = 0; t < TRIALS; t++) {
		uint64_t t0 = cpu_ns(), end = t0 + (uint64_t)(seconds /
							      TRIALS * 1e9);
		long steps = 0;
		uint64_t now;
		do {
			steps += chunk(c);
			now = cpu_ns();
		} while (now < end);
		rates[t] = (double)steps / ((double)(now - t0) * 1e-9);
	}
	qsort(rates, TRIALS, sizeof(double), cmp_double);
	return rates[TRIALS / 2];
}

static void fill_actions(ctx *c, const im_act_space *a)
{
	im_rng r;
	im_rng_init(&r, 12345);
	size_t n = (size_t)RING * (size_t)c->k;
	for (size_t i = 0; i < n; i++) {
		unsigned char *p = c->actions + i * c->asz;
		if (a->kind == IM_ACT_DISCRETE) {
			int32_t x = (int32_t)im_rng_below(&r, (uint64_t)a->n);
			memcpy(p, &x, sizeof(x));
			continue;
		}
		for (int j = 0; j < a->n; j++) {
			float x = im_rng_uniform(&r, a->low[j], a->high[j]);
			memcpy(p + (size_t)j * sizeof(float), &x, sizeof(x));
		}
	}
}

typedef struct figures {
	double single, vec, vec_naive, kernel_u8; /* kernel: MinAtar only */
} figures;

static int is_minatar(const char *name)
{
	return strncmp(name, "MinAtar/", 8) == 0;
}

/* The MinAtar game's own step over k states, bytes out. */
static int bench_kernel(ctx *c, const char *name, double seconds, figures *f)
{
	int rc = im_env_class_open(&c->cls, name, NULL, 0);
	if (rc)
		return rc;
	c->numel = im_obs_numel(&c->cls->obs);
	c->states = calloc((size_t)c->k, c->cls->state_size);
	c->cells = malloc((size_t)c->k * c->numel);
	if (!c->states || !c->cells) {
		rc = IM_ENOMEM;
		goto out;
	}
	im_rng_init(&c->parent, 3);
	for (int j = 0; j < c->k; j++) {
		void *st = c->states + (size_t)j * c->cls->state_size;
		c->cls->init(c->cls, st);
		c->cls->reset(c->cls, st, &c->parent, c->obs);
	}
	f->kernel_u8 = measure(c, chunk_kernel, seconds);
out:
	free(c->states);
	free(c->cells);
	im_env_class_close(c->cls);
	return rc;
}

static int bench_one(const char *name, int k, double seconds, figures *f)
{
	ctx c = {.k = k};
	im_rng parent;
	im_rng_init(&parent, 1);
	im_vecenv_opts o = {.spec = name, .num_envs = k, .rng = &parent};
	int rc = im_env_make(&c.env, name, NULL, 0);
	if (rc || (rc = im_vecenv_new(&c.vec, &o)))
		goto out;
	const im_act_space *a = im_env_act_space(c.env);
	c.asz = a->kind == IM_ACT_DISCRETE ? sizeof(int32_t)
					   : sizeof(float) * (size_t)a->n;
	c.actions = malloc((size_t)RING * (size_t)k * c.asz);
	if (!c.actions) {
		rc = IM_ENOMEM;
		goto out;
	}
	fill_actions(&c, a);
	im_env_reset(c.env, 1, c.obs);
	f->single = measure(&c, chunk_single, seconds);
	f->vec = measure(&c, chunk_vec, seconds);
	c.naive = 1;
	f->vec_naive = measure(&c, chunk_vec, seconds);
	f->kernel_u8 = 0;
	if (is_minatar(name))
		rc = bench_kernel(&c, name, seconds, f);
out:
	free(c.actions);
	im_vecenv_free(c.vec);
	im_env_free(c.env);
	return rc;
}

int main(int argc, char **argv)
{
	double seconds = 0.15;
	int k = 64;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--k"))
			k = atoi(argv[i + 1]);
	}
	if (seconds <= 0 || seconds > 60 || k < 1 || k > 1 << 16) {
		fprintf(stderr, "usage: bench_env [--seconds S] [--k K]\n");
		return 2;
	}
	int n = im_env_builtin_count();
	figures f[32];
	for (int e = 0; e < n; e++) {
		const char *name = im_env_builtin_name(e);
		int rc = bench_one(name, k, seconds, &f[e]);
		if (rc) {
			fprintf(stderr, "bench_env: %s: %s\n", name,
				im_strerror(rc));
			return 1;
		}
		printf("%-26s single %8.2f M/s  vec k=%d %8.2f M/s  "
		       "vec naive %8.2f M/s  (batched/naive %.2fx)",
		       name, f[e].single / 1e6, k, f[e].vec / 1e6,
		       f[e].vec_naive / 1e6, f[e].vec / f[e].vec_naive);
		if (is_minatar(name))
			printf("  kernel u8 %8.2f M/s", f[e].kernel_u8 / 1e6);
		printf("\n");
	}
	int minatar_ok = 1;
	printf("{\"unit\": \"steps/cpu-s\", \"k\": %d, \"trials\": %d, "
	       "\"seconds_per_config\": %g, \"envs\": {",
	       k, TRIALS, seconds);
	for (int e = 0; e < n; e++) {
		const char *name = im_env_builtin_name(e);
		printf("%s\"%s\": {\"single\": %.0f, \"vec\": %.0f, "
		       "\"vec_naive\": %.0f",
		       e ? ", " : "", name, f[e].single,
		       f[e].vec, f[e].vec_naive);
		if (is_minatar(name)) {
			printf(", \"kernel_u8\": %.0f", f[e].kernel_u8);
			minatar_ok &= f[e].vec >= TARGET_MINATAR;
		}
		printf("}");
	}
	printf("}, \"cartpole_vec_target\": %.0f, "
	       "\"cartpole_vec_meets_target\": %s, \"minatar_vec_target\": "
	       "%.0f, \"minatar_vec_meets_target\": %s}\n",
	       TARGET_CARTPOLE_VEC,
	       f[0].vec >= TARGET_CARTPOLE_VEC ? "true" : "false",
	       TARGET_MINATAR, minatar_ok ? "true" : "false");
	return 0;
}
