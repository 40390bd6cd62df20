// SPDX-License-Identifier: Apache-2.0
/* ZeroMQ sockets as both programs use them.
 *
 * Endpoints: one base address names all three sockets of a learner.
 *   --learner tcp://host:P   handshake (ROUTER/DEALER) on port P,
 *                            trajectories (PULL/PUSH) on P+1,
 *                            params (PUB/SUB) on P+2.
 *   --learner ipc:///path    ipc:///path.hs, ipc:///path.traj,
 *                            ipc:///path.params
 * The handshake is the base because it is the first thing an actor talks
 * to; the other two follow in the order an actor uses them.
 *
 * Options: im_transport_defaults() fills sane values per socket type (size
 * limits from wire.h, small high-water marks so memory stays bounded,
 * bounded linger, reconnect with exponential backoff, TCP keepalive).  Every option is applied before
 * bind/connect, as ZeroMQ requires.  (The learner's receiver reads its
 * PULL socket continuously, learner/receiver.h; the high-water marks bound
 * memory during bursts, and the actors pace themselves, actor/flow.h.)
 *
 * Heartbeats: no socket uses ZMTP heartbeats by default.  Debian 12's
 * libzmq 4.3.4 aborts the whole process ("Assertion failed: !_io_error
 * (src/stream_engine_base.cpp:331)") when a connection whose input is
 * stopped because its queue reached the high-water mark then fails (an
 * actor killed: the heartbeat PING the learner writes to the dead peer is
 * answered by a reset) and the engine is asked to write again: by its
 * heartbeat timer, or by a PING from the peer that sat in the stopped
 * input (stream_engine_base.cpp: in_event_internal marks the error,
 * out_event asserts it away).  Without heartbeats a stopped connection is
 * never written to after its handshake, so a dead actor leaves only a FIN
 * that the engine reads when the queue drains, and closes cleanly.
 * Liveness does not depend on them: the actor judges the learner by the
 * Params it hears (actor/session.h), the learner its actors by their
 * unrolls (--actor-timeout), and TCP keepalive ends half-open
 * connections.
 *
 * A peer speaking raw ZMTP sends PINGs of its own, and a flood fills a
 * queue whatever the reader does, so the learner's trajectory port does
 * not use libzmq's ZMTP engine at all without CURVE (issue 14): it is a
 * ZMQ_STREAM socket (defaults as PULL's below; ZMQ_MAXMSGSIZE, which
 * libzmq ignores there, is the learner's frame limit) and the learner
 * speaks ZMTP itself (common/zmtp.h, learner/stream.h).  libzmq's raw
 * engine decodes no command, so no PING is ever answered, and it writes
 * only through restart_output, which checks _io_error first.
 * tests/learner/test_stall.c floods, PINGs and resets: the PULL aborts
 * every time, the STREAM never.  With CURVE the port stays a PULL: the
 * handshake passes ZAP before any PING is processed, so only holders of
 * an authorised key can reach the assertion.  The handshake and
 * parameter ports are STREAMs without CURVE as well (learner/handshake.c,
 * learner/fanout.h: the learner speaks ZMTP as a ROUTER and as a PUB), so
 * no port of the learner runs libzmq's ZMTP engine without CURVE; with
 * it, only holders of an authorised key reach any of them
 * (deploy/README.md, section 3).
 *
 * No socket uses ZMQ_CONFLATE by default: its one-message queue in Debian
 * 12's libzmq 4.3.4 loses a pending message without freeing it when the
 * reader and the I/O thread meet (LeakSanitizer found one Params-sized
 * block lost per such race in impala-actor; issue 14, defect 10).  The
 * actor drains its SUB socket and keeps the newest message itself
 * (actor/session.c), and the PUB side bounds each subscriber's queue by
 * its high-water mark.
 *
 * Errors: IM_E* codes; errno keeps ZeroMQ's errno so the caller can print
 * zmq_strerror(errno).  EAGAIN (timeout, or would block) and EINTR map to
 * IM_EAGAIN, ETERM (context closed) to IM_ECANCELED, EMSGSIZE to IM_ETOOBIG,
 * ENOMEM to IM_ENOMEM, EINVAL/EPROTONOSUPPORT/ENOENT to IM_EINVAL, anything
 * else to IM_ESYS.
 *
 * Sockets and the context belong to the caller (zmq_close/zmq_ctx_term);
 * nothing here keeps a reference. */
#ifndef IM_TRANSPORT_H
#define IM_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#define IM_TRANSPORT_ENDPOINT_MAX 256

typedef struct im_endpoints {
	char handshake[IM_TRANSPORT_ENDPOINT_MAX];    /* ROUTER / DEALER */
	char trajectories[IM_TRANSPORT_ENDPOINT_MAX]; /* PULL / PUSH */
	char params[IM_TRANSPORT_ENDPOINT_MAX];       /* PUB / SUB */
} im_endpoints;

/* Derives the three endpoints from base ("tcp://host:port" with port in
 * 0..65533 and host a name, an address, "*" or "[v6]"; or "ipc://path").
 * IM_EINVAL for anything else, IM_ERANGE for a port without room for +2;
 * *out is written only on success.  Port 0 is refused: three ephemeral
 * ports are not consecutive. */
int im_transport_endpoints(im_endpoints *out, const char *base);

typedef struct im_sock_opts {
	int64_t max_msg_size; /* ZMQ_MAXMSGSIZE on receive; -1 unlimited */
	int sndhwm;           /* messages; 0 = unlimited (avoid) */
	int rcvhwm;
	int linger_ms;   /* -1 forever (avoid) */
	int sndtimeo_ms; /* -1 blocks forever */
	int rcvtimeo_ms;
	int reconnect_ivl_ms;     /* first retry after this */
	int reconnect_ivl_max_ms; /* doubling up to this */
	int tcp_keepalive;        /* 1 on, 0 off, -1 OS default */
	int tcp_keepalive_idle_s;
	int tcp_keepalive_intvl_s;
	int tcp_keepalive_cnt;
	int heartbeat_ivl_ms;     /* ZMTP PING interval; 0 off (default) */
	int heartbeat_timeout_ms; /* peer dead after this without traffic */
	/* SUB/PUB: ZMQ_CONFLATE (keep only the newest message).  Off by
	 * default: it leaks in libzmq 4.3.4 (see above). */
	int conflate;
	int immediate;      /* PUSH/DEALER: queue only on live peers */
	int sndbuf, rcvbuf; /* kernel socket buffers, bytes; 0: OS default */
	/* CURVE (im_transport_curve_server/_client fill these): all empty
	 * means plaintext.  A server needs its secret key; a client its own
	 * key pair and the server's public key.  Z85 text, NUL-terminated. */
	int curve_server; /* 1: ZMQ_CURVE_SERVER */
	char curve_secret[41];
	char curve_public[41];     /* client only */
	char curve_server_key[41]; /* client only: the server's public key */
} im_sock_opts;

/* Makes o a CURVE server with secret key secret_z85 (ZAP domain "impala":
 * a ZAP handler in the socket's context decides who may connect). */
void im_transport_curve_server(im_sock_opts *o, const char *secret_z85);
/* Makes o a CURVE client with its own key pair and the server's key. */
void im_transport_curve_client(im_sock_opts *o, const char *public_z85,
			       const char *secret_z85, const char *server_z85);

/* Defaults for a ZMQ_* socket type:
 *   PULL   max IM_WIRE_MAX_TRAJECTORY, rcvhwm 64
 *   STREAM the same (the max read back as the ZMTP frame limit)
 *   PUSH   sndhwm 8, immediate
 *   PUB    sndhwm 4 (a slow subscriber's queue holds at most four
 *          Params, references to the same buffers; newer ones wait for
 *          room, and the publisher sends again within its interval)
 *   SUB    max IM_WIRE_MAX_PARAMS, rcvhwm 4, subscribed to everything
 *   ROUTER max 1 MiB (it receives only Hello/Goodbye), hwm 256
 *   DEALER max IM_WIRE_MAX_CONTROL (a Welcome carries the params),
 *          immediate
 * and for every type: linger 500 ms, reconnect 100 ms doubling to 5 s,
 * keepalive on (idle 30 s, interval 10 s, 3 probes), no ZMTP heartbeat
 * (see above), no send/receive timeout, no CURVE. */
void im_transport_defaults(im_sock_opts *o, int zmq_type);

/* Creates a socket of zmq_type in ctx with o applied (NULL: defaults).
 * On success *out is the caller's (zmq_close); on failure nothing is left
 * open. */
int im_transport_socket(void **out, void *ctx, int zmq_type,
			const im_sock_opts *o);

int im_transport_bind(void *sock, const char *endpoint);
int im_transport_connect(void *sock, const char *endpoint);

/* Creates a socket and binds (or connects) it in one call. */
int im_transport_open_bound(void **out, void *ctx, int zmq_type,
			    const im_sock_opts *o, const char *endpoint);
int im_transport_open_connected(void **out, void *ctx, int zmq_type,
				const im_sock_opts *o, const char *endpoint);

/* The endpoint the socket last bound, with the real port after a bind to
 * "*" ("tcp://127.0.0.1:41234").  IM_ETOOBIG when len is too small. */
int im_transport_last_endpoint(void *sock, char *buf, size_t len);
/* The port of the last bound TCP endpoint, or a negative IM_E* code. */
int im_transport_bound_port(void *sock);

/* Finds a loopback port P such that P..P+n-1 are all free (n in 1..16),
 * by binding port 0 and then the following ports, retrying a bounded
 * number of times (IM_EAGAIN when no run was found).  The ports are
 * released before returning, so another process may still take them:
 * meant for tests that must start a learner on a base port.  A test that
 * owns the socket should rather bind "tcp://127.0.0.1:*" and read the
 * port back with im_transport_bound_port(). */
int im_transport_free_ports(int n, int *port);

/* Sends one single-part message (copied by ZeroMQ: buf stays the
 * caller's).  flags: 0 or ZMQ_DONTWAIT / ZMQ_SNDMORE. */
int im_transport_send(void *sock, const void *buf, size_t len, int flags);

/* Receives one message part into msg, which the caller has initialised
 * with zmq_msg_init() and closes with zmq_msg_close().  Returns the size
 * (>= 0) or an IM_E* code. */
int im_transport_recv(void *sock, void *zmq_msg, int flags);

/* Maps a ZeroMQ errno to an IM_E* code (see the list above). */
int im_transport_err(int zmq_errno);

#endif
