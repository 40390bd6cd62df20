// SPDX-License-Identifier: Apache-2.0
/* The learner's handshake thread: Hello -> Welcome, Goodbye.
 *
 * The socket: with CURVE a ROUTER (ZAP admits only authorised keys before
 * libzmq's ZMTP engine processes any command); without, a ZMQ_STREAM
 * socket read through learner/stream.h, where the learner speaks ZMTP
 * itself as a ROUTER and accepts only DEALER peers (what actor/session.c
 * uses), because libzmq's engine can be made to abort the process by any
 * peer that reaches the port (issue 14; tests/bench/README.md, "The
 * libzmq abort").  On the STREAM socket each reply is one ZeroMQ message
 * holding a whole ZMTP frame (header and body): a full queue refuses all
 * of it (counted, hs_replies_dropped) and never leaves half a frame on
 * the wire.  A connection is named by its routing id on either socket.
 *
 * What a peer can make the learner hold here is bounded whatever it sends
 * (issue 14, defect 2: 3 connections sending 300 Hellos each took the
 * learner from 14 MiB to 789 MiB, one parameter arena per queued Welcome):
 *   - a Welcome is encoded once and shared: every reply is a reference to
 *     the same ZeroMQ message, rebuilt at most every WELCOME_REFRESH_MS (or
 *     sooner when a resumed run's version must move past an actor's);
 *   - the bytes of all Welcome buffers still referenced (by queues of
 *     peers that do not read) are counted, and a Welcome that would take
 *     them over the budget (learner.h: IM_LEARNER_WELCOME_BUDGET, or four
 *     arenas if larger) is not built: the Hello gets REFUSAL_BUSY, a few
 *     bytes, and the actor retries;
 *   - the socket queues at most a few replies per connection (a reply
 *     to a full queue is dropped) and takes small messages only
 *     (sockets.c, hs_opts); the STREAM socket holds at most one frame in
 *     reassembly per connection and IM_STREAM_MAX_CONNS connections
 *     (learner/stream.h);
 *   - the actor table is bounded (actors.h: IM_ACTORS_MAX).
 * The INFO line of each Hello is rate-limited. */
#include "internal.h"

#include "err.h"
#include "stream.h"
#include "transport.h"
#include "wire.h"
#include "zmtp.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define POLL_MS 100
#define WELCOME_REFRESH_MS 200
/* Versions a resumed learner may skip to pass what its actors saw from the
 * learner it replaces: far beyond any run, far below overflow. */
#define VERSION_JUMP_MAX (1ull << 40)

static int stopping(im_learner *l)
{
	return atomic_load(&l->stopping);
}

/* ---- the shared Welcome ------------------------------------------------ */

/* Heads the allocation of an encoded Welcome (on the STREAM socket, our
 * ZMTP frame header first); ZeroMQ calls buf_freed with it when the last
 * reference is gone (on whichever thread drops it). */
typedef struct welcome_buf {
	im_learner *l;
	size_t len;
	_Alignas(16) uint8_t data[];
} welcome_buf;

static void buf_freed(void *data, void *hint)
{
	(void)data;
	welcome_buf *b = hint;
	atomic_fetch_sub(&b->l->welcome_bytes, b->len);
	free(b);
}

/* The cached Welcome (handshake thread only). */
typedef struct welcome_cache {
	zmq_msg_t msg;
	int valid;
	uint64_t version;
	uint64_t made_ms;
} welcome_cache;

/* The handshake thread's state. */
typedef struct hs {
	im_learner *l;
	welcome_cache wc;
	float *snapshot; /* the parameters a Welcome is encoded from */
	int framed;      /* STREAM: replies carry our ZMTP frame header */
} hs;

/* The ZMTP frame header of a len-byte reply into hdr on the STREAM
 * socket; nothing on the ROUTER, whose engine frames it. */
static size_t reply_header(const hs *h, uint8_t hdr[IM_ZMTP_HEADER_MAX],
			   size_t len)
{
	return h->framed ? im_zmtp_frame_header(hdr, len, 0) : 0;
}

static size_t welcome_budget(const im_learner *l)
{
	size_t arena = im_model_num_params(l->model) * sizeof(float);
	size_t four = 4 * (arena + 4096);
	return four > IM_LEARNER_WELCOME_BUDGET ? four : IM_LEARNER_WELCOME_BUDGET;
}

/* Encodes a Welcome with the current parameters into c.  IM_EAGAIN when
 * the budget is spent (the old cache stays), IM_ENOMEM. */
static int build_welcome(hs *h)
{
	im_learner *l = h->l;
	welcome_cache *c = &h->wc;
	float *snapshot = h->snapshot;
	size_t n = im_model_num_params(l->model);
	Impala__Params p = IMPALA__PARAMS__INIT;
	pthread_mutex_lock(&l->mu);
	memcpy(snapshot, l->params, n * sizeof(float));
	p.version = l->version;
	pthread_mutex_unlock(&l->mu);
	p.run_id = l->run_id;
	p.learner_session = l->session;
	p.param_count = n;
	p.data = (ProtobufCBinaryData){n * sizeof(float), (uint8_t *)snapshot};
	p.checksum = im_wire_crc32c(snapshot, n * sizeof(float));
	Impala__Welcome w = IMPALA__WELCOME__INIT;
	w.protocol_version = IMPALA__CONSTANTS__PROTOCOL_VERSION;
	w.spec = &l->spec.spec;
	w.params = &p;
	Impala__Control ctl = IMPALA__CONTROL__INIT;
	ctl.body_case = IMPALA__CONTROL__BODY_WELCOME;
	ctl.welcome = &w;
	size_t body = protobuf_c_message_get_packed_size(&ctl.base);
	uint8_t hdr[IM_ZMTP_HEADER_MAX];
	size_t hl = reply_header(h, hdr, body), len = hl + body;
	if (atomic_load(&l->welcome_bytes) + len > welcome_budget(l))
		return IM_EAGAIN;
	welcome_buf *b = malloc(sizeof *b + len);
	if (!b)
		return IM_ENOMEM;
	b->l = l;
	b->len = len;
	memcpy(b->data, hdr, hl);
	protobuf_c_message_pack(&ctl.base, b->data + hl);
	atomic_fetch_add(&l->welcome_bytes, len);
	if (c->valid)
		zmq_msg_close(&c->msg);
	zmq_msg_init_data(&c->msg, b->data, len, buf_freed, b);
	c->valid = 1;
	c->version = p.version;
	c->made_ms = im_now_ms();
	return IM_OK;
}

/* A cache fresh enough for an actor that last had version `seen` of this
 * run (0: none): rebuilt when older than WELCOME_REFRESH_MS and the
 * parameters moved on, or when its version is not above seen. */
static int fresh_welcome(hs *h, uint64_t seen)
{
	im_learner *l = h->l;
	welcome_cache *c = &h->wc;
	uint64_t version = __atomic_load_n(&l->version, __ATOMIC_ACQUIRE);
	int stale = !c->valid || (c->version != version &&
				  im_now_ms() - c->made_ms >= WELCOME_REFRESH_MS);
	int must = !c->valid || (seen && c->version <= seen);
	if (!stale && !must)
		return IM_OK;
	int rc = build_welcome(h);
	return rc == IM_EAGAIN && !must ? IM_OK : rc;
}

/* ---- replies ----------------------------------------------------------- */

/* Sends the routing id of a reply.  On the STREAM socket a full queue
 * refuses it (EAGAIN) before anything is queued.  libzmq learns that the
 * peer's side has read from the queue by commands it processes only now
 * and then, so a queue can look full when it is not (with SNDHWM 8 and
 * RCVHWM 16, a client reading each reply before its next request lost
 * one within its first 70 to 1,000 in 5 runs of 6; sockets.c, hs_opts):
 * on EAGAIN, ZMQ_EVENTS processes them, and one retry tells. */
static int send_routing_id(hs *h, const uint8_t *peer, size_t peer_len)
{
	void *sock = h->l->router;
	int flags = ZMQ_SNDMORE | ZMQ_DONTWAIT;
	int rc = im_transport_send(sock, peer, peer_len, flags);
	if (rc != IM_EAGAIN || !h->framed)
		return rc;
	int events;
	size_t el = sizeof events;
	zmq_getsockopt(sock, ZMQ_EVENTS, &events, &el);
	return im_transport_send(sock, peer, peer_len, flags);
}

/* Sends msg (a copy of it: the caller keeps its reference) to the
 * connection peer, without waiting.  On the STREAM socket a reply to a
 * full queue is dropped whole and counted (the ROUTER drops silently):
 * the body goes only after its routing id was taken, so a frame is
 * never cut. */
static int send_to(hs *h, const uint8_t *peer, size_t peer_len, zmq_msg_t *msg)
{
	im_learner *l = h->l;
	int rc = send_routing_id(h, peer, peer_len);
	zmq_msg_t copy;
	zmq_msg_init(&copy);
	if (rc == IM_OK && zmq_msg_copy(&copy, msg) == 0 &&
	    zmq_msg_send(&copy, l->router, ZMQ_DONTWAIT) < 0)
		rc = im_transport_err(zmq_errno());
	zmq_msg_close(&copy);
	if (rc != IM_OK && h->framed)
		atomic_fetch_add(&l->hs_replies_dropped, 1);
	return rc;
}

static void send_refusal(hs *h, const uint8_t *peer, size_t peer_len,
			 Impala__RefusalCode code, const char *reason)
{
	Impala__Welcome w = IMPALA__WELCOME__INIT;
	w.protocol_version = IMPALA__CONSTANTS__PROTOCOL_VERSION;
	w.refusal = code;
	w.reason = (char *)reason;
	Impala__Control c = IMPALA__CONTROL__INIT;
	c.body_case = IMPALA__CONTROL__BODY_WELCOME;
	c.welcome = &w;
	uint8_t *buf;
	size_t len;
	if (im_wire_encode(&c.base, &buf, &len))
		return;
	uint8_t hdr[IM_ZMTP_HEADER_MAX];
	size_t hl = reply_header(h, hdr, len);
	zmq_msg_t m;
	if (zmq_msg_init_size(&m, hl + len) == 0) {
		memcpy(zmq_msg_data(&m), hdr, hl);
		memcpy((uint8_t *)zmq_msg_data(&m) + hl, buf, len);
		send_to(h, peer, peer_len, &m);
		zmq_msg_close(&m);
	}
	free(buf);
}

/* Copies network text into dst (n bytes) for the log, with every byte
 * outside printable ASCII replaced by '?', so that a peer can neither
 * start a forged log line nor send terminal escapes. */
static const char *printable(char *dst, size_t n, const char *src)
{
	size_t j = 0;
	for (const char *p = src ? src : ""; *p && j + 1 < n; p++)
		dst[j++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	dst[j] = '\0';
	return dst;
}

/* A resumed run: the actor saw versions of this run from the learner this
 * one replaces, up to last; those numbers stood for other parameters, so
 * the version moves past them (bounded: a Hello cannot push it to
 * overflow).  Returns the version to build the Welcome for, or 0. */
static uint64_t pass_versions_seen(im_learner *l, const Impala__Hello *h)
{
	if (h->last_run_id != l->run_id || h->last_param_version == 0)
		return 0;
	uint64_t last = h->last_param_version;
	pthread_mutex_lock(&l->mu);
	if (last >= l->version && last < l->start_version + VERSION_JUMP_MAX) {
		im_info("actor %" PRIu64 " had parameter version %" PRIu64
			" of this run from an earlier learner; versions continue "
			"from %" PRIu64,
			h->actor_id, last, last + 1);
		__atomic_store_n(&l->version, last + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&l->mu);
	return last < l->start_version + VERSION_JUMP_MAX ? last : 0;
}

static void log_joined(im_learner *l, const Impala__Hello *h, uint64_t version)
{
	uint64_t suppressed = 0;
	if (!im_log_ratelimit_ok(&l->hello_rl, &suppressed))
		return;
	char host[65];
	im_info("actor %" PRIu64 " joined (host %s, pid %u, %u envs) at version "
		"%" PRIu64 "%s",
		h->actor_id,
		printable(host, sizeof host, h->host ? h->host : "?"), h->pid,
		h->num_envs, version,
		suppressed ? "; similar lines suppressed" : "");
}

static void log_refused(im_learner *l, const Impala__Hello *h,
			const char *reason)
{
	uint64_t suppressed = 0;
	if (!im_log_ratelimit_ok(&l->hello_rl, &suppressed))
		return;
	char text[256];
	im_warn("refused actor %" PRIu64 ": %s%s", h->actor_id,
		printable(text, sizeof text, reason),
		suppressed ? "; similar lines suppressed" : "");
}

/* Lists the actor before it is welcomed: a Welcome without a row would
 * have every unroll of the actor dropped as unknown_actor. */
static int record_hello(im_learner *l, const welcome_cache *wc,
			const uint8_t *peer, size_t peer_len,
			const Impala__Hello *h)
{
	im_actors_hello_info hi = {
		.id = h->actor_id,
		.host = h->host,
		.num_envs = h->num_envs,
		.welcome_version = wc->version,
		.peer = peer,
		.peer_len = peer_len,
		.instance = h->instance,
	};
	return im_actors_hello(l->actors, &hi, im_now_ms());
}

/* Answers a Hello: the shared Welcome, or a refusal. */
static void welcome(hs *t, const uint8_t *peer, size_t peer_len,
		    const Impala__Hello *h)
{
	im_learner *l = t->l;
	welcome_cache *wc = &t->wc;
	char reason[256];
	Impala__RefusalCode code = im_validate_hello(h, l->env, reason, sizeof reason);
	if (code == IMPALA__REFUSAL_CODE__REFUSAL_NONE && stopping(l)) {
		code = IMPALA__REFUSAL_CODE__REFUSAL_SHUTTING_DOWN;
		snprintf(reason, sizeof reason, "learner is shutting down");
	}
	if (code == IMPALA__REFUSAL_CODE__REFUSAL_NONE) {
		uint64_t seen = pass_versions_seen(l, h);
		int rc = fresh_welcome(t, seen);
		if (rc != IM_OK) {
			code = IMPALA__REFUSAL_CODE__REFUSAL_BUSY;
			snprintf(reason, sizeof reason, "learner busy (%s); try "
							"again",
				 rc == IM_EAGAIN ? "too many Welcomes "
						   "waiting to be read"
						 : im_strerror(rc));
		}
	}
	if (code == IMPALA__REFUSAL_CODE__REFUSAL_NONE) {
		int rc = record_hello(l, wc, peer, peer_len, h);
		if (rc == IM_EAUTH) {
			/* Counted like a bad message; the holder keeps the id. */
			atomic_fetch_add(&l->dropped[IM_REJECT_ACTOR_ID_IN_USE], 1);
			code = IMPALA__REFUSAL_CODE__REFUSAL_ACTOR_ID_IN_USE;
			snprintf(reason, sizeof reason, "actor id %" PRIu64 " is "
							"held by another live actor process; it is free "
							"once that one says Goodbye or is silent for "
							"%g s (--actor-timeout)",
				 h->actor_id,
				 l->cfg->actor_timeout);
		} else if (rc != IM_OK) {
			code = IMPALA__REFUSAL_CODE__REFUSAL_BUSY;
			snprintf(reason, sizeof reason, "learner busy (%s); try "
							"again",
				 rc == IM_EAGAIN ? "actor table full"
						 : im_strerror(rc));
		}
	}
	if (code != IMPALA__REFUSAL_CODE__REFUSAL_NONE) {
		log_refused(l, h, reason);
		send_refusal(t, peer, peer_len, code, reason);
		return;
	}
	log_joined(l, h, wc->version);
	send_to(t, peer, peer_len, &wc->msg);
}

/* Counts a bad message on the handshake socket and warns, rate-limited. */
static void hs_reject(im_learner *l, im_reject why, size_t len)
{
	uint64_t suppressed = 0;
	atomic_fetch_add(&l->dropped[why], 1);
	if (im_log_ratelimit_ok(&l->hs_rl, &suppressed))
		im_warn("rejected a handshake message (%zu bytes): %s%s", len,
			im_validate_reason_text(why),
			suppressed ? "; similar warnings suppressed" : "");
}

/* A Goodbye counts only from the connection and the instance that said
 * the actor's Hello. */
static void goodbye(im_learner *l, const uint8_t *peer, size_t peer_len,
		    const Impala__Goodbye *g, size_t len)
{
	if (g->run_id != l->run_id)
		return;
	int rc = im_actors_goodbye(l->actors, g->actor_id, g->instance, peer,
				   peer_len);
	if (rc == IM_EAUTH) {
		hs_reject(l, IM_REJECT_WRONG_PEER, len);
		return;
	}
	char why[65];
	if (rc == 1)
		im_info("actor %" PRIu64 " left (%s) after %" PRIu64 " unrolls",
			g->actor_id, printable(why, sizeof why, g->reason),
			g->unrolls_sent);
}

static void handle_control(hs *h, const uint8_t *peer, size_t peer_len,
			   const uint8_t *buf, size_t len)
{
	im_learner *l = h->l;
	Impala__Control *c = NULL;
	int rc = im_wire_decode_control(buf, len, IM_LEARNER_MAX_CONTROL_IN, &c);
	if (rc) {
		hs_reject(l, im_validate_decode_rc(rc), len);
		return;
	}
	if (c->body_case == IMPALA__CONTROL__BODY_HELLO)
		welcome(h, peer, peer_len, c->hello);
	else if (c->body_case == IMPALA__CONTROL__BODY_GOODBYE)
		goodbye(l, peer, peer_len, c->goodbye, len);
	else
		hs_reject(l, IM_REJECT_WRONG_MESSAGE, len);
	impala__control__free_unpacked(c, NULL);
}

/* ROUTER: receives one [identity, body] message and handles it. */
static void router_step(hs *h)
{
	im_learner *l = h->l;
	zmq_msg_t id, body;
	zmq_msg_init(&id);
	zmq_msg_init(&body);
	if (im_transport_recv(l->router, &id, ZMQ_DONTWAIT) >= 0 &&
	    zmq_msg_more(&id) &&
	    im_transport_recv(l->router, &body, ZMQ_DONTWAIT) >= 0) {
		if (zmq_msg_more(&body)) {
			/* Not our framing: drain and drop it. */
			hs_reject(l, IM_REJECT_WRONG_MESSAGE, zmq_msg_size(&body));
			while (zmq_msg_more(&body) &&
			       im_transport_recv(l->router, &body, ZMQ_DONTWAIT) >= 0)
				;
		} else {
			handle_control(h, zmq_msg_data(&id), zmq_msg_size(&id),
				       zmq_msg_data(&body), zmq_msg_size(&body));
		}
	}
	zmq_msg_close(&id);
	zmq_msg_close(&body);
}

/* STREAM: one message frame of a DEALER peer.  A multi-part message is
 * not our framing: counted once, at its first part, the rest skipped. */
static int on_frame(void *ctx, const uint8_t *data, size_t len, int more)
{
	hs *h = ctx;
	im_stream *s = h->l->hs_stream;
	if (!im_stream_first_part(s))
		return 0;
	if (more) {
		hs_reject(h->l, IM_REJECT_WRONG_MESSAGE, len);
		return 0;
	}
	size_t peer_len;
	const uint8_t *peer = im_stream_peer(s, &peer_len);
	handle_control(h, peer, peer_len, data, len);
	return 0;
}

/* Handles what arrived: one message on the ROUTER, a bounded round of
 * chunks on the STREAM socket (so that the stop flag is seen). */
static void handshake_step(hs *h)
{
	if (h->framed)
		im_stream_pump(h->l->hs_stream, 64, on_frame, h);
	else
		router_step(h);
}

void *im_learner_handshake_main(void *arg)
{
	im_learner *l = arg;
	hs h = {.l = l, .framed = l->hs_stream != NULL};
	h.snapshot = malloc(im_model_num_params(l->model) * sizeof(float));
	l->hs_rl = (im_log_ratelimit){.interval_ms = 5000, .burst = 5};
	l->hello_rl = (im_log_ratelimit){.interval_ms = 5000, .burst = 20};
	while (h.snapshot && !stopping(l)) {
		zmq_pollitem_t it = {l->router, 0, ZMQ_POLLIN, 0};
		if (zmq_poll(&it, 1, POLL_MS) > 0)
			handshake_step(&h);
	}
	if (h.wc.valid)
		zmq_msg_close(&h.wc.msg);
	free(h.snapshot);
	return NULL;
}
