// SPDX-License-Identifier: Apache-2.0
/* ZeroMQ helpers on loopback: endpoint derivation (table), options applied
 * as documented, PUSH/PULL delivery in order, PUB/SUB with CONFLATE keeping
 * only the newest message, an oversized message dropped by MAXMSGSIZE while
 * later small ones still arrive, free consecutive ports, error codes, and
 * a receiver that survives a peer dying while its queue is full (the
 * libzmq 4.3.4 abort of issue 14, see transport.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "err.h"
#include "log.h"
#include "transport.h"
#include "wire.h"

typedef struct epcase {
	const char *base;
	int rc;
	const char *hs, *traj, *params;
} epcase;

static const epcase epcases[] = {
	{"tcp://127.0.0.1:5555", IM_OK, "tcp://127.0.0.1:5555",
	 "tcp://127.0.0.1:5556", "tcp://127.0.0.1:5557"},
	{"tcp://*:7000", IM_OK, "tcp://*:7000", "tcp://*:7001", "tcp://*:7002"},
	{"tcp://learner.example:65533", IM_OK, "tcp://learner.example:65533",
	 "tcp://learner.example:65534", "tcp://learner.example:65535"},
	{"tcp://[::1]:9000", IM_OK, "tcp://[::1]:9000", "tcp://[::1]:9001",
	 "tcp://[::1]:9002"},
	{"ipc:///tmp/impala", IM_OK, "ipc:///tmp/impala.hs",
	 "ipc:///tmp/impala.traj", "ipc:///tmp/impala.params"},
	{"tcp://host:65534", IM_ERANGE, 0, 0, 0},
	{"tcp://host:0", IM_ERANGE, 0, 0, 0},
	{"tcp://host", IM_EINVAL, 0, 0, 0},
	{"tcp://:5555", IM_EINVAL, 0, 0, 0},
	{"tcp://host:", IM_EINVAL, 0, 0, 0},
	{"tcp://host:12ab", IM_EINVAL, 0, 0, 0},
	{"tcp://host:-5", IM_EINVAL, 0, 0, 0},
	{"tcp://::1:5555", IM_EINVAL, 0, 0, 0},
	{"udp://host:5555", IM_EINVAL, 0, 0, 0},
	{"ipc://", IM_EINVAL, 0, 0, 0},
	{"", IM_EINVAL, 0, 0, 0},
};

static void test_endpoints(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof epcases / sizeof epcases[0]; i++) {
		const epcase *c = &epcases[i];
		im_endpoints e;
		memset(&e, 0, sizeof e);
		int rc = im_transport_endpoints(&e, c->base);
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d", c->base, rc, c->rc);
		if (rc != IM_OK) {
			assert_string_equal(e.handshake, ""); /* untouched */
			continue;
		}
		assert_string_equal(e.handshake, c->hs);
		assert_string_equal(e.trajectories, c->traj);
		assert_string_equal(e.params, c->params);
	}
}

static int get_int(void *s, int opt)
{
	int v = -12345;
	size_t n = sizeof v;
	assert_int_equal(zmq_getsockopt(s, opt, &v, &n), 0);
	return v;
}

static void test_options_applied(void **state)
{
	(void)state;
	void *ctx = zmq_ctx_new();
	void *pull = NULL, *sub = NULL;
	assert_int_equal(im_transport_socket(&pull, ctx, ZMQ_PULL, NULL), IM_OK);
	int64_t max = 0;
	size_t n = sizeof max;
	assert_int_equal(zmq_getsockopt(pull, ZMQ_MAXMSGSIZE, &max, &n), 0);
	assert_true(max == (int64_t)IM_WIRE_MAX_TRAJECTORY);
	assert_int_equal(get_int(pull, ZMQ_RCVHWM), 64);
	assert_int_equal(get_int(pull, ZMQ_LINGER), 500);
	assert_int_equal(get_int(pull, ZMQ_RECONNECT_IVL), 100);
	assert_int_equal(get_int(pull, ZMQ_RECONNECT_IVL_MAX), 5000);
	assert_int_equal(get_int(pull, ZMQ_TCP_KEEPALIVE), 1);
	/* No heartbeats: they abort libzmq 4.3.4 (transport.h). */
	assert_int_equal(get_int(pull, ZMQ_HEARTBEAT_IVL), 0);
	im_sock_opts o;
	im_transport_defaults(&o, ZMQ_SUB);
	/* No ZMQ_CONFLATE: it leaks in libzmq 4.3.4 (transport.h). */
	assert_int_equal(o.conflate, 0);
	o.rcvtimeo_ms = 250;
	assert_int_equal(im_transport_socket(&sub, ctx, ZMQ_SUB, &o), IM_OK);
	assert_int_equal(get_int(sub, ZMQ_RCVTIMEO), 250);
	n = sizeof max;
	assert_int_equal(zmq_getsockopt(sub, ZMQ_MAXMSGSIZE, &max, &n), 0);
	assert_true(max == (int64_t)IM_WIRE_MAX_PARAMS);
	zmq_close(pull);
	zmq_close(sub);
	zmq_ctx_term(ctx);
}

/* A socket with a receive timeout so no test can hang. */
static void *open_sock(void *ctx, int type, int64_t max, int conflate)
{
	im_sock_opts o;
	im_transport_defaults(&o, type);
	o.rcvtimeo_ms = 3000;
	o.sndtimeo_ms = 3000;
	o.linger_ms = 0;
	if (max)
		o.max_msg_size = max;
	o.conflate = conflate;
	void *s = NULL;
	assert_int_equal(im_transport_socket(&s, ctx, type, &o), IM_OK);
	return s;
}

static void bind_any(void *s, char *ep, size_t len)
{
	assert_int_equal(im_transport_bind(s, "tcp://127.0.0.1:*"), IM_OK);
	assert_int_equal(im_transport_last_endpoint(s, ep, len), IM_OK);
	assert_true(im_transport_bound_port(s) > 0);
}

/* Receives one message into buf (NUL-terminated); returns its size. */
static int recv_str(void *s, char *buf, size_t cap, int flags)
{
	zmq_msg_t m;
	zmq_msg_init(&m);
	int n = im_transport_recv(s, &m, flags);
	if (n >= 0) {
		size_t k = (size_t)n < cap - 1 ? (size_t)n : cap - 1;
		memcpy(buf, zmq_msg_data(&m), k);
		buf[k] = '\0';
	}
	zmq_msg_close(&m);
	return n;
}

static void test_push_pull(void **state)
{
	(void)state;
	void *ctx = zmq_ctx_new();
	void *pull = open_sock(ctx, ZMQ_PULL, 0, 0);
	void *push = open_sock(ctx, ZMQ_PUSH, 0, 0);
	char ep[IM_TRANSPORT_ENDPOINT_MAX], buf[64];
	bind_any(pull, ep, sizeof ep);
	assert_int_equal(im_transport_connect(push, ep), IM_OK);
	static const char *const msgs[] = {"one", "two", "three"};
	for (int i = 0; i < 3; i++)
		assert_int_equal(im_transport_send(push, msgs[i], strlen(msgs[i]), 0), IM_OK);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(recv_str(pull, buf, sizeof buf, 0), (int)strlen(msgs[i]));
		assert_string_equal(buf, msgs[i]);
	}
	/* Nothing more: a timeout, reported as IM_EAGAIN with errno EAGAIN. */
	assert_int_equal(recv_str(pull, buf, sizeof buf, ZMQ_DONTWAIT), IM_EAGAIN);
	assert_int_equal(errno, EAGAIN);
	zmq_close(push);
	zmq_close(pull);
	zmq_ctx_term(ctx);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void test_pub_sub_conflate(void **state)
{
	(void)state;
	void *ctx = zmq_ctx_new();
	void *pub = open_sock(ctx, ZMQ_PUB, 0, 1);
	void *sub = open_sock(ctx, ZMQ_SUB, 0, 1);
	char ep[IM_TRANSPORT_ENDPOINT_MAX], buf[64];
	bind_any(pub, ep, sizeof ep);
	assert_int_equal(im_transport_connect(sub, ep), IM_OK);
	/* PUB drops messages until the subscription arrives: probe until one
	 * gets through (bounded). */
	uint64_t t0 = im_now_ms();
	int got = IM_EAGAIN;
	while (got < 0 && im_now_ms() - t0 < 3000) {
		im_transport_send(pub, "probe", 5, 0);
		sleep_ms(20);
		got = recv_str(sub, buf, sizeof buf, ZMQ_DONTWAIT);
	}
	assert_true(got >= 0);
	while (recv_str(sub, buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
		;
	for (int v = 1; v <= 5; v++) {
		char m[8];
		snprintf(m, sizeof m, "v%d", v);
		assert_int_equal(im_transport_send(pub, m, strlen(m), 0), IM_OK);
	}
	sleep_ms(200);
	/* Only the newest survives. */
	assert_int_equal(recv_str(sub, buf, sizeof buf, 0), 2);
	assert_string_equal(buf, "v5");
	assert_int_equal(recv_str(sub, buf, sizeof buf, ZMQ_DONTWAIT), IM_EAGAIN);
	zmq_close(sub);
	zmq_close(pub);
	zmq_ctx_term(ctx);
}

static void test_oversized_dropped(void **state)
{
	(void)state;
	void *ctx = zmq_ctx_new();
	void *pull = open_sock(ctx, ZMQ_PULL, 1024, 0);
	void *push = open_sock(ctx, ZMQ_PUSH, 0, 0);
	char ep[IM_TRANSPORT_ENDPOINT_MAX];
	bind_any(pull, ep, sizeof ep);
	assert_int_equal(im_transport_connect(push, ep), IM_OK);
	char *big = malloc(4096);
	memset(big, 'B', 4096);
	assert_int_equal(im_transport_send(push, big, 4096, 0), IM_OK);
	/* The receiver drops the connection that carried the big message;
	 * the sender reconnects and small messages flow again. */
	uint64_t t0 = im_now_ms();
	char buf[64];
	int got = IM_EAGAIN;
	while (got < 0 && im_now_ms() - t0 < 5000) {
		im_transport_send(push, "small", 5, ZMQ_DONTWAIT);
		got = recv_str(pull, buf, sizeof buf, ZMQ_DONTWAIT);
		if (got < 0)
			sleep_ms(20);
	}
	assert_int_equal(got, 5);
	assert_string_equal(buf, "small");
	/* Everything that arrives is small: the big one never does. */
	while ((got = recv_str(pull, buf, sizeof buf, ZMQ_DONTWAIT)) >= 0)
		assert_int_equal(got, 5);
	free(big);
	zmq_close(push);
	zmq_close(pull);
	zmq_ctx_term(ctx);
}

static void test_free_ports(void **state)
{
	(void)state;
	int port = 0;
	assert_int_equal(im_transport_free_ports(3, &port), IM_OK);
	assert_true(port > 0 && port <= 65533);
	char base[64];
	snprintf(base, sizeof base, "tcp://127.0.0.1:%d", port);
	im_endpoints e;
	assert_int_equal(im_transport_endpoints(&e, base), IM_OK);
	void *ctx = zmq_ctx_new();
	void *s[3];
	const char *eps[3] = {e.handshake, e.trajectories, e.params};
	int types[3] = {ZMQ_ROUTER, ZMQ_PULL, ZMQ_PUB};
	for (int i = 0; i < 3; i++)
		assert_int_equal(im_transport_open_bound(&s[i], ctx, types[i], NULL, eps[i]), IM_OK);
	assert_int_equal(im_transport_bound_port(s[2]), port + 2);
	/* The same port twice: EADDRINUSE, kept in errno. */
	void *again = NULL;
	assert_int_equal(im_transport_open_bound(&again, ctx, ZMQ_PULL, NULL, eps[1]), IM_ESYS);
	assert_int_equal(errno, EADDRINUSE);
	assert_null(again);
	for (int i = 0; i < 3; i++) {
		int zero = 0;
		zmq_setsockopt(s[i], ZMQ_LINGER, &zero, sizeof zero);
		zmq_close(s[i]);
	}
	zmq_ctx_term(ctx);
	assert_int_equal(im_transport_free_ports(0, &port), IM_EINVAL);
}

static void test_errors(void **state)
{
	(void)state;
	void *ctx = zmq_ctx_new();
	void *s = NULL;
	assert_int_equal(im_transport_open_connected(&s, ctx, ZMQ_PUSH, NULL, "bogus://x"), IM_EINVAL);
	assert_null(s);
	assert_int_equal(im_transport_socket(&s, ctx, 12345, NULL), IM_EINVAL);
	assert_int_equal(im_transport_err(ETERM), IM_ECANCELED);
	assert_int_equal(im_transport_err(EMSGSIZE), IM_ETOOBIG);
	assert_int_equal(im_transport_err(EINTR), IM_EAGAIN);
	zmq_ctx_term(ctx);
}

/* ---- a peer dying while the receiver is stalled ----
 *
 * The learner's PULL socket stops reading a connection whose queue is at
 * its high-water mark (backpressure).  In libzmq 4.3.4, if that connection
 * then fails (an actor killed) and anything makes the stalled engine write
 * (a ZMTP heartbeat timer, a PING from the peer), the process aborts with
 * "Assertion failed: !_io_error (src/stream_engine_base.cpp:331)".  The
 * receiver runs in a child so that an abort is a reported failure. */

#define STALL_MSG 1024

/* The peer: PUSH with the actor's defaults, sends until its queues and
 * the kernel's are full (nothing accepted for 300 ms), reports the count
 * on fd, and dies by SIGKILL as a killed actor does. */
static void stalled_peer(const char *ep, int fd)
{
	void *ctx = zmq_ctx_new();
	void *push = NULL;
	if (im_transport_open_connected(&push, ctx, ZMQ_PUSH, NULL, ep) != IM_OK)
		_exit(2);
	char msg[STALL_MSG];
	memset(msg, 'x', sizeof msg);
	uint64_t sent = 0, last = im_now_ms(), t0 = last;
	while (im_now_ms() - last < 300 && im_now_ms() - t0 < 10000) {
		if (im_transport_send(push, msg, sizeof msg, ZMQ_DONTWAIT) == IM_OK) {
			sent++;
			last = im_now_ms();
		} else {
			sleep_ms(5);
		}
	}
	if (write(fd, &sent, sizeof sent) != (ssize_t)sizeof sent)
		_exit(3);
	raise(SIGKILL);
	_exit(4);
}

/* The receiver: PULL with the learner's defaults; lets the peer fill its
 * queue, waits for it to die, stays stalled for `stall_ms` (several
 * heartbeat intervals of the old defaults), then drains.  Exits 0 when it
 * received more than its high-water mark (so it really was stalled), 5 when
 * not, other codes for setup failures; SIGABRT is the bug. */
static void stalled_receiver(int stall_ms)
{
	void *ctx = zmq_ctx_new();
	im_sock_opts o;
	im_transport_defaults(&o, ZMQ_PULL);
	o.rcvtimeo_ms = 1000; /* the drain ends 1 s after the last message */
	void *pull = NULL;
	char ep[IM_TRANSPORT_ENDPOINT_MAX];
	if (im_transport_open_bound(&pull, ctx, ZMQ_PULL, &o, "tcp://127.0.0.1:*") ||
	    im_transport_last_endpoint(pull, ep, sizeof ep))
		_exit(2);
	int fds[2];
	if (pipe(fds))
		_exit(2);
	pid_t peer = fork();
	if (peer == 0)
		stalled_peer(ep, fds[1]);
	uint64_t sent = 0;
	int st;
	if (peer < 0 || read(fds[0], &sent, sizeof sent) != (ssize_t)sizeof sent ||
	    waitpid(peer, &st, 0) != peer)
		_exit(2);
	sleep_ms(stall_ms);
	uint64_t got = 0;
	zmq_msg_t m;
	zmq_msg_init(&m);
	while (im_transport_recv(pull, &m, 0) >= 0)
		got++;
	zmq_msg_close(&m);
	fprintf(stderr, "peer sent %llu, received %llu after its death\n",
		(unsigned long long)sent, (unsigned long long)got);
	_exit(got > (uint64_t)o.rcvhwm ? 0 : 5);
}

static void test_peer_dies_while_stalled(void **state)
{
	(void)state;
	pid_t r = fork();
	assert_true(r >= 0);
	if (r == 0)
		stalled_receiver(3500);
	int st = 0;
	assert_int_equal(waitpid(r, &st, 0), r);
	if (WIFSIGNALED(st))
		fail_msg("the receiver died by signal %d (SIGABRT is libzmq's "
			 "!_io_error assertion)",
			 WTERMSIG(st));
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		fail_msg("receiver exit %d (5: it never stalled)", WEXITSTATUS(st));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_options_applied),
		cmocka_unit_test(test_push_pull),
		cmocka_unit_test(test_pub_sub_conflate),
		cmocka_unit_test(test_oversized_dropped),
		cmocka_unit_test(test_free_ports),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_peer_dies_while_stalled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
