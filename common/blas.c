// SPDX-License-Identifier: Apache-2.0
#include "blas.h"

#include "err.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <unistd.h>

unsigned im_blas_cpu_isa(void)
{
	unsigned isa = 0;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		isa |= IM_BLAS_ISA_AVX2;
	if ((isa & IM_BLAS_ISA_AVX2) && __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512cd") &&
	    __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512dq") &&
	    __builtin_cpu_supports("avx512vl"))
		isa |= IM_BLAS_ISA_AVX512;
#endif
	return isa;
}

static int named(const char *core, const char *const *names)
{
	for (int i = 0; core && names[i]; i++)
		if (!strcasecmp(core, names[i]))
			return 1;
	return 0;
}

int im_blas_small_kernels(void)
{
	static const char *const small[] = {"SkylakeX", "Cooperlake",
					    "SapphireRapids", NULL};
	static atomic_int known = -1;
	int v = atomic_load(&known);
	if (v < 0) {
		v = named(openblas_get_corename(), small);
		atomic_store(&known, v);
	}
	return v;
}

/* Cores OpenBLAS lands on when it does not know an Intel CPU or finds no
 * usable AVX2: none of them uses AVX2 or FMA. */
static int is_generic(const char *core)
{
	static const char *const generic[] = {
		"Unknown",
		"Katmai",
		"Coppermine",
		"Northwood",
		"Prescott",
		"Banias",
		"Atom",
		"Core2",
		"Penryn",
		"Dunnington",
		"Nehalem",
		"Sandybridge",
		NULL,
	};
	return named(core, generic);
}

static int set(const char *s)
{
	return s && s[0];
}

/* The core to run instead of a generic one, or NULL when nothing better
 * runs on this CPU. */
static const char *better_core(unsigned isa)
{
	return isa & IM_BLAS_ISA_AVX512 ? "SkylakeX"
	       : isa & IM_BLAS_ISA_AVX2 ? "Haswell"
					: NULL;
}

void im_blas_decide(im_blas_plan *p, const im_blas_state *st)
{
	memset(p, 0, sizeof *p);
	const char *run = st->running ? st->running : "unknown";
	const char *better = better_core(st->isa);
	if (set(st->coretype)) {
		p->ours = set(st->auto_from);
		p->warn = strcasecmp(st->coretype, run) != 0;
		if (p->ours)
			snprintf(p->why, sizeof p->why, "%s, chosen at start: "
							"OpenBLAS had chosen %s, a generic core, for "
							"this CPU",
				 run, st->auto_from);
		else
			snprintf(p->why, sizeof p->why, "%s, from %s=%s%s", run,
				 IM_BLAS_ENV_CORETYPE, st->coretype,
				 p->warn ? " (OpenBLAS did not take that name)" : "");
	} else if (set(st->auto_failed)) {
		p->warn = is_generic(run) && better;
		snprintf(p->why, sizeof p->why, "%s, OpenBLAS's own choice (%s "
						"failed the sgemm self-test)",
			 run, st->auto_failed);
	} else if (is_generic(run) && better) {
		p->restart_with = better;
		p->ours = 1;
		snprintf(p->why, sizeof p->why, "OpenBLAS chose %s, a generic "
						"core; restarting with %s=%s",
			 run,
			 IM_BLAS_ENV_CORETYPE, better);
	} else {
		snprintf(p->why, sizeof p->why, "%s, OpenBLAS's own choice", run);
	}
}

/* ---- self-test ---------------------------------------------------------- */

typedef struct gemm_case {
	int ta, tb; /* A^T, B^T */
	int M, N, K;
	float beta;
} gemm_case;

/* Our calls (nn/linear.c, nn/lstm.c): forward in @ w^T (N, T), input
 * gradient dout @ w (N, N) and weight gradient dout^T @ in (T, N), with
 * beta 0 and 1; M*N*K up to 1e6 takes OpenBLAS's small-matrix kernels on
 * AVX-512 cores, beyond it the blocked path with packing. */
static const gemm_case cases[] = {
	{0, 1, 37, 5, 3, 0.0f},
	{0, 1, 67, 64, 4, 0.0f},
	{0, 1, 129, 1, 33, 0.0f},
	{0, 1, 160, 80, 96, 0.0f},
	{0, 0, 67, 33, 2, 1.0f},
	{0, 0, 41, 64, 64, 0.0f},
	{0, 0, 160, 96, 80, 1.0f},
	{1, 0, 5, 3, 37, 1.0f},
	{1, 0, 64, 64, 67, 1.0f},
	{1, 0, 96, 80, 160, 1.0f},
	{1, 1, 19, 23, 29, 1.0f},
};

static float lcg(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return (float)(*s >> 8) / 8388608.0f - 1.0f;
}

/* Element (i, j) of op(X) for a row-major X stored with leading dimension
 * ld, op = transpose when t. */
static double at(const float *x, int ld, int t, int i, int j)
{
	return t ? x[(size_t)j * ld + i] : x[(size_t)i * ld + j];
}

static int check_case(im_blas_sgemm_fn gemm, const gemm_case *c, float *a,
		      float *b, float *out, char *err, size_t errlen)
{
	int M = c->M, N = c->N, K = c->K;
	int lda = c->ta ? M : K, ldb = c->tb ? K : N;
	uint32_t s = (uint32_t)(M * 7919 + N * 104729 + K);
	for (int i = 0; i < M * K; i++)
		a[i] = lcg(&s);
	for (int i = 0; i < K * N; i++)
		b[i] = lcg(&s);
	float *c0 = out + (size_t)M * N;
	for (int i = 0; i < M * N; i++)
		out[i] = c0[i] = lcg(&s);
	gemm(CblasRowMajor, c->ta ? CblasTrans : CblasNoTrans,
	     c->tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, a, lda, b, ldb,
	     c->beta, out, N);
	for (int i = 0; i < M; i++) {
		for (int j = 0; j < N; j++) {
			double ref = c->beta * (double)c0[(size_t)i * N + j];
			double mag = fabs(ref);
			for (int k = 0; k < K; k++) {
				double t = at(a, lda, c->ta, i, k) *
					   at(b, ldb, c->tb, k, j);
				ref += t;
				mag += fabs(t);
			}
			double got = out[(size_t)i * N + j];
			/* K float roundings at most: K * 2^-24 of the
			 * magnitude, with a margin of 4. */
			if (!(fabs(got - ref) <= 4.0 * K * 0x1p-24 * mag + 1e-6))
				return im_errf(err, errlen, IM_EBLAS,
					       "sgemm %c%c %dx%dx%d beta %g: element "
					       "(%d, %d) is %g, not %g",
					       c->ta ? 'T' : 'N',
					       c->tb ? 'T' : 'N', M, N, K, c->beta,
					       i, j, got, ref);
		}
	}
	return IM_OK;
}

int im_blas_selftest(im_blas_sgemm_fn gemm, char *err, size_t errlen)
{
	enum { MAXE = 160 * 160 };
	float *a = malloc(MAXE * sizeof(float)), *b = malloc(MAXE * sizeof(float));
	float *out = malloc(2 * MAXE * sizeof(float));
	int rc = IM_OK;
	if (!a || !b || !out)
		rc = im_errf(err, errlen, IM_ENOMEM, "sgemm self-test: out of memory");
	for (size_t i = 0; !rc && i < sizeof cases / sizeof cases[0]; i++)
		rc = check_case(gemm, &cases[i], a, b, out, err, errlen);
	free(a);
	free(b);
	free(out);
	return rc;
}

/* ---- restart ------------------------------------------------------------ */

/* Starts this program again with the environment as it is now; returns
 * only on failure, with errno saying why.  Started by hand through the
 * dynamic loader (`ld.so ./impala-learner ...`), /proc/self/exe is the
 * loader, which would take our flags for its own: ENOEXEC, no attempt.
 * The kernel tells the two apart: it loaded an interpreter for us (AT_BASE
 * is its address) only when it ran the program itself. */
static void restart(char *const argv[])
{
	if (getauxval(AT_BASE) == 0) {
		errno = ENOEXEC;
		return;
	}
	execv("/proc/self/exe", argv);
}

/* The reason a restart did not happen, for a message. */
static const char *restart_failure(int e)
{
	return e == ENOEXEC ? "the program was started through the dynamic "
			      "loader, which a restart would run instead"
			    : strerror(e);
}

/* Restarts with our core; on failure leaves the environment as it was
 * (OPENBLAS_CORETYPE was unset, or we would not be here) and says why. */
static void restart_with(const char *core, const char *from,
			 char *const argv[], char *why, size_t whylen)
{
	if (!setenv(IM_BLAS_ENV_CORETYPE, core, 1) &&
	    !setenv(IM_BLAS_ENV_AUTO_FROM, from, 1))
		restart(argv);
	int e = errno;
	unsetenv(IM_BLAS_ENV_CORETYPE);
	unsetenv(IM_BLAS_ENV_AUTO_FROM);
	snprintf(why, whylen, "%s, OpenBLAS's own choice: the restart with "
			      "%s=%s failed (%s); set that variable in the environment",
		 from, IM_BLAS_ENV_CORETYPE, core, restart_failure(e));
}

/* Our core failed the self-test: restart with OpenBLAS's own choice. */
static int fall_back(const char *core, char *const argv[], char *err,
		     size_t errlen, const char *reason)
{
	if (!setenv(IM_BLAS_ENV_AUTO_FAILED, core, 1) &&
	    !unsetenv(IM_BLAS_ENV_CORETYPE) && !unsetenv(IM_BLAS_ENV_AUTO_FROM))
		restart(argv);
	return im_errf(err, errlen, IM_EBLAS, "OpenBLAS core %s, chosen at "
					      "start, failed the sgemm self-test (%s), and the "
					      "restart with OpenBLAS's own choice failed: %s",
		       core,
		       reason, restart_failure(errno));
}

int im_blas_setup(char *const argv[], char *why, size_t whylen, int *warn,
		  char *err, size_t errlen)
{
	const char *running = openblas_get_corename();
	im_blas_state st = {
		.coretype = getenv(IM_BLAS_ENV_CORETYPE),
		.auto_from = getenv(IM_BLAS_ENV_AUTO_FROM),
		.auto_failed = getenv(IM_BLAS_ENV_AUTO_FAILED),
		.running = running ? running : "unknown",
		.isa = im_blas_cpu_isa(),
	};
	im_blas_plan p;
	im_blas_decide(&p, &st);
	snprintf(why, whylen, "%s", p.why);
	*warn = p.warn;
	if (p.restart_with) {
		/* Returns only when the restart did not happen. */
		restart_with(p.restart_with, st.running, argv, why, whylen);
		p.ours = 0;
		*warn = 1;
	}
	char reason[240];
	int rc = im_blas_selftest(cblas_sgemm, reason, sizeof reason);
	if (rc == IM_EBLAS && p.ours)
		return fall_back(st.running, argv, err, errlen, reason);
	if (rc)
		return im_errf(err, errlen, rc, "OpenBLAS core %s: %s; choose "
						"another with %s (Haswell, Prescott, ...)",
			       st.running, reason, IM_BLAS_ENV_CORETYPE);
	return IM_OK;
}
