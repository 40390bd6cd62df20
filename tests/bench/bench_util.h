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

static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
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

/* GFLOP/s of C(M,N) = A(M,K) B(N,K)^T (the layout of our linear layers'
 * forward) with the current OpenBLAS thread count: the best of three
 * timings of about seconds/3 each. */
static inline double bench_sgemm_gflops(int M, int N, int K, double seconds)
{
	unsigned seed = 2;
	float *a = bench_frand((size_t)M * K, &seed);
	float *b = bench_frand((size_t)K * N, &seed);
	float *c = bench_frand((size_t)M * N, &seed);
	double best = 1e30;
	if (!a || !b || !c)
		abort();
	for (int rep = 0; rep < 3; rep++) {
		double t0 = bench_now();
		int n = 0;
		while (bench_now() - t0 < seconds / 3 || n < 3) {
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N,
				    K, 1.0f, a, K, b, K, 0.0f, c, N);
			n++;
		}
		double per = (bench_now() - t0) / n;
		best = per < best ? per : best;
	}
	free(a), free(b), free(c);
	return 2.0 * M * N * K / best / 1e9;
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
