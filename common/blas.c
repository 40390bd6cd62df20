#include "blas.h"

#include "err.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <unistd.h>

/* The x86-64 cores of OpenBLAS's dynamic build that --blas-core accepts,
 * with the instructions each needs (OpenBLAS 0.3.21 does not check them
 * when told OPENBLAS_CORETYPE: a core the CPU cannot run dies of SIGILL). */
static const struct core_req {
	const char *name;
	unsigned isa;
} cores[] = {
	{"Prescott", 0},
	{"Nehalem", 0},
	{"Sandybridge", IM_BLAS_ISA_AVX},
	{"Haswell", IM_BLAS_ISA_AVX | IM_BLAS_ISA_AVX2},
	{"Zen", IM_BLAS_ISA_AVX | IM_BLAS_ISA_AVX2},
	{"SkylakeX", IM_BLAS_ISA_AVX | IM_BLAS_ISA_AVX2 | IM_BLAS_ISA_AVX512},
	{"Cooperlake", IM_BLAS_ISA_AVX | IM_BLAS_ISA_AVX2 | IM_BLAS_ISA_AVX512 |
			       IM_BLAS_ISA_BF16},
};

enum { NCORES = sizeof cores / sizeof cores[0] };

const char *im_blas_core_name(size_t i)
{
	return i < NCORES ? cores[i].name : NULL;
}

/* Cores OpenBLAS lands on when it does not know an Intel CPU or finds no
 * usable AVX2: none of them uses AVX2 or FMA. */
static const char *const generic_cores[] = {
	"Unknown", "Katmai", "Coppermine", "Northwood", "Prescott", "Banias",
	"Atom", "Core2", "Penryn", "Dunnington", "Nehalem", "Sandybridge", NULL,
};

unsigned im_blas_cpu_isa(void)
{
	unsigned isa = 0;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx"))
		isa |= IM_BLAS_ISA_AVX;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		isa |= IM_BLAS_ISA_AVX2;
	if (__builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512cd") &&
	    __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512dq") &&
	    __builtin_cpu_supports("avx512vl"))
		isa |= IM_BLAS_ISA_AVX512;
	if ((isa & IM_BLAS_ISA_AVX512) && __builtin_cpu_supports("avx512bf16"))
		isa |= IM_BLAS_ISA_BF16;
#endif
	return isa;
}

static const struct core_req *find_core(const char *name)
{
	for (size_t i = 0; i < NCORES; i++)
		if (name && !strcasecmp(name, cores[i].name))
			return &cores[i];
	return NULL;
}

static int is_generic(const char *core)
{
	for (int i = 0; generic_cores[i]; i++)
		if (core && !strcasecmp(core, generic_cores[i]))
			return 1;
	return 0;
}

static int set(const char *s)
{
	return s && s[0];
}

/* What auto picks on this CPU, or NULL when nothing beats a generic core. */
static const char *auto_pick(unsigned isa)
{
	if (isa & IM_BLAS_ISA_AVX512)
		return "SkylakeX";
	if (isa & IM_BLAS_ISA_AVX2)
		return "Haswell";
	return NULL;
}

/* What of c's instructions the CPU lacks, in words; NULL when nothing. */
static const char *missing(const struct core_req *c, unsigned isa)
{
	unsigned m = c->isa & ~isa;
	return !m ? NULL
	       : m & IM_BLAS_ISA_AVX ? "AVX"
	       : m & IM_BLAS_ISA_AVX2 ? "AVX2 and FMA"
	       : m & IM_BLAS_ISA_AVX512 ? "AVX-512"
	       : "AVX512_BF16";
}

/* OPENBLAS_CORETYPE as the environment gave it: a core this CPU cannot
 * run is refused (OpenBLAS 0.3.21 would die of SIGILL at the first
 * product); one OpenBLAS did not take (an unknown name, which it maps to
 * a core of its own) is worth a warning. */
static int check_coretype(im_blas_plan *p, const im_blas_state *st,
	char *err, size_t errlen)
{
	const struct core_req *c = find_core(st->coretype);
	const char *lack = c ? missing(c, st->isa) : NULL;
	if (lack)
		return im_errf(err, errlen, IM_EINVAL, "%s=%s: this CPU lacks "
			       "the instructions it needs (%s)",
			       IM_BLAS_ENV_CORETYPE, st->coretype, lack);
	if (strcasecmp(st->coretype, st->running) != 0)
		p->warn = 1;
	return IM_OK;
}

static int decide_auto(im_blas_plan *p, const im_blas_state *st, char *err,
	size_t errlen)
{
	const char *run = st->running;
	if (set(st->coretype)) {
		int rc = check_coretype(p, st, err, errlen);
		if (rc)
			return rc;
		p->chosen_by_auto = set(st->auto_from);
		if (p->chosen_by_auto)
			snprintf(p->why, sizeof p->why, "%s, chosen by --blas-core "
				 "auto: OpenBLAS had chosen %s, a generic core, "
				 "for this CPU", run, st->auto_from);
		else
			snprintf(p->why, sizeof p->why, "%s, from %s=%s%s", run,
				 IM_BLAS_ENV_CORETYPE, st->coretype,
				 p->warn ? " (OpenBLAS did not take that name)" : "");
		return IM_OK;
	}
	const char *pick = auto_pick(st->isa);
	if (set(st->auto_failed)) {
		p->warn = is_generic(run) && pick;
		snprintf(p->why, sizeof p->why, "%s, OpenBLAS's own choice "
			 "(auto's %s failed the sgemm self-test)", run,
			 st->auto_failed);
		return IM_OK;
	}
	if (is_generic(run) && pick) {
		p->restart_with = pick;
		p->chosen_by_auto = 1;
		snprintf(p->why, sizeof p->why, "OpenBLAS chose %s, a generic "
			 "core; restarting with %s=%s", run,
			 IM_BLAS_ENV_CORETYPE, pick);
		return IM_OK;
	}
	snprintf(p->why, sizeof p->why, "%s, OpenBLAS's own choice", run);
	return IM_OK;
}

int im_blas_decide(im_blas_plan *p, const im_blas_state *st, char *err,
	size_t errlen)
{
	memset(p, 0, sizeof *p);
	const char *mode = set(st->mode) ? st->mode : "auto";
	im_blas_state s = *st;
	s.running = st->running ? st->running : "unknown";
	const char *run = s.running, *pick = auto_pick(st->isa);
	if (!strcasecmp(mode, "auto"))
		return decide_auto(p, &s, err, errlen);
	if (!strcasecmp(mode, "openblas")) {
		/* Kept as asked, but a generic core where a better one runs
		 * is a nine-fold slowdown worth a warning. */
		p->warn = is_generic(run) && pick;
		snprintf(p->why, sizeof p->why, "%s, OpenBLAS's own choice%s%s%s",
			 run, set(st->coretype) ? " from " IM_BLAS_ENV_CORETYPE "=" : "",
			 set(st->coretype) ? st->coretype : "",
			 p->warn ? " (a generic core: --blas-core auto would "
				   "run a faster one)" : "");
		return IM_OK;
	}
	const struct core_req *c = find_core(mode);
	if (!c) {
		/* "auto, openblas, Prescott, ..., SkylakeX or Cooperlake" */
		char list[160] = "auto, openblas";
		for (size_t i = 0; i < NCORES; i++)
			snprintf(list + strlen(list), sizeof list - strlen(list),
				 "%s%s", i + 1 < NCORES ? ", " : " or ",
				 cores[i].name);
		return im_errf(err, errlen, IM_EINVAL, "--blas-core: '%s' is not "
			       "%s", mode, list);
	}
	const char *lack = missing(c, st->isa);
	if (lack)
		return im_errf(err, errlen, IM_EINVAL, "--blas-core %s: this CPU "
			       "lacks the instructions it needs (%s)", c->name,
			       lack);
	if (set(st->coretype) && !strcasecmp(st->coretype, c->name)) {
		p->warn = strcasecmp(run, c->name) != 0;
		snprintf(p->why, sizeof p->why, "%s, from --blas-core %s%s", run,
			 c->name, p->warn ? " (OpenBLAS did not take it)" : "");
		return IM_OK;
	}
	p->restart_with = c->name;
	snprintf(p->why, sizeof p->why, "restarting with %s=%s for --blas-core",
		 IM_BLAS_ENV_CORETYPE, c->name);
	return IM_OK;
}

im_blas_state im_blas_current(const char *mode)
{
	im_blas_state st = {
		.mode = mode,
		.coretype = getenv(IM_BLAS_ENV_CORETYPE),
		.auto_from = getenv(IM_BLAS_ENV_AUTO_FROM),
		.auto_failed = getenv(IM_BLAS_ENV_AUTO_FAILED),
		.running = openblas_get_corename(),
		.isa = im_blas_cpu_isa(),
	};
	return st;
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
	{0, 1, 37, 5, 3, 0.0f},    {0, 1, 67, 64, 4, 0.0f},
	{0, 1, 129, 1, 33, 0.0f},  {0, 1, 160, 80, 96, 0.0f},
	{0, 0, 67, 33, 2, 1.0f},   {0, 0, 41, 64, 64, 0.0f},
	{0, 0, 160, 96, 80, 1.0f}, {1, 0, 5, 3, 37, 1.0f},
	{1, 0, 64, 64, 67, 1.0f},  {1, 0, 96, 80, 160, 1.0f},
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
					       "(%d, %d) is %g, not %g", c->ta ? 'T' : 'N',
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

/* Whether execv("/proc/self/exe") starts this program again.  Started by
 * hand through the dynamic loader (`ld.so ./impala-learner ...`),
 * /proc/self/exe is the loader, which would take our flags for its own.
 * The kernel tells the two apart: it loaded an interpreter for us (AT_BASE
 * is its address) only when it ran the program itself. */
static int restartable(void)
{
	return getauxval(AT_BASE) != 0;
}

int im_blas_restart(const char *core, const char *from, char *const argv[])
{
	if (!restartable()) {
		errno = ENOEXEC;
		return IM_ESYS;
	}
	char *old_core = getenv(IM_BLAS_ENV_CORETYPE);
	char *old_from = getenv(IM_BLAS_ENV_AUTO_FROM);
	old_core = old_core ? strdup(old_core) : NULL;
	old_from = old_from ? strdup(old_from) : NULL;
	int ok = core ? !setenv(IM_BLAS_ENV_CORETYPE, core, 1)
		      : !unsetenv(IM_BLAS_ENV_CORETYPE);
	ok = ok && (from ? !setenv(IM_BLAS_ENV_AUTO_FROM, from, 1)
			 : !unsetenv(IM_BLAS_ENV_AUTO_FROM));
	if (ok)
		execv("/proc/self/exe", argv);
	int e = errno;
	if (old_core)
		setenv(IM_BLAS_ENV_CORETYPE, old_core, 1);
	else
		unsetenv(IM_BLAS_ENV_CORETYPE);
	if (old_from)
		setenv(IM_BLAS_ENV_AUTO_FROM, old_from, 1);
	else
		unsetenv(IM_BLAS_ENV_AUTO_FROM);
	free(old_core);
	free(old_from);
	errno = e;
	return IM_ESYS;
}

/* The reason a restart did not happen, for a message. */
static const char *restart_failure(void)
{
	return errno == ENOEXEC ? "the program was started through the dynamic "
				  "loader, which a restart would run instead"
				: strerror(errno);
}

static int fall_back(const char *core, char *const argv[], char *err,
	size_t errlen, const char *reason)
{
	if (setenv(IM_BLAS_ENV_AUTO_FAILED, core, 1) == 0)
		im_blas_restart(NULL, NULL, argv);
	return im_errf(err, errlen, IM_EBLAS, "OpenBLAS core %s, chosen by "
		       "--blas-core auto, failed the sgemm self-test (%s), and "
		       "the restart with OpenBLAS's own choice failed: %s",
		       core, reason, restart_failure());
}

int im_blas_setup(const char *mode, char *const argv[], char *why,
	size_t whylen, int *warn, char *err, size_t errlen)
{
	im_blas_state st = im_blas_current(mode);
	im_blas_plan p;
	int rc = im_blas_decide(&p, &st, err, errlen);
	if (rc)
		return rc;
	*warn = p.warn;
	if (p.restart_with) {
		im_blas_restart(p.restart_with,
				p.chosen_by_auto ? st.running : NULL, argv);
		/* Still here: the restart did not happen. */
		if (!p.chosen_by_auto)
			return im_errf(err, errlen, IM_EINVAL, "--blas-core %s: "
				       "cannot restart with %s=%s (%s); set that "
				       "variable in the environment instead",
				       p.restart_with, IM_BLAS_ENV_CORETYPE,
				       p.restart_with, restart_failure());
		snprintf(why, whylen, "%s, OpenBLAS's own choice: the restart "
			 "with %s=%s failed (%s); set that variable in the "
			 "environment", st.running, IM_BLAS_ENV_CORETYPE,
			 p.restart_with, restart_failure());
		p.chosen_by_auto = 0;
		*warn = 1;
	} else {
		snprintf(why, whylen, "%s", p.why);
	}
	char reason[240];
	rc = im_blas_selftest(cblas_sgemm, reason, sizeof reason);
	if (rc == IM_EBLAS && p.chosen_by_auto)
		return fall_back(st.running, argv, err, errlen, reason);
	if (rc)
		return im_errf(err, errlen, rc, "OpenBLAS core %s: %s; choose "
			       "another with --blas-core (Haswell, Prescott, ...)",
			       st.running, reason);
	return IM_OK;
}
