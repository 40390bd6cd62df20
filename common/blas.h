/* Which OpenBLAS kernels ("core") this process runs, and a check that they
 * compute our products correctly.
 *
 * OpenBLAS chooses its kernels once, while the library loads (before main()
 * runs), from the CPU's family and model, or from the variable
 * OPENBLAS_CORETYPE when it is set.  A CPU newer than the OpenBLAS build is
 * not in its tables (Debian 12 ships 0.3.21, from 2022), and it then falls
 * back to "Prescott": SSE3 kernels from 2004.  On an Emerald Rapids Xeon
 * (family 6, model 207) that made a 2592x512x512 sgemm run at 16 GFLOP/s
 * against 145 with the AVX-512 "SkylakeX" kernels, and the README's
 * CartPole run took 19.6 s to solve instead of 5.5.  Since the choice is
 * made before main(), changing it means setting the variable and starting
 * the program again (execv of /proc/self/exe, same pid, same arguments).
 *
 * --blas-core (IMPALA_BLAS_CORE) selects the policy:
 *   auto      (default) respect OPENBLAS_CORETYPE when it is set; otherwise
 *             keep OpenBLAS's choice unless it is a generic pre-AVX2 core on
 *             a CPU that can run better ones: then use SkylakeX when the CPU
 *             and the kernel let us use AVX-512 (F, CD, BW, DQ, VL), else
 *             Haswell when AVX2 and FMA are usable.
 *   openblas  OpenBLAS's own choice (or OPENBLAS_CORETYPE), never a restart.
 *   NAME      one of im_blas_core_name()'s, case-insensitive; refused when the
 *             CPU lacks the instructions that core needs.
 *
 * Every process then runs im_blas_selftest(): sgemm against a double loop
 * on the shapes and transposes our kernels use.  A core that auto chose and
 * that fails it is dropped for OpenBLAS's own choice (one more restart);
 * any other failure is a start-up error. */
#ifndef IM_BLAS_H
#define IM_BLAS_H

#include <stddef.h>

#include <cblas.h>

/* Instruction sets the CPU has and the kernel lets a process use. */
enum {
	IM_BLAS_ISA_AVX = 1u << 0,
	IM_BLAS_ISA_AVX2 = 1u << 1,    /* with FMA */
	IM_BLAS_ISA_AVX512 = 1u << 2,  /* F, CD, BW, DQ and VL */
	IM_BLAS_ISA_BF16 = 1u << 3,    /* AVX512_BF16 */
};

/* The environment variables this module reads and writes. */
#define IM_BLAS_ENV_CORETYPE "OPENBLAS_CORETYPE"
/* Set on the restart that auto made: the core OpenBLAS had chosen. */
#define IM_BLAS_ENV_AUTO_FROM "IMPALA_BLAS_AUTO_FROM"
/* Set on the restart after auto's core failed the self-test: that core. */
#define IM_BLAS_ENV_AUTO_FAILED "IMPALA_BLAS_AUTO_FAILED"

/* The i-th name --blas-core accepts besides auto and openblas; NULL past
 * the last. */
const char *im_blas_core_name(size_t i);

/* IM_BLAS_ISA_* of this CPU and kernel (GCC's __builtin_cpu_supports, which
 * also checks that the kernel saves the AVX and AVX-512 registers). */
unsigned im_blas_cpu_isa(void);

/* What a process knows when it decides (all strings borrowed; NULL when
 * unset). */
typedef struct im_blas_state {
	const char *mode;          /* --blas-core */
	const char *coretype;      /* OPENBLAS_CORETYPE */
	const char *auto_from;     /* IMPALA_BLAS_AUTO_FROM */
	const char *auto_failed;   /* IMPALA_BLAS_AUTO_FAILED */
	const char *running;       /* openblas_get_corename() */
	unsigned isa;              /* im_blas_cpu_isa() */
} im_blas_state;

typedef struct im_blas_plan {
	/* Non-NULL: restart with OPENBLAS_CORETYPE set to this (a static
	 * string); NULL: go on with the running core. */
	const char *restart_with;
	/* Whether the core that will run was chosen by auto, so that a
	 * self-test failure falls back instead of stopping. */
	int chosen_by_auto;
	/* Worth a warning: a generic core where the CPU runs better ones, or
	 * OpenBLAS runs another core than OPENBLAS_CORETYPE names. */
	int warn;
	/* One line for the log: which core and why. */
	char why[200];
} im_blas_plan;

/* Decides from st alone (no environment, no CPU: the tests drive it).
 * IM_OK, or IM_EINVAL with a reason in err for an unknown --blas-core or
 * a core this CPU cannot run (named by the flag or by OPENBLAS_CORETYPE).
 * IMPALA_BLAS_AUTO_FAILED counts only while OPENBLAS_CORETYPE is unset. */
int im_blas_decide(im_blas_plan *plan, const im_blas_state *st, char *err,
	size_t errlen);

/* The state of this process for --blas-core mode. */
im_blas_state im_blas_current(const char *mode);

typedef void (*im_blas_sgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE,
	enum CBLAS_TRANSPOSE, blasint, blasint, blasint, float,
	const float *, blasint, const float *, blasint, float, float *,
	blasint);

/* Runs gemm on the products our kernels make (row-major; A^T, B^T and
 * neither; beta 0 and 1; thin, square and tall shapes, through OpenBLAS's
 * small-matrix and blocked paths) and compares every element with a
 * double-precision loop.  IM_OK, or IM_EBLAS with the first wrong product
 * and element in err.  Takes about 4 ms (the double loop, mostly). */
int im_blas_selftest(im_blas_sgemm_fn gemm, char *err, size_t errlen);

/* Sets OPENBLAS_CORETYPE=core and IMPALA_BLAS_AUTO_FROM=from (or unsets it
 * when from is NULL), then execv()s /proc/self/exe with argv.  Returns only
 * on failure: IM_ESYS, with the variables as they were and errno saying
 * why (ENOEXEC: started through the dynamic loader, whom /proc/self/exe
 * names; no restart is tried then). */
int im_blas_restart(const char *core, const char *from, char *const argv[]);

/* Everything a main() does at start-up, before any thread or socket:
 * decide, restart when the plan says so (this call then does not return),
 * self-test, fall back after a failed auto choice (restarting once more).
 * On IM_OK, why holds the line to log and *warn whether to log it as a
 * warning (a generic core where better ones run, a restart auto could not
 * make, a core OpenBLAS did not take).  IM_EINVAL (a bad --blas-core or
 * OPENBLAS_CORETYPE, or a named core whose restart failed) and IM_EBLAS
 * (wrong results) come with a reason in err. */
int im_blas_setup(const char *mode, char *const argv[], char *why,
	size_t whylen, int *warn, char *err, size_t errlen);

#endif
