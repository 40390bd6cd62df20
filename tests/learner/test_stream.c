// SPDX-License-Identifier: Apache-2.0
/* The trajectory port's ZMTP glue (learner/stream.c) on a real ZMQ_STREAM
 * socket: libzmq's own PUSH gets through (single and multi-part
 * messages), and each kind of bad connection is closed and counted
 * without touching the others: garbage, an oversized frame, a connection
 * beyond the bound, a frame cut by the peer's close.  As the handshake
 * port (ROUTER to DEALER peers): replies sent from the callback to
 * im_stream_peer() reach that peer only, after our READY, and a
 * multi-part message shows its first part. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "err.h"
#include "log.h"
#include "stream.h"
#include "transport.h"

#define WAIT_MS 5000 /* generous: the machine is shared */
#define MAX_SEEN 16

typedef struct fixture {
	void *ctx, *sock;
	im_stream *s;
	int port;
	char ep[64];
	size_t nseen;
	char seen[MAX_SEEN][32];
	int more[MAX_SEEN];
	int first[MAX_SEEN]; /* im_stream_first_part() during the call */
	int last_error;
	int echo;         /* answer each frame with "re:" and its bytes */
	int echo_dropped; /* answers a full queue refused */
	int echo_sent;    /* answers queued */
	int want_answers; /* for answered_enough() */
} fixture;

/* Sends "re:" and data back to the frame's connection as one ZMTP frame
 * in one message, as learner/handshake.c replies. */
static void echo(fixture *f, const uint8_t *data, size_t len)
{
	size_t idlen;
	const uint8_t *id = im_stream_peer(f->s, &idlen);
	assert_non_null(id);
	uint8_t msg[IM_ZMTP_HEADER_MAX + 3 + 4096];
	assert_true(len <= 4096);
	size_t hl = im_zmtp_frame_header(msg, 3 + len, 0);
	memcpy(msg + hl, "re:", 3);
	memcpy(msg + hl + 3, data, len);
	if (zmq_send(f->sock, id, idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
		assert_int_equal(zmq_errno(), EAGAIN);
		f->echo_dropped++;
		return;
	}
	assert_true(zmq_send(f->sock, msg, hl + 3 + len, ZMQ_DONTWAIT) >= 0);
	f->echo_sent++;
}

static int on_frame(void *ctx, const uint8_t *data, size_t len, int more)
{
	fixture *f = ctx;
	if (f->nseen < MAX_SEEN) {
		size_t n = len < 31 ? len : 31;
		memcpy(f->seen[f->nseen], data, n);
		f->seen[f->nseen][n] = '\0';
		f->more[f->nseen] = more;
		f->first[f->nseen] = im_stream_first_part(f->s);
		f->nseen++;
	}
	if (f->echo)
		echo(f, data, len);
	return 0;
}

static void on_error(void *ctx, int rc, const char *why)
{
	(void)why;
	((fixture *)ctx)->last_error = rc;
}

/* small: queues of 2 and small kernel buffers, so that a peer that does
 * not read fills them soon.  (Both HWMs: libzmq tells the writer of a
 * connection's reads every (RCVHWM + 1) / 2 messages, learner/sockets.c,
 * hs_opts.) */
static fixture *setup_small(uint32_t max_conns, uint64_t max_frame,
			    const char *type, const char *peer_type, int small)
{
	fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->ctx = zmq_ctx_new();
	im_sock_opts o;
	im_transport_defaults(&o, ZMQ_STREAM);
	o.linger_ms = 0;
	if (small) {
		o.sndhwm = o.rcvhwm = 2;
		o.sndbuf = 4096;
	}
	assert_int_equal(im_transport_open_bound(&f->sock, f->ctx, ZMQ_STREAM, &o,
						 "tcp://127.0.0.1:*"),
			 IM_OK);
	f->port = im_transport_bound_port(f->sock);
	snprintf(f->ep, sizeof f->ep, "tcp://127.0.0.1:%d", f->port);
	im_stream_opts so = {.sock = f->sock,
			     .max_conns = max_conns,
			     .max_frame = max_frame,
			     .on_error = on_error,
			     .ctx = f,
			     .socket_type = type,
			     .peer_type = peer_type};
	assert_int_equal(im_stream_new(&f->s, &so), IM_OK);
	return f;
}

static fixture *setup_typed(uint32_t max_conns, uint64_t max_frame,
			    const char *type, const char *peer_type)
{
	return setup_small(max_conns, max_frame, type, peer_type, 0);
}

/* The trajectory port's types (NULL: PULL to PUSH peers). */
static fixture *setup_with(uint32_t max_conns, uint64_t max_frame)
{
	return setup_typed(max_conns, max_frame, NULL, NULL);
}

static void teardown(fixture *f)
{
	im_stream_free(f->s);
	zmq_close(f->sock);
	zmq_ctx_term(f->ctx);
	free(f);
}

static im_stream_stats stats(fixture *f)
{
	im_stream_stats st;
	im_stream_get_stats(f->s, &st);
	return st;
}

/* Pumps until cond(f) holds, WAIT_MS at most; returns cond(f). */
static int pump_until(fixture *f, int (*cond)(fixture *))
{
	uint64_t t0 = im_now_ms();
	while (!cond(f) && im_now_ms() - t0 < WAIT_MS) {
		zmq_pollitem_t it = {.socket = f->sock, .events = ZMQ_POLLIN};
		zmq_poll(&it, 1, 10);
		assert_int_equal(im_stream_pump(f->s, 64, on_frame, f), IM_OK);
	}
	return cond(f);
}

/* Sends from a PUSH without waiting, pumping f meanwhile: the PUSH's
 * handshake needs the pump to answer (WAIT_MS at most). */
static void push_send(fixture *f, void *push, const char *s, int flags)
{
	uint64_t t0 = im_now_ms();
	while (zmq_send(push, s, strlen(s), flags | ZMQ_DONTWAIT) < 0) {
		assert_int_equal(zmq_errno(), EAGAIN);
		assert_true(im_now_ms() - t0 < WAIT_MS);
		zmq_pollitem_t it = {.socket = f->sock, .events = ZMQ_POLLIN};
		zmq_poll(&it, 1, 10);
		assert_int_equal(im_stream_pump(f->s, 64, on_frame, f), IM_OK);
	}
}

/* ---- a raw TCP peer ---- */

static int raw_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

static void raw_send(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* A ZMTP 3.1 NULL client's greeting and READY (Socket-Type PUSH). */
static void raw_handshake(int fd)
{
	uint8_t g[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 1, 'N', 'U', 'L', 'L'};
	static const uint8_t ready[] = {
		0x04, 26, 5, 'R', 'E', 'A', 'D', 'Y', 11, 'S', 'o', 'c', 'k', 'e',
		't', '-', 'T', 'y', 'p', 'e', 0, 0, 0, 4, 'P', 'U', 'S', 'H'};
	raw_send(fd, g, sizeof g);
	raw_send(fd, ready, sizeof ready);
}

/* Did the learner close fd (EOF or reset within WAIT_MS, after any bytes
 * it sent)?  Pumps f meanwhile, since closing is the pump's doing. */
static int raw_closed(fixture *f, int fd)
{
	uint64_t t0 = im_now_ms();
	while (im_now_ms() - t0 < WAIT_MS) {
		im_stream_pump(f->s, 64, on_frame, f);
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 10) == 1) {
			char buf[256];
			ssize_t n = recv(fd, buf, sizeof buf, 0);
			if (n == 0 || (n < 0 && errno == ECONNRESET))
				return 1;
		}
	}
	return 0;
}

/* ---- the cases ---- */

static int got_four(fixture *f)
{
	return f->nseen >= 4;
}

static void test_libzmq_push_gets_through(void **state)
{
	(void)state;
	fixture *f = setup_with(0, 0);
	void *push = NULL;
	assert_int_equal(im_transport_open_connected(&push, f->ctx, ZMQ_PUSH, NULL, f->ep),
			 IM_OK);
	push_send(f, push, "one", 0);
	push_send(f, push, "a", ZMQ_SNDMORE);
	push_send(f, push, "b", 0);
	push_send(f, push, "four", 0);
	assert_true(pump_until(f, got_four));
	assert_string_equal(f->seen[0], "one");
	assert_string_equal(f->seen[1], "a");
	assert_int_equal(f->more[1], 1);
	assert_string_equal(f->seen[2], "b");
	assert_int_equal(f->more[2], 0);
	assert_string_equal(f->seen[3], "four");
	im_stream_stats st = stats(f);
	assert_int_equal(st.opened, 1);
	assert_int_equal(st.open, 1);
	assert_int_equal(st.errors + st.refused + st.partial, 0);
	zmq_close(push);
	teardown(f);
}

static int got_one(fixture *f)
{
	return f->nseen >= 1;
}

static void test_garbage_closes_only_its_connection(void **state)
{
	(void)state;
	fixture *f = setup_with(0, 0);
	void *push = NULL;
	assert_int_equal(im_transport_open_connected(&push, f->ctx, ZMQ_PUSH, NULL, f->ep),
			 IM_OK);
	int fd = raw_connect(f->port);
	raw_send(fd, "GET / HTTP/1.1\r\n\r\n", 18);
	assert_true(raw_closed(f, fd));
	close(fd);
	assert_int_equal(stats(f).errors, 1);
	assert_int_equal(f->last_error, IM_EPROTO);
	push_send(f, push, "after", 0);
	assert_true(pump_until(f, got_one));
	assert_string_equal(f->seen[0], "after");
	zmq_close(push);
	teardown(f);
}

static void test_oversized_frame_closes(void **state)
{
	(void)state;
	fixture *f = setup_with(0, 64);
	int fd = raw_connect(f->port);
	raw_handshake(fd);
	uint8_t frame[2 + 65] = {0x00, 65};
	memset(frame + 2, 'x', 65);
	raw_send(fd, frame, sizeof frame);
	assert_true(raw_closed(f, fd));
	close(fd);
	assert_int_equal(stats(f).errors, 1);
	assert_int_equal(f->last_error, IM_ETOOBIG);
	assert_int_equal(f->nseen, 0);
	teardown(f);
}

static int two_open(fixture *f)
{
	return stats(f).open == 2;
}

static void test_connections_beyond_the_bound_refused(void **state)
{
	(void)state;
	fixture *f = setup_with(2, 0);
	int a = raw_connect(f->port), b = raw_connect(f->port);
	assert_true(pump_until(f, two_open));
	int c = raw_connect(f->port);
	assert_true(raw_closed(f, c));
	im_stream_stats st = stats(f);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.opened, 2);
	assert_int_equal(st.open, 2);
	/* The two taken still work. */
	raw_handshake(a);
	raw_send(a, "\x00\x02ok", 4);
	assert_true(pump_until(f, got_one));
	assert_string_equal(f->seen[0], "ok");
	close(a);
	close(b);
	close(c);
	teardown(f);
}

static int none_open(fixture *f)
{
	im_stream_stats st = stats(f);
	return st.opened > 0 && st.open == 0;
}

static void test_cut_frame_counted(void **state)
{
	(void)state;
	fixture *f = setup_with(0, 0);
	int fd = raw_connect(f->port);
	raw_handshake(fd);
	raw_send(fd, "\x00\x01z", 3);
	raw_send(fd, "\x00\x64"
		     "0123456789",
		 12); /* 10 of 100 bytes */
	assert_true(pump_until(f, got_one));
	close(fd);
	assert_true(pump_until(f, none_open));
	im_stream_stats st = stats(f);
	assert_int_equal(st.partial, 1);
	assert_int_equal(st.errors, 0);
	assert_int_equal(f->nseen, 1);
	teardown(f);
}

/* ---- as the handshake port: ROUTER to DEALER peers ---- */

/* Receives one message on a DEALER within WAIT_MS, pumping f meanwhile,
 * into buf (NUL-terminated); its length, or -1. */
static int dealer_recv(fixture *f, void *d, char *buf, size_t n)
{
	uint64_t t0 = im_now_ms();
	while (im_now_ms() - t0 < WAIT_MS) {
		im_stream_pump(f->s, 64, on_frame, f);
		int k = zmq_recv(d, buf, n - 1, ZMQ_DONTWAIT);
		if (k >= 0) {
			buf[(size_t)k < n - 1 ? (size_t)k : n - 1] = '\0';
			return k;
		}
		zmq_pollitem_t it = {.socket = f->sock, .events = ZMQ_POLLIN};
		zmq_poll(&it, 1, 10);
	}
	return -1;
}

static void test_replies_reach_their_dealer_only(void **state)
{
	(void)state;
	fixture *f = setup_typed(0, 0, "ROUTER", "DEALER");
	f->echo = 1;
	size_t idlen = 1;
	assert_null(im_stream_peer(f->s, &idlen));
	assert_int_equal(idlen, 0);
	void *a = NULL, *b = NULL;
	assert_int_equal(im_transport_open_connected(&a, f->ctx, ZMQ_DEALER, NULL, f->ep),
			 IM_OK);
	assert_int_equal(im_transport_open_connected(&b, f->ctx, ZMQ_DEALER, NULL, f->ep),
			 IM_OK);
	push_send(f, a, "from-a", 0);
	push_send(f, b, "from-b", 0);
	char buf[64];
	assert_int_equal(dealer_recv(f, b, buf, sizeof buf), 9);
	assert_string_equal(buf, "re:from-b");
	assert_int_equal(dealer_recv(f, a, buf, sizeof buf), 9);
	assert_string_equal(buf, "re:from-a");
	assert_int_equal(zmq_recv(a, buf, sizeof buf, ZMQ_DONTWAIT), -1);
	assert_int_equal(zmq_recv(b, buf, sizeof buf, ZMQ_DONTWAIT), -1);
	assert_int_equal(stats(f).open, 2);
	assert_int_equal(stats(f).errors, 0);
	zmq_close(a);
	zmq_close(b);
	teardown(f);
}

static void test_first_part_of_a_message(void **state)
{
	(void)state;
	fixture *f = setup_typed(0, 0, "ROUTER", "DEALER");
	void *d = NULL;
	assert_int_equal(im_transport_open_connected(&d, f->ctx, ZMQ_DEALER, NULL, f->ep),
			 IM_OK);
	push_send(f, d, "x", ZMQ_SNDMORE);
	push_send(f, d, "y", ZMQ_SNDMORE);
	push_send(f, d, "z", 0);
	push_send(f, d, "w", 0);
	assert_true(pump_until(f, got_four));
	int want[4] = {1, 0, 0, 1};
	for (int i = 0; i < 4; i++)
		assert_int_equal(f->first[i], want[i]);
	zmq_close(d);
	teardown(f);
}

/* Reads exactly n bytes from fd within WAIT_MS, pumping f meanwhile. */
static void raw_read(fixture *f, int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;
	uint64_t t0 = im_now_ms();
	while (got < n && im_now_ms() - t0 < WAIT_MS) {
		im_stream_pump(f->s, 64, on_frame, f);
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 10) == 1) {
			ssize_t k = recv(fd, buf + got, n - got, 0);
			assert_true(k > 0);
			got += (size_t)k;
		}
	}
	assert_int_equal(got, n);
}

/* The peer's READY and its first message in one chunk: the reply sent
 * from the callback must follow our READY, or the peer sees a message
 * before the handshake ended. */
static void test_reply_follows_our_ready(void **state)
{
	(void)state;
	fixture *f = setup_typed(0, 0, "ROUTER", "DEALER");
	f->echo = 1;
	int fd = raw_connect(f->port);
	uint8_t greeting[64];
	raw_read(f, fd, greeting, sizeof greeting);
	static const uint8_t chunk[] = {
		0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 1, 'N', 'U', 'L', 'L',
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x04, 28, 5, 'R', 'E', 'A', 'D', 'Y', 11, 'S', 'o', 'c', 'k', 'e',
		't', '-', 'T', 'y', 'p', 'e', 0, 0, 0, 6, 'D', 'E', 'A', 'L', 'E', 'R',
		0x00, 2, 'h', 'i'};
	raw_send(fd, chunk, sizeof chunk);
	static const uint8_t want[] = {
		0x04, 28, 5, 'R', 'E', 'A', 'D', 'Y', 11, 'S', 'o', 'c', 'k', 'e',
		't', '-', 'T', 'y', 'p', 'e', 0, 0, 0, 6, 'R', 'O', 'U', 'T', 'E', 'R',
		0x00, 5, 'r', 'e', ':', 'h', 'i'};
	uint8_t got[sizeof want];
	raw_read(f, fd, got, sizeof got);
	assert_memory_equal(got, want, sizeof want);
	close(fd);
	teardown(f);
}

static void test_wrong_peer_type_closed(void **state)
{
	(void)state;
	fixture *f = setup_typed(0, 0, "ROUTER", "DEALER");
	int fd = raw_connect(f->port);
	raw_handshake(fd); /* a PUSH */
	assert_true(raw_closed(f, fd));
	close(fd);
	assert_int_equal(stats(f).errors, 1);
	assert_int_equal(f->last_error, IM_EPROTO);
	teardown(f);
}

/* Sends all of p without blocking, pumping f while the socket is full
 * (WAIT_MS at most): the pump is what reads the other end. */
static void raw_send_pumping(fixture *f, int fd, const uint8_t *p, size_t n)
{
	uint64_t t0 = im_now_ms();
	while (n > 0) {
		assert_true(im_now_ms() - t0 < WAIT_MS);
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0) {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
			im_stream_pump(f->s, 64, on_frame, f);
			continue;
		}
		p += k;
		n -= (size_t)k;
	}
}

static int echo_refused(fixture *f)
{
	return f->echo_dropped > 0;
}

static int answered_enough(fixture *f)
{
	return f->echo_sent + f->echo_dropped >= f->want_answers;
}

static int one_error(fixture *f)
{
	return stats(f).errors == 1;
}

/* A peer that sends and never reads fills its connection's queue; a
 * protocol error then cannot queue the hangup.  The entry keeps its slot
 * (so such connections stay within max_conns) until the peer goes. */
static void test_hangup_refused_keeps_the_slot(void **state)
{
	(void)state;
	fixture *f = setup_small(1, 0, "ROUTER", "DEALER", 1);
	f->echo = 1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	uint8_t g[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 1, 'N', 'U', 'L', 'L'};
	raw_send(fd, g, sizeof g);
	static const uint8_t ready[] = {
		0x04, 28, 5, 'R', 'E', 'A', 'D', 'Y', 11, 'S', 'o', 'c', 'k', 'e',
		't', '-', 'T', 'y', 'p', 'e', 0, 0, 0, 6, 'D', 'E', 'A', 'L', 'E', 'R'};
	raw_send(fd, ready, sizeof ready);
	/* Long frames of 4 KiB, each echoed: the kernel's send buffer (which
	 * grows to a few MiB) fills within a few thousand. */
	static uint8_t frame[9 + 4096] = {0x02, 0, 0, 0, 0, 0, 0, 0x10, 0};
	memset(frame + 9, 'x', 4096);
	for (int k = 0; k < 8000 && !f->echo_dropped; k++) {
		raw_send_pumping(f, fd, frame, sizeof frame);
		im_stream_pump(f->s, 64, on_frame, f);
	}
	assert_true(pump_until(f, echo_refused));
	/* Until the queue stays full: the bytes in flight settle, then every
	 * one of 32 more answers is refused. */
	int steady = 0;
	for (int tries = 0; tries < 50 && !steady; tries++) {
		struct timespec ts = {0, 100 * 1000000};
		nanosleep(&ts, NULL);
		int sent = f->echo_sent;
		f->want_answers = f->echo_sent + f->echo_dropped + 32;
		for (int k = 0; k < 32; k++)
			raw_send_pumping(f, fd, frame, sizeof frame);
		assert_true(pump_until(f, answered_enough));
		steady = f->echo_sent == sent;
	}
	assert_true(steady);
	raw_send(fd, "\xf0\x00", 2); /* reserved flag bits: a protocol error */
	assert_true(pump_until(f, one_error));
	im_stream_stats st = stats(f);
	assert_int_equal(st.open, 1);
	int other = raw_connect(f->port);
	assert_true(raw_closed(f, other));
	close(other);
	assert_int_equal(stats(f).refused, 1);
	close(fd); /* with unread bytes: a reset */
	assert_true(pump_until(f, none_open));
	teardown(f);
}

static void test_not_a_stream_socket(void **state)
{
	(void)state;
	void *ctx = zmq_ctx_new();
	void *pull = zmq_socket(ctx, ZMQ_PULL);
	im_stream *s = NULL;
	im_stream_opts o = {.sock = pull};
	assert_int_equal(im_stream_new(&s, &o), IM_EINVAL);
	assert_null(s);
	zmq_close(pull);
	zmq_ctx_term(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libzmq_push_gets_through),
		cmocka_unit_test(test_garbage_closes_only_its_connection),
		cmocka_unit_test(test_oversized_frame_closes),
		cmocka_unit_test(test_connections_beyond_the_bound_refused),
		cmocka_unit_test(test_cut_frame_counted),
		cmocka_unit_test(test_replies_reach_their_dealer_only),
		cmocka_unit_test(test_first_part_of_a_message),
		cmocka_unit_test(test_reply_follows_our_ready),
		cmocka_unit_test(test_wrong_peer_type_closed),
		cmocka_unit_test(test_hangup_refused_keeps_the_slot),
		cmocka_unit_test(test_not_a_stream_socket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
