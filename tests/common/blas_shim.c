/* LD_PRELOAD shim for the tests of --blas-core: a cblas_sgemm that gets
 * one element wrong when IMPALA_TEST_BLAS_BROKEN names the OpenBLAS core
 * running ("always": whatever runs), and otherwise calls OpenBLAS's.  It
 * stands for an OpenBLAS build whose kernels compute wrong results on some
 * CPU, so that the self-test and the fallback run end to end. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cblas.h>


typedef void (*sgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE,
	enum CBLAS_TRANSPOSE, blasint, blasint, blasint, float,
	const float *, blasint, const float *, blasint, float, float *,
	blasint);

static sgemm_fn real;

__attribute__((constructor)) static void resolve(void)
{
	/* POSIX guarantees a function's address survives this round trip. */
	void *sym = dlsym(RTLD_NEXT, "cblas_sgemm");
	memcpy(&real, &sym, sizeof real);
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
	real(o, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
	if (M > 0 && N > 0 && broken())
		C[0] += 1.0f;
}
