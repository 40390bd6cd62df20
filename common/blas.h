// SPDX-License-Identifier: Apache-2.0
/* Which OpenBLAS kernels ("core") this process runs, and a check that they
 * compute our products correctly.
 *
 * OpenBLAS chooses its kernels once, while the library loads (before main()
 * runs), from the CPU's family and model, or from the variable
 * OPENBLAS_CORETYPE when it is set.  A CPU newer than the OpenBLAS build is
 * not in its tables (Debian 12 ships 0.3.21, from 2022), and it then falls
 * back to a generic core ("Prescott": SSE3 kernels from 2004).  On an
 * Emerald Rapids Xeon that made a 2592x512x512 sgemm run at 16 GFLOP/s
 * against 145 with the AVX-512 "SkylakeX" kernels, and the README's
 * CartPole run 3.4 times slower.  Since the choice is made before main(),
 * changing it means setting the variable and starting the program again
 * (execv of /proc/self/exe: same pid, same arguments).
 *
 * im_blas_setup() is what both programs' main() call:
 *   - OPENBLAS_CORETYPE set: OpenBLAS's standard knob, respected as it is.
 *   - otherwise, a generic pre-AVX2 core on a CPU that runs better ones is
 *     replaced: restart with SkylakeX when the CPU and the kernel let us use
 *     AVX-512 (F, CD, BW, DQ, VL), else Haswell when AVX2 and FMA are.
 *   - every process then runs im_blas_selftest(); a core the restart chose
 *     that fails it is dropped for OpenBLAS's own choice (one more
 *     restart); any other failure is a start-up error. */
#ifndef IM_BLAS_H
#define IM_BLAS_H

#include <stddef.h>

#include <cblas.h>

/* Instruction sets the CPU has and the kernel lets a process use. */
enum {
	IM_BLAS_ISA_AVX2 = 1u << 0,   /* with FMA */
	IM_BLAS_ISA_AVX512 = 1u << 1, /* F, CD, BW, DQ and VL */
};

/* The environment variables this module reads and writes. */
#define IM_BLAS_ENV_CORETYPE "OPENBLAS_CORETYPE"
/* Set on the restart this module made: the core OpenBLAS had chosen. */
#define IM_BLAS_ENV_AUTO_FROM "IMPALA_BLAS_AUTO_FROM"
/* Set on the restart after that core failed the self-test: that core. */
#define IM_BLAS_ENV_AUTO_FAILED "IMPALA_BLAS_AUTO_FAILED"

/* IM_BLAS_ISA_* of this CPU and kernel (GCC's __builtin_cpu_supports, which
 * also checks that the kernel saves the AVX and AVX-512 registers). */
unsigned im_blas_cpu_isa(void);

/* Whether the running core has OpenBLAS's small-matrix sgemm kernels
 * (products of up to 10^6 multiply-adds, nothing packed): in 0.3.21 only
 * its AVX-512 cores, SkylakeX and Cooperlake; later versions add
 * SapphireRapids.  Read once: the core does not change while a process
 * runs. */
int im_blas_small_kernels(void);

/* What a process knows when it decides (strings borrowed; NULL when
 * unset). */
typedef struct im_blas_state {
	const char *coretype;    /* OPENBLAS_CORETYPE */
	const char *auto_from;   /* IMPALA_BLAS_AUTO_FROM */
	const char *auto_failed; /* IMPALA_BLAS_AUTO_FAILED */
	const char *running;     /* openblas_get_corename() */
	unsigned isa;            /* im_blas_cpu_isa() */
} im_blas_state;

typedef struct im_blas_plan {
	/* Non-NULL: restart with OPENBLAS_CORETYPE set to this (a static
	 * string); NULL: go on with the running core. */
	const char *restart_with;
	/* Whether the core that will run is this module's choice, so that a
	 * self-test failure falls back instead of stopping. */
	int ours;
	/* Worth a warning: a generic core where the CPU runs better ones, or
	 * OpenBLAS runs another core than OPENBLAS_CORETYPE names. */
	int warn;
	/* One line for the log: which core and why. */
	char why[200];
} im_blas_plan;

/* Decides from st alone (no environment, no CPU: the tests drive it).
 * IMPALA_BLAS_AUTO_FAILED counts only while OPENBLAS_CORETYPE is unset. */
void im_blas_decide(im_blas_plan *plan, const im_blas_state *st);

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

/* Everything a main() does at start-up, before any thread or socket:
 * decide, restart when the plan says so (this call then does not return),
 * self-test, fall back after a failed choice of ours (restarting once
 * more).  On IM_OK, why holds the line to log and *warn whether to log it
 * as a warning (a generic core where better ones run, a restart that could
 * not be made, a core OpenBLAS did not take).  IM_EBLAS (wrong results)
 * comes with a reason in err. */
int im_blas_setup(char *const argv[], char *why, size_t whylen, int *warn,
		  char *err, size_t errlen);

#endif
