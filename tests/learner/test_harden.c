// SPDX-License-Identifier: Apache-2.0
/* A live learner (tests/fixture/live_learner.h) against the defects of issue
 * 14 that need a peer: unrolls from actors that never said Hello, spoofed
 * Goodbyes, Welcome amplification, evictions counted apart from drops,
 * parameter versions after a resume, the Hello log's rate limit, and the
 * unroll ledger in every snapshot.  Peers are raw ZeroMQ sockets speaking
 * the wire; each case names the defect it holds fixed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdatomic.h>
#include <zmq.h>

#include "internal.h"
#include "wire.h"

#include "../fixture/live_learner.h"

typedef struct peers {
	void *ctx, *push;
	char hs[64];
} peers;

static void peers_up(peers *p, fx_learner *f)
{
	int port = atoi(strrchr(f->bind, ':') + 1);
	p->ctx = zmq_ctx_new();
	snprintf(p->hs, sizeof p->hs, "tcp://127.0.0.1:%d", port);
	char ep[64];
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port + 1);
	im_sock_opts o;
	im_transport_defaults(&o, ZMQ_PUSH);
	o.linger_ms = 2000;
	o.immediate = 0;
	o.sndtimeo_ms = 5000;
	assert_int_equal(im_transport_open_connected(&p->push, p->ctx, ZMQ_PUSH, &o, ep), IM_OK);
}

static void peers_down(peers *p)
{
	zmq_close(p->push);
	zmq_ctx_term(p->ctx);
}

static void *dealer(peers *p)
{
	im_sock_opts o;
	im_transport_defaults(&o, ZMQ_DEALER);
	o.linger_ms = 0;
	o.immediate = 0;
	o.rcvtimeo_ms = 5000;
	void *d = NULL;
	assert_int_equal(im_transport_open_connected(&d, p->ctx, ZMQ_DEALER, &o, p->hs), IM_OK);
	return d;
}

static void send_control(void *sock, Impala__Control *c)
{
	uint8_t *buf;
	size_t len;
	assert_int_equal(im_wire_encode(&c->base, &buf, &len), IM_OK);
	assert_int_equal(im_transport_send(sock, buf, len, 0), IM_OK);
	free(buf);
}

static void send_hello(void *d, uint64_t actor, uint64_t last_run,
		       uint64_t last_version)
{
	Impala__Hello h = IMPALA__HELLO__INIT;
	h.protocol_version = IMPALA__CONSTANTS__PROTOCOL_VERSION;
	h.actor_id = actor;
	h.host = "harden";
	h.num_envs = 2;
	h.instance = 0x5eed;
	h.last_run_id = last_run;
	h.last_param_version = last_version;
	Impala__Control c = IMPALA__CONTROL__INIT;
	c.body_case = IMPALA__CONTROL__BODY_HELLO;
	c.hello = &h;
	send_control(d, &c);
}

/* The Welcome that answers a Hello (freed by the caller). */
static Impala__Control *hello(void *d, uint64_t actor, uint64_t last_run,
			      uint64_t last_version)
{
	send_hello(d, actor, last_run, last_version);
	zmq_msg_t m;
	zmq_msg_init(&m);
	assert_true(zmq_msg_recv(&m, d, 0) >= 0);
	Impala__Control *c = NULL;
	assert_int_equal(im_wire_decode_control(zmq_msg_data(&m), zmq_msg_size(&m),
						IM_WIRE_MAX_CONTROL, &c),
			 IM_OK);
	zmq_msg_close(&m);
	assert_int_equal(c->body_case, IMPALA__CONTROL__BODY_WELCOME);
	assert_int_equal(c->welcome->refusal, IMPALA__REFUSAL_CODE__REFUSAL_NONE);
	return c;
}

static void goodbye(void *d, uint64_t run, uint64_t actor)
{
	Impala__Goodbye g = IMPALA__GOODBYE__INIT;
	g.instance = 0x5eed; /* send_hello's */
	g.run_id = run;
	g.actor_id = actor;
	g.reason = "test";
	Impala__Control c = IMPALA__CONTROL__INIT;
	c.body_case = IMPALA__CONTROL__BODY_GOODBYE;
	c.goodbye = &g;
	send_control(d, &c);
}

/* A CartPole unroll of T steps, every step ending an episode of length 1
 * and return ret (a made-up record, well-formed). */
static void push_unroll(peers *p, uint32_t T, uint64_t run, uint64_t actor,
			uint64_t version, uint32_t env_index, float ret)
{
	float *obs = calloc((size_t)(T + 1) * 4, sizeof(float));
	int32_t *act = calloc(T, sizeof(int32_t));
	float *rew = calloc(T, sizeof(float)), *logp = calloc(T, sizeof(float));
	uint8_t *term = calloc(T, 1), *trunc = calloc(T, 1);
	Impala__Episode *ep = calloc(T, sizeof *ep);
	Impala__Episode **eps = calloc(T, sizeof *eps);
	for (uint32_t i = 0; i < T; i++) {
		rew[i] = 1.0f;
		logp[i] = logf(0.5f);
		term[i] = 1;
		impala__episode__init(&ep[i]);
		ep[i].episode_return = ret;
		ep[i].length = 1;
		eps[i] = &ep[i];
	}
	uint32_t osh[2] = {T + 1, 4}, ash[1] = {T};
	Impala__Tensor o = IMPALA__TENSOR__INIT, a = IMPALA__TENSOR__INIT;
	o.n_shape = 2, o.shape = osh;
	o.data = (ProtobufCBinaryData){(size_t)(T + 1) * 16, (uint8_t *)obs};
	a.n_shape = 1, a.shape = ash, a.dtype = IMPALA__DTYPE__DTYPE_INT32;
	a.data = (ProtobufCBinaryData){(size_t)T * 4, (uint8_t *)act};
	Impala__Trajectory t = IMPALA__TRAJECTORY__INIT;
	t.protocol_version = IMPALA__CONSTANTS__PROTOCOL_VERSION;
	t.run_id = run;
	t.actor_id = actor;
	t.env_index = env_index;
	t.param_version = version;
	t.num_steps = T;
	t.obs = &o;
	t.actions = &a;
	t.rewards = (ProtobufCBinaryData){(size_t)T * 4, (uint8_t *)rew};
	t.behaviour_logp = (ProtobufCBinaryData){(size_t)T * 4, (uint8_t *)logp};
	t.terminated = (ProtobufCBinaryData){T, term};
	t.truncated = (ProtobufCBinaryData){T, trunc};
	t.n_episodes = T;
	t.episodes = eps;
	uint8_t *buf;
	size_t len;
	assert_int_equal(im_wire_encode(&t.base, &buf, &len), IM_OK);
	assert_int_equal(im_transport_send(p->push, buf, len, 0), IM_OK);
	free(buf);
	free(obs), free(act), free(rew), free(logp), free(term), free(trunc);
	free(ep), free(eps);
}

#define DROPPED(r) "impala_dropped_messages_total{reason=\"" r "\"}"

/* Defect 1: two well-formed unrolls from an actor that never said Hello,
 * carrying 200 made-up episodes of return 1e6, ended a run started with
 * --target-return as "target return reached" (exit 0).  They are dropped
 * as unknown_actor, their episodes are not counted, and the run goes on;
 * a welcomed actor's unroll with an env_index beyond its Hello's
 * num_envs, or an episode longer than the time limit, is dropped too. */
static void test_unknown_actor_not_trained_on(void **state)
{
	(void)state;
	fx_learner f = {.dir = "/tmp/im_harden_XXXXXX"};
	fx_learner_small(&f);
	f.cfg.num_steps = 100;
	f.cfg.target_return = 475;
	fx_learner_start(&f);
	fx_running r;
	fx_run_start(&r, &f);
	peers p;
	peers_up(&p, &f);
	uint64_t run = f.l->run_id;
	push_unroll(&p, 100, run, 4242, 0, 0, 1e6f);
	push_unroll(&p, 100, run, 4242, 0, 0, 1e6f);
	fx_wait_metric(&f, DROPPED("unknown_actor"), 2);
	void *d = dealer(&p);
	Impala__Control *w = hello(d, 4243, 0, 0);
	uint64_t v = w->welcome->params->version;
	impala__control__free_unpacked(w, NULL);
	push_unroll(&p, 100, run, 4243, v, 2, 10.0f); /* num_envs is 2 */
	fx_wait_metric(&f, DROPPED("bad_env_index"), 1);
	struct timespec ts = {0, 300 * 1000000L};
	nanosleep(&ts, NULL);
	assert_true(fx_metric(&f, "impala_episodes_total") == 0);
	assert_true(fx_metric(&f, "impala_unrolls_received_total") == 0);
	zmq_close(d);
	peers_down(&p);
	/* Still fx_running: only the stop ends it. */
	assert_int_equal(pthread_kill(r.th, 0), 0);
	assert_int_equal(fx_run_stop(&r), 0);
	fx_learner_finish(&f);
}

/* Defect 5: a Goodbye for a live actor from another connection removed it
 * from /status.  It counts only over the connection of its Hello. */
static void test_spoofed_goodbye_ignored(void **state)
{
	(void)state;
	fx_learner f = {.dir = "/tmp/im_harden_XXXXXX"};
	fx_learner_small(&f);
	fx_learner_start(&f);
	fx_running r;
	fx_run_start(&r, &f);
	peers p;
	peers_up(&p, &f);
	void *a = dealer(&p), *evil = dealer(&p);
	impala__control__free_unpacked(hello(a, 7, 0, 0), NULL);
	fx_wait_metric(&f, "impala_actors", 1);
	goodbye(evil, f.l->run_id, 7);
	fx_wait_metric(&f, DROPPED("wrong_peer"), 1);
	assert_true(fx_metric(&f, "impala_actors") == 1);
	goodbye(a, f.l->run_id, 7);
	uint64_t t0 = im_now_ms();
	while (fx_metric(&f, "impala_actors") != 0 && im_now_ms() - t0 < 5000)
		;
	assert_true(fx_metric(&f, "impala_actors") == 0);
	zmq_close(a);
	zmq_close(evil);
	peers_down(&p);
	assert_int_equal(fx_run_stop(&r), 0);
	fx_learner_finish(&f);
}

/* Resident memory of this process (the learner runs in it), bytes. */
static long rss_bytes(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;
	assert_non_null(fp);
	assert_int_equal(fscanf(fp, "%ld %ld", &pages, &rss), 2);
	fclose(fp);
	return rss * sysconf(_SC_PAGESIZE);
}

/* Defect 2: every Hello was answered with its own copy of the parameter
 * arena, and ZeroMQ queued up to 256 per connection that does not read:
 * 3 connections sending 300 Hellos each took the learner from 14 MiB to
 * 789 MiB.  Here the arena is 1 MiB (hidden 512) and 3 connections send
 * 100 Hellos each and never read: the learner must not grow by anything
 * like 300 MiB, and a well-behaved actor is still welcomed. */
static void test_welcome_amplification_bounded(void **state)
{
	(void)state;
	fx_learner f = {.dir = "/tmp/im_harden_XXXXXX"};
	fx_learner_small(&f);
	f.cfg.hidden_dim = f.cfg.feature_dim = 512;
	fx_learner_start(&f);
	size_t arena = im_model_num_params(f.l->model) * sizeof(float);
	assert_true(arena > (1u << 20));
	fx_running r;
	fx_run_start(&r, &f);
	peers p;
	peers_up(&p, &f);
	long before = rss_bytes();
	void *flood[3];
	for (int i = 0; i < 3; i++) {
		flood[i] = dealer(&p);
		int hwm = 1;
		zmq_setsockopt(flood[i], ZMQ_RCVHWM, &hwm, sizeof hwm);
		int buf = 4096;
		zmq_setsockopt(flood[i], ZMQ_RCVBUF, &buf, sizeof buf);
	}
	for (int k = 0; k < 100; k++)
		for (int i = 0; i < 3; i++)
			send_hello(flood[i], 100 + (uint64_t)i, 0, 0);
	/* Until the learner has answered them all (it took about a second
	 * when each Welcome was encoded anew; now milliseconds). */
	struct timespec ts = {2, 0};
	nanosleep(&ts, NULL);
	long grown = rss_bytes() - before;
	if (grown > 32L * (long)arena)
		fail_msg("the learner grew by %ld MiB (arena %zu KiB)", grown >> 20,
			 arena >> 10);
	void *ok = dealer(&p);
	impala__control__free_unpacked(hello(ok, 9, 0, 0), NULL);
	zmq_close(ok);
	for (int i = 0; i < 3; i++)
		zmq_close(flood[i]);
	peers_down(&p);
	assert_int_equal(fx_run_stop(&r), 0);
	fx_learner_finish(&f);
}

/* Issue 14: without CURVE the handshake port is a STREAM socket and the
 * learner queues its replies itself.  A peer that sends Hellos and never
 * reads fills its connection's queue; the replies beyond are dropped
 * whole and counted (hs_replies_dropped), never more than one per Hello;
 * the learner holds no more for it (one shared Welcome), and a peer that
 * reads is still answered. */
static void test_unread_replies_dropped(void **state)
{
	(void)state;
	fx_learner f = {.dir = "/tmp/im_harden_XXXXXX"};
	fx_learner_small(&f);
	f.cfg.hidden_dim = f.cfg.feature_dim = 512;
	fx_learner_start(&f);
	assert_non_null(f.l->hs_stream);
	fx_running r;
	fx_run_start(&r, &f);
	peers p;
	peers_up(&p, &f);
	long before = rss_bytes();
	void *flood = dealer(&p);
	int hwm = 1, buf = 4096;
	zmq_setsockopt(flood, ZMQ_RCVHWM, &hwm, sizeof hwm);
	zmq_setsockopt(flood, ZMQ_RCVBUF, &buf, sizeof buf);
	for (int k = 0; k < 100; k++)
		send_hello(flood, 100, 0, 0);
	fx_wait_metric(&f, "impala_hs_replies_dropped_total", 1);
	double dropped = fx_metric(&f, "impala_hs_replies_dropped_total");
	if (dropped <= 0 || dropped > 100)
		fail_msg("%g replies dropped for 100 unread Hellos", dropped);
	size_t arena = im_model_num_params(f.l->model) * sizeof(float);
	long grown = rss_bytes() - before;
	if (grown > 32L * (long)arena)
		fail_msg("the learner grew by %ld MiB (arena %zu KiB)", grown >> 20,
			 arena >> 10);
	void *ok = dealer(&p);
	impala__control__free_unpacked(hello(ok, 9, 0, 0), NULL);
	fx_wait_metric(&f, "impala_hs_connections", 2);
	zmq_close(ok);
	zmq_close(flood);
	peers_down(&p);
	assert_int_equal(fx_run_stop(&r), 0);
	fx_learner_finish(&f);
}

/* The ledger (deploy/README.md): an unroll evicted from the store as
 * older than --max-policy-lag after it was accepted is counted in
 * unrolls_evicted, not again as dropped.  It used to be in both, so
 * received + dropped exceeded what the actors sent.  Holding the learner's
 * lock while 6 unrolls of version v arrive makes this exact: with B = 2
 * and lag 1, two updates bring the version to v + 2 and the last two
 * queued unrolls are evicted. */
static void test_evictions_are_not_drops(void **state)
{
	(void)state;
	fx_learner f = {.dir = "/tmp/im_harden_XXXXXX"};
	fx_learner_small(&f);
	f.cfg.max_policy_lag = 1;
	fx_learner_start(&f);
	fx_running r;
	fx_run_start(&r, &f);
	peers p;
	peers_up(&p, &f);
	void *d = dealer(&p);
	Impala__Control *w = hello(d, 3, 0, 0);
	uint64_t run = f.l->run_id, v = w->welcome->params->version;
	impala__control__free_unpacked(w, NULL);
	pthread_mutex_lock(&f.l->mu);
	for (uint32_t i = 0; i < 6; i++)
		push_unroll(&p, 5, run, 3, v, i % 2, 1.0f);
	im_store_stats ss = {0};
	uint64_t t0 = im_now_ms();
	do {
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
		im_store_get_stats(f.l->store, &ss);
	} while (ss.put < 6 && im_now_ms() - t0 < 10000);
	assert_int_equal(ss.put, 6);
	pthread_mutex_unlock(&f.l->mu);
	fx_wait_metric(&f, "impala_unrolls_evicted_total", 2);
	assert_true(fx_metric(&f, "impala_unrolls_received_total") == 6);
	assert_true(fx_metric(&f, "impala_unrolls_batched_total") == 4);
	assert_true(fx_metric(&f, "impala_store_depth") == 0);
	assert_true(fx_metric(&f, DROPPED("policy_lag")) == 0);
	zmq_close(d);
	peers_down(&p);
	assert_int_equal(fx_run_stop(&r), 0);
	fx_learner_finish(&f);
}

/* Also seen: after a resume the learner issued parameter versions that
 * actors had already seen from the learner it replaced (different
 * parameters under one number; their next unrolls were dropped as
 * future_param_version).  An actor's Hello says the newest version it
 * had of the run: the Welcome's is above it, and what the actor acted
 * under the old learner is refused (stale_session), never trained on. */
static void test_versions_unique_after_resume(void **state)
{
	(void)state;
	fx_learner a = {.dir = "/tmp/im_harden_XXXXXX"};
	fx_learner_small(&a);
	fx_learner_start(&a);
	/* A run at version 50 that was checkpointed there. */
	a.l->version = a.l->updates = 50;
	char out[1024];
	assert_int_equal(fx_run_captured(&a, out, sizeof out), 0);
	uint64_t run = a.l->run_id;
	char ckpt[PATH_MAX + 32];
	snprintf(ckpt, sizeof ckpt, "%s", a.l->ckpt_path);
	fx_learner b = {.dir = "/tmp/im_harden_XXXXXX"};
	fx_learner_small(&b);
	b.cfg.init_model_path = ckpt;
	b.cfg.resume = 1;
	fx_learner_start(&b);
	assert_int_equal(b.l->run_id, run);
	assert_int_equal(b.l->version, 50);
	fx_running r;
	fx_run_start(&r, &b);
	peers p;
	peers_up(&p, &b);
	void *d = dealer(&p);
	/* The dead learner had reached 80 when this actor last heard. */
	Impala__Control *w = hello(d, 3, run, 80);
	assert_int_equal(w->welcome->params->version, 81);
	assert_int_not_equal(w->welcome->params->learner_session, 0);
	impala__control__free_unpacked(w, NULL);
	/* A Hello cannot push the version to overflow. */
	w = hello(d, 4, run, UINT64_MAX - 1);
	assert_true(w->welcome->params->version < (1ull << 41));
	impala__control__free_unpacked(w, NULL);
	/* An unroll acted at 80 under the old learner: refused. */
	push_unroll(&p, 5, run, 3, 80, 0, 1.0f);
	fx_wait_metric(&b, DROPPED("stale_session"), 1);
	push_unroll(&p, 5, run, 3, 81, 0, 1.0f);
	fx_wait_metric(&b, "impala_unrolls_received_total", 1);
	assert_true(fx_metric(&b, DROPPED("future_param_version")) == 0);
	zmq_close(d);
	peers_down(&p);
	assert_int_equal(fx_run_stop(&r), 0);
	fx_learner_finish(&b);
	fx_learner_finish(&a);
}

/* Also seen: each Hello logged one INFO line with no limit (7.7 MB of log
 * in 20 s of Hellos).  300 Hellos log at most the limiter's burst. */
static void test_hello_log_rate_limited(void **state)
{
	(void)state;
	fx_learner f = {.dir = "/tmp/im_harden_XXXXXX"};
	fx_learner_small(&f);
	fx_learner_start(&f);
	char path[] = "/tmp/im_harden_log_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	int saved = dup(2);
	dup2(fd, 2);
	im_log_set_level(IM_LOG_INFO);
	fx_running r;
	fx_run_start(&r, &f);
	peers p;
	peers_up(&p, &f);
	void *d = dealer(&p);
	for (int i = 0; i < 300; i++)
		impala__control__free_unpacked(hello(d, 1000 + (uint64_t)i, 0, 0), NULL);
	zmq_close(d);
	peers_down(&p);
	assert_int_equal(fx_run_stop(&r), 0);
	im_log_set_level(IM_LOG_ERROR);
	dup2(saved, 2);
	close(saved);
	char *buf = calloc(1, 1 << 20);
	ssize_t n = pread(fd, buf, (1 << 20) - 1, 0);
	assert_true(n > 0);
	close(fd);
	unlink(path);
	int joined = 0;
	for (const char *q = buf; (q = strstr(q, " joined (")) != NULL; q++)
		joined++;
	free(buf);
	assert_true(joined >= 1 && joined <= 20);
	fx_learner_finish(&f);
}

/* The ledger received = batched + evicted + depth holds in every
 * snapshot while unrolls flow (reviewer's finding: unrolls_received was
 * the receiver's count, bumped after the store's commit and read after
 * the store's counters, so a snapshot could show it ahead or behind).
 * The learner's threads run without its loop, so that this thread is the
 * only one taking snapshots (and reading the store's counters slowly);
 * unrolls carry the current version with
 * --max-policy-lag 2, so some are evicted as the learner moves on. */
/* The snapshot reads the store's counters through this wrapper
 * (-Wl,--wrap, tests/learner/meson.build): while set, it waits 200 us
 * after the read, so that any counter read separately after it would
 * miss unrolls committed meanwhile, every time rather than once in a
 * million snapshots. */
static atomic_int widen_stats_read;
void __real_im_store_get_stats(im_store *s, im_store_stats *out);
void __wrap_im_store_get_stats(im_store *s, im_store_stats *out);
void __wrap_im_store_get_stats(im_store *s, im_store_stats *out)
{
	__real_im_store_get_stats(s, out);
	if (atomic_load(&widen_stats_read)) {
		struct timespec ts = {0, 200 * 1000L};
		nanosleep(&ts, NULL);
	}
}

typedef struct flow {
	peers *p;
	fx_learner *f;
	uint64_t run;
	atomic_int done;
} flow;

static void *push_many(void *arg)
{
	flow *w = arg;
	for (uint32_t i = 0; i < 20000; i++)
		push_unroll(w->p, 5, w->run, 3,
			    __atomic_load_n(&w->f->l->version, __ATOMIC_ACQUIRE),
			    i % 2, 1.0f);
	atomic_store(&w->done, 1);
	return NULL;
}

static void test_ledger_holds_in_every_snapshot(void **state)
{
	(void)state;
	fx_learner f = {.dir = "/tmp/im_harden_XXXXXX"};
	fx_learner_small(&f);
	f.cfg.max_policy_lag = 2;
	fx_learner_start(&f);
	char err[256] = "";
	assert_int_equal(im_learner_start_threads(f.l, err, sizeof err), IM_OK);
	peers p;
	peers_up(&p, &f);
	void *d = dealer(&p);
	impala__control__free_unpacked(hello(d, 3, 0, 0), NULL);
	flow w = {&p, &f, f.l->run_id, 0};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, push_many, &w), 0);
	im_status_snapshot *s = malloc(sizeof *s);
	uint64_t n = 0, mid = 0;
	atomic_store(&widen_stats_read, 1);
	while (!atomic_load(&w.done) || n < 300) {
		im_learner_snapshot(f.l, s);
		uint64_t sum = s->unrolls_batched + s->unrolls_evicted + s->store_depth;
		if (s->unrolls_received != sum)
			fail_msg("snapshot %" PRIu64 ": received %" PRIu64 " but "
				 "batched %" PRIu64 " + evicted %" PRIu64
				 " + depth %u = %" PRIu64,
				 n, s->unrolls_received, s->unrolls_batched,
				 s->unrolls_evicted, s->store_depth, sum);
		mid += s->unrolls_received > 0 && !atomic_load(&w.done);
		n++;
	}
	atomic_store(&widen_stats_read, 0);
	pthread_join(th, NULL);
	free(s);
	/* The identity was seen while traffic flowed, not only at rest. */
	assert_true(mid >= 20);
	zmq_close(d);
	peers_down(&p);
	im_learner_stop_threads(f.l);
	fx_learner_finish(&f);
}

int main(void)
{
	im_log_set_level(IM_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_actor_not_trained_on),
		cmocka_unit_test(test_spoofed_goodbye_ignored),
		cmocka_unit_test(test_welcome_amplification_bounded),
		cmocka_unit_test(test_unread_replies_dropped),
		cmocka_unit_test(test_versions_unique_after_resume),
		cmocka_unit_test(test_evictions_are_not_drops),
		cmocka_unit_test(test_hello_log_rate_limited),
		cmocka_unit_test(test_ledger_holds_in_every_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
