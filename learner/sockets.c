// SPDX-License-Identifier: Apache-2.0
/* The learner's three data sockets (PULL for trajectories, or STREAM
 * without CURVE; PUB for parameters, or STREAM and its fan-out without
 * CURVE; ROUTER for handshakes, or STREAM without CURVE), with CURVE and
 * its ZAP handler when configured, and the address local actors connect
 * to. */
#include "internal.h"

#include "curve.h"
#include "err.h"
#include "fanout.h"
#include "stream.h"
#include "transport.h"
#include "zap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

static int is_loopback(const char *base)
{
	const char *h = strstr(base, "://");
	h = h ? h + 3 : base;
	return strncmp(h, "127.", 4) == 0 || strncmp(h, "localhost:", 10) == 0 ||
	       strncmp(h, "[::1]:", 6) == 0 || strncmp(base, "ipc://", 6) == 0;
}

/* The address local actors use: a wildcard bind is reached on loopback. */
static void actor_address(im_learner *l)
{
	const char *b = l->cfg->bind;
	const char *h = strstr(b, "://") + 3;
	const char *colon = strrchr(h, ':');
	if (strncmp(h, "*:", 2) == 0 || strncmp(h, "0.0.0.0:", 8) == 0)
		snprintf(l->actor_addr, sizeof l->actor_addr, "tcp://127.0.0.1%s", colon);
	else
		snprintf(l->actor_addr, sizeof l->actor_addr, "%s", b);
}

/* With --curve-secret-key: reads the key into secret and starts the ZAP
 * handler, which must be bound before any CURVE socket takes a client. */
static int start_curve(im_learner *l, char *secret, char *err, size_t errlen)
{
	const im_learner_config *c = l->cfg;
	if (!c->curve_secret_key)
		return IM_OK;
	char why[400];
	int rc = im_curve_read_key(c->curve_secret_key, secret, why, sizeof why);
	if (rc)
		return im_errf(err, errlen, rc, "--curve-secret-key: %s", why);
	char pub[IM_CURVE_Z85_LEN + 1];
	if (im_curve_public_of(secret, pub))
		return im_errf(err, errlen, IM_EINVAL, "--curve-secret-key %s: not a "
						       "CURVE secret key",
			       c->curve_secret_key);
	im_zap_opts zo = {.zctx = l->zctx, .keys_dir = c->authorized_keys};
	rc = im_zap_start(&l->zap, &zo, err, errlen);
	if (rc)
		return rc;
	im_info("CURVE on: learner public key %s, %u authorised key(s) in %s",
		pub, im_zap_num_keys(l->zap), c->authorized_keys);
	return IM_OK;
}

/* The parameter port's options.  Without CURVE it is a ZMQ_STREAM socket
 * whose fan-out speaks ZMTP as a PUB (learner/fanout.h, issue 14): what
 * it reads is subscriptions, at most IM_FANOUT_MAX_SUB bytes a frame, a
 * few chunks queued per connection; it holds at most one broadcast per
 * connection, so an SNDHWM of 16 always leaves room for the empty frame
 * that closes one.  With CURVE it stays a PUB (ZAP admits only
 * authorised keys before any command is processed). */
static void params_opts(im_learner *l, im_sock_opts *po, int type)
{
	im_transport_defaults(po, type);
	po->sndbuf = (int)(im_model_num_params(l->model) * sizeof(float)) + (64 << 10);
	if (type != ZMQ_STREAM)
		return;
	po->max_msg_size = IM_FANOUT_MAX_SUB;
	po->rcvhwm = 16;
	po->sndhwm = 16;
}

void im_learner_warn_conn_closed(im_log_ratelimit *rl, const char *port,
				 int rc, const char *why)
{
	uint64_t suppressed = 0;
	if (im_log_ratelimit_ok(rl, &suppressed))
		im_warn("closed a %s connection: %s (%s)%s", port, why,
			im_strerror(rc),
			suppressed ? "; similar warnings suppressed" : "");
}

static void on_params_conn_error(void *ctx, int rc, const char *why)
{
	im_learner *l = ctx;
	im_learner_warn_conn_closed(&l->pub_rl, "parameter", rc, why);
}

int im_learner_start_fanout(im_learner *l)
{
	int type = 0;
	size_t tl = sizeof type;
	if (l->fanout || zmq_getsockopt(l->pub, ZMQ_TYPE, &type, &tl) != 0 ||
	    type != ZMQ_STREAM)
		return IM_OK; /* CURVE's PUB */
	l->pub_rl = (im_log_ratelimit){.interval_ms = 5000, .burst = 5};
	im_fanout_opts fo = {.sock = l->pub, .on_error = on_params_conn_error, .ctx = l};
	return im_fanout_new(&l->fanout, &fo);
}

/* The handshake port's options.  What a peer can make it hold: a few
 * small messages in, a few replies out (references to one shared Welcome,
 * handshake.c), per connection.  Without CURVE it is a ZMQ_STREAM socket
 * (handshake.c says why) whose chunks are read as they come, with frames
 * of at most IM_LEARNER_MAX_CONTROL_IN (ZMQ_MAXMSGSIZE is learner/stream.h's
 * frame limit there), and its queue of 16 per connection holds our
 * greeting, our READY and the replies: a reply to a full queue is dropped
 * whole.  libzmq tells the writer of a connection's reads only every
 * (RCVHWM + 1) / 2 messages, so SNDHWM must be at least that or a queue
 * looks full for good: with 2 and 1000 a connection took 2 messages
 * ever (tests/learner/test_stream.c).  With CURVE it stays a ROUTER (ZAP
 * admits only authorised keys before any command is processed). */
static void hs_opts(im_sock_opts *ro, int type)
{
	im_transport_defaults(ro, type);
	ro->max_msg_size = IM_LEARNER_MAX_CONTROL_IN;
	ro->rcvhwm = 16;
	ro->sndhwm = type == ZMQ_STREAM ? 16 : 4;
}

static void on_hs_conn_error(void *ctx, int rc, const char *why)
{
	im_learner *l = ctx;
	im_learner_warn_conn_closed(&l->hs_rl, "handshake", rc, why);
}

/* The STREAM handshake socket's connections: ZMTP as a ROUTER, DEALER
 * peers only (actor/session.c), at most IM_STREAM_MAX_CONNS of them. */
static int start_hs_stream(im_learner *l, char *err, size_t errlen)
{
	im_stream_opts so = {.sock = l->router,
			     .on_error = on_hs_conn_error,
			     .ctx = l,
			     .socket_type = "ROUTER",
			     .peer_type = "DEALER"};
	int rc = im_stream_new(&l->hs_stream, &so);
	return rc ? im_errf(err, errlen, rc, "cannot start the handshake "
					     "port: %s",
			    im_strerror(rc))
		  : IM_OK;
}

int im_learner_open_sockets(im_learner *l, char *err, size_t errlen)
{
	im_endpoints ep;
	int rc = im_transport_endpoints(&ep, l->cfg->bind);
	if (rc)
		return im_errf(err, errlen, rc, "--bind %s: not tcp://host:port with room "
						"for port+2",
			       l->cfg->bind);
	if (!is_loopback(l->cfg->bind) && !l->cfg->insecure &&
	    !l->cfg->curve_secret_key)
		return im_errf(err, errlen, IM_EAUTH,
			       "--bind %s is not a loopback address: without CURVE "
			       "keys anyone could push data or read parameters; "
			       "configure --curve-secret-key and --authorized-keys, "
			       "or pass --insecure to allow it",
			       l->cfg->bind);
	l->zctx = zmq_ctx_new();
	if (!l->zctx)
		return im_errf(err, errlen, IM_ENOMEM, "cannot create a ZeroMQ context");
	char secret[IM_CURVE_Z85_LEN + 1] = "";
	if ((rc = start_curve(l, secret, err, errlen)))
		return rc;
	/* Without CURVE the trajectory port is a ZMQ_STREAM socket and the
	 * receiver speaks ZMTP itself (learner/stream.h): libzmq's ZMTP
	 * engine can be made to abort by any peer that reaches the port
	 * (issue 14).  With CURVE, ZAP admits only authorised keys before any
	 * command is processed, and the PULL stays. */
	int traj_type = secret[0] ? ZMQ_PULL : ZMQ_STREAM;
	im_sock_opts o;
	im_transport_defaults(&o, traj_type);
	o.max_msg_size = (int64_t)l->max_msg * 2 + 65536;
	o.rcvhwm = 2 * l->cfg->batch_size + 16;
	o.rcvbuf = 128 << 10;
	int pub_type = secret[0] ? ZMQ_PUB : ZMQ_STREAM;
	im_sock_opts po;
	params_opts(l, &po, pub_type);
	int hs_type = secret[0] ? ZMQ_ROUTER : ZMQ_STREAM;
	im_sock_opts ro;
	hs_opts(&ro, hs_type);
	if (secret[0]) {
		im_transport_curve_server(&o, secret);
		im_transport_curve_server(&po, secret);
		im_transport_curve_server(&ro, secret);
	}
	const struct {
		void **s;
		int type;
		const im_sock_opts *o;
		const char *ep;
	} socks[] = {
		{&l->pull, traj_type, &o, ep.trajectories},
		{&l->pub, pub_type, &po, ep.params},
		{&l->router, hs_type, &ro, ep.handshake},
	};
	for (size_t i = 0; i < 3; i++) {
		rc = im_transport_open_bound(socks[i].s, l->zctx, socks[i].type,
					     socks[i].o, socks[i].ep);
		if (rc) {
			/* A port still held by another process may be free on
			 * the next try: IM_EAGAIN, which main() reports with an
			 * exit status that lets a service manager retry. */
			int busy = errno == EADDRINUSE;
			return im_errf(err, errlen, busy ? IM_EAGAIN : rc,
				       "cannot bind %s: %s", socks[i].ep,
				       zmq_strerror(errno));
		}
	}
	if (hs_type == ZMQ_STREAM && (rc = start_hs_stream(l, err, errlen)))
		return rc;
	actor_address(l);
	return IM_OK;
}

void im_learner_close_sockets(im_learner *l)
{
	/* Stopped with the threads already; its memory lives until the
	 * context has ended (im_learner_free()). */
	im_fanout_stop(l->fanout);
	void **socks[] = {&l->pull, &l->pub, &l->router};
	for (size_t i = 0; i < 3; i++) {
		if (!*socks[i])
			continue;
		int linger = 0;
		zmq_setsockopt(*socks[i], ZMQ_LINGER, &linger, sizeof linger);
		zmq_close(*socks[i]);
		*socks[i] = NULL;
	}
}
