#include "session.h"

#include "err.h"
#include "log.h"
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
	im_endpoints ep;
	void *ctx;
	void *push, *sub;
	uint64_t run_id;       /* of the last Welcome, 0 before */
	uint64_t last_params_ms;
	uint64_t bad_params;
	char host[64];
};

static int stopped(const im_session *s)
{
	return s->o.stop && *s->o.stop;
}

int im_session_new(im_session **out, const im_session_opts *o)
{
	im_session *s = calloc(1, sizeof *s);
	if (!s)
		return IM_ENOMEM;
	s->o = *o;
	int rc = im_transport_endpoints(&s->ep, o->learner);
	if (rc)
		goto fail;
	if (gethostname(s->host, sizeof s->host) != 0)
		snprintf(s->host, sizeof s->host, "unknown");
	s->host[sizeof s->host - 1] = '\0';
	rc = IM_ENOMEM;
	s->ctx = zmq_ctx_new();
	if (!s->ctx)
		goto fail;
	im_sock_opts po;
	im_transport_defaults(&po, ZMQ_PUSH);
	po.sndhwm = o->send_hwm > 0 ? o->send_hwm : po.sndhwm;
	po.sndtimeo_ms = 100;
	po.sndbuf = 128 << 10;
	rc = im_transport_open_connected(&s->push, s->ctx, ZMQ_PUSH, &po,
					 s->ep.trajectories);
	if (rc)
		goto fail;
	im_sock_opts so;
	im_transport_defaults(&so, ZMQ_SUB);
	so.rcvbuf = 256 << 10;
	rc = im_transport_open_connected(&s->sub, s->ctx, ZMQ_SUB, &so,
					 s->ep.params);
	if (rc)
		goto fail;
	*out = s;
	return IM_OK;
fail:
	im_session_free(s, NULL, 0);
	return rc;
}

/* A fresh DEALER per attempt: a stale Welcome to an earlier attempt can
 * never be mistaken for the answer to this one. */
static int open_dealer(im_session *s, void **out)
{
	im_sock_opts d;
	im_transport_defaults(&d, ZMQ_DEALER);
	d.linger_ms = 0;
	d.immediate = 0; /* queue the Hello until the connection is up */
	return im_transport_open_connected(out, s->ctx, ZMQ_DEALER, &d,
					   s->ep.handshake);
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
	zmq_close(dealer);
	if (rc)
		return rc;
	Impala__Welcome *w = c->welcome;
	if (w->refusal != IMPALA__REFUSAL_CODE__REFUSAL_NONE || !w->spec ||
	    !w->params) {
		snprintf(err, errlen, "learner refused: %s",
			 w->reason && w->reason[0] ? w->reason : "no reason given");
		rc = is_permanent(w->refusal) ? IM_EREFUSED : IM_EAGAIN;
		impala__control__free_unpacked(c, NULL);
		return rc;
	}
	*out = c;
	return IM_OK;
}

int im_session_handshake(im_session *s, Impala__Control **welcome, char *err,
			 size_t errlen)
{
	int backoff = 200;
	while (!stopped(s)) {
		int rc = attempt(s, welcome, err, errlen);
		if (rc == IM_OK) {
			s->run_id = (*welcome)->welcome->spec->run_id;
			im_session_touch(s);
			return IM_OK;
		}
		if (rc == IM_EREFUSED || rc == IM_ECANCELED)
			return rc;
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

/* Applies one received Params message.  1 applied, 0 dropped,
 * IM_ERUNID for another run. */
static int apply_params(im_session *s, const uint8_t *buf, size_t len,
			uint64_t run_id, float *params, size_t n,
			uint64_t *version)
{
	Impala__Params *p = NULL;
	if (im_wire_decode_params(buf, len, IM_WIRE_MAX_PARAMS, &p) != IM_OK) {
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
	} else {
		/* Always take it, even when its version is lower: a learner
		 * resumed from a checkpoint counts from there.  The SUB socket
		 * keeps only the newest message, so nothing arrives out of
		 * order. */
		s->last_params_ms = im_now_ms();
		memcpy(params, p->data.data, n * sizeof(float));
		*version = p->version;
		rc = 1;
	}
	impala__params__free_unpacked(p, NULL);
	return rc;
}

int im_session_poll_params(im_session *s, uint64_t run_id, float *params,
			   size_t param_count, uint64_t *version)
{
	int got = 0;
	for (;;) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		int n = im_transport_recv(s->sub, &m, ZMQ_DONTWAIT);
		if (n < 0) {
			zmq_msg_close(&m);
			break;
		}
		int rc = apply_params(s, zmq_msg_data(&m), zmq_msg_size(&m), run_id,
				      params, param_count, version);
		zmq_msg_close(&m);
		if (rc < 0)
			return rc;
		got |= rc;
	}
	if (!got && im_now_ms() - s->last_params_ms > (uint64_t)s->o.learner_timeout_ms)
		return IM_ETIMEDOUT;
	return got;
}

int im_session_send(im_session *s, const uint8_t *buf, size_t len,
		    uint64_t run_id, float *params, size_t param_count,
		    uint64_t *version)
{
	for (;;) {
		int rc = im_transport_send(s->push, buf, len, 0);
		if (rc != IM_EAGAIN)
			return rc;
		if (stopped(s))
			return IM_ECANCELED;
		rc = im_session_poll_params(s, run_id, params, param_count, version);
		if (rc < 0)
			return rc;
	}
}

static void send_goodbye(im_session *s, const char *reason, uint64_t sent)
{
	void *dealer = NULL;
	if (open_dealer(s, &dealer))
		return;
	int linger = 300;
	zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);
	Impala__Goodbye g = IMPALA__GOODBYE__INIT;
	g.run_id = s->run_id;
	g.actor_id = s->o.actor_id;
	g.unrolls_sent = sent;
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
	if (s->push)
		zmq_close(s->push);
	if (s->sub)
		zmq_close(s->sub);
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
