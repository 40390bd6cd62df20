// SPDX-License-Identifier: Apache-2.0
/* The ZMTP 3.x NULL server side (common/zmtp.c): a table of peer byte
 * streams, each fed whole, split in two at every byte boundary, and one
 * byte at a time; every way must give the same frames, the same final
 * code and the same output.  Plus our own greeting and READY, byte for
 * byte, and a callback that stops the feed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "zmtp.h"

#define MAX_FRAME 1024
#define MAX_IN 8192
#define MAX_FRAMES 8

/* ---- building a peer's bytes ---- */

typedef struct bytes {
	uint8_t b[MAX_IN];
	size_t n;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
	assert_true(b->n + n <= MAX_IN);
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put_u8(bytes *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put_be(bytes *b, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--)
		put_u8(b, (uint8_t)(v >> (8 * i)));
}

/* A greeting with the given version and mechanism. */
static void greeting_v(bytes *b, uint8_t major, uint8_t minor, const char *mech)
{
	uint8_t g[64] = {0};
	g[0] = 0xff;
	g[9] = 0x7f;
	g[10] = major;
	g[11] = minor;
	memcpy(g + 12, mech, strlen(mech));
	put(b, g, sizeof g);
}

static void greeting(bytes *b)
{
	greeting_v(b, 3, 1, "NULL");
}

/* A frame header: flags (LONG added when long_form) and size. */
static void header(bytes *b, uint8_t flags, uint64_t size, int long_form)
{
	if (long_form) {
		put_u8(b, flags | 0x02);
		put_be(b, size, 8);
	} else {
		put_u8(b, flags);
		put_u8(b, (uint8_t)size);
	}
}

static void frame(bytes *b, uint8_t flags, const void *p, size_t n)
{
	header(b, flags, n, n > 255);
	put(b, p, n);
}

/* A command: name and body (short or long form by size). */
static void command(bytes *b, const char *name, const void *body, size_t n)
{
	size_t nl = strlen(name);
	header(b, 0x04, 1 + nl + n, 1 + nl + n > 255);
	put_u8(b, (uint8_t)nl);
	put(b, name, nl);
	put(b, body, n);
}

/* READY with properties given as name, value pairs (NULL-terminated). */
static void ready_props(bytes *b, const char *const *props)
{
	bytes body = {.n = 0};
	for (size_t i = 0; props[i]; i += 2) {
		put_u8(&body, (uint8_t)strlen(props[i]));
		put(&body, props[i], strlen(props[i]));
		put_be(&body, strlen(props[i + 1]), 4);
		put(&body, props[i + 1], strlen(props[i + 1]));
	}
	command(b, "READY", body.b, body.n);
}

static void ready(bytes *b)
{
	static const char *const p[] = {"Socket-Type", "PUSH", NULL};
	ready_props(b, p);
}

static void handshake(bytes *b)
{
	greeting(b);
	ready(b);
}

static const uint8_t ping_body[] = {0, 10, 'c', 't', 'x'};

/* ---- the cases ---- */

typedef struct expect_frame {
	size_t len;
	int more;
	uint8_t first; /* its first byte (when len > 0) */
} expect_frame;

typedef struct zmtp_case {
	const char *name;
	void (*build)(bytes *b);
	int rc;    /* the final code */
	int ready; /* READY accepted */
	size_t nframes;
	expect_frame frames[MAX_FRAMES];
	uint64_t partial; /* bytes of an incomplete frame at the end */
} zmtp_case;

static void filled(bytes *b, uint8_t flags, uint8_t first, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(first + i);
	frame(b, flags, p, n);
	free(p);
}

static void b_short(bytes *b)
{
	handshake(b);
	frame(b, 0, "hello", 5);
}
static void b_long(bytes *b)
{
	handshake(b);
	filled(b, 0, 7, 1000);
}
static void b_long_form_small(bytes *b)
{
	handshake(b);
	header(b, 0, 3, 1);
	put(b, "abc", 3);
}
static void b_multipart(bytes *b)
{
	handshake(b);
	frame(b, 0x01, "a", 1);
	frame(b, 0, "bc", 2);
}
static void b_empty(bytes *b)
{
	handshake(b);
	frame(b, 0, "", 0);
	frame(b, 0, "z", 1);
}
static void b_commands_skipped(bytes *b)
{
	handshake(b);
	frame(b, 0, "x", 1);
	command(b, "PING", ping_body, sizeof ping_body);
	command(b, "PONG", "ctx", 3);
	uint8_t big[600];
	memset(big, 0xaa, sizeof big);
	command(b, "WHATEVER", big, sizeof big); /* long form, never stored */
	command(b, "READY", "", 0);              /* a second READY: ignored */
	frame(b, 0, "y", 1);
}
static void b_version_30(bytes *b)
{
	greeting_v(b, 3, 0, "NULL");
	ready(b);
	frame(b, 0, "q", 1);
}
static void b_newer_minor(bytes *b)
{
	greeting_v(b, 3, 9, "NULL");
	ready(b);
	frame(b, 0, "q", 1);
}
static void b_extra_props(bytes *b)
{
	static const char *const p[] = {"Identity", "", "X-Custom", "v",
					"socket-type", "PUSH", NULL};
	greeting(b);
	ready_props(b, p);
	frame(b, 0, "q", 1);
}
static void b_at_max(bytes *b)
{
	handshake(b);
	filled(b, 0, 1, MAX_FRAME);
}
static void b_over_max(bytes *b)
{
	handshake(b);
	filled(b, 0, 1, MAX_FRAME + 1);
}
static void b_huge_size(bytes *b)
{
	handshake(b);
	header(b, 0, UINT64_MAX, 1);
}
static void b_http(bytes *b)
{
	put(b, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
}
static void b_bad_byte9(bytes *b)
{
	greeting(b);
	b->b[9] = 0x00;
}
static void b_zmtp2(bytes *b)
{
	greeting_v(b, 1, 0, "NULL");
}
static void b_plain(bytes *b)
{
	greeting_v(b, 3, 1, "PLAIN");
}
static void b_curve(bytes *b)
{
	greeting_v(b, 3, 1, "CURVE");
}
static void b_null_suffix(bytes *b)
{
	greeting_v(b, 3, 1, "NULLX");
}
static void b_wrong_type(bytes *b)
{
	static const char *const p[] = {"Socket-Type", "PUB", NULL};
	greeting(b);
	ready_props(b, p);
}
static void b_type_prefix(bytes *b)
{
	static const char *const p[] = {"Socket-Type", "PUSHX", NULL};
	greeting(b);
	ready_props(b, p);
}
static void b_no_type(bytes *b)
{
	static const char *const p[] = {"Identity", "abc", NULL};
	greeting(b);
	ready_props(b, p);
}
static void b_msg_before_ready(bytes *b)
{
	greeting(b);
	frame(b, 0, "hello", 5);
}
static void b_error_cmd(bytes *b)
{
	greeting(b);
	command(b, "ERROR", "\x03"
			    "bad",
		4);
}
static void b_ping_first(bytes *b)
{
	greeting(b);
	command(b, "PING", ping_body, sizeof ping_body);
}
static void b_empty_command(bytes *b)
{
	greeting(b);
	header(b, 0x04, 0, 0);
}
static void b_cmd_more(bytes *b)
{
	handshake(b);
	header(b, 0x05, 6, 0);
	put(b, "\x04PING\0", 6);
}
static void b_reserved(bytes *b)
{
	handshake(b);
	frame(b, 0, "ok", 2);
	frame(b, 0x08, "no", 2);
}
static void b_bad_prop_len(bytes *b)
{
	greeting(b);
	/* Socket-Type whose value claims 200 bytes of a 4-byte rest. */
	bytes body = {.n = 0};
	put_u8(&body, 11);
	put(&body, "Socket-Type", 11);
	put_be(&body, 200, 4);
	put(&body, "PUSH", 4);
	command(b, "READY", body.b, body.n);
}
static void b_name_past_end(bytes *b)
{
	greeting(b);
	header(b, 0x04, 3, 0);
	put(b, "\x09"
	       "RE",
	    3);
}
static void b_ready_too_big(bytes *b)
{
	greeting(b);
	header(b, 0x04, IM_ZMTP_MAX_COMMAND + 1, 1);
}
static void b_truncated(bytes *b)
{
	handshake(b);
	frame(b, 0, "a", 1);
	header(b, 0, 100, 0);
	put(b, "0123456789", 10);
}
static void b_garbage_after(bytes *b)
{
	handshake(b);
	frame(b, 0, "a", 1);
	put(b, "\xff\xff\xff", 3);
}

static const zmtp_case cases[] = {
	{"short frame", b_short, IM_OK, 1, 1, {{5, 0, 'h'}}, 0},
	{"long frame", b_long, IM_OK, 1, 1, {{1000, 0, 7}}, 0},
	{"long form of a small size", b_long_form_small, IM_OK, 1, 1, {{3, 0, 'a'}}, 0},
	{"multi-part: each part on its own", b_multipart, IM_OK, 1, 2, {{1, 1, 'a'}, {2, 0, 'b'}}, 0},
	{"empty frame", b_empty, IM_OK, 1, 2, {{0, 0, 0}, {1, 0, 'z'}}, 0},
	{"commands after READY skipped", b_commands_skipped, IM_OK, 1, 2, {{1, 0, 'x'}, {1, 0, 'y'}}, 0},
	{"ZMTP 3.0 peer", b_version_30, IM_OK, 1, 1, {{1, 0, 'q'}}, 0},
	{"ZMTP 3.9 peer", b_newer_minor, IM_OK, 1, 1, {{1, 0, 'q'}}, 0},
	{"other properties, name case", b_extra_props, IM_OK, 1, 1, {{1, 0, 'q'}}, 0},
	{"frame at the limit", b_at_max, IM_OK, 1, 1, {{MAX_FRAME, 0, 1}}, 0},
	{"frame over the limit", b_over_max, IM_ETOOBIG, 1, 0, {{0}}, 0},
	{"size 2^64-1", b_huge_size, IM_ETOOBIG, 1, 0, {{0}}, 0},
	{"HTTP request", b_http, IM_EPROTO, 0, 0, {{0}}, 0},
	{"signature byte 9", b_bad_byte9, IM_EPROTO, 0, 0, {{0}}, 0},
	{"ZMTP 1.0 version", b_zmtp2, IM_EVERSION, 0, 0, {{0}}, 0},
	{"PLAIN mechanism", b_plain, IM_EPROTO, 0, 0, {{0}}, 0},
	{"CURVE mechanism", b_curve, IM_EPROTO, 0, 0, {{0}}, 0},
	{"mechanism NULLX", b_null_suffix, IM_EPROTO, 0, 0, {{0}}, 0},
	{"socket type PUB", b_wrong_type, IM_EPROTO, 0, 0, {{0}}, 0},
	{"socket type PUSHX", b_type_prefix, IM_EPROTO, 0, 0, {{0}}, 0},
	{"READY without Socket-Type", b_no_type, IM_EPROTO, 0, 0, {{0}}, 0},
	{"message before READY", b_msg_before_ready, IM_EPROTO, 0, 0, {{0}}, 0},
	{"ERROR instead of READY", b_error_cmd, IM_EPROTO, 0, 0, {{0}}, 0},
	{"PING instead of READY", b_ping_first, IM_EPROTO, 0, 0, {{0}}, 0},
	{"empty command before READY", b_empty_command, IM_EPROTO, 0, 0, {{0}}, 0},
	{"command with MORE", b_cmd_more, IM_EPROTO, 1, 0, {{0}}, 0},
	{"reserved flag bits", b_reserved, IM_EPROTO, 1, 1, {{2, 0, 'o'}}, 0},
	{"property length past the end", b_bad_prop_len, IM_EPROTO, 0, 0, {{0}}, 0},
	{"command name past the end", b_name_past_end, IM_EPROTO, 0, 0, {{0}}, 0},
	{"handshake command too large", b_ready_too_big, IM_ETOOBIG, 0, 0, {{0}}, 0},
	{"truncated frame", b_truncated, IM_OK, 1, 1, {{1, 0, 'a'}}, 10},
	{"garbage after a frame", b_garbage_after, IM_EPROTO, 1, 1, {{1, 0, 'a'}}, 0},
};

/* ---- running a case ---- */

typedef struct seen {
	size_t n;
	expect_frame f[MAX_FRAMES];
	uint8_t sum; /* of every byte of every frame */
} seen;

static int on_frame(void *ctx, const uint8_t *data, size_t len, int more)
{
	seen *s = ctx;
	assert_true(s->n < MAX_FRAMES);
	s->f[s->n++] = (expect_frame){len, more, len ? data[0] : 0};
	for (size_t i = 0; i < len; i++)
		s->sum = (uint8_t)(s->sum + data[i]);
	return 0;
}

/* Feeds in in pieces of at most chunk bytes (the first piece cut at
 * split when split > 0); returns the last code. */
static int run(const bytes *in, size_t split, size_t chunk, seen *s,
	       uint64_t *partial, int *ready)
{
	im_zmtp *z = NULL;
	im_zmtp_opts o = {.socket_type = "PULL", .peer_type = "PUSH", .max_frame = MAX_FRAME};
	assert_int_equal(im_zmtp_new(&z, &o), IM_OK);
	memset(s, 0, sizeof *s);
	int rc = IM_OK;
	size_t pos = 0;
	while (pos < in->n && rc == IM_OK) {
		size_t n = split ? split : chunk;
		split = 0;
		if (n > in->n - pos)
			n = in->n - pos;
		rc = im_zmtp_feed(z, in->b + pos, n, on_frame, s);
		pos += n;
	}
	if (rc != IM_OK) {
		/* Final: the same code again, nothing more delivered. */
		size_t before = s->n;
		assert_int_equal(im_zmtp_feed(z, (const uint8_t *)"\0\0", 2, on_frame, s), rc);
		assert_int_equal(s->n, before);
		assert_string_not_equal(im_zmtp_error(z), "");
	} else {
		assert_string_equal(im_zmtp_error(z), "");
	}
	*partial = im_zmtp_partial(z);
	*ready = im_zmtp_ready(z);
	im_zmtp_free(z);
	return rc;
}

static void check(const zmtp_case *tc, const bytes *in, size_t split,
		  size_t chunk)
{
	seen s;
	uint64_t partial;
	int ready;
	int rc = run(in, split, chunk, &s, &partial, &ready);
	if (rc != tc->rc || s.n != tc->nframes || ready != tc->ready ||
	    partial != tc->partial)
		fail_msg("%s (split %zu, chunk %zu): rc %d (want %d), %zu frames "
			 "(want %zu), ready %d, partial %llu",
			 tc->name, split, chunk, rc, tc->rc, s.n, tc->nframes,
			 ready, (unsigned long long)partial);
	for (size_t i = 0; i < s.n; i++) {
		assert_int_equal(s.f[i].len, tc->frames[i].len);
		assert_int_equal(s.f[i].more, tc->frames[i].more);
		assert_int_equal(s.f[i].first, tc->frames[i].first);
	}
}

static void test_case(void **state)
{
	const zmtp_case *tc = *state;
	bytes *in = calloc(1, sizeof *in);
	assert_non_null(in);
	tc->build(in);
	check(tc, in, 0, in->n);
	check(tc, in, 0, 1);
	for (size_t split = 1; split < in->n; split++)
		check(tc, in, split, in->n);
	free(in);
}

/* Our greeting from the start; our READY once the peer's greeting is in. */
static void test_output(void **state)
{
	(void)state;
	im_zmtp *z = NULL;
	im_zmtp_opts o = {.socket_type = "PULL", .peer_type = "PUSH", .max_frame = 16};
	assert_int_equal(im_zmtp_new(&z, &o), IM_OK);
	size_t len;
	const uint8_t *out = im_zmtp_output(z, &len);
	uint8_t want[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 1, 'N', 'U', 'L', 'L'};
	assert_int_equal(len, 64);
	assert_memory_equal(out, want, 64);
	im_zmtp_output_sent(z);
	bytes in = {.n = 0};
	greeting(&in);
	/* 63 bytes: nothing to send yet. */
	assert_int_equal(im_zmtp_feed(z, in.b, 63, on_frame, NULL), IM_OK);
	im_zmtp_output(z, &len);
	assert_int_equal(len, 0);
	assert_int_equal(im_zmtp_feed(z, in.b + 63, 1, on_frame, NULL), IM_OK);
	out = im_zmtp_output(z, &len);
	static const uint8_t ready_pull[] = {
		0x04, 26, 5, 'R', 'E', 'A', 'D', 'Y', 11, 'S', 'o', 'c', 'k', 'e',
		't', '-', 'T', 'y', 'p', 'e', 0, 0, 0, 4, 'P', 'U', 'L', 'L'};
	assert_int_equal(len, sizeof ready_pull);
	assert_memory_equal(out, ready_pull, sizeof ready_pull);
	assert_int_equal(im_zmtp_ready(z), 0);
	im_zmtp_free(z);
}

static int stop_after_one(void *ctx, const uint8_t *data, size_t len, int more)
{
	(void)data, (void)len, (void)more;
	int *n = ctx;
	return ++*n == 1 ? IM_ECANCELED : 0;
}

/* A nonzero callback return stops the feed at that frame. */
static void test_callback_stops(void **state)
{
	(void)state;
	im_zmtp *z = NULL;
	im_zmtp_opts o = {.socket_type = "PULL", .peer_type = "PUSH", .max_frame = 16};
	assert_int_equal(im_zmtp_new(&z, &o), IM_OK);
	bytes in = {.n = 0};
	handshake(&in);
	frame(&in, 0, "a", 1);
	frame(&in, 0, "b", 1);
	int n = 0;
	assert_int_equal(im_zmtp_feed(z, in.b, in.n, stop_after_one, &n), IM_ECANCELED);
	assert_int_equal(n, 1);
	im_zmtp_free(z);
}

/* Collects frames fed back through a server: body and MORE flag. */
typedef struct echo {
	uint8_t body[MAX_FRAME];
	size_t len;
	int more, count;
} echo;

static int keep_frame(void *ctx, const uint8_t *data, size_t len, int more)
{
	echo *e = ctx;
	assert_true(len <= sizeof e->body);
	memcpy(e->body, data, len);
	e->len = len;
	e->more = more;
	e->count++;
	return 0;
}

/* Our own frame headers, at the lengths where the form changes, read back
 * by the server side as the frames they frame, and the header bytes. */
static void test_frame_header(void **state)
{
	(void)state;
	const size_t lens[] = {0, 1, 255, 256, 1000};
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		for (int more = 0; more < 2; more++) {
			uint8_t h[IM_ZMTP_HEADER_MAX], body[MAX_FRAME];
			size_t hn = im_zmtp_frame_header(h, lens[i], more);
			assert_int_equal(hn, lens[i] <= 255 ? 2 : 9);
			assert_int_equal(h[0], (more ? 1 : 0) | (hn == 9 ? 2 : 0));
			for (size_t k = 0; k < lens[i]; k++)
				body[k] = (uint8_t)(k * 7 + i);
			im_zmtp *z = NULL;
			im_zmtp_opts o = {.socket_type = "PULL", .peer_type = "PUSH", .max_frame = MAX_FRAME};
			assert_int_equal(im_zmtp_new(&z, &o), IM_OK);
			bytes in = {.n = 0};
			handshake(&in);
			put(&in, h, hn);
			put(&in, body, lens[i]);
			echo e = {.count = 0};
			assert_int_equal(im_zmtp_feed(z, in.b, in.n, keep_frame, &e), IM_OK);
			assert_int_equal(e.count, 1);
			assert_int_equal(e.len, lens[i]);
			assert_int_equal(e.more, more);
			if (lens[i])
				assert_memory_equal(e.body, body, lens[i]);
			im_zmtp_free(z);
		}
	}
	uint8_t h[IM_ZMTP_HEADER_MAX];
	im_zmtp_frame_header(h, 0x0102030405060708ull, 0);
	const uint8_t want[] = {2, 1, 2, 3, 4, 5, 6, 7, 8};
	assert_memory_equal(h, want, sizeof want);
}

static void test_bad_options(void **state)
{
	(void)state;
	im_zmtp *z = (im_zmtp *)&z;
	im_zmtp_opts o = {.socket_type = "PULL", .peer_type = "PUSH", .max_frame = 0};
	assert_int_equal(im_zmtp_new(&z, &o), IM_EINVAL);
	o.max_frame = 1;
	o.peer_type = NULL;
	assert_int_equal(im_zmtp_new(&z, &o), IM_EINVAL);
	o.peer_type = "A-SOCKET-TYPE-NAME-LONGER-THAN-32-CHARS";
	assert_int_equal(im_zmtp_new(&z, &o), IM_EINVAL);
	assert_ptr_equal(z, (im_zmtp *)&z); /* untouched on failure */
	im_zmtp_free(NULL);
}

int main(void)
{
	struct CMUnitTest tests[sizeof cases / sizeof cases[0] + 4];
	size_t n = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		tests[n++] = (struct CMUnitTest){.name = cases[i].name,
						 .test_func = test_case,
						 .initial_state = (void *)&cases[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_output);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_callback_stops);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_bad_options);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_frame_header);
	return _cmocka_run_group_tests("zmtp", tests, n, NULL, NULL);
}
