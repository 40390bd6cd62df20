/* common/blas: the --blas-core decision for every kind of CPU, running core
 * and environment, and the sgemm self-test against OpenBLAS and against
 * deliberately broken products. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "blas.h"
#include "err.h"

enum {
	AVX2 = IM_BLAS_ISA_AVX | IM_BLAS_ISA_AVX2,
	AVX512 = AVX2 | IM_BLAS_ISA_AVX512,
	BF16 = AVX512 | IM_BLAS_ISA_BF16,
};

typedef struct decide_case {
	const char *what;
	im_blas_state st;
	int rc;
	const char *restart_with; /* NULL: no restart */
	int chosen_by_auto;
	const char *in_text;      /* in why (IM_OK) or err (failure) */
	int warn;
} decide_case;

static const decide_case decide_cases[] = {
	{"auto replaces Prescott by SkylakeX on AVX-512",
	 {"auto", NULL, NULL, NULL, "Prescott", AVX512}, IM_OK, "SkylakeX", 1,
	 "OpenBLAS chose Prescott, a generic core", 0},
	{"auto is the default mode",
	 {NULL, NULL, NULL, NULL, "Prescott", AVX512}, IM_OK, "SkylakeX", 1,
	 "restarting with OPENBLAS_CORETYPE=SkylakeX", 0},
	{"auto replaces Prescott by Haswell on AVX2 only",
	 {"auto", NULL, NULL, NULL, "Prescott", AVX2}, IM_OK, "Haswell", 1,
	 "Haswell", 0},
	{"auto replaces Nehalem and Sandybridge too",
	 {"AUTO", NULL, NULL, NULL, "Sandybridge", AVX2}, IM_OK, "Haswell",
	 1, "Sandybridge", 0},
	{"auto keeps a generic core on a CPU without AVX2",
	 {"auto", NULL, NULL, NULL, "Prescott", IM_BLAS_ISA_AVX}, IM_OK, NULL,
	 0, "Prescott, OpenBLAS's own choice", 0},
	{"auto keeps OpenBLAS's AVX2 choice on an AVX-512 CPU",
	 {"auto", NULL, NULL, NULL, "Haswell", AVX512}, IM_OK, NULL, 0,
	 "Haswell, OpenBLAS's own choice", 0},
	{"auto keeps Zen",
	 {"auto", NULL, NULL, NULL, "Zen", AVX2}, IM_OK, NULL, 0, "Zen", 0},
	{"auto keeps Cooperlake",
	 {"auto", NULL, NULL, NULL, "Cooperlake", BF16}, IM_OK, NULL, 0,
	 "Cooperlake", 0},
	{"auto respects OPENBLAS_CORETYPE from the environment",
	 {"auto", "Prescott", NULL, NULL, "Prescott", AVX512}, IM_OK, NULL, 0,
	 "Prescott, from OPENBLAS_CORETYPE=Prescott", 0},
	{"after auto's restart: no second restart, the choice is auto's",
	 {"auto", "SkylakeX", "Prescott", NULL, "SkylakeX", AVX512}, IM_OK,
	 NULL, 1, "chosen by --blas-core auto: OpenBLAS had chosen Prescott", 0},
	{"after auto's core failed the self-test: OpenBLAS's own, for good",
	 {"auto", NULL, NULL, "SkylakeX", "Prescott", AVX512}, IM_OK, NULL, 0,
	 "auto's SkylakeX failed the sgemm self-test", 1},
	{"a stale failure marker does not hide the user's OPENBLAS_CORETYPE",
	 {"auto", "Haswell", NULL, "SkylakeX", "Haswell", AVX512}, IM_OK, NULL,
	 0, "Haswell, from OPENBLAS_CORETYPE=Haswell", 0},
	{"an OPENBLAS_CORETYPE this CPU cannot run is refused",
	 {"auto", "SkylakeX", NULL, NULL, "SkylakeX", AVX2}, IM_EINVAL, NULL,
	 0, "OPENBLAS_CORETYPE=SkylakeX: this CPU lacks the instructions it "
	 "needs (AVX-512)", 0},
	{"an OPENBLAS_CORETYPE OpenBLAS did not take is worth a warning",
	 {"auto", "Bogus", NULL, NULL, "Cooperlake", BF16}, IM_OK, NULL, 0,
	 "from OPENBLAS_CORETYPE=Bogus (OpenBLAS did not take that name)", 1},
	{"openblas never restarts, but warns of a generic core",
	 {"openblas", NULL, NULL, NULL, "Prescott", AVX512}, IM_OK, NULL, 0,
	 "Prescott, OpenBLAS's own choice (a generic core", 1},
	{"openblas on a CPU without AVX2: nothing better, no warning",
	 {"openblas", NULL, NULL, NULL, "Prescott", IM_BLAS_ISA_AVX}, IM_OK,
	 NULL, 0, "Prescott, OpenBLAS's own choice", 0},
	{"openblas names the variable it followed",
	 {"OpenBLAS", "Haswell", NULL, NULL, "Haswell", AVX512}, IM_OK, NULL,
	 0, "from OPENBLAS_CORETYPE=Haswell", 0},
	{"a named core restarts with it (any case)",
	 {"haswell", NULL, NULL, NULL, "Prescott", AVX512}, IM_OK, "Haswell",
	 0, "--blas-core", 0},
	{"a named core overrides the environment's",
	 {"Haswell", "SkylakeX", NULL, NULL, "SkylakeX", AVX512}, IM_OK,
	 "Haswell", 0, "Haswell", 0},
	{"a named core already applied: no second restart",
	 {"Haswell", "HASWELL", NULL, NULL, "Haswell", AVX512}, IM_OK, NULL, 0,
	 "Haswell, from --blas-core Haswell", 0},
	{"a named core OpenBLAS did not take is worth a warning",
	 {"Zen", "Zen", NULL, NULL, "Haswell", AVX512}, IM_OK, NULL, 0,
	 "Haswell, from --blas-core Zen (OpenBLAS did not take it)", 1},
	{"a named core the CPU cannot run is refused",
	 {"SkylakeX", NULL, NULL, NULL, "Haswell", AVX2}, IM_EINVAL, NULL, 0,
	 "lacks the instructions it needs (AVX-512)", 0},
	{"Cooperlake needs AVX512_BF16",
	 {"Cooperlake", NULL, NULL, NULL, "SkylakeX", AVX512}, IM_EINVAL, NULL,
	 0, "AVX512_BF16", 0},
	{"Haswell needs AVX2",
	 {"Haswell", NULL, NULL, NULL, "Prescott", IM_BLAS_ISA_AVX}, IM_EINVAL,
	 NULL, 0, "AVX2 and FMA", 0},
	{"an unknown name is refused with the list",
	 {"Skylake", NULL, NULL, NULL, "Prescott", AVX512}, IM_EINVAL, NULL, 0,
	 "'Skylake' is not auto, openblas, Prescott", 0},
	{"no running core name is OpenBLAS's 'unknown', a generic core",
	 {"auto", NULL, NULL, NULL, NULL, AVX512}, IM_OK, "SkylakeX", 1,
	 "OpenBLAS chose unknown", 0},
};

static void test_decide(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof decide_cases / sizeof decide_cases[0]; i++) {
		const decide_case *c = &decide_cases[i];
		im_blas_plan p;
		char err[256] = "";
		int rc = im_blas_decide(&p, &c->st, err, sizeof err);
		print_message("%s: rc %d, restart %s, why '%s', err '%s'\n", c->what,
			      rc, rc == IM_OK && p.restart_with ? p.restart_with : "-",
			      rc == IM_OK ? p.why : "", err);
		assert_int_equal(rc, c->rc);
		if (rc) {
			assert_non_null(strstr(err, c->in_text));
			continue;
		}
		if (c->restart_with)
			assert_string_equal(p.restart_with, c->restart_with);
		else
			assert_null(p.restart_with);
		assert_int_equal(p.chosen_by_auto, c->chosen_by_auto);
		assert_int_equal(p.warn, c->warn);
		assert_non_null(strstr(p.why, c->in_text));
	}
}

static void test_core_names_are_decidable(void **state)
{
	(void)state;
	/* Every advertised name is accepted on a CPU that has everything. */
	const char *name;
	for (size_t i = 0; (name = im_blas_core_name(i)); i++) {
		im_blas_state st = {name, NULL, NULL, NULL,
				    "Prescott", BF16};
		im_blas_plan p;
		char err[256];
		assert_int_equal(im_blas_decide(&p, &st, err, sizeof err), IM_OK);
		assert_string_equal(p.restart_with, name);
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
	/* Each level implies the ones below it. */
	if (isa & IM_BLAS_ISA_BF16)
		assert_true(isa & IM_BLAS_ISA_AVX512);
	if (isa & IM_BLAS_ISA_AVX512)
		assert_true(isa & IM_BLAS_ISA_AVX2);
	if (isa & IM_BLAS_ISA_AVX2)
		assert_true(isa & IM_BLAS_ISA_AVX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_core_names_are_decidable),
		cmocka_unit_test(test_selftest_passes_openblas),
		cmocka_unit_test(test_selftest_catches_ignored_beta),
		cmocka_unit_test(test_selftest_catches_wrong_transpose),
		cmocka_unit_test(test_selftest_catches_short_sum),
		cmocka_unit_test(test_selftest_catches_one_wrong_element),
		cmocka_unit_test(test_selftest_catches_blocked_path_only),
		cmocka_unit_test(test_cpu_isa_is_consistent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
