// SPDX-License-Identifier: Apache-2.0
/* The image encoders' flatten in blocks (common/nn/flatten.c) against its
 * element loops, bit for bit: HWC to CHW with and without the ReLU, and
 * back with and without the mask, over shapes that take the 4 x 4 blocks
 * (minatar's 64 pixels by 16 channels among them) and shapes that do
 * not, on values that include NaN, -0, +0 and negatives. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/internal.h"

typedef struct flatten_case {
	const char *name;
	int HW, C;
} flatten_case;

static const flatten_case CASES[] = {
	{"minatar: 8x8 pixels, 16 channels (blocks)", 64, 16},
	{"one block", 4, 4},
	{"more channels than pixels (blocks)", 8, 12},
	{"nature: 7x7 pixels, 64 channels (elements)", 49, 64},
	{"channels not a multiple of 4 (elements)", 16, 6},
	{"one pixel (elements)", 1, 3},
};

/* Element i: a NaN, -0, +0, a negative or a positive value in turn. */
static float value(size_t i)
{
	switch (i % 5) {
	case 0: return NAN;
	case 1: return -0.0f;
	case 2: return 0.0f;
	case 3: return -0.25f * (float)(i % 7 + 1);
	default: return 0.5f * (float)(i % 11 + 1);
	}
}

static float *filled(size_t n, size_t shift)
{
	float *x = malloc(n * sizeof(float));
	assert_non_null(x);
	for (size_t i = 0; i < n; i++)
		x[i] = value(i + shift);
	return x;
}

static void check_case(const flatten_case *c)
{
	size_t n = (size_t)c->HW * c->C;
	float *src = filled(n, 0), *mask = filled(n, 2);
	float *fast = filled(n, 1), *ref = filled(n, 1);
	for (int relu = 0; relu < 2; relu++) {
		im_nni_hwc_to_chw(fast, src, c->HW, c->C, relu);
		im_nni_hwc_to_chw_naive(ref, src, c->HW, c->C, relu);
		assert_memory_equal(fast, ref, n * sizeof(float));
	}
	for (int masked = 0; masked < 2; masked++) {
		const float *m = masked ? mask : NULL;
		im_nni_chw_to_hwc(fast, src, m, c->HW, c->C);
		im_nni_chw_to_hwc_naive(ref, src, m, c->HW, c->C);
		assert_memory_equal(fast, ref, n * sizeof(float));
	}
	/* The reference itself: element (hw, c) goes to (c, hw). */
	im_nni_hwc_to_chw_naive(ref, src, c->HW, c->C, 0);
	size_t hw = (size_t)c->HW - 1, ch = (size_t)c->C - 1;
	assert_memory_equal(&ref[ch * c->HW + hw], &src[hw * c->C + ch],
			    sizeof(float));
	free(src), free(mask), free(fast), free(ref);
}

static void test_blocks_match_elements(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
		print_message("case: %s\n", CASES[i].name);
		check_case(&CASES[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks_match_elements),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
