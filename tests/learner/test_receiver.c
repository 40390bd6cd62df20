// SPDX-License-Identifier: Apache-2.0
/* The receiver on a live loopback PULL socket: bad messages (garbage,
 * oversized, foreign run, NaN, bad action, unknown actor, too old) are each
 * counted under their own reason and reported, good ones reach the store
 * with their policy lag; a full store does not stop the receiver (the
 * newcomer evicts the oldest, counted); stop ends it promptly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "err.h"
#include "log.h"
#include "receiver.h"
#include "store.h"
#include "transport.h"
#include "validate.h"
#include "wire.h"

#include "../fixture/trajectory.h"

#define NT 2
#define RUN 77
#define VERSION 10

/* T = 2, obs (2,) float, Discrete(2), no LSTM. */
static im_run_dims dims(void)
{
	return fx_dims(NT, 2, 0, 2, 0, 0);
}

/* A valid unroll of run RUN with no episode end; callers break one
 * thing. */
static void traj_init(fx_traj *x, uint64_t actor, uint64_t version)
{
	memset(x, 0, sizeof *x);
	for (int i = 0; i < (NT + 1) * 2; i++)
		x->obs_f[i] = (float)i;
	for (int i = 0; i < NT; i++) {
		x->act_i[i] = 1;
		x->rew[i] = 1.0f;
		x->logp[i] = -0.5f;
	}
	im_run_dims d = dims();
	fx_traj_wire(x, &d, RUN, actor, version);
}

static void send_traj(void *push, const Impala__Trajectory *t)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	assert_int_equal(im_wire_encode(&t->base, &buf, &n), IM_OK);
	assert_int_equal(im_transport_send(push, buf, n, 0), IM_OK);
	free(buf);
}

/* What the callbacks saw.  Written on the receiver's thread and read on
 * the test's: every access is atomic (issue 14, defect 12). */
typedef struct seen {
	int rejects[IM_REJECT_COUNT];
	int accepts;
	uint64_t last_lag;
	uint64_t last_actor;
} seen;

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The callbacks take their time, as a logging one may: the receiver's
 * counters must not show a message before its callback has returned,
 * or wait_handled() would let the test read what the callback has not
 * yet written. */
#define CALLBACK_MS 20

static int known(void *ctx, uint64_t id, im_validate_actor *out)
{
	(void)ctx;
	*out = (im_validate_actor){.num_envs = 1, .min_param_version = 0};
	return id != 99;
}

static void on_reject(void *ctx, im_reject why, uint64_t actor,
		      const char *detail)
{
	seen *s = ctx;
	assert_true(detail && detail[0]);
	sleep_ms(CALLBACK_MS);
	__atomic_add_fetch(&s->rejects[why], 1, __ATOMIC_RELEASE);
}

static void on_accept(void *ctx, const Impala__Trajectory *t, uint64_t lag)
{
	seen *s = ctx;
	sleep_ms(CALLBACK_MS);
	__atomic_store_n(&s->last_lag, lag, __ATOMIC_RELAXED);
	__atomic_store_n(&s->last_actor, t->actor_id, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->accepts, 1, __ATOMIC_RELEASE);
}

static int seen_rejects(seen *s, im_reject why)
{
	return __atomic_load_n(&s->rejects[why], __ATOMIC_ACQUIRE);
}

static int seen_accepts(seen *s)
{
	return __atomic_load_n(&s->accepts, __ATOMIC_ACQUIRE);
}

static uint64_t handled(im_receiver *r)
{
	im_receiver_stats st;
	im_receiver_get_stats(r, &st);
	uint64_t n = st.accepted;
	for (int i = 0; i < IM_REJECT_COUNT; i++)
		n += st.dropped[i];
	return n;
}

/* Waits (bounded) until the receiver has dealt with n messages. */
static void wait_handled(im_receiver *r, uint64_t n)
{
	uint64_t t0 = im_now_ms();
	while (handled(r) < n && im_now_ms() - t0 < 5000)
		sleep_ms(5);
	assert_int_equal(handled(r), n);
}

typedef struct rig {
	void *ctx, *pull, *push;
	im_store *store;
	im_receiver *recv;
	uint64_t version;
	seen seen;
} rig;

static void rig_up(rig *g, uint32_t cap)
{
	memset(g, 0, sizeof *g);
	g->ctx = zmq_ctx_new();
	im_sock_opts o;
	im_transport_defaults(&o, ZMQ_PULL);
	o.linger_ms = 0;
	assert_int_equal(im_transport_open_bound(&g->pull, g->ctx, ZMQ_PULL, &o,
						 "tcp://127.0.0.1:*"),
			 IM_OK);
	char ep[IM_TRANSPORT_ENDPOINT_MAX];
	assert_int_equal(im_transport_last_endpoint(g->pull, ep, sizeof ep), IM_OK);
	im_transport_defaults(&o, ZMQ_PUSH);
	o.linger_ms = 0;
	o.sndtimeo_ms = 3000;
	assert_int_equal(im_transport_open_connected(&g->push, g->ctx, ZMQ_PUSH, &o, ep), IM_OK);
	im_store_opts so = {.dims = dims(), .capacity = cap, .batch_size = 1};
	assert_int_equal(im_store_new(&g->store, &so), IM_OK);
	g->version = VERSION;
	im_receiver_opts ro = {
		.sock = g->pull,
		.store = g->store,
		.dims = dims(),
		.run_id = RUN,
		.max_policy_lag = 5,
		.param_version = &g->version,
		.poll_ms = 20,
		.actor_lookup = known,
		.on_accept = on_accept,
		.on_reject = on_reject,
		.ctx = &g->seen,
	};
	assert_int_equal(im_receiver_start(&g->recv, &ro), IM_OK);
}

static void rig_down(rig *g)
{
	im_receiver_stop(g->recv);
	im_store_free(g->store);
	zmq_close(g->push);
	zmq_close(g->pull);
	zmq_ctx_term(g->ctx);
}

static void test_counts_each_reason(void **state)
{
	(void)state;
	rig *g = malloc(sizeof *g);
	rig_up(g, 8);
	fx_traj *x = malloc(sizeof *x);
	traj_init(x, 5, 7);
	send_traj(g->push, &x->t); /* accepted, lag 3 */
	uint8_t junk[40];
	memset(junk, 0xff, sizeof junk);
	assert_int_equal(im_transport_send(g->push, junk, sizeof junk, 0), IM_OK);
	im_run_dims d = dims();
	/* Over the run's bound, far under the socket's ZMQ_MAXMSGSIZE. */
	size_t big = im_validate_max_trajectory_bytes(&d) + 1;
	uint8_t *huge = calloc(1, big);
	assert_int_equal(im_transport_send(g->push, huge, big, 0), IM_OK);
	free(huge);
	traj_init(x, 5, 7);
	x->t.run_id = RUN + 1;
	send_traj(g->push, &x->t);
	traj_init(x, 5, 7);
	x->obs_f[3] = NAN;
	send_traj(g->push, &x->t);
	traj_init(x, 5, 7);
	x->act_i[1] = 2;
	send_traj(g->push, &x->t);
	traj_init(x, 99, 7);
	send_traj(g->push, &x->t);
	traj_init(x, 5, 2);
	send_traj(g->push, &x->t);
	wait_handled(g->recv, 8);
	im_receiver_stats st;
	im_receiver_get_stats(g->recv, &st);
	assert_int_equal(st.accepted, 1);
	assert_int_equal(st.frames, NT);
	static const im_reject once[] = {
		IM_REJECT_DECODE_ERROR, IM_REJECT_OVERSIZED,
		IM_REJECT_FOREIGN_RUN_ID, IM_REJECT_NON_FINITE,
		IM_REJECT_BAD_ACTION, IM_REJECT_UNKNOWN_ACTOR,
		IM_REJECT_POLICY_LAG};
	for (size_t i = 0; i < sizeof once / sizeof once[0]; i++) {
		if (st.dropped[once[i]] != 1)
			fail_msg("%s counted %llu times",
				 im_validate_reason_name(once[i]),
				 (unsigned long long)st.dropped[once[i]]);
		assert_int_equal(seen_rejects(&g->seen, once[i]), 1);
	}
	assert_int_equal(seen_accepts(&g->seen), 1);
	assert_int_equal(__atomic_load_n(&g->seen.last_lag, __ATOMIC_RELAXED), 3);
	assert_int_equal(__atomic_load_n(&g->seen.last_actor, __ATOMIC_RELAXED), 5);
	im_batch *b = NULL;
	assert_int_equal(im_batch_new(&b, &d, 1), IM_OK);
	assert_int_equal(im_store_take(g->store, b, 1000), IM_OK);
	assert_int_equal(b->meta[0].actor_id, 5);
	assert_true(((const float *)b->obs)[2] == 2.0f); /* (t=1, b=0, i=0) */
	im_batch_free(b);
	free(x);
	rig_down(g);
	free(g);
}

static void test_full_store_evicts_and_stop(void **state)
{
	(void)state;
	rig *g = malloc(sizeof *g);
	rig_up(g, 2);
	fx_traj *x = malloc(sizeof *x);
	for (int i = 0; i < 4; i++) {
		traj_init(x, 5, VERSION);
		x->t.unroll_seq = (uint64_t)i;
		send_traj(g->push, &x->t);
	}
	/* The store is full after two: the receiver still reads the rest,
	 * and each newcomer evicts the oldest unroll. */
	wait_handled(g->recv, 4);
	im_receiver_stats st;
	im_receiver_get_stats(g->recv, &st);
	assert_int_equal(st.accepted, 4);
	im_store_stats ss;
	im_store_get_stats(g->store, &ss);
	assert_int_equal(ss.evicted_full, 2);
	assert_int_equal(ss.depth, 2);
	im_run_dims d = dims();
	im_batch *b = NULL;
	assert_int_equal(im_batch_new(&b, &d, 1), IM_OK);
	assert_int_equal(im_store_take(g->store, b, 1000), IM_OK);
	assert_int_equal(b->meta[0].unroll_seq, 2);
	uint64_t t0 = im_now_ms();
	im_receiver_stop(g->recv);
	g->recv = NULL;
	assert_true(im_now_ms() - t0 < 1000);
	im_batch_free(b);
	free(x);
	rig_down(g);
	free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_each_reason),
		cmocka_unit_test(test_full_store_evicts_and_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
