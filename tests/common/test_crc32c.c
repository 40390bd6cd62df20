// SPDX-License-Identifier: Apache-2.0
/* CRC-32C: the table version gives the standard check values, and the
 * SSE4.2 version (where the CPU has it) agrees with it at every length
 * and alignment, so im_crc32c is the same function on every machine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "rng.h"

typedef uint32_t (*crc_fn)(const void *, size_t);

/* Check values: "123456789" (the CRC catalogue's), RFC 3720's 32 bytes
 * of zeros and of 0xff, and the empty input. */
static void check_known(crc_fn crc)
{
	uint8_t buf[32];
	assert_int_equal(crc("123456789", 9), 0xe3069283u);
	assert_int_equal(crc("", 0), 0u);
	memset(buf, 0, sizeof buf);
	assert_int_equal(crc(buf, sizeof buf), 0x8a9136aau);
	memset(buf, 0xff, sizeof buf);
	assert_int_equal(crc(buf, sizeof buf), 0x62a8ab43u);
}

static void test_table_known_values(void **state)
{
	(void)state;
	check_known(im_crc32c_table);
	check_known(im_crc32c);
}

static void test_hw_known_values(void **state)
{
	(void)state;
	if (!im_crc32c_hw_available())
		skip();
	check_known(im_crc32c_hw);
}

/* Every length 0..300 at each of 8 offsets, then a parameter arena's
 * size: the hardware version and the dispatcher equal the table. */
static void test_hw_agrees_with_table(void **state)
{
	(void)state;
	enum { N = 1 << 19 };
	uint8_t *buf = malloc(N + 8);
	assert_non_null(buf);
	im_rng r;
	im_rng_init(&r, 5);
	for (size_t i = 0; i < N + 8; i++)
		buf[i] = (uint8_t)im_rng_below(&r, 256);
	int hw = im_crc32c_hw_available();
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 300; len++) {
			uint32_t want = im_crc32c_table(buf + off, len);
			assert_int_equal(im_crc32c(buf + off, len), want);
			if (hw)
				assert_int_equal(im_crc32c_hw(buf + off, len), want);
		}
	uint32_t want = im_crc32c_table(buf + 3, N);
	assert_int_equal(im_crc32c(buf + 3, N), want);
	if (hw)
		assert_int_equal(im_crc32c_hw(buf + 3, N), want);
	/* One flipped bit anywhere changes it. */
	buf[3 + N / 2] ^= 0x10;
	assert_true(im_crc32c(buf + 3, N) != want);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_known_values),
		cmocka_unit_test(test_hw_known_values),
		cmocka_unit_test(test_hw_agrees_with_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
