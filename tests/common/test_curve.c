// SPDX-License-Identifier: Apache-2.0
/* CURVE key files (common/curve.h): what a valid file is, and that every
 * way of getting one wrong is refused with a reason naming the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "curve.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/impala-curve-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes len bytes of text to dir/name; returns the path (static). */
static const char *put(const char *name, const char *text, size_t len)
{
	static char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	return path;
}

static void keypair(char *pub, char *sec)
{
	assert_int_equal(zmq_curve_keypair(pub, sec), 0);
}

static void test_valid_files(void **state)
{
	(void)state;
	char pub[41], sec[41], got[41], text[200], err[256];
	keypair(pub, sec);
	/* A comment, CRLF line ends, surrounding blanks and blank lines. */
	int n = snprintf(text, sizeof text, "# actor host 3\r\n\r\n  %s \r\n\n", pub);
	const char *p = put("a.pub", text, (size_t)n);
	assert_int_equal(im_curve_read_key(p, got, err, sizeof err), IM_OK);
	assert_string_equal(got, pub);
	/* A bare key without a newline. */
	p = put("b.key", sec, 40);
	assert_int_equal(im_curve_read_key(p, got, err, sizeof err), IM_OK);
	assert_string_equal(got, sec);
	/* The public key derived from the secret one is zmq's own. */
	char derived[41];
	assert_int_equal(im_curve_public_of(sec, derived), IM_OK);
	assert_string_equal(derived, pub);
	uint8_t raw[32], raw2[32];
	assert_int_equal(im_curve_decode(pub, raw), IM_OK);
	assert_non_null(zmq_z85_decode(raw2, pub));
	assert_memory_equal(raw, raw2, 32);
}

typedef struct bad_case {
	const char *name;
	const char *text;
	size_t len; /* 0: strlen(text) */
	int rc;
	const char *says; /* part of the reason */
} bad_case;

static void test_bad_files(void **state)
{
	(void)state;
	static const char z40[] = "0123456789abcdefghijABCDEFGHIJ.-:+=^!/*?";
	char two[200];
	snprintf(two, sizeof two, "%s\n%s\n", z40, z40);
	const bad_case cases[] = {
		{"short", "0123456789abcdefghijABCDEFGHIJ.-:+=^!/*\n", 0, IM_EINVAL, "found 39"},
		{"long", "0123456789abcdefghijABCDEFGHIJ.-:+=^!/*?0\n", 0, IM_EINVAL, "found 41"},
		{"quote", "0123456789abcdefghijABCDEFGHIJ.-:+=^!/*\"\n", 0, IM_EINVAL, "Z85 alphabet"},
		{"comma", "0123456789abcdefghij,BCDEFGHIJ.-:+=^!/*?\n", 0, IM_EINVAL, "Z85 alphabet"},
		/* Right alphabet, but "#####" is above 2^32 - 1. */
		{"overflow", "01234#####abcdefghijABCDEFGHIJ.-:+=^!/*?\n", 0, IM_EINVAL, "Z85"},
		{"two", two, 0, IM_EINVAL, "more than one key"},
		{"empty", "", 0, IM_EINVAL, "no key"},
		{"comments", "# nothing here\n\n", 0, IM_EINVAL, "no key"},
		{"binary", "0123456789abcdefghij\0BCDEFGHIJ.-:+=^!/*?", 40, IM_EINVAL, "binary"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const bad_case *c = &cases[i];
		const char *p = put(c->name, c->text, c->len ? c->len : strlen(c->text));
		char got[41] = "untouched", err[256] = "";
		int rc = im_curve_read_key(p, got, err, sizeof err);
		if (rc != c->rc || !strstr(err, c->says) || !strstr(err, p))
			fail_msg("case %s: rc %d, reason '%s'", c->name, rc, err);
		assert_string_equal(got, "untouched");
	}
	char got[41], err[256];
	char missing[128];
	snprintf(missing, sizeof missing, "%s/nope.key", dir);
	assert_int_equal(im_curve_read_key(missing, got, err, sizeof err), IM_ENOENT);
	assert_non_null(strstr(err, missing));
	assert_int_equal(im_curve_read_key(dir, got, err, sizeof err) < 0, 1);
	assert_int_equal(im_curve_public_of("short", got), IM_EINVAL);
}

static void test_write_key(void **state)
{
	(void)state;
	char pub[41], sec[41], got[41], err[256], path[128];
	keypair(pub, sec);
	snprintf(path, sizeof path, "%s/w.key", dir);
	mode_t old = umask(0);
	assert_int_equal(im_curve_write_key(path, sec, "secret of w", 0600), IM_OK);
	umask(old);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(im_curve_read_key(path, got, err, sizeof err), IM_OK);
	assert_string_equal(got, sec);
	/* Never overwritten: the second write fails and the first key stays. */
	assert_int_equal(im_curve_write_key(path, pub, NULL, 0600), IM_ESYS);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(im_curve_read_key(path, got, err, sizeof err), IM_OK);
	assert_string_equal(got, sec);
	/* A umask never widens or narrows what was asked for. */
	snprintf(path, sizeof path, "%s/w.pub", dir);
	old = umask(0077);
	assert_int_equal(im_curve_write_key(path, pub, NULL, 0644), IM_OK);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
}

int main(void)
{
	if (!zmq_has("curve")) {
		fprintf(stderr, "libzmq without CURVE: skipped\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_files),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_write_key),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
