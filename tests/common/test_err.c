// SPDX-License-Identifier: Apache-2.0
/* Every error code has a distinct name and a message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "err.h"

static void test_every_code_has_text(void **state)
{
	(void)state;
	for (int rc = -1; rc > -IM_ERR_INDEX_COUNT_; rc--) {
		assert_string_not_equal(im_strerror(rc), "unknown error");
		assert_string_not_equal(im_err_name(rc), "IM_E?");
		for (int other = rc - 1; other > -IM_ERR_INDEX_COUNT_; other--)
			assert_string_not_equal(im_err_name(rc),
						im_err_name(other));
	}
}

static void test_known_codes(void **state)
{
	(void)state;
	assert_string_equal(im_err_name(IM_EPROTO), "IM_EPROTO");
	assert_string_equal(im_strerror(IM_EPROTO), "malformed message");
	assert_string_equal(im_strerror(IM_OK), "success");
	assert_true(IM_EINVAL < 0);
}

static void test_unknown_codes(void **state)
{
	(void)state;
	assert_string_equal(im_strerror(1), "unknown error");
	assert_string_equal(im_strerror(-100000), "unknown error");
	assert_string_equal(im_err_name(-100000), "IM_E?");
}

static void test_errf(void **state)
{
	(void)state;
	char buf[8];
	assert_int_equal(im_errf(buf, sizeof buf, IM_EINVAL, "x=%d", 42), IM_EINVAL);
	assert_string_equal(buf, "x=42");
	/* Truncated and terminated. */
	assert_int_equal(im_errf(buf, sizeof buf, IM_ERANGE, "%s", "abcdefghij"), IM_ERANGE);
	assert_string_equal(buf, "abcdefg");
	/* No buffer: only the code. */
	assert_int_equal(im_errf(NULL, 0, IM_EIO, "ignored %d", 1), IM_EIO);
	buf[0] = 'q';
	assert_int_equal(im_errf(buf, 0, IM_OK, "ignored"), IM_OK);
	assert_int_equal(buf[0], 'q');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_has_text),
		cmocka_unit_test(test_known_codes),
		cmocka_unit_test(test_unknown_codes),
		cmocka_unit_test(test_errf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
