// SPDX-License-Identifier: Apache-2.0
/* common/blas: the start-up decision for every kind of CPU, running core
 * and environment, and the sgemm self-test against OpenBLAS and against
 * deliberately broken products. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <strings.h>

#include "blas.h"
#include "err.h"

enum {
	AVX2 = IM_BLAS_ISA_AVX2,
	AVX512 = AVX2 | IM_BLAS_ISA_AVX512,
};

typedef struct decide_case {
	const char *what;
	im_blas_state st;         /* coretype, auto_from, auto_failed, running, isa */
	const char *restart_with; /* NULL: no restart */
	int ours;
	const char *in_why;
	int warn;
} decide_case;

static const decide_case decide_cases[] = {
	{"Prescott on AVX-512: restart with SkylakeX",
	 {NULL, NULL, NULL, "Prescott", AVX512},
	 "SkylakeX",
	 1,
	 "OpenBLAS chose Prescott, a generic core; restarting with "
	 "OPENBLAS_CORETYPE=SkylakeX",
	 0},
	{"Prescott on AVX2 only: restart with Haswell",
	 {NULL, NULL, NULL, "Prescott", AVX2},
	 "Haswell",
	 1,
	 "Haswell",
	 0},
	{"Nehalem and Sandybridge are generic too (any case)",
	 {NULL, NULL, NULL, "SANDYBRIDGE", AVX2},
	 "Haswell",
	 1,
	 "SANDYBRIDGE",
	 0},
	{"no running core name is OpenBLAS's 'unknown', a generic core",
	 {NULL, NULL, NULL, NULL, AVX512},
	 "SkylakeX",
	 1,
	 "OpenBLAS chose unknown",
	 0},
	{"a generic core on a CPU without AVX2 is kept, no warning",
	 {NULL, NULL, NULL, "Prescott", 0},
	 NULL,
	 0,
	 "Prescott, OpenBLAS's own choice",
	 0},
	{"OpenBLAS's AVX2 choice on an AVX-512 CPU is kept",
	 {NULL, NULL, NULL, "Haswell", AVX512},
	 NULL,
	 0,
	 "Haswell, OpenBLAS's own choice",
	 0},
	{"Zen is kept", {NULL, NULL, NULL, "Zen", AVX2}, NULL, 0, "Zen", 0},
	{"OPENBLAS_CORETYPE is respected, even a generic core",
	 {"Prescott", NULL, NULL, "Prescott", AVX512},
	 NULL,
	 0,
	 "Prescott, from OPENBLAS_CORETYPE=Prescott",
	 0},
	{"a name OpenBLAS did not take is worth a warning",
	 {"Bogus", NULL, NULL, "Cooperlake", AVX512},
	 NULL,
	 0,
	 "Cooperlake, from OPENBLAS_CORETYPE=Bogus (OpenBLAS did not take "
	 "that name)",
	 1},
	{"after our restart: no second one, and the choice is ours",
	 {"SkylakeX", "Prescott", NULL, "SkylakeX", AVX512},
	 NULL,
	 1,
	 "SkylakeX, chosen at start: OpenBLAS had chosen Prescott",
	 0},
	{"after our core failed the self-test: OpenBLAS's own, warned",
	 {NULL, NULL, "SkylakeX", "Prescott", AVX512},
	 NULL,
	 0,
	 "Prescott, OpenBLAS's own choice (SkylakeX failed the sgemm "
	 "self-test)",
	 1},
	{"a stale failure marker does not hide OPENBLAS_CORETYPE",
	 {"Haswell", NULL, "SkylakeX", "Haswell", AVX512},
	 NULL,
	 0,
	 "Haswell, from OPENBLAS_CORETYPE=Haswell",
	 0},
};

static void test_decide(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof decide_cases / sizeof decide_cases[0]; i++) {
		const decide_case *c = &decide_cases[i];
		im_blas_plan p;
		im_blas_decide(&p, &c->st);
		print_message("%s: restart %s, why '%s'\n", c->what,
			      p.restart_with ? p.restart_with : "-", p.why);
		if (c->restart_with)
			assert_string_equal(p.restart_with, c->restart_with);
		else
			assert_null(p.restart_with);
		assert_int_equal(p.ours, c->ours);
		assert_int_equal(p.warn, c->warn);
		assert_non_null(strstr(p.why, c->in_why));
	}
}

static void test_selftest_passes_openblas(void **state)
{
	(void)state;
	char err[256] = "";
	int rc = im_blas_selftest(cblas_sgemm, err, sizeof err);
	if (rc)
		print_message("%s\n", err);
	assert_int_equal(rc, IM_OK);
}

/* ---- broken products: each must be caught ------------------------------- */

static int ignore_beta, flip_b, drop_last_k, nudge_one, only_big;

static void broken_gemm(enum CBLAS_ORDER o, enum CBLAS_TRANSPOSE ta,
			enum CBLAS_TRANSPOSE tb, blasint M, blasint N, blasint K, float alpha,
			const float *A, blasint lda, const float *B, blasint ldb, float beta,
			float *C, blasint ldc)
{
	int big = (double)M * N * K > 1e6;
	if (only_big && !big) {
		cblas_sgemm(o, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C,
			    ldc);
		return;
	}
	if (flip_b && K == N && N > 1) {
		/* Reads B with the other transpose: only a square B allows it. */
		tb = tb == CblasTrans ? CblasNoTrans : CblasTrans;
	}
	cblas_sgemm(o, ta, tb, M, N, K - (drop_last_k && K > 1), alpha, A, lda,
		    B, ldb, ignore_beta ? 0.0f : beta, C, ldc);
	if (nudge_one)
		C[(M / 2) * ldc + N / 2] *= 1.001f;
}

static void expect_caught(int *knob)
{
	*knob = 1;
	char err[256] = "";
	int rc = im_blas_selftest(broken_gemm, err, sizeof err);
	*knob = 0;
	print_message("%s\n", err);
	assert_int_equal(rc, IM_EBLAS);
	assert_non_null(strstr(err, "sgemm "));
	assert_non_null(strstr(err, "element"));
}

static void test_selftest_catches_ignored_beta(void **state)
{
	(void)state;
	expect_caught(&ignore_beta);
}

static void test_selftest_catches_wrong_transpose(void **state)
{
	(void)state;
	expect_caught(&flip_b);
}

static void test_selftest_catches_short_sum(void **state)
{
	(void)state;
	expect_caught(&drop_last_k);
}

static void test_selftest_catches_one_wrong_element(void **state)
{
	(void)state;
	expect_caught(&nudge_one);
}

static void test_selftest_catches_blocked_path_only(void **state)
{
	(void)state;
	/* A kernel wrong only beyond OpenBLAS's small-matrix sizes. */
	only_big = 1;
	expect_caught(&nudge_one);
	only_big = 0;
}

static void test_cpu_isa_is_consistent(void **state)
{
	(void)state;
	unsigned isa = im_blas_cpu_isa();
	/* AVX-512 implies AVX2. */
	if (isa & IM_BLAS_ISA_AVX512)
		assert_true(isa & IM_BLAS_ISA_AVX2);
}

static void test_small_kernels_follow_the_core(void **state)
{
	(void)state;
	/* The running core's answer, and stable while the process runs. */
	const char *c = openblas_get_corename();
	int want = c && (!strcasecmp(c, "SkylakeX") ||
			 !strcasecmp(c, "Cooperlake") ||
			 !strcasecmp(c, "SapphireRapids"));
	print_message("core %s: small kernels %d\n", c ? c : "?", want);
	assert_int_equal(im_blas_small_kernels(), want);
	assert_int_equal(im_blas_small_kernels(), want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_selftest_passes_openblas),
		cmocka_unit_test(test_selftest_catches_ignored_beta),
		cmocka_unit_test(test_selftest_catches_wrong_transpose),
		cmocka_unit_test(test_selftest_catches_short_sum),
		cmocka_unit_test(test_selftest_catches_one_wrong_element),
		cmocka_unit_test(test_selftest_catches_blocked_path_only),
		cmocka_unit_test(test_cpu_isa_is_consistent),
		cmocka_unit_test(test_small_kernels_follow_the_core),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
