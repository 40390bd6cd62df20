// SPDX-License-Identifier: Apache-2.0
/* The parameter port's fan-out (learner/fanout.c) on a real ZMQ_STREAM
 * socket: libzmq's SUB gets every broadcast whole; a peer that is not a
 * SUB, or sends an oversized subscription, is closed and counted; and the
 * accounting that bounds what peers can make the learner hold: one
 * broadcast per connection (the rest skipped, the newest sent once it is
 * free), a connection that holds one too long closed, and the holders of
 * the oldest closed when the buffers run short, once they have read none
 * of it for stall_ms (those still reading are spared).
 *
 * The raw peers are plain TCP sockets with a small receive buffer that
 * speak ZMTP 3.1 as a SUB and read only when told to; the STREAM socket's
 * kernel send buffer is small too, so a broadcast of BIG bytes stays held
 * by libzmq until such a peer reads. */
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
#include "fanout.h"
#include "log.h"
#include "transport.h"

#define WAIT_MS 10000  /* generous: the machine is shared */
#define BIG (4u << 20) /* far above both kernel buffers */
#define SMALL_BUF (16 << 10)

typedef struct fixture {
	void *ctx, *sock;
	im_fanout *f;
	int port;
	char ep[64];
} fixture;

static fixture *setup_with(int buffers, int slow_ms, int pressure_ms,
			   int stall_ms)
{
	fixture *x = calloc(1, sizeof *x);
	assert_non_null(x);
	x->ctx = zmq_ctx_new();
	im_sock_opts o;
	im_transport_defaults(&o, ZMQ_STREAM);
	o.linger_ms = 0;
	o.sndhwm = 16;
	o.sndbuf = SMALL_BUF;
	assert_int_equal(im_transport_open_bound(&x->sock, x->ctx, ZMQ_STREAM, &o,
						 "tcp://127.0.0.1:*"),
			 IM_OK);
	x->port = im_transport_bound_port(x->sock);
	snprintf(x->ep, sizeof x->ep, "tcp://127.0.0.1:%d", x->port);
	im_fanout_opts fo = {.sock = x->sock,
			     .buffers = buffers,
			     .slow_ms = slow_ms,
			     .pressure_ms = pressure_ms,
			     .stall_ms = stall_ms};
	assert_int_equal(im_fanout_new(&x->f, &fo), IM_OK);
	return x;
}

static void teardown(fixture *x)
{
	im_fanout_stop(x->f);
	zmq_close(x->sock);
	zmq_ctx_term(x->ctx);
	im_fanout_free(x->f);
	free(x);
}

static im_fanout_stats stats(fixture *x)
{
	im_fanout_stats st;
	im_fanout_get_stats(x->f, &st);
	return st;
}

/* Waits until the counter at offset off of the stats reaches n. */
#define WAIT_STAT(x, field, n) wait_stat(x, offsetof(im_fanout_stats, field), n)
static int wait_stat(fixture *x, size_t off, uint64_t n)
{
	uint64_t t0 = im_now_ms(), v = 0;
	while (im_now_ms() - t0 < WAIT_MS) {
		im_fanout_stats st = stats(x);
		memcpy(&v, (char *)&st + off, sizeof v);
		if (v >= n)
			return 1;
		struct timespec ts = {0, 5 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* A broadcast of len bytes, each the byte tag. */
typedef struct body {
	size_t len;
	uint8_t tag;
} body;

static void fill(void *ctx, uint8_t *out)
{
	const body *b = ctx;
	memset(out, b->tag, b->len);
}

/* Broadcasts and waits until the fan-out's thread took it. */
static void broadcast(fixture *x, size_t len, uint8_t tag)
{
	uint64_t before = stats(x).broadcasts;
	body b = {len, tag};
	assert_int_equal(im_fanout_broadcast(x->f, len, fill, &b), IM_OK);
	assert_true(WAIT_STAT(x, broadcasts, before + 1));
}

/* ---- a raw ZMTP peer ---- */

static int raw_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int rcv = SMALL_BUF;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

/* Reads exactly n bytes (WAIT_MS at most); 0, or -1 on EOF or a reset. */
static int raw_read(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	uint64_t t0 = im_now_ms();
	while (n > 0 && im_now_ms() - t0 < WAIT_MS) {
		struct pollfd q = {fd, POLLIN, 0};
		if (poll(&q, 1, 10) != 1)
			continue;
		ssize_t k = recv(fd, p, n, 0);
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return n == 0 ? 0 : -1;
}

/* Our greeting and READY with Socket-Type type (3 letters). */
static int raw_hello(fixture *x, const char *type)
{
	int fd = raw_connect(x->port);
	uint8_t g[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 1, 'N', 'U', 'L', 'L'};
	uint8_t ready[] = {0x04, 25, 5, 'R', 'E', 'A', 'D', 'Y', 11, 'S', 'o', 'c', 'k',
			   'e', 't', '-', 'T', 'y', 'p', 'e', 0, 0, 0, 3, 0, 0, 0};
	memcpy(ready + 24, type, 3);
	assert_int_equal(send(fd, g, sizeof g, MSG_NOSIGNAL), (ssize_t)sizeof g);
	assert_int_equal(send(fd, ready, sizeof ready, MSG_NOSIGNAL), (ssize_t)sizeof ready);
	return fd;
}

/* raw_hello(), then the learner's greeting and READY read. */
static int raw_peer(fixture *x, const char *type)
{
	int fd = raw_hello(x, type);
	uint8_t in[64 + 2 + 255];
	assert_int_equal(raw_read(fd, in, 66), 0);
	assert_int_equal(raw_read(fd, in + 66, in[65]), 0);
	assert_memory_equal(in + 67, "READY", 5);
	assert_memory_equal(in + 88, "PUB", 3); /* Socket-Type's value */
	return fd;
}

/* Reads one message frame: its length and first byte (the tag). */
static int raw_frame(int fd, uint64_t *len, uint8_t *tag)
{
	uint8_t h[9];
	if (raw_read(fd, h, 2))
		return -1;
	*len = h[1];
	if (h[0] & 0x02) {
		if (raw_read(fd, h + 2, 7))
			return -1;
		*len = 0;
		for (int i = 1; i < 9; i++)
			*len = *len << 8 | h[i];
	}
	uint8_t *b = malloc(*len ? *len : 1);
	int rc = raw_read(fd, b, *len);
	*tag = b[0];
	for (uint64_t i = 0; rc == 0 && i < *len; i++)
		if (b[i] != *tag)
			rc = -1;
	free(b);
	return rc;
}

/* Did the learner close fd (EOF or a reset after what it sent)? */
static int raw_closed(int fd)
{
	uint64_t t0 = im_now_ms();
	static uint8_t buf[1 << 16];
	while (im_now_ms() - t0 < WAIT_MS) {
		struct pollfd q = {fd, POLLIN, 0};
		if (poll(&q, 1, 10) != 1)
			continue;
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 1;
	}
	return 0;
}

/* Nothing more arrives on fd within ms. */
static int raw_quiet(int fd, int ms)
{
	struct pollfd q = {fd, POLLIN, 0};
	return poll(&q, 1, ms) == 0;
}

/* ---- the cases ---- */

static void test_libzmq_sub_gets_broadcasts(void **state)
{
	(void)state;
	fixture *x = setup_with(0, 0, 0, 0);
	void *sub = NULL;
	assert_int_equal(im_transport_open_connected(&sub, x->ctx, ZMQ_SUB, NULL, x->ep),
			 IM_OK);
	/* Broadcast until the SUB's handshake is done and one arrives. */
	zmq_msg_t m;
	zmq_msg_init(&m);
	int got = -1;
	for (uint64_t t0 = im_now_ms(); got < 0 && im_now_ms() - t0 < WAIT_MS;) {
		broadcast(x, 300, 'a');
		zmq_pollitem_t it = {.socket = sub, .events = ZMQ_POLLIN};
		if (zmq_poll(&it, 1, 50) == 1)
			got = zmq_msg_recv(&m, sub, 0);
	}
	assert_int_equal(got, 300);
	assert_int_equal(((uint8_t *)zmq_msg_data(&m))[299], 'a');
	assert_int_equal(zmq_msg_more(&m), 0);
	/* The next, a long frame, arrives whole. */
	broadcast(x, 70000, 'b');
	for (got = 0; got >= 0 && ((uint8_t *)zmq_msg_data(&m))[0] != 'b';)
		got = zmq_msg_recv(&m, sub, 0);
	assert_int_equal(got, 70000);
	assert_int_equal(((uint8_t *)zmq_msg_data(&m))[69999], 'b');
	zmq_msg_close(&m);
	im_fanout_stats st = stats(x);
	assert_int_equal(st.conns.open, 1);
	assert_int_equal(st.conns.errors + st.conns.refused + st.closed_slow, 0);
	zmq_close(sub);
	teardown(x);
}

static void test_not_a_sub_is_closed(void **state)
{
	(void)state;
	fixture *x = setup_with(0, 0, 0, 0);
	int fd = raw_hello(x, "PUB");
	assert_true(raw_closed(fd));
	close(fd);
	assert_true(WAIT_STAT(x, conns.errors, 1));
	broadcast(x, 100, 'a');
	im_fanout_stats st = stats(x);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.conns.open, 0);
	teardown(x);
}

static void test_subscriptions_ignored_and_bounded(void **state)
{
	(void)state;
	fixture *x = setup_with(0, 0, 0, 0);
	int fd = raw_peer(x, "SUB");
	/* A 3.0 subscription to everything, a 3.1 SUBSCRIBE command and a
	 * cancel: read and ignored; the peer still gets the broadcast. */
	static const uint8_t subs[] = {0x00, 1, 0x01, 0x04, 10, 9, 'S', 'U', 'B', 'S', 'C', 'R', 'I', 'B', 'E', 0x00, 2, 0x00, 'x'};
	assert_int_equal(send(fd, subs, sizeof subs, MSG_NOSIGNAL), (ssize_t)sizeof subs);
	broadcast(x, 50, 'c');
	uint64_t len;
	uint8_t tag;
	assert_int_equal(raw_frame(fd, &len, &tag), 0);
	assert_int_equal(len, 50);
	assert_int_equal(tag, 'c');
	/* A subscription frame above IM_FANOUT_MAX_SUB closes it. */
	uint8_t big[9] = {0x02, 0, 0, 0, 0, 0, 0, 0x10, 0x01};
	assert_int_equal(send(fd, big, sizeof big, MSG_NOSIGNAL), (ssize_t)sizeof big);
	assert_true(raw_closed(fd));
	close(fd);
	assert_true(WAIT_STAT(x, conns.errors, 1));
	teardown(x);
}

/* A peer that does not read holds one broadcast; later ones are skipped
 * for it while a reading SUB gets them; once it reads, it gets the one it
 * held and then only the newest. */
static void test_one_held_then_newest(void **state)
{
	(void)state;
	fixture *x = setup_with(0, 0, 0, 0);
	int fd = raw_peer(x, "SUB");
	assert_true(WAIT_STAT(x, conns.open, 1));
	broadcast(x, BIG, 1);
	assert_true(WAIT_STAT(x, sent, 1));
	for (uint8_t tag = 2; tag <= 4; tag++)
		broadcast(x, BIG, tag);
	im_fanout_stats st = stats(x);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.skipped, 3);
	/* Held: the first (by the peer) and the newest: two buffers. */
	assert_int_equal(st.held_bytes, 2 * (BIG + 9));
	uint64_t len;
	uint8_t tag;
	assert_int_equal(raw_frame(fd, &len, &tag), 0);
	assert_int_equal(len, BIG);
	assert_int_equal(tag, 1);
	assert_int_equal(raw_frame(fd, &len, &tag), 0);
	assert_int_equal(tag, 4);
	assert_true(raw_quiet(fd, 300));
	st = stats(x);
	assert_int_equal(st.sent, 2);
	assert_int_equal(st.closed_slow, 0);
	close(fd);
	teardown(x);
}

/* Closed after slow_ms, and libzmq lets go of the broadcast at once,
 * while the peer still reads nothing (the empty frame alone would leave it
 * held until the peer read it all). */
static void test_held_too_long_is_closed(void **state)
{
	(void)state;
	fixture *x = setup_with(0, 300, 0, 0);
	int fd = raw_peer(x, "SUB");
	assert_true(WAIT_STAT(x, conns.open, 1));
	broadcast(x, BIG, 1);
	broadcast(x, BIG, 2); /* the newest; the first is held */
	assert_int_equal(stats(x).held_bytes, 2 * (BIG + 9));
	assert_true(WAIT_STAT(x, closed_slow, 1));
	uint64_t t0 = im_now_ms();
	while (stats(x).held_bytes > BIG + 9 && im_now_ms() - t0 < WAIT_MS) {
		struct timespec ts = {0, 5 * 1000000L};
		nanosleep(&ts, NULL);
	}
	im_fanout_stats st = stats(x);
	assert_int_equal(st.held_bytes, BIG + 9);
	assert_int_equal(st.conns.open, 0);
	assert_int_equal(st.conns.errors, 0);
	assert_true(raw_closed(fd));
	close(fd);
	teardown(x);
}

/* Four buffers: when three are in use, the holders of the oldest are
 * closed once they have read none of it for stall_ms, so peers stalled at
 * different broadcasts never pin more for longer. */
static void test_budget_closes_oldest_holders(void **state)
{
	(void)state;
	fixture *x = setup_with(4, 60000, 60000, 300);
	int a = raw_peer(x, "SUB");
	assert_true(WAIT_STAT(x, conns.open, 1));
	broadcast(x, BIG, 1); /* a holds 1 */
	assert_true(WAIT_STAT(x, sent, 1));
	broadcast(x, BIG, 2); /* skipped for a */
	int b = raw_peer(x, "SUB");
	assert_true(WAIT_STAT(x, sent, 2)); /* b holds 2, the newest */
	assert_int_equal(stats(x).closed_slow, 0);
	broadcast(x, BIG, 3); /* 1, 2 held and 3: a closed */
	assert_true(WAIT_STAT(x, closed_slow, 1));
	assert_true(raw_closed(a));
	int c = raw_peer(x, "SUB");
	assert_true(WAIT_STAT(x, sent, 3)); /* c holds 3 */
	broadcast(x, BIG, 4);               /* 2, 3 held and 4: b closed */
	assert_true(WAIT_STAT(x, closed_slow, 2));
	assert_true(raw_closed(b));
	im_fanout_stats st = stats(x);
	assert_true(st.held_bytes <= 4 * (uint64_t)(BIG + 9));
	assert_int_equal(st.closed_slow, 2);
	assert_int_equal(st.pool_empty, 0);
	/* c is alive: it gets what it held, then the newest. */
	uint64_t len;
	uint8_t tag;
	assert_int_equal(raw_frame(c, &len, &tag), 0);
	assert_int_equal(tag, 3);
	assert_int_equal(raw_frame(c, &len, &tag), 0);
	assert_int_equal(tag, 4);
	close(a);
	close(b);
	close(c);
	teardown(x);
}

/* Reads from fd, without waiting, at most n bytes into a scratch buffer;
 * returns how many (0 when none is there). */
static size_t raw_nibble(int fd, size_t n)
{
	static uint8_t buf[8192];
	ssize_t k = recv(fd, buf, n < sizeof buf ? n : sizeof buf, MSG_DONTWAIT);
	return k > 0 ? (size_t)k : 0;
}

/* The last review's finding 6: the pool's pressure closed the holders of
 * the oldest broadcast at once, so readers slower than a few broadcast
 * intervals (an honest actor on a slow link with a big model) were cut
 * before they finished.  Holders that keep reading are spared: a
 * broadcast that finds no buffer is lost (pool_empty), and each reader,
 * reading 4 KiB every 20 ms for 2.5 s (stall_ms 1000, pressure_ms 60 s),
 * then the rest, gets all it was sent and then the newest. */
static void test_pressure_spares_slow_readers(void **state)
{
	(void)state;
	fixture *x = setup_with(4, 60000, 60000, 1000);
	int a = raw_peer(x, "SUB");
	assert_true(WAIT_STAT(x, conns.open, 1));
	broadcast(x, BIG, 1); /* a holds 1 */
	assert_true(WAIT_STAT(x, sent, 1));
	broadcast(x, BIG, 2);
	int b = raw_peer(x, "SUB");
	assert_true(WAIT_STAT(x, sent, 2)); /* b holds 2 */
	broadcast(x, BIG, 3);               /* 1, 2 held and 3: short */
	int c = raw_peer(x, "SUB");
	assert_true(WAIT_STAT(x, sent, 3)); /* c holds 3 */
	broadcast(x, BIG, 4);               /* every buffer in use */
	body five = {BIG, 5};
	assert_int_equal(im_fanout_broadcast(x->f, BIG, fill, &five), IM_EAGAIN);
	int fds[3] = {a, b, c};
	size_t done[3] = {0, 0, 0};
	for (uint64_t t0 = im_now_ms(); im_now_ms() - t0 < 2500;) {
		for (int i = 0; i < 3; i++)
			done[i] += raw_nibble(fds[i], 4096);
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	im_fanout_stats st = stats(x);
	assert_int_equal(st.closed_slow, 0);
	assert_int_equal(st.pool_empty, 1);
	for (int i = 0; i < 3; i++) {
		assert_true(done[i] > 9 && done[i] < BIG);
		/* The rest of its first frame, then the newest. */
		uint8_t *rest = malloc(BIG + 9 - done[i]);
		assert_int_equal(raw_read(fds[i], rest, BIG + 9 - done[i]), 0);
		assert_int_equal(rest[BIG + 9 - done[i] - 1], 1 + i);
		free(rest);
		uint64_t len;
		uint8_t tag;
		assert_int_equal(raw_frame(fds[i], &len, &tag), 0);
		assert_int_equal(tag, 4);
	}
	st = stats(x);
	assert_int_equal(st.closed_slow, 0);
	assert_int_equal(st.conns.open, 3);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	teardown(x);
}

static void test_bad_options(void **state)
{
	(void)state;
	void *ctx = zmq_ctx_new(), *pub = zmq_socket(ctx, ZMQ_PUB);
	im_fanout *f = NULL;
	im_fanout_opts o = {.sock = pub};
	assert_int_equal(im_fanout_new(&f, &o), IM_EINVAL);
	void *st = zmq_socket(ctx, ZMQ_STREAM);
	o = (im_fanout_opts){.sock = st, .buffers = 2};
	assert_int_equal(im_fanout_new(&f, &o), IM_EINVAL);
	assert_null(f);
	zmq_close(pub);
	zmq_close(st);
	zmq_ctx_term(ctx);
}

int main(void)
{
	im_log_set_level(IM_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libzmq_sub_gets_broadcasts),
		cmocka_unit_test(test_not_a_sub_is_closed),
		cmocka_unit_test(test_subscriptions_ignored_and_bounded),
		cmocka_unit_test(test_one_held_then_newest),
		cmocka_unit_test(test_held_too_long_is_closed),
		cmocka_unit_test(test_budget_closes_oldest_holders),
		cmocka_unit_test(test_pressure_spares_slow_readers),
		cmocka_unit_test(test_bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
