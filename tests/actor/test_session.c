// SPDX-License-Identifier: Apache-2.0
/* The actor's session (actor/session.c) against a fake learner made of
 * raw ZeroMQ sockets on free loopback ports (ROUTER for the handshake, PUB
 * for parameters), for the parts issue 14 changed:
 *   - parameters: of several waiting, only the newest is applied (drained
 *     without ZMQ_CONFLATE, which leaks in libzmq 4.3.4: defect 10), an
 *     older one of the same learner is ignored, and one from another
 *     learner process (a restart that resumed the run) ends the session
 *     with IM_ESESSION so that the actor handshakes again (defect 1);
 *   - the Goodbye travels over the connection whose Hello was welcomed
 *     (same routing id), so the learner can refuse spoofed ones (defect 5);
 *   - a second Hello tells the learner the run and the newest version the
 *     actor had (versions stay unique across learner restarts). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "err.h"
#include "log.h"
#include "session.h"
#include "transport.h"
#include "wire.h"

#define RUN 0x5151u
#define SESSION 0xabcdefu
#define NP 3

typedef struct fake {
	void *ctx, *router, *pub;
	int port;
	char base[64];
	uint8_t peer[256]; /* routing id of the last Hello */
	size_t peer_len;
	Impala__Hello *hello; /* the last one, decoded */
} fake;

static void fake_up(fake *f)
{
	memset(f, 0, sizeof *f);
	assert_int_equal(im_transport_free_ports(3, &f->port), IM_OK);
	snprintf(f->base, sizeof f->base, "tcp://127.0.0.1:%d", f->port);
	f->ctx = zmq_ctx_new();
	im_sock_opts o;
	im_transport_defaults(&o, ZMQ_ROUTER);
	o.linger_ms = 0;
	o.rcvtimeo_ms = 5000;
	char ep[64];
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", f->port);
	assert_int_equal(im_transport_open_bound(&f->router, f->ctx, ZMQ_ROUTER, &o, ep), IM_OK);
	im_transport_defaults(&o, ZMQ_PUB);
	o.linger_ms = 0;
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", f->port + 2);
	assert_int_equal(im_transport_open_bound(&f->pub, f->ctx, ZMQ_PUB, &o, ep), IM_OK);
}

static void fake_down(fake *f)
{
	if (f->hello)
		impala__hello__free_unpacked(f->hello, NULL);
	zmq_close(f->router);
	zmq_close(f->pub);
	zmq_ctx_term(f->ctx);
}

/* Receives one [routing id, Control] message; returns the Control. */
static Impala__Control *fake_recv(fake *f, uint8_t *peer, size_t *peer_len)
{
	zmq_msg_t id, body;
	zmq_msg_init(&id);
	zmq_msg_init(&body);
	assert_true(zmq_msg_recv(&id, f->router, 0) >= 0);
	assert_true(zmq_msg_more(&id));
	assert_true(zmq_msg_recv(&body, f->router, 0) >= 0);
	*peer_len = zmq_msg_size(&id);
	memcpy(peer, zmq_msg_data(&id), *peer_len);
	Impala__Control *c = NULL;
	assert_int_equal(im_wire_decode_control(zmq_msg_data(&body), zmq_msg_size(&body),
						1 << 20, &c),
			 IM_OK);
	zmq_msg_close(&id);
	zmq_msg_close(&body);
	return c;
}

static float g_params[NP] = {1, 2, 3};

static void fill_params(Impala__Params *p, uint64_t session, uint64_t version,
			float *data)
{
	impala__params__init(p);
	p->run_id = RUN;
	p->learner_session = session;
	p->version = version;
	p->param_count = NP;
	p->data = (ProtobufCBinaryData){NP * sizeof(float), (uint8_t *)data};
	p->checksum = im_wire_crc32c(data, NP * sizeof(float));
}

/* Answers the next Hello with a Welcome at version. */
static void fake_welcome(fake *f, uint64_t version)
{
	Impala__Control *c = fake_recv(f, f->peer, &f->peer_len);
	assert_int_equal(c->body_case, IMPALA__CONTROL__BODY_HELLO);
	if (f->hello)
		impala__hello__free_unpacked(f->hello, NULL);
	/* Keep the Hello: re-encode and decode it on its own. */
	uint8_t *buf;
	size_t len;
	assert_int_equal(im_wire_encode(&c->hello->base, &buf, &len), IM_OK);
	f->hello = impala__hello__unpack(NULL, len, buf);
	free(buf);
	impala__control__free_unpacked(c, NULL);
	Impala__RunSpec spec = IMPALA__RUN_SPEC__INIT;
	spec.run_id = RUN;
	Impala__Params p;
	fill_params(&p, SESSION, version, g_params);
	Impala__Welcome w = IMPALA__WELCOME__INIT;
	w.protocol_version = IMPALA__CONSTANTS__PROTOCOL_VERSION;
	w.spec = &spec;
	w.params = &p;
	Impala__Control r = IMPALA__CONTROL__INIT;
	r.body_case = IMPALA__CONTROL__BODY_WELCOME;
	r.welcome = &w;
	assert_int_equal(im_wire_encode(&r.base, &buf, &len), IM_OK);
	assert_int_equal(im_transport_send(f->router, f->peer, f->peer_len, ZMQ_SNDMORE), IM_OK);
	assert_int_equal(im_transport_send(f->router, buf, len, 0), IM_OK);
	free(buf);
}

/* A Params with the learner's flow-control advice (actor/flow.h). */
static void publish_advice(fake *f, uint64_t session, uint64_t version,
			   float first, uint32_t store_free, uint32_t actor_envs)
{
	float data[NP] = {first, first + 1, first + 2};
	Impala__Params p;
	fill_params(&p, session, version, data);
	p.store_free = store_free;
	p.actor_envs = actor_envs;
	uint8_t *buf;
	size_t len;
	assert_int_equal(im_wire_encode(&p.base, &buf, &len), IM_OK);
	assert_int_equal(im_transport_send(f->pub, buf, len, 0), IM_OK);
	free(buf);
}

/* The same, with this actor's (id 7) flow-control mark: the unroll_seq
 * after the last of its unrolls the learner received. */
static void publish_mark(fake *f, uint64_t version, uint32_t store_free,
			 uint64_t mark)
{
	float data[NP] = {1, 2, 3};
	uint64_t ids[2] = {9, 7}, seqs[2] = {1000, mark};
	Impala__Params p;
	fill_params(&p, SESSION, version, data);
	p.store_free = store_free;
	p.actor_envs = 4;
	p.n_flow_actor_ids = p.n_flow_next_seqs = 2;
	p.flow_actor_ids = ids;
	p.flow_next_seqs = seqs;
	uint8_t *buf;
	size_t len;
	assert_int_equal(im_wire_encode(&p.base, &buf, &len), IM_OK);
	assert_int_equal(im_transport_send(f->pub, buf, len, 0), IM_OK);
	free(buf);
}

static void publish(fake *f, uint64_t session, uint64_t version, float first)
{
	publish_advice(f, session, version, first, 0, 0);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static volatile sig_atomic_t g_stop;

static im_session *session_up(fake *f)
{
	im_session_opts so = {
		.learner = f->base,
		.actor_id = 7,
		.env = "",
		.num_envs = 2,
		.handshake_timeout_ms = 5000,
		.learner_timeout_ms = 10000,
		.send_hwm = 4,
		.stop = &g_stop,
	};
	im_session *s = NULL;
	assert_int_equal(im_session_new(&s, &so), IM_OK);
	return s;
}

typedef struct answer_arg {
	fake *f;
	uint64_t version;
} answer_arg;

static void *answer_main(void *p)
{
	answer_arg *a = p;
	fake_welcome(a->f, a->version);
	return NULL;
}

/* Handshakes s with f, which answers on a second thread with a Welcome at
 * version. */
static void handshake(fake *f, im_session *s, uint64_t version)
{
	answer_arg a = {f, version};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, answer_main, &a), 0);
	Impala__Control *c = NULL;
	char err[256] = "";
	int rc = im_session_handshake(s, &c, err, sizeof err);
	pthread_join(th, NULL);
	if (rc)
		fail_msg("handshake: %s (%s)", err, im_strerror(rc));
	assert_int_equal(c->welcome->params->version, version);
	impala__control__free_unpacked(c, NULL);
}

/* Polls until a Params is applied or one of the errors comes (bounded). */
static int poll_until(im_session *s, float *params, uint64_t *version)
{
	uint64_t t0 = im_now_ms();
	int rc = 0;
	while (rc == 0 && im_now_ms() - t0 < 5000) {
		sleep_ms(20);
		rc = im_session_poll_params(s, RUN, params, NP, version);
	}
	return rc;
}

static void test_session(void **state)
{
	(void)state;
	fake f;
	fake_up(&f);
	im_session *s = session_up(&f);
	handshake(&f, s, 5);
	assert_int_equal(f.hello->last_run_id, 0);
	assert_int_equal(f.hello->num_envs, 2);
	uint8_t hello_peer[256];
	size_t hello_peer_len = f.peer_len;
	memcpy(hello_peer, f.peer, f.peer_len);
	/* The actor's routing id is its own random one, not ZeroMQ's
	 * 5-byte counter. */
	assert_int_equal(hello_peer_len, 16);

	/* Several waiting: only the newest is applied.  The PUB drops
	 * messages until the subscription is through: probe first. */
	float params[NP] = {0};
	uint64_t version = 5;
	uint64_t t0 = im_now_ms();
	int rc = 0;
	while (rc == 0 && im_now_ms() - t0 < 5000) {
		publish(&f, SESSION, 6, 60);
		sleep_ms(20);
		rc = im_session_poll_params(s, RUN, params, NP, &version);
	}
	assert_int_equal(rc, 1);
	assert_int_equal(version, 6);
	/* (Three: the SUB queue holds four, more would wait in the kernel
	 * for the next poll.) */
	for (uint64_t v = 8; v <= 10; v++)
		publish(&f, SESSION, v, (float)(10 * v));
	sleep_ms(300);
	assert_int_equal(poll_until(s, params, &version), 1);
	/* On a loaded machine the three may not all be through after 300 ms:
	 * the polls that follow apply what came since, never going back. */
	t0 = im_now_ms();
	for (uint64_t seen = version; version < 10 && im_now_ms() - t0 < 5000; seen = version) {
		sleep_ms(20);
		assert_true(im_session_poll_params(s, RUN, params, NP, &version) >= 0);
		assert_true(version >= seen && version >= 8);
	}
	assert_int_equal(version, 10);
	assert_true(params[0] == 100.0f && params[2] == 102.0f);
	/* An older one of the same learner is ignored. */
	publish(&f, SESSION, 9, 90);
	sleep_ms(200);
	assert_int_equal(im_session_poll_params(s, RUN, params, NP, &version), 0);
	assert_int_equal(version, 10);
	assert_true(params[0] == 100.0f);
	/* Another learner process for the same run: handshake again. */
	publish(&f, SESSION + 1, 3, 30);
	assert_int_equal(poll_until(s, params, &version), IM_ESESSION);
	assert_int_equal(version, 10);
	assert_true(params[0] == 100.0f);

	/* The second Hello says which run and version the actor had. */
	handshake(&f, s, 11);
	assert_int_equal(f.hello->last_run_id, RUN);
	assert_int_equal(f.hello->last_param_version, 10);
	hello_peer_len = f.peer_len;
	memcpy(hello_peer, f.peer, f.peer_len);

	/* The Goodbye comes over the welcomed connection. */
	im_session_free(s, "test", 3);
	uint8_t peer[256];
	size_t peer_len = 0;
	Impala__Control *c = fake_recv(&f, peer, &peer_len);
	assert_int_equal(c->body_case, IMPALA__CONTROL__BODY_GOODBYE);
	assert_int_equal(c->goodbye->actor_id, 7);
	assert_int_equal(c->goodbye->unrolls_sent, 3);
	assert_int_equal(peer_len, hello_peer_len);
	assert_memory_equal(peer, hello_peer, peer_len);
	impala__control__free_unpacked(c, NULL);
	fake_down(&f);
}

typedef struct hold_arg {
	im_session *s;
	float *params;
	uint64_t *version;
	int rc;
	int done; /* atomic */
} hold_arg;

static void *hold_main(void *p)
{
	hold_arg *a = p;
	a->rc = im_session_hold(a->s, RUN, a->params, NP, a->version);
	__atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Flow control: no limit before the learner's advice; with a full store
 * advertised the actor waits (polling, not acting) until a Params gives
 * it room. */
static void test_hold_until_room(void **state)
{
	(void)state;
	fake f;
	fake_up(&f);
	im_session *s = session_up(&f);
	handshake(&f, s, 5);
	float params[NP] = {0};
	uint64_t version = 5;
	assert_int_equal(im_session_hold(s, RUN, params, NP, &version), IM_OK);
	assert_int_equal(im_session_holds(s), 0);
	/* The store is full (free 0), two environments listed. */
	uint64_t t0 = im_now_ms();
	int rc = 0;
	while (rc == 0 && im_now_ms() - t0 < 5000) {
		publish_advice(&f, SESSION, 6, 60, 0, 2);
		sleep_ms(20);
		rc = im_session_poll_params(s, RUN, params, NP, &version);
	}
	assert_int_equal(rc, 1);
	hold_arg a = {s, params, &version, 1, 0};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, hold_main, &a), 0);
	sleep_ms(300);
	assert_int_equal(__atomic_load_n(&a.done, __ATOMIC_ACQUIRE), 0);
	/* Room for four: the actor's share (its two environments of two) is
	 * all of it. */
	publish_advice(&f, SESSION, 7, 70, 4, 2);
	t0 = im_now_ms();
	while (!__atomic_load_n(&a.done, __ATOMIC_ACQUIRE) && im_now_ms() - t0 < 5000)
		sleep_ms(10);
	pthread_join(th, NULL);
	assert_int_equal(a.rc, IM_OK);
	assert_int_equal(version, 7);
	assert_int_equal(im_session_holds(s), 1);
	im_session_free(s, "test", 0);
	fake_down(&f);
}

/* Publishes the mark until the session applied it (version). */
static void advise_mark(fake *f, im_session *s, uint64_t version,
			uint32_t store_free, uint64_t mark, float *params,
			uint64_t *v)
{
	uint64_t t0 = im_now_ms();
	while (*v != version && im_now_ms() - t0 < 5000) {
		publish_mark(f, version, store_free, mark);
		sleep_ms(20);
		assert_true(im_session_poll_params(s, RUN, params, NP, v) >= 0);
	}
	assert_int_equal(*v, version);
}

/* The count in flight travels in the Params (actor/flow.h): the actor (2
 * of 4 environments) sent unrolls 0 and 1; with room 4 (its share 2) and
 * its mark at 0 both are on the way and fill its share; the mark at 2
 * frees it.  The rule before let it act at once. */
static void test_in_flight_holds(void **state)
{
	(void)state;
	fake f;
	fake_up(&f);
	void *pull = zmq_socket(f.ctx, ZMQ_PULL);
	int ms = 5000, zero = 0;
	zmq_setsockopt(pull, ZMQ_RCVTIMEO, &ms, sizeof ms);
	zmq_setsockopt(pull, ZMQ_LINGER, &zero, sizeof zero);
	char ep[64];
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", f.port + 1);
	assert_int_equal(zmq_bind(pull, ep), 0);
	im_session *s = session_up(&f);
	handshake(&f, s, 5);
	float params[NP] = {0};
	uint64_t version = 5;
	advise_mark(&f, s, 6, 4, 0, params, &version);
	for (uint64_t seq = 0; seq < 2; seq++) {
		assert_int_equal(im_session_send(s, (const uint8_t *)"u", 1, seq,
						 RUN, params, NP, &version),
				 IM_OK);
		char b[4];
		assert_int_equal(zmq_recv(pull, b, sizeof b, 0), 1);
	}
	advise_mark(&f, s, 7, 4, 0, params, &version);
	hold_arg a = {s, params, &version, 1, 0};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, hold_main, &a), 0);
	sleep_ms(300);
	assert_int_equal(__atomic_load_n(&a.done, __ATOMIC_ACQUIRE), 0);
	uint64_t t0 = im_now_ms();
	while (!__atomic_load_n(&a.done, __ATOMIC_ACQUIRE) && im_now_ms() - t0 < 5000) {
		publish_mark(&f, 8, 4, 2);
		sleep_ms(20);
	}
	pthread_join(th, NULL);
	assert_int_equal(a.rc, IM_OK);
	assert_int_equal(version, 8);
	assert_int_equal(im_session_holds(s), 1);
	im_session_free(s, "test", 2);
	zmq_close(pull);
	fake_down(&f);
}

/* A Params of the fake's session at version with n marks, every id and
 * next_seq equal to val, and `junk` bytes of an unknown field (number
 * 100) after them; sent as it is. */
static void publish_marks(fake *f, uint64_t version, size_t n, uint64_t val,
			  size_t junk)
{
	float data[NP] = {1, 2, 3};
	uint64_t *vals = malloc((n ? n : 1) * sizeof *vals);
	for (size_t i = 0; i < n; i++)
		vals[i] = val;
	Impala__Params p;
	fill_params(&p, SESSION, version, data);
	p.store_free = 4;
	p.actor_envs = 4;
	p.n_flow_actor_ids = p.n_flow_next_seqs = n;
	p.flow_actor_ids = p.flow_next_seqs = vals;
	size_t len = protobuf_c_message_get_packed_size(&p.base);
	uint8_t *buf = malloc(len + 8 + junk);
	protobuf_c_message_pack(&p.base, buf);
	if (junk) { /* tag (100 << 3 | 2) and a 3-byte length */
		uint8_t h[5] = {0xa2, 0x06, (uint8_t)(0x80 | (junk & 0x7f)),
				(uint8_t)(0x80 | ((junk >> 7) & 0x7f)),
				(uint8_t)(junk >> 14)};
		memcpy(buf + len, h, sizeof h);
		memset(buf + len + sizeof h, 'j', junk);
		len += sizeof h + junk;
	}
	assert_int_equal(im_transport_send(f->pub, buf, len, 0), IM_OK);
	free(buf);
	free(vals);
}

typedef struct marks_case {
	const char *name;
	size_t n;     /* marks */
	uint64_t val; /* each id and next_seq */
	size_t junk;  /* bytes of an unknown field */
	int applied;
} marks_case;

/* Finding 4 of the last review: a packed uint64 decodes to up to 8 times
 * its bytes, and the actor decoded a Params of up to IM_WIRE_MAX_PARAMS
 * (256 MiB) with any number of marks.  It now refuses one longer than
 * im_wire_params_max(param_count) bytes before decoding it, and one with
 * more than IM_WIRE_MAX_FLOW_MARKS marks; a learner's largest Params
 * (the most marks, every varint 10 bytes) still passes. */
static const marks_case marks_cases[] = {
	{"the most marks, 10 bytes each: applied", IM_WIRE_MAX_FLOW_MARKS,
	 UINT64_MAX, 0, 1},
	{"one mark more: refused", IM_WIRE_MAX_FLOW_MARKS + 1, 7, 0, 0},
	{"over the byte bound (an unknown field): refused", 8, 7, 64 << 10, 0},
};

static void test_params_bounded(void **state)
{
	(void)state;
	fake f;
	fake_up(&f);
	im_session *s = session_up(&f);
	handshake(&f, s, 5);
	float params[NP] = {0};
	uint64_t version = 5;
	/* The PUB drops messages until the subscription is through. */
	advise_mark(&f, s, 6, 4, 0, params, &version);
	for (size_t i = 0; i < sizeof marks_cases / sizeof marks_cases[0]; i++) {
		const marks_case *c = &marks_cases[i];
		uint64_t v = 7 + i, bad = im_session_bad_params(s);
		publish_marks(&f, v, c->n, c->val, c->junk);
		uint64_t t0 = im_now_ms();
		while (version != v && im_session_bad_params(s) == bad &&
		       im_now_ms() - t0 < 5000) {
			sleep_ms(20);
			assert_true(im_session_poll_params(s, RUN, params, NP, &version) >= 0);
		}
		if ((version == v) != c->applied ||
		    im_session_bad_params(s) != bad + !c->applied)
			fail_msg("%s: version %llu, bad_params %llu (before %llu)",
				 c->name, (unsigned long long)version,
				 (unsigned long long)im_session_bad_params(s),
				 (unsigned long long)bad);
		version = v; /* the next case's is newer either way */
	}
	im_session_free(s, "test", 0);
	fake_down(&f);
}

int main(void)
{
	im_log_set_level(IM_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_hold_until_room),
		cmocka_unit_test(test_in_flight_holds),
		cmocka_unit_test(test_params_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
