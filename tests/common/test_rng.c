// SPDX-License-Identifier: Apache-2.0
/* The PRNG is deterministic under a seed, its split streams are independent
 * of each other and of the parent's consumption, and its distributions have
 * the right moments. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "rng.h"

static void test_same_seed_same_stream(void **state)
{
	(void)state;
	im_rng a, b, c;
	im_rng_init(&a, 42);
	im_rng_init(&b, 42);
	im_rng_init(&c, 43);
	int differs = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = im_rng_u64(&a);
		assert_int_equal(x, im_rng_u64(&b));
		differs += x != im_rng_u64(&c);
	}
	assert_true(differs > 990);
}

static void test_split_is_independent_of_parent_use(void **state)
{
	(void)state;
	im_rng p1, p2, c1, c2, c3;
	im_rng_init(&p1, 7);
	im_rng_init(&p2, 7);
	for (int i = 0; i < 100; i++)
		im_rng_u64(&p2);
	im_rng_split(&c1, &p1, 3);
	im_rng_split(&c2, &p2, 3);
	im_rng_split(&c3, &p1, 4);
	int same34 = 0;
	for (int i = 0; i < 100; i++) {
		uint64_t x = im_rng_u64(&c1);
		assert_int_equal(x, im_rng_u64(&c2));
		same34 += x == im_rng_u64(&c3);
	}
	assert_int_equal(same34, 0);
}

static void test_nested_splits_differ(void **state)
{
	(void)state;
	/* actor 1 env 2 must not equal actor 2 env 1, nor the run stream. */
	im_rng run, a1, a2, e12, e21;
	im_rng_init(&run, 1);
	im_rng_split(&a1, &run, 1);
	im_rng_split(&a2, &run, 2);
	im_rng_split(&e12, &a1, 2);
	im_rng_split(&e21, &a2, 1);
	assert_true(im_rng_u64(&e12) != im_rng_u64(&e21));
	assert_true(e12.key != run.key && e12.key != a1.key);
}

static void test_moments(void **state)
{
	(void)state;
	im_rng r;
	im_rng_init(&r, 99);
	const int n = 200000;
	double su = 0, sn = 0, sn2 = 0;
	int counts[5] = {0};
	for (int i = 0; i < n; i++) {
		float u = im_rng_float(&r);
		assert_true(u >= 0.0f && u < 1.0f);
		su += u;
		double z = im_rng_normal(&r);
		sn += z;
		sn2 += z * z;
		counts[im_rng_below(&r, 5)]++;
		float v = im_rng_uniform(&r, -0.05f, 0.05f);
		assert_true(v >= -0.05f && v < 0.05f);
	}
	/* Bounds are about six standard errors wide. */
	assert_true(fabs(su / n - 0.5) < 6 * sqrt(1.0 / 12 / n));
	assert_true(fabs(sn / n) < 6 / sqrt(n));
	assert_true(fabs(sn2 / n - 1.0) < 6 * sqrt(2.0 / n));
	for (int k = 0; k < 5; k++)
		assert_true(fabs(counts[k] - n / 5.0) < 6 * sqrt(n * 0.16));
}

static void test_entropy_ids_differ(void **state)
{
	(void)state;
	/* Run and actor ids: never zero, and two draws collide with
	 * probability 2^-64. */
	uint64_t a = im_rng_entropy(), b = im_rng_entropy();
	assert_true(a != 0 && b != 0);
	assert_true(a != b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_same_stream),
		cmocka_unit_test(test_split_is_independent_of_parent_use),
		cmocka_unit_test(test_nested_splits_differ),
		cmocka_unit_test(test_moments),
		cmocka_unit_test(test_entropy_ids_differ),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
