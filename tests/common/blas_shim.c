// SPDX-License-Identifier: Apache-2.0
/* LD_PRELOAD shim for tests/e2e/test_blas_core.py, standing for the
 * OpenBLAS builds this machine does not have:
 *
 * - IMPALA_TEST_BLAS_GENERIC=NAME: openblas_get_corename() says NAME (a
 *   generic core such as Prescott) while OPENBLAS_CORETYPE is unset, as an
 *   OpenBLAS older than the CPU would, so that the restart runs end to end
 *   on any machine.  With OPENBLAS_CORETYPE set it tells the truth.
 * - IMPALA_TEST_BLAS_BROKEN=NAME: cblas_sgemm gets one element wrong while
 *   the core (as above) is NAME ("always": whatever runs), standing for
 *   kernels that compute wrong results on some CPU, so that the self-test
 *   and the fallback run end to end. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cblas.h>

typedef void (*sgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE,
			 enum CBLAS_TRANSPOSE, blasint, blasint, blasint, float,
			 const float *, blasint, const float *, blasint, float, float *,
			 blasint);
typedef char *(*corename_fn)(void);

static sgemm_fn real_sgemm;
static corename_fn real_corename;

__attribute__((constructor)) static void resolve(void)
{
	/* POSIX guarantees a function's address survives this round trip. */
	void *sym = dlsym(RTLD_NEXT, "cblas_sgemm");
	memcpy(&real_sgemm, &sym, sizeof real_sgemm);
	sym = dlsym(RTLD_NEXT, "openblas_get_corename");
	memcpy(&real_corename, &sym, sizeof real_corename);
}

char *openblas_get_corename(void)
{
	const char *fake = getenv("IMPALA_TEST_BLAS_GENERIC");
	const char *set = getenv("OPENBLAS_CORETYPE");
	if (fake && fake[0] && !(set && set[0]))
		return (char *)fake;
	return real_corename();
}

static int broken(void)
{
	const char *b = getenv("IMPALA_TEST_BLAS_BROKEN");
	if (!b || !b[0])
		return 0;
	return !strcasecmp(b, "always") || !strcasecmp(b, openblas_get_corename());
}

void cblas_sgemm(const enum CBLAS_ORDER o, const enum CBLAS_TRANSPOSE ta,
		 const enum CBLAS_TRANSPOSE tb, const blasint M, const blasint N,
		 const blasint K, const float alpha, const float *A, const blasint lda,
		 const float *B, const blasint ldb, const float beta, float *C,
		 const blasint ldc)
{
	real_sgemm(o, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
	if (M > 0 && N > 0 && broken())
		C[0] += 1.0f;
}
