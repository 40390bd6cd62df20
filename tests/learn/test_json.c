// SPDX-License-Identifier: Apache-2.0
/* The JSON reader accepts what RFC 8259 allows (as far as safetensors
 * headers need), refuses the rest with an offset, and round-trips what the
 * writer escapes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "err.h"
#include "learn/json.h"

static im_json *parse_ok(const char *s)
{
	im_json *v = NULL;
	char err[128] = "";
	int rc = im_json_parse(&v, s, strlen(s), err, sizeof(err));
	if (rc)
		fail_msg("refused %s: %s", s, err);
	return v;
}

static void test_values(void **state)
{
	(void)state;
	im_json *v = parse_ok(" {\"a\": [1, 2.5, -3e2, true, false, null],"
			      " \"b\": {\"c\": \"x\"}, \"n\": 18446744073709551615"
			      ", \"big\": 18446744073709551616} ");
	const im_json *a = im_json_get(v, "a");
	assert_non_null(a);
	assert_int_equal(a->type, IM_JSON_ARRAY);
	assert_int_equal(a->len, 6);
	assert_true(a->items[0]->is_uint && a->items[0]->uint == 1);
	assert_false(a->items[1]->is_uint);
	assert_true(a->items[1]->number == 2.5);
	assert_true(a->items[2]->number == -300.0 && !a->items[2]->is_uint);
	assert_true(a->items[3]->type == IM_JSON_BOOL && a->items[3]->boolean);
	assert_true(a->items[5]->type == IM_JSON_NULL);
	assert_string_equal(im_json_get(im_json_get(v, "b"), "c")->str, "x");
	const im_json *n = im_json_get(v, "n");
	assert_true(n->is_uint && n->uint == UINT64_MAX);
	assert_false(im_json_get(v, "big")->is_uint); /* does not fit */
	assert_null(im_json_get(v, "zz"));
	im_json_free(v);
}

static void test_string_escapes(void **state)
{
	(void)state;
	im_json *v = parse_ok("\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\ud83d\\ude00\"");
	assert_string_equal(v->str, "a\"b\\c/d\n\t\xc3\xa9\xf0\x9f\x98\x80");
	im_json_free(v);
}

static void test_refusals(void **state)
{
	(void)state;
	const char *bad[] = {
		"",
		" ",
		"{",
		"}",
		"[1,]",
		"{\"a\":1,}",
		"{\"a\" 1}",
		"{a:1}",
		"01",
		"1.",
		".5",
		"-",
		"1e",
		"+1",
		"0x10",
		"nul",
		"tru",
		"\"abc",
		"\"a\\qb\"",
		"\"\\u12\"",
		"\"\\ud800\"",
		"\"\\u0000\"",
		"\"tab\there\"",
		"{\"a\":1}x",
		"[1 2]",
		"{\"k\":1,\"k\":2}",
		"\"\\udc00\\ud800\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		im_json *v = (im_json *)&v;
		char err[128] = "";
		int rc = im_json_parse(&v, bad[i], strlen(bad[i]), err,
				       sizeof(err));
		if (rc != IM_EPROTO)
			fail_msg("accepted %s", bad[i]);
		assert_ptr_equal(v, (im_json *)&v); /* untouched */
		assert_non_null(strstr(err, "JSON at byte"));
	}
}

static void test_depth_limit(void **state)
{
	(void)state;
	char deep[200];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	im_json *v;
	assert_int_equal(im_json_parse(&v, deep, 200, NULL, 0), IM_EPROTO);
	v = parse_ok("[[[[[[[[[[1]]]]]]]]]]");
	im_json_free(v);
}

/* Embedded NUL bytes are data, not terminators: the length rules. */
static void test_length_not_nul(void **state)
{
	(void)state;
	im_json *v;
	assert_int_equal(im_json_parse(&v, "[1]\0junk", 8, NULL, 0), IM_EPROTO);
	assert_int_equal(im_json_parse(&v, "[1]\0junk", 3, NULL, 0), 0);
	im_json_free(v);
}

/* Memory held by a parsed tree grows with the text, not with the text
 * times the number of strings: a hostile header of many short strings
 * (a checkpoint's) must not hold a buffer of the remaining text per string.
 * Measured with glibc's allocator statistics; skipped elsewhere. */
static void test_many_strings_memory(void **state)
{
	(void)state;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
	enum { NS = 20000 };
	size_t len = 1 + 3 * (size_t)NS;
	char *text = malloc(len);
	assert_non_null(text);
	text[0] = '[';
	for (size_t i = 0; i < NS; i++)
		memcpy(text + 1 + 3 * i, "\"\",", 3);
	text[len - 1] = ']';
	struct mallinfo2 before = mallinfo2();
	im_json *v = NULL;
	assert_int_equal(im_json_parse(&v, text, len, NULL, 0), IM_OK);
	struct mallinfo2 after = mallinfo2();
	assert_int_equal(v->len, NS);
	size_t held = (after.uordblks + after.hblkhd) -
		      (before.uordblks + before.hblkhd);
	/* A node, its item pointer and a 1-byte string per element: well
	 * under 200 bytes each; the text-sized buffers were 30 KB each. */
	if (held > 200 * (size_t)NS)
		fail_msg("%zu bytes held for %d empty strings", held, NS);
	im_json_free(v);
	free(text);
#else
	skip();
#endif
}

static void test_writer_round_trip(void **state)
{
	(void)state;
	const char *s = "q\"uote\\ back\nnl \x01 ctl \xc3\xa9";
	im_json_buf b = {0};
	im_json_buf_cstr(&b, "{");
	im_json_buf_str(&b, s);
	im_json_buf_cstr(&b, ":");
	im_json_buf_u64(&b, UINT64_MAX);
	im_json_buf_cstr(&b, "}");
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, strlen(b.p));
	im_json *v = parse_ok(b.p);
	assert_int_equal(v->len, 1);
	assert_string_equal(v->keys[0], s);
	assert_true(v->items[0]->is_uint && v->items[0]->uint == UINT64_MAX);
	im_json_free(v);
	free(b.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_length_not_nul),
		cmocka_unit_test(test_many_strings_memory),
		cmocka_unit_test(test_writer_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
