// SPDX-License-Identifier: Apache-2.0
/* Helpers shared by the benchmark programs: a monotonic clock, medians of
 * repeated timings with warm-up and a time bound, random buffers, the
 * matrix-product FLOP count of one learning forward + backward, and a
 * plain sgemm measured in the same run as the ceiling.  Header-only
 * (static functions) so each benchmark stays one file. */
#ifndef IM_BENCH_UTIL_H
#define IM_BENCH_UTIL_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

/* OpenBLAS's own call (not in cblas.h on every distribution). */
void openblas_set_num_threads(int n);

#define BENCH_MAXREP 100000

/* The clock of bench_now: CLOCK_MONOTONIC (wall), or the calling thread's
 * CPU time when a program's --cpu sets it.  On a machine shared with other
 * builds the CPU time of a single-threaded call is the steadier figure:
 * wall medians moved by up to 8x with the load, CPU medians by a few per
 * cent (tests/bench/README.md). */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static inline void bench_use_cpu_clock(int on)
{
	bench_clock = on ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
}

static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(bench_clock, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of n values (sorts v in place). */
static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Median seconds per call of fn(ctx): `warm` untimed calls, then timed
 * calls for about `seconds` (at least min_reps of them, at most
 * BENCH_MAXREP).  *reps and *best (either may be NULL) get the number of
 * timed calls and the fastest one (on a shared machine the fastest call
 * is the one least disturbed by other processes). */
static inline double bench_median_time(void (*fn)(void *), void *ctx,
				       double seconds, int warm, int min_reps,
				       int *reps, double *best)
{
	static double t[BENCH_MAXREP];
	int n = 0;
	for (int i = 0; i < warm; i++)
		fn(ctx);
	double end = bench_now() + seconds;
	while (n < BENCH_MAXREP && (n < min_reps || bench_now() < end)) {
		double t0 = bench_now();
		fn(ctx);
		t[n++] = bench_now() - t0;
	}
	if (reps)
		*reps = n;
	double med = bench_median(t, n);
	if (best)
		*best = t[0];
	return med;
}

/* Two functions timed alternately, call by call, for about `seconds`
 * (after `warm` untimed calls of each), so that load from other processes
 * on a shared machine falls on both alike: a figure and its ceiling
 * measured side by side.  Writes the median seconds per call of each, the
 * fastest call of fa, and the number of timed pairs (any may be NULL). */
static inline void bench_median_time2(void (*fa)(void *), void *a,
				      void (*fb)(void *), void *b,
				      double seconds, int warm, int min_reps,
				      double *med_a, double *med_b,
				      double *best_a, int *reps)
{
	static double ta[BENCH_MAXREP], tb[BENCH_MAXREP];
	int n = 0;
	for (int i = 0; i < warm; i++)
		fa(a), fb(b);
	double end = bench_now() + seconds;
	while (n < BENCH_MAXREP && (n < min_reps || bench_now() < end)) {
		double t0 = bench_now();
		fa(a);
		double t1 = bench_now();
		fb(b);
		tb[n] = bench_now() - t1;
		ta[n++] = t1 - t0;
	}
	double ma = bench_median(ta, n), mb = bench_median(tb, n);
	if (med_a)
		*med_a = ma;
	if (med_b)
		*med_b = mb;
	if (best_a)
		*best_a = ta[0];
	if (reps)
		*reps = n;
}

/* n floats uniform in [-0.5, 0.5) from rand_r(seed); caller frees. */
static inline float *bench_frand(size_t n, unsigned *seed)
{
	float *x = malloc((n ? n : 1) * sizeof(float));
	for (size_t i = 0; x && i < n; i++)
		x[i] = (float)rand_r(seed) / (float)RAND_MAX - 0.5f;
	return x;
}

/* FLOPs (2 per multiply-add) of the matrix products of one learning
 * forward + backward over N = (T+1)*B rows, for the MLP "2xF" (obs -> F ->
 * F) with an optional LSTM core of width H and A policy outputs + 1 value:
 *   forward   obs*F + F*F                         (encoder)
 *           + 4H*(In + H), In = F + 1 + A          (LSTM gates, if any)
 *           + C*(A + 1), C = H or F                (heads)
 *   backward  obs*F (first layer: weight gradient only) + 2*F*F
 *           + 4H*(In + H) (weight grads) + 4H*F (to the features)
 *             + 4H*H (to h_{t-1})                  (LSTM, if any)
 *           + 2*C*(A + 1)                          (heads)
 *   total     2 * N * (forward + backward).
 * Elementwise work (activations, gates, the loss, V-trace, the optimiser)
 * is not counted: the figure is the matrix-product rate. */
static inline double bench_learn_flops(int obs, int F, int H, int A, double N)
{
	double fwd = (double)obs * F + (double)F * F;
	double bwd = (double)obs * F + 2.0 * F * F;
	double C = H ? H : F;
	fwd += C * (A + 1);
	bwd += 2 * C * (A + 1);
	if (H) {
		double In = F + 1 + A, G = 4.0 * H;
		fwd += G * (In + H);
		bwd += G * (In + H) + G * F + G * H;
	}
	return 2 * N * (fwd + bwd);
}

typedef struct bench_sgemm_ctx {
	int M, N, K;
	const float *a, *b;
	float *c;
} bench_sgemm_ctx;

static void bench_sgemm_call(void *p)
{
	bench_sgemm_ctx *x = p;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, x->M, x->N, x->K,
		    1.0f, x->a, x->K, x->b, x->K, 0.0f, x->c, x->N);
}

/* Operands of an M x N x K product, random; bench_sgemm_free frees. */
static inline bench_sgemm_ctx bench_sgemm_new(int M, int N, int K)
{
	unsigned seed = 2;
	bench_sgemm_ctx x = {M, N, K, bench_frand((size_t)M * K, &seed),
			     bench_frand((size_t)K * N, &seed),
			     bench_frand((size_t)M * N, &seed)};
	if (!x.a || !x.b || !x.c)
		abort();
	return x;
}

static inline void bench_sgemm_free(bench_sgemm_ctx *x)
{
	free((void *)x->a), free((void *)x->b), free(x->c);
}

/* GFLOP/s of C(M,N) = A(M,K) B(N,K)^T (the layout of our linear layers'
 * forward) with the current OpenBLAS thread count, from the median call
 * over about `seconds`. */
static inline double bench_sgemm_gflops(int M, int N, int K, double seconds)
{
	bench_sgemm_ctx x = bench_sgemm_new(M, N, K);
	double t = bench_median_time(bench_sgemm_call, &x, seconds, 2, 5, NULL,
				     NULL);
	bench_sgemm_free(&x);
	return 2.0 * M * N * K / t / 1e9;
}

/* Parses "1,2,4" into at most max ints; returns how many. */
static inline int bench_parse_ints(const char *s, int *out, int max)
{
	int n = 0;
	while (*s && n < max) {
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s)
			break;
		out[n++] = (int)v;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

#endif
