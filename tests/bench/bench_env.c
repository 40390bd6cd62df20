/* Environment stepping speed: steps per second on one core for each
 * built-in environment, through the single-environment interface, the
 * vectorised one (batched kernel) and the vectorised per-env reference
 * path, side by side in one run.  Actions come from a pre-drawn ring of
 * uniform random actions, so the figures are the environments' own cost
 * (including time limits, auto-reset and final-observation copies).
 *
 * Each configuration runs TRIALS short trials; the median rate is quoted
 * (the machine is shared and noisy).  The last line of stdout is one JSON
 * object with every figure.
 *
 * Usage: bench_env [--seconds S] [--k K]
 *   S: seconds per configuration (default 0.15; 15 configurations)
 *   K: environments per vecenv (default 64) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/env.h"
#include "err.h"
#include "log.h"
#include "rng.h"

#define TRIALS 5
#define RING 64 /* action batches in the ring */
#define TARGET_CARTPOLE_VEC 10e6

typedef struct ctx {
	im_env *env;
	im_vecenv *vec;
	int k;
	size_t asz;            /* bytes per single action */
	unsigned char *actions; /* (RING, k) actions */
	float obs[64];
	int naive;
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median over TRIALS of steps per second. */
static double measure(ctx *c, long (*chunk)(ctx *), double seconds)
{
	double rates[TRIALS];
	for (int t = 0; t < TRIALS; t++) {
		uint64_t t0 = im_now_ns(), end = t0 + (uint64_t)(seconds /
							 TRIALS * 1e9);
		long steps = 0;
		uint64_t now;
		do {
			steps += chunk(c);
			now = im_now_ns();
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
	double single, vec, vec_naive;
} figures;

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
	figures f[16];
	for (int e = 0; e < n; e++) {
		const char *name = im_env_builtin_name(e);
		int rc = bench_one(name, k, seconds, &f[e]);
		if (rc) {
			fprintf(stderr, "bench_env: %s: %s\n", name,
				im_strerror(rc));
			return 1;
		}
		printf("%-26s single %8.2f M/s  vec k=%d %8.2f M/s  "
		       "vec naive %8.2f M/s  (batched/naive %.2fx)\n",
		       name, f[e].single / 1e6, k, f[e].vec / 1e6,
		       f[e].vec_naive / 1e6, f[e].vec / f[e].vec_naive);
	}
	printf("{\"unit\": \"steps/s/core\", \"k\": %d, \"trials\": %d, "
	       "\"seconds_per_config\": %g, \"envs\": {", k, TRIALS, seconds);
	for (int e = 0; e < n; e++)
		printf("%s\"%s\": {\"single\": %.0f, \"vec\": %.0f, "
		       "\"vec_naive\": %.0f}", e ? ", " : "",
		       im_env_builtin_name(e), f[e].single, f[e].vec,
		       f[e].vec_naive);
	printf("}, \"cartpole_vec_target\": %.0f, "
	       "\"cartpole_vec_meets_target\": %s}\n", TARGET_CARTPOLE_VEC,
	       f[0].vec >= TARGET_CARTPOLE_VEC ? "true" : "false");
	return 0;
}
