// SPDX-License-Identifier: Apache-2.0
#include "transport.h"

#include "err.h"
#include "wire.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

int im_transport_err(int e)
{
	switch (e) {
	case 0:
		return IM_OK;
	case EAGAIN:
	case EINTR:
		return IM_EAGAIN;
	case ETERM:
		return IM_ECANCELED;
	case EMSGSIZE:
		return IM_ETOOBIG;
	case ENOMEM:
		return IM_ENOMEM;
	case EINVAL:
	case EPROTONOSUPPORT:
	case ENOENT:
		return IM_EINVAL;
	default:
		return IM_ESYS;
	}
}

/* The IM_E* code for the last failed zmq call, with errno set to it. */
static int zerr(void)
{
	int e = zmq_errno();
	errno = e;
	return im_transport_err(e);
}

/* The IM_E* code for a failed system call; errno stays. */
static int zerr_errno(void)
{
	return errno == ENOMEM || errno == ENOBUFS ? IM_ENOMEM : IM_ESYS;
}

/* ---- endpoints ---- */

/* dst = a + suffix, or "tcp://host:port". */
static int ep_suffix(char *dst, const char *a, const char *suffix)
{
	int n = snprintf(dst, IM_TRANSPORT_ENDPOINT_MAX, "%s%s", a, suffix);
	return n > 0 && n < IM_TRANSPORT_ENDPOINT_MAX ? IM_OK : IM_EINVAL;
}

static int ep_tcp(char *dst, const char *host, long port)
{
	int n = snprintf(dst, IM_TRANSPORT_ENDPOINT_MAX, "tcp://%s:%ld", host,
			 port);
	return n > 0 && n < IM_TRANSPORT_ENDPOINT_MAX ? IM_OK : IM_EINVAL;
}

static int endpoints_ipc(im_endpoints *o, const char *base)
{
	if (!base[6])
		return IM_EINVAL;
	int rc = ep_suffix(o->handshake, base, ".hs");
	if (rc == IM_OK)
		rc = ep_suffix(o->trajectories, base, ".traj");
	if (rc == IM_OK)
		rc = ep_suffix(o->params, base, ".params");
	return rc;
}

/* Splits "tcp://host:port" into host (copied into h) and the port. */
static int split_tcp(const char *base, char *h, size_t hlen, long *port)
{
	const char *hp = base + 6;
	const char *colon = strrchr(hp, ':');
	if (!colon || colon == hp || !colon[1])
		return IM_EINVAL;
	/* An IPv6 literal must be bracketed so its colons are not ports. */
	if (hp[0] == '[' ? colon[-1] != ']' : memchr(hp, ':', (size_t)(colon - hp)) != NULL)
		return IM_EINVAL;
	size_t n = (size_t)(colon - hp);
	if (n >= hlen)
		return IM_EINVAL;
	memcpy(h, hp, n);
	h[n] = '\0';
	char *end;
	errno = 0;
	long p = strtol(colon + 1, &end, 10);
	if (*end || errno || p < 0 || colon[1] == '-' || colon[1] == '+')
		return IM_EINVAL;
	if (p == 0 || p > 65533)
		return IM_ERANGE;
	*port = p;
	return IM_OK;
}

int im_transport_endpoints(im_endpoints *out, const char *base)
{
	if (!out || !base)
		return IM_EINVAL;
	im_endpoints o;
	int rc;
	if (strncmp(base, "ipc://", 6) == 0) {
		rc = endpoints_ipc(&o, base);
	} else if (strncmp(base, "tcp://", 6) == 0) {
		char host[IM_TRANSPORT_ENDPOINT_MAX];
		long port = 0;
		rc = split_tcp(base, host, sizeof host, &port);
		if (rc == IM_OK)
			rc = ep_tcp(o.handshake, host, port);
		if (rc == IM_OK)
			rc = ep_tcp(o.trajectories, host, port + 1);
		if (rc == IM_OK)
			rc = ep_tcp(o.params, host, port + 2);
	} else {
		rc = IM_EINVAL;
	}
	if (rc == IM_OK)
		*out = o;
	return rc;
}

/* ---- options ---- */

void im_transport_defaults(im_sock_opts *o, int type)
{
	memset(o, 0, sizeof *o);
	o->max_msg_size = -1;
	o->sndhwm = o->rcvhwm = 1000;
	o->linger_ms = 500;
	o->sndtimeo_ms = o->rcvtimeo_ms = -1;
	o->reconnect_ivl_ms = 100;
	o->reconnect_ivl_max_ms = 5000;
	o->tcp_keepalive = 1;
	o->tcp_keepalive_idle_s = 30;
	o->tcp_keepalive_intvl_s = 10;
	o->tcp_keepalive_cnt = 3;
	/* No ZMTP heartbeats (transport.h, "Heartbeats"): in libzmq 4.3.4 a
	 * PING written by or to a connection whose input is stopped by a full
	 * queue aborts the process once that connection has failed. */
	o->heartbeat_ivl_ms = 0;
	o->heartbeat_timeout_ms = 0;
	switch (type) {
	case ZMQ_PULL:
	case ZMQ_STREAM:
		/* On a STREAM socket libzmq ignores ZMQ_MAXMSGSIZE; the
		 * learner's ZMTP framer reads it back as its frame limit
		 * (learner/stream.h). */
		o->max_msg_size = IM_WIRE_MAX_TRAJECTORY;
		o->rcvhwm = 64;
		break;
	case ZMQ_PUSH:
		o->sndhwm = 8;
		o->immediate = 1;
		break;
	case ZMQ_PUB:
		o->sndhwm = 4;
		break;
	case ZMQ_SUB:
		o->max_msg_size = IM_WIRE_MAX_PARAMS;
		o->rcvhwm = 4;
		break;
	case ZMQ_ROUTER:
		o->max_msg_size = 1 << 20;
		o->sndhwm = o->rcvhwm = 256;
		break;
	case ZMQ_DEALER:
		o->max_msg_size = IM_WIRE_MAX_CONTROL;
		o->sndhwm = o->rcvhwm = 16;
		o->immediate = 1;
		break;
	default:
		break;
	}
}

static int set_int(void *s, int opt, int v)
{
	return zmq_setsockopt(s, opt, &v, sizeof v) == 0 ? IM_OK : zerr();
}

void im_transport_curve_server(im_sock_opts *o, const char *secret_z85)
{
	o->curve_server = 1;
	snprintf(o->curve_secret, sizeof o->curve_secret, "%s", secret_z85);
}

void im_transport_curve_client(im_sock_opts *o, const char *public_z85,
			       const char *secret_z85, const char *server_z85)
{
	o->curve_server = 0;
	snprintf(o->curve_public, sizeof o->curve_public, "%s", public_z85);
	snprintf(o->curve_secret, sizeof o->curve_secret, "%s", secret_z85);
	snprintf(o->curve_server_key, sizeof o->curve_server_key, "%s", server_z85);
}

static int set_key(void *s, int opt, const char *z85)
{
	/* 41 bytes (40 characters and the NUL) tells ZeroMQ it is Z85. */
	return zmq_setsockopt(s, opt, z85, 41) == 0 ? IM_OK : zerr();
}

/* CURVE settings, before bind/connect as ZeroMQ requires.  A socket with
 * a secret key but neither role filled in is a caller's bug: refuse it
 * rather than fall back to plaintext. */
static int apply_curve(void *s, const im_sock_opts *o)
{
	if (!o->curve_secret[0])
		return o->curve_server || o->curve_server_key[0] ? IM_EINVAL : IM_OK;
	if (o->curve_server) {
		int rc = set_int(s, ZMQ_CURVE_SERVER, 1);
		if (rc == IM_OK)
			rc = set_key(s, ZMQ_CURVE_SECRETKEY, o->curve_secret);
		if (rc == IM_OK && zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, "impala", 6) != 0)
			rc = zerr();
		return rc;
	}
	if (!o->curve_public[0] || !o->curve_server_key[0])
		return IM_EINVAL;
	int rc = set_key(s, ZMQ_CURVE_SERVERKEY, o->curve_server_key);
	if (rc == IM_OK)
		rc = set_key(s, ZMQ_CURVE_PUBLICKEY, o->curve_public);
	if (rc == IM_OK)
		rc = set_key(s, ZMQ_CURVE_SECRETKEY, o->curve_secret);
	return rc;
}

static int apply_limits(void *s, const im_sock_opts *o)
{
	int64_t max = o->max_msg_size;
	if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0)
		return zerr();
	int rc = set_int(s, ZMQ_SNDHWM, o->sndhwm);
	if (rc == IM_OK)
		rc = set_int(s, ZMQ_RCVHWM, o->rcvhwm);
	if (rc == IM_OK)
		rc = set_int(s, ZMQ_LINGER, o->linger_ms);
	if (rc == IM_OK)
		rc = set_int(s, ZMQ_SNDTIMEO, o->sndtimeo_ms);
	if (rc == IM_OK)
		rc = set_int(s, ZMQ_RCVTIMEO, o->rcvtimeo_ms);
	return rc;
}

static int apply_liveness(void *s, const im_sock_opts *o)
{
	int rc = set_int(s, ZMQ_RECONNECT_IVL, o->reconnect_ivl_ms);
	if (rc == IM_OK)
		rc = set_int(s, ZMQ_RECONNECT_IVL_MAX, o->reconnect_ivl_max_ms);
	if (rc == IM_OK)
		rc = set_int(s, ZMQ_TCP_KEEPALIVE, o->tcp_keepalive);
	if (rc == IM_OK && o->tcp_keepalive == 1) {
		rc = set_int(s, ZMQ_TCP_KEEPALIVE_IDLE, o->tcp_keepalive_idle_s);
		if (rc == IM_OK)
			rc = set_int(s, ZMQ_TCP_KEEPALIVE_INTVL,
				     o->tcp_keepalive_intvl_s);
		if (rc == IM_OK)
			rc = set_int(s, ZMQ_TCP_KEEPALIVE_CNT, o->tcp_keepalive_cnt);
	}
	if (rc == IM_OK && o->heartbeat_ivl_ms > 0) {
		rc = set_int(s, ZMQ_HEARTBEAT_IVL, o->heartbeat_ivl_ms);
		if (rc == IM_OK)
			rc = set_int(s, ZMQ_HEARTBEAT_TIMEOUT,
				     o->heartbeat_timeout_ms);
	}
	return rc;
}

static int apply_type(void *s, int type, const im_sock_opts *o)
{
	int rc = IM_OK;
	/* CONFLATE keeps one message per pipe, the newest; it must precede
	 * bind/connect and only works for single-part messages.  On PUB it
	 * matters as much as on SUB: a PUB whose pipe to a slow subscriber is
	 * full drops the NEW message, so without it the subscriber could be
	 * left with an old version until the next publish. */
	if (o->conflate && (type == ZMQ_SUB || type == ZMQ_PUB))
		rc = set_int(s, ZMQ_CONFLATE, 1);
	if (rc == IM_OK && type == ZMQ_SUB &&
	    zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) != 0)
		rc = zerr();
	if (rc == IM_OK && o->immediate &&
	    (type == ZMQ_PUSH || type == ZMQ_DEALER))
		rc = set_int(s, ZMQ_IMMEDIATE, 1);
	/* Small kernel buffers keep queued unrolls few: the kernel's default
	 * loopback buffers hold megabytes, i.e. thousands of unrolls that
	 * ZeroMQ's high-water marks never see, and every one of them adds
	 * policy lag. */
	if (rc == IM_OK && o->sndbuf > 0)
		rc = set_int(s, ZMQ_SNDBUF, o->sndbuf);
	if (rc == IM_OK && o->rcvbuf > 0)
		rc = set_int(s, ZMQ_RCVBUF, o->rcvbuf);
	return rc;
}

int im_transport_socket(void **out, void *ctx, int type, const im_sock_opts *o)
{
	if (!out || !ctx)
		return IM_EINVAL;
	im_sock_opts def;
	if (!o) {
		im_transport_defaults(&def, type);
		o = &def;
	}
	void *s = zmq_socket(ctx, type);
	if (!s)
		return zerr();
	int rc = apply_limits(s, o);
	if (rc == IM_OK)
		rc = apply_liveness(s, o);
	if (rc == IM_OK)
		rc = apply_type(s, type, o);
	if (rc == IM_OK)
		rc = apply_curve(s, o);
	if (rc != IM_OK)
		goto fail;
	*out = s;
	return IM_OK;
fail:;
	int e = errno;
	zmq_close(s);
	errno = e;
	return rc;
}

int im_transport_bind(void *sock, const char *endpoint)
{
	return zmq_bind(sock, endpoint) == 0 ? IM_OK : zerr();
}

int im_transport_connect(void *sock, const char *endpoint)
{
	return zmq_connect(sock, endpoint) == 0 ? IM_OK : zerr();
}

static int open_with(void **out, void *ctx, int type, const im_sock_opts *o,
		     const char *ep, int (*attach)(void *, const char *))
{
	void *s = NULL;
	int rc = im_transport_socket(&s, ctx, type, o);
	if (rc != IM_OK)
		return rc;
	rc = attach(s, ep);
	if (rc != IM_OK) {
		int e = errno;
		zmq_close(s);
		errno = e;
		return rc;
	}
	*out = s;
	return IM_OK;
}

int im_transport_open_bound(void **out, void *ctx, int type,
			    const im_sock_opts *o, const char *endpoint)
{
	return open_with(out, ctx, type, o, endpoint, im_transport_bind);
}

int im_transport_open_connected(void **out, void *ctx, int type,
				const im_sock_opts *o, const char *endpoint)
{
	return open_with(out, ctx, type, o, endpoint, im_transport_connect);
}

int im_transport_last_endpoint(void *sock, char *buf, size_t len)
{
	char tmp[IM_TRANSPORT_ENDPOINT_MAX];
	size_t n = sizeof tmp;
	if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, tmp, &n) != 0)
		return zerr();
	/* n counts the terminating NUL. */
	if (n == 0 || n > len)
		return IM_ETOOBIG;
	memcpy(buf, tmp, n);
	buf[n - 1] = '\0';
	return IM_OK;
}

int im_transport_bound_port(void *sock)
{
	char ep[IM_TRANSPORT_ENDPOINT_MAX];
	int rc = im_transport_last_endpoint(sock, ep, sizeof ep);
	if (rc != IM_OK)
		return rc;
	const char *colon = strrchr(ep, ':');
	if (strncmp(ep, "tcp://", 6) != 0 || !colon)
		return IM_EINVAL;
	long p = strtol(colon + 1, NULL, 10);
	return p > 0 && p <= 65535 ? (int)p : IM_EINVAL;
}

/* A listening TCP socket on 127.0.0.1:port (0: any), or -1. */
static int listen_loopback(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(fd, 1) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int fd_port(int fd)
{
	struct sockaddr_in a;
	socklen_t n = sizeof a;
	if (getsockname(fd, (struct sockaddr *)&a, &n) != 0)
		return -1;
	return ntohs(a.sin_port);
}

/* Holds base..base+n-1 in fd[0..n-1]; returns how many were bound. */
static int hold_run(int *fd, int n, int base)
{
	int i = 1;
	while (i < n && (fd[i] = listen_loopback(base + i)) >= 0)
		i++;
	return i;
}

int im_transport_free_ports(int n, int *port)
{
	if (!port || n < 1 || n > 16)
		return IM_EINVAL;
	/* Plain sockets rather than ZeroMQ ones: zmq_close() releases a port
	 * later, on the context's reaper thread, and the caller would race
	 * it; close() releases it at once. */
	for (int attempt = 0; attempt < 64; attempt++) {
		int fd[16];
		fd[0] = listen_loopback(0);
		if (fd[0] < 0)
			return zerr_errno();
		int base = fd_port(fd[0]);
		int held = base > 0 && base <= 65535 - n ? hold_run(fd, n, base) : 1;
		for (int i = 0; i < held; i++)
			close(fd[i]);
		if (held == n) {
			*port = base;
			return IM_OK;
		}
	}
	return IM_EAGAIN;
}

/* ---- messages ---- */

int im_transport_send(void *sock, const void *buf, size_t len, int flags)
{
	return zmq_send(sock, buf, len, flags) >= 0 ? IM_OK : zerr();
}

int im_transport_recv(void *sock, void *msg, int flags)
{
	int n = zmq_msg_recv(msg, sock, flags);
	return n >= 0 ? n : zerr();
}
