// SPDX-License-Identifier: Apache-2.0
#include "session.h"

#include "err.h"
#include "flow.h"
#include "log.h"
#include "rng.h"
#include "validate.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

struct im_session {
	im_session_opts o;
	char curve_public[41], curve_secret[41], curve_server[41];
	im_endpoints ep;
	void *ctx;
	void *push, *sub;
	void *mon_push, *mon_sub; /* PAIR ends of their handshake monitors */
	int reopen;               /* a data socket's handshake failed */
	int unverified;           /* a data connection dropped since the
				   * last Params of our learner session */
	int told;                 /* ...and the log said why */
	uint64_t run_id;          /* of the last Welcome, 0 before */
	uint64_t session;         /* the learner's session of that Welcome */
	uint64_t version;         /* newest parameter version of the run */
	/* The DEALER whose Hello was welcomed, kept open: the learner takes
	 * a Goodbye only from the connection that said Hello. */
	void *dealer;
	uint64_t last_params_ms;
	uint64_t bad_params;
	char host[64];
	/* Random and nonzero, for the life of the process: sent in every
	 * Hello and Goodbye, it tells the learner that a new Hello comes from
	 * the process that already holds the actor id (proto: Hello.instance). */
	uint64_t instance;
	/* The retryable refusal last logged (0: none since the last Welcome),
	 * so that an actor kept waiting says why once, not every retry. */
	Impala__RefusalCode refused, told_refusal;
	im_flow flow; /* the learner's advice: how much more to send */
};

static int stopped(const im_session *s)
{
	return s->o.stop && *s->o.stop;
}

/* Makes o a CURVE client when keys are configured. */
static void curve_opts(const im_session *s, im_sock_opts *o)
{
	if (s->curve_secret[0])
		im_transport_curve_client(o, s->curve_public, s->curve_secret,
					  s->curve_server);
}

/* Keeps copies of the keys: the options' strings are only borrowed. */
static int copy_keys(im_session *s, const im_session_opts *o)
{
	if (!o->curve_secret)
		return IM_OK;
	if (!o->curve_public || !o->curve_server)
		return IM_EINVAL;
	snprintf(s->curve_public, sizeof s->curve_public, "%s", o->curve_public);
	snprintf(s->curve_secret, sizeof s->curve_secret, "%s", o->curve_secret);
	snprintf(s->curve_server, sizeof s->curve_server, "%s", o->curve_server);
	s->o.curve_public = s->o.curve_secret = s->o.curve_server = NULL;
	return IM_OK;
}

/* ---- the PUSH and SUB sockets and their handshake monitors ---------- */

/* ZeroMQ gives up on a connection whose security handshake failed (a key
 * the learner has not authorised, or CURVE on one side only) and never
 * retries it.  A monitor on each socket reports such failures, so that the
 * actor can say why it gets nothing and, once a handshake succeeds again
 * (the key was authorised meanwhile), open both sockets afresh.  A failed
 * handshake never carried a message, so reopening loses nothing. */
#define HANDSHAKE_FAILED (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | \
			  ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | \
			  ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
/* A dropped connection may come back to another learner process (one
 * restarted from a checkpoint, same run id): see check_links(). */
#define MON_EVENTS (HANDSHAKE_FAILED | ZMQ_EVENT_DISCONNECTED)

static int open_monitored(im_session *s, void **sock, void **mon, int type,
			  const im_sock_opts *o, const char *ep)
{
	char mep[96];
	int rc = im_transport_socket(sock, s->ctx, type, o);
	if (rc)
		return rc;
	snprintf(mep, sizeof mep, "inproc://impala-monitor-%p", *sock);
	if (zmq_socket_monitor(*sock, mep, MON_EVENTS) != 0)
		return im_transport_err(zmq_errno());
	*mon = zmq_socket(s->ctx, ZMQ_PAIR);
	if (!*mon)
		return im_transport_err(zmq_errno());
	rc = im_transport_connect(*mon, mep);
	return rc ? rc : im_transport_connect(*sock, ep);
}

static int open_data_sockets(im_session *s)
{
	im_sock_opts po;
	im_transport_defaults(&po, ZMQ_PUSH);
	po.sndhwm = s->o.send_hwm > 0 ? s->o.send_hwm : po.sndhwm;
	po.sndtimeo_ms = 100;
	po.sndbuf = 128 << 10;
	curve_opts(s, &po);
	int rc = open_monitored(s, &s->push, &s->mon_push, ZMQ_PUSH, &po,
				s->ep.trajectories);
	if (rc)
		return rc;
	im_sock_opts so;
	im_transport_defaults(&so, ZMQ_SUB);
	so.rcvbuf = 256 << 10;
	curve_opts(s, &so);
	return open_monitored(s, &s->sub, &s->mon_sub, ZMQ_SUB, &so, s->ep.params);
}

static void close_data_sockets(im_session *s)
{
	void **socks[] = {&s->push, &s->sub, &s->mon_push, &s->mon_sub};
	for (size_t i = 0; i < 4; i++)
		if (*socks[i]) {
			zmq_close(*socks[i]);
			*socks[i] = NULL;
		}
}

/* Reads every waiting event of mon; returns the ZMQ_EVENT_* bits seen. */
static int drain_monitor(void *mon)
{
	int seen = 0;
	for (;;) {
		zmq_msg_t ev, addr;
		zmq_msg_init(&ev);
		if (zmq_msg_recv(&ev, mon, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&ev);
			return seen;
		}
		uint16_t id = 0;
		if (zmq_msg_size(&ev) >= sizeof id)
			memcpy(&id, zmq_msg_data(&ev), sizeof id);
		seen |= id;
		int more = zmq_msg_more(&ev);
		zmq_msg_close(&ev);
		while (more) { /* the endpoint frame */
			zmq_msg_init(&addr);
			more = zmq_msg_recv(&addr, mon, ZMQ_DONTWAIT) >= 0 &&
			       zmq_msg_more(&addr);
			zmq_msg_close(&addr);
		}
	}
}

/* Notes failed security handshakes of the data sockets, saying once why,
 * and dropped connections: after one, no unroll goes out until a Params
 * of the welcoming learner session has been heard again (a learner
 * restarted at once would otherwise receive, and refuse as unknown_actor,
 * everything acted until this actor notices the new session). */
static void check_handshakes(im_session *s)
{
	int seen = (s->mon_push ? drain_monitor(s->mon_push) : 0) |
		   (s->mon_sub ? drain_monitor(s->mon_sub) : 0);
	if (seen & ZMQ_EVENT_DISCONNECTED)
		s->unverified = 1;
	if (!(seen & HANDSHAKE_FAILED))
		return;
	s->reopen = 1;
	if (s->told)
		return;
	s->told = 1;
	if (seen & ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
		im_error("the learner refused this actor's CURVE key %s: add its "
			 ".pub file to the learner's --authorized-keys directory "
			 "(no restart needed); retrying",
			 s->curve_public[0] ? s->curve_public : "(none)");
	else
		im_error("the security handshake with %s failed: CURVE must be "
			 "on at both ends, with the learner's own public key "
			 "in --learner-public-key; retrying",
			 s->ep.trajectories);
}

/* After a Welcome (the learner accepts us now): reopens the data sockets
 * if their handshakes had failed, since ZeroMQ will not retry them. */
static int recover_data_sockets(im_session *s)
{
	check_handshakes(s);
	s->told = 0;
	if (!s->reopen)
		return IM_OK;
	s->reopen = 0;
	close_data_sockets(s);
	im_info("reconnecting the trajectory and parameter sockets");
	return open_data_sockets(s);
}

int im_session_new(im_session **out, const im_session_opts *o)
{
	im_session *s = calloc(1, sizeof *s);
	if (!s)
		return IM_ENOMEM;
	s->o = *o;
	int rc = im_transport_endpoints(&s->ep, o->learner);
	if (rc == IM_OK)
		rc = copy_keys(s, o);
	if (rc)
		goto fail;
	if (gethostname(s->host, sizeof s->host) != 0)
		snprintf(s->host, sizeof s->host, "unknown");
	s->host[sizeof s->host - 1] = '\0';
	while (!s->instance)
		s->instance = im_rng_entropy();
	im_flow_init(&s->flow, s->instance);
	rc = IM_ENOMEM;
	s->ctx = zmq_ctx_new();
	if (!s->ctx)
		goto fail;
	rc = open_data_sockets(s);
	if (rc)
		goto fail;
	*out = s;
	return IM_OK;
fail:
	im_session_free(s, NULL, 0);
	return rc;
}

/* A fresh DEALER per attempt: a stale Welcome to an earlier attempt can
 * never be mistaken for the answer to this one.  Its routing id is random
 * (16 bytes, the first nonzero as ZeroMQ requires): the learner knows the
 * connection that said Hello by it, and no other peer can guess it (nor
 * take it while this one is connected). */
static int open_dealer(im_session *s, void **out)
{
	im_sock_opts d;
	im_transport_defaults(&d, ZMQ_DEALER);
	d.linger_ms = 0;
	d.immediate = 0; /* queue the Hello until the connection is up */
	curve_opts(s, &d);
	void *sock = NULL;
	int rc = im_transport_socket(&sock, s->ctx, ZMQ_DEALER, &d);
	if (rc)
		return rc;
	uint64_t id[2] = {im_rng_entropy(), im_rng_entropy()};
	((uint8_t *)id)[0] |= 1;
	if (zmq_setsockopt(sock, ZMQ_ROUTING_ID, id, sizeof id) != 0)
		rc = im_transport_err(zmq_errno());
	if (rc == IM_OK)
		rc = im_transport_connect(sock, s->ep.handshake);
	if (rc) {
		zmq_close(sock);
		return rc;
	}
	*out = sock;
	return IM_OK;
}

static int send_control(void *sock, Impala__Control *c)
{
	uint8_t *buf;
	size_t len;
	int rc = im_wire_encode(&c->base, &buf, &len);
	if (rc)
		return rc;
	rc = im_transport_send(sock, buf, len, ZMQ_DONTWAIT);
	free(buf);
	return rc;
}

static int send_hello(im_session *s, void *dealer)
{
	Impala__Hello h = IMPALA__HELLO__INIT;
	h.protocol_version = IMPALA__CONSTANTS__PROTOCOL_VERSION;
	h.actor_id = s->o.actor_id;
	h.host = s->host;
	h.pid = (uint32_t)getpid();
	h.env_name = (char *)(s->o.env ? s->o.env : "");
	h.num_envs = s->o.num_envs;
	h.last_run_id = s->run_id;
	h.last_param_version = s->version;
	h.instance = s->instance;
	Impala__Control c = IMPALA__CONTROL__INIT;
	c.body_case = IMPALA__CONTROL__BODY_HELLO;
	c.hello = &h;
	return send_control(dealer, &c);
}

/* Waits up to timeout_ms for one reply on dealer, in short slices so a
 * stop request is seen quickly. */
static int await_welcome(im_session *s, void *dealer, Impala__Control **out)
{
	uint64_t end = im_now_ms() + (uint64_t)s->o.handshake_timeout_ms;
	while (!stopped(s)) {
		zmq_pollitem_t it = {dealer, 0, ZMQ_POLLIN, 0};
		int n = zmq_poll(&it, 1, 50);
		if (n < 0 && errno != EINTR)
			return im_transport_err(errno);
		if (n > 0) {
			zmq_msg_t m;
			zmq_msg_init(&m);
			int rc = im_transport_recv(dealer, &m, ZMQ_DONTWAIT);
			if (rc >= 0)
				rc = im_wire_decode_control(zmq_msg_data(&m), zmq_msg_size(&m),
							    IM_WIRE_MAX_CONTROL, out);
			zmq_msg_close(&m);
			if (rc == IM_OK && (*out)->body_case != IMPALA__CONTROL__BODY_WELCOME) {
				impala__control__free_unpacked(*out, NULL);
				rc = IM_EPROTO;
			}
			return rc;
		}
		if (im_now_ms() >= end)
			return IM_ETIMEDOUT;
	}
	return IM_ECANCELED;
}

static int is_permanent(Impala__RefusalCode c)
{
	return c == IMPALA__REFUSAL_CODE__REFUSAL_PROTOCOL_VERSION ||
	       c == IMPALA__REFUSAL_CODE__REFUSAL_WRONG_ENV ||
	       c == IMPALA__REFUSAL_CODE__REFUSAL_UNAUTHENTICATED;
}

/* One Hello and its answer.  IM_OK with *out welcomed, IM_EREFUSED for a
 * permanent refusal, anything else: try again. */
static int attempt(im_session *s, Impala__Control **out, char *err,
		   size_t errlen)
{
	void *dealer = NULL;
	int rc = open_dealer(s, &dealer);
	if (rc)
		return rc;
	rc = send_hello(s, dealer);
	Impala__Control *c = NULL;
	if (rc == IM_OK)
		rc = await_welcome(s, dealer, &c);
	if (rc) {
		zmq_close(dealer);
		return rc;
	}
	Impala__Welcome *w = c->welcome;
	if (w->refusal != IMPALA__REFUSAL_CODE__REFUSAL_NONE || !w->spec ||
	    !w->params) {
		snprintf(err, errlen, "learner refused: %s",
			 w->reason && w->reason[0] ? w->reason : "no reason given");
		rc = is_permanent(w->refusal) ? IM_EREFUSED : IM_EAGAIN;
		s->refused = w->refusal;
		impala__control__free_unpacked(c, NULL);
		zmq_close(dealer);
		return rc;
	}
	if (s->dealer)
		zmq_close(s->dealer);
	s->dealer = dealer;
	*out = c;
	return IM_OK;
}

int im_session_handshake(im_session *s, Impala__Control **welcome, char *err,
			 size_t errlen)
{
	int backoff = 200;
	while (!stopped(s)) {
		check_handshakes(s);
		int rc = attempt(s, welcome, err, errlen);
		if (rc == IM_OK && (rc = recover_data_sockets(s)) != IM_OK) {
			impala__control__free_unpacked(*welcome, NULL);
			*welcome = NULL;
			snprintf(err, errlen, "cannot reopen the data sockets: %s",
				 im_strerror(rc));
			return rc;
		}
		if (rc == IM_OK) {
			const Impala__Welcome *w = (*welcome)->welcome;
			s->run_id = w->spec->run_id;
			s->session = w->params->learner_session;
			s->version = w->params->version;
			s->unverified = 0;
			s->told_refusal = 0;
			/* Not limited until this learner's first advice. */
			im_flow_welcome(&s->flow);
			im_session_touch(s);
			return IM_OK;
		}
		if (rc == IM_EREFUSED || rc == IM_ECANCELED)
			return rc;
		if (rc == IM_EAGAIN && s->refused && s->refused != s->told_refusal) {
			im_warn("%s; retrying", err);
			s->told_refusal = s->refused;
		}
		s->refused = 0;
		if (rc != IM_ETIMEDOUT && rc != IM_EAGAIN)
			im_warn("handshake with %s failed: %s; retrying",
				s->ep.handshake, im_strerror(rc));
		for (int slept = 0; slept < backoff && !stopped(s); slept += 50)
			usleep(50 * 1000);
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
	return IM_ECANCELED;
}

void im_session_touch(im_session *s)
{
	s->last_params_ms = im_now_ms();
}

/* Feeds a Params' flow-control advice to the flow (actor/flow.h). */
static void advise(im_session *s, const Impala__Params *p)
{
	im_flow_advice a = {.store_free = p->store_free,
			    .actor_envs = p->actor_envs};
	im_flow_find_mark(&a, p->flow_actor_ids, p->n_flow_actor_ids,
			  p->flow_next_seqs, p->n_flow_next_seqs,
			  s->o.actor_id);
	im_flow_advise(&s->flow, &a, s->o.num_envs, im_now_ms());
}

/* Applies one received Params message.  1 applied, 0 dropped,
 * IM_ERUNID for another run. */
static int apply_params(im_session *s, const uint8_t *buf, size_t len,
			uint64_t run_id, float *params, size_t n,
			uint64_t *version)
{
	/* Bounded by this model's largest Params, not the socket's 256 MiB
	 * (IM_WIRE_MAX_PARAMS, the largest model): the packed marks decode
	 * to up to 8 times their bytes. */
	Impala__Params *p = NULL;
	if (im_wire_decode_params(buf, len, im_wire_params_max(n), &p) != IM_OK) {
		s->bad_params++;
		return 0;
	}
	int rc = 0;
	char why[160];
	im_reject r = im_validate_params(p, run_id, n, why, sizeof why);
	if (r == IM_REJECT_FOREIGN_RUN_ID) {
		rc = IM_ERUNID;
	} else if (r != IM_REJECT_OK) {
		s->bad_params++;
	} else if (p->learner_session && s->session &&
		   p->learner_session != s->session) {
		/* Another learner process for this run (resumed from a
		 * checkpoint): it has not welcomed us, and would refuse our
		 * unrolls until we say Hello. */
		rc = IM_ESESSION;
	} else if (p->learner_session && p->version < s->version) {
		/* Older than what we have of this learner (one queued before
		 * our Welcome): never go back. */
		s->last_params_ms = im_now_ms();
		s->unverified = 0;
	} else {
		s->last_params_ms = im_now_ms();
		s->unverified = 0;
		memcpy(params, p->data.data, n * sizeof(float));
		*version = s->version = p->version;
		advise(s, p);
		rc = 1;
	}
	impala__params__free_unpacked(p, NULL);
	return rc;
}

/* Receives every message waiting on the SUB socket and keeps the last in
 * *last (closed and replaced as newer ones come).  Returns 1 when one
 * came.  The socket does not use ZMQ_CONFLATE: in Debian's libzmq 4.3.4
 * its queue loses a pending message without freeing it when the reader
 * and the I/O thread meet (issue 14, defect 10), so "only the newest" is
 * done here, by draining. */
static int drain_sub(im_session *s, zmq_msg_t *last)
{
	int got = 0;
	for (;;) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (im_transport_recv(s->sub, &m, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			return got;
		}
		zmq_msg_move(last, &m); /* closes what last held */
		zmq_msg_close(&m);
		got = 1;
	}
}

int im_session_poll_params(im_session *s, uint64_t run_id, float *params,
			   size_t param_count, uint64_t *version)
{
	zmq_msg_t last;
	zmq_msg_init(&last);
	int got = 0;
	if (drain_sub(s, &last))
		got = apply_params(s, zmq_msg_data(&last), zmq_msg_size(&last),
				   run_id, params, param_count, version);
	zmq_msg_close(&last);
	if (got < 0)
		return got;
	if (!got && im_now_ms() - s->last_params_ms > (uint64_t)s->o.learner_timeout_ms)
		return IM_ETIMEDOUT;
	return got;
}

/* Waits on the SUB socket, applying each Params that comes, until
 * done(s); IM_ECANCELED once stopping. */
static int poll_params_until(im_session *s, int (*done)(const im_session *),
			     uint64_t run_id, float *params,
			     size_t param_count, uint64_t *version)
{
	while (!done(s)) {
		if (stopped(s))
			return IM_ECANCELED;
		zmq_pollitem_t it = {s->sub, 0, ZMQ_POLLIN, 0};
		zmq_poll(&it, 1, 50);
		int rc = im_session_poll_params(s, run_id, params, param_count,
						version);
		if (rc < 0)
			return rc;
	}
	return IM_OK;
}

static int verified(const im_session *s)
{
	return !s->unverified;
}

static int has_room(const im_session *s)
{
	return im_flow_may_send(&s->flow);
}

/* Waits until a Params of the welcoming session has come since a data
 * connection dropped (check_handshakes). */
static int await_same_learner(im_session *s, uint64_t run_id, float *params,
			      size_t param_count, uint64_t *version)
{
	check_handshakes(s);
	return poll_params_until(s, verified, run_id, params, param_count,
				 version);
}

int im_session_send(im_session *s, const uint8_t *buf, size_t len,
		    uint64_t seq, uint64_t run_id, float *params,
		    size_t param_count, uint64_t *version)
{
	int vrc = await_same_learner(s, run_id, params, param_count, version);
	if (vrc)
		return vrc;
	for (;;) {
		int rc = im_transport_send(s->push, buf, len, 0);
		if (rc == IM_OK)
			im_flow_sent(&s->flow, seq, im_now_ms());
		if (rc != IM_EAGAIN)
			return rc;
		if (stopped(s))
			return IM_ECANCELED;
		rc = im_session_poll_params(s, run_id, params, param_count, version);
		if (rc < 0)
			return rc;
	}
}

int im_session_hold(im_session *s, uint64_t run_id, float *params,
		    size_t param_count, uint64_t *version)
{
	if (has_room(s))
		return IM_OK;
	s->flow.holds++;
	return poll_params_until(s, has_room, run_id, params, param_count,
				 version);
}

uint64_t im_session_holds(const im_session *s)
{
	return s->flow.holds;
}

/* Over the welcomed connection: the learner ignores a Goodbye from any
 * other (it could be anyone's). */
static void send_goodbye(im_session *s, const char *reason, uint64_t sent)
{
	void *dealer = s->dealer;
	s->dealer = NULL;
	if (!dealer)
		return;
	int linger = 300;
	zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);
	Impala__Goodbye g = IMPALA__GOODBYE__INIT;
	g.run_id = s->run_id;
	g.actor_id = s->o.actor_id;
	g.unrolls_sent = sent;
	g.instance = s->instance;
	g.reason = (char *)(reason ? reason : "");
	Impala__Control c = IMPALA__CONTROL__INIT;
	c.body_case = IMPALA__CONTROL__BODY_GOODBYE;
	c.goodbye = &g;
	send_control(dealer, &c);
	zmq_close(dealer);
}

void im_session_free(im_session *s, const char *reason, uint64_t unrolls_sent)
{
	if (!s)
		return;
	if (s->ctx && s->run_id)
		send_goodbye(s, reason, unrolls_sent);
	if (s->dealer)
		zmq_close(s->dealer);
	close_data_sockets(s);
	if (s->ctx)
		zmq_ctx_term(s->ctx);
	free(s);
}

uint64_t im_session_bad_params(const im_session *s)
{
	return s->bad_params;
}

uint64_t im_session_run_id(const im_session *s)
{
	return s->run_id;
}
