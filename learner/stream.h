// SPDX-License-Identifier: Apache-2.0
/* The trajectory and handshake ports without CURVE: a ZMQ_STREAM socket
 * whose connections speak ZMTP through common/zmtp.h, so that libzmq
 * moves raw bytes and never decodes a ZMTP command (issue 14).
 *
 * Why: with a PULL socket, libzmq 4.3.4's ZMTP engine processes a PING
 * that waited behind a full queue after the connection had failed, and
 * answers it by writing to the dead connection, which asserts
 * "!_io_error" and aborts the learner (common/transport.h, "Heartbeats";
 * tests/bench/README.md, "The libzmq abort").  A STREAM socket's raw
 * engine has no commands to process: it writes only when we send, and
 * that path checks the error first.
 *
 * Per connection (a routing id of the STREAM socket): on its connect
 * notification our greeting is sent; the bytes that follow go through
 * the ZMTP state machine; each message frame reaches the callback, as
 * each part of a PULL socket's message reaches the receiver.  A protocol
 * error closes that connection only (the routing id and an empty frame)
 * and is counted; a message frame half-received when its connection
 * closes is dropped and counted.
 *
 * Memory a peer can make this hold: per connection, the reassembly of one
 * message frame (at most max_frame, grown with the bytes received) and
 * 4 KiB of handshake state; at most max_conns connections (a connection
 * beyond is closed at once and counted); and libzmq's queue of RCVHWM raw
 * chunks (8 KiB each) per connection.  A connection whose close its full
 * outgoing queue refuses (a port that answers a peer that does not read)
 * keeps its slot, closing, until the close is taken or the peer goes, so
 * that libzmq never holds more than max_conns of them. */
#ifndef IM_LEARNER_STREAM_H
#define IM_LEARNER_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "zmtp.h"

/* The default bound on connections: four times the 64-actor soak. */
#define IM_STREAM_MAX_CONNS 256

typedef struct im_stream im_stream;

typedef struct im_stream_opts {
	void *sock;         /* a bound ZMQ_STREAM socket, borrowed */
	uint32_t max_conns; /* 0: IM_STREAM_MAX_CONNS */
	uint64_t max_frame; /* 0: the socket's ZMQ_MAXMSGSIZE (-1: 64 MiB) */
	/* Called for each connection closed for a protocol error (rc and a
	 * static description), e.g. to log it rate-limited.  NULL: counted
	 * only. */
	void (*on_error)(void *ctx, int rc, const char *why);
	void *ctx;
	/* The ZMTP socket types: ours and the only peer type accepted.
	 * NULL: "PULL" and "PUSH" (the trajectory port). */
	const char *socket_type, *peer_type;
	/* Called with ready 1 when a connection's READY was accepted, and
	 * with ready 0 when such a connection closes, for any reason (id
	 * valid during the call; also from within im_stream_hangup()); fd
	 * is its descriptor as libzmq reports it (ZMQ_SRCFD; -1 when
	 * unknown or closing).  For a port that also sends
	 * (learner/fanout.h).  NULL: none. */
	void (*on_conn)(void *ctx, const uint8_t *id, size_t idlen, int ready,
			int fd);
} im_stream_opts;

typedef struct im_stream_stats {
	uint64_t opened;  /* connections taken */
	uint64_t refused; /* connections closed at once: max_conns reached */
	uint64_t errors;  /* connections closed for a protocol error */
	uint64_t partial; /* message frames lost half-received on a close */
	uint64_t open;    /* connections now (with those closing) */
} im_stream_stats;

/* *out set only on success: IM_EINVAL (no socket, or not a STREAM),
 * IM_ENOMEM. */
int im_stream_new(im_stream **out, const im_stream_opts *o);
/* Frees the connection states (not the socket).  Accepts NULL. */
void im_stream_free(im_stream *s);

/* Handles what the socket holds now, at most budget chunks, without
 * waiting, calling fn for each message frame.  IM_OK (also when there was
 * nothing), IM_ECANCELED when the context was terminated, or fn's nonzero
 * return (the connection it came from is closed). */
int im_stream_pump(im_stream *s, int budget, im_zmtp_frame_fn fn, void *ctx);

/* Closes the connection of routing id (an empty frame to libzmq), as a
 * protocol error would without counting one: IM_OK, or IM_ENOENT when no
 * such connection is open.  The socket's thread only. */
int im_stream_hangup(im_stream *s, const uint8_t *id, size_t idlen);

/* The counters, each read atomically (any thread). */
void im_stream_get_stats(im_stream *s, im_stream_stats *out);

/* For a port that answers (learner/handshake.c), called from within fn:
 * the routing id of the connection the frame came from (*len set; valid
 * until fn returns, the bytes stay s's), which names that connection
 * alone for the socket's life, so a reply sent to it ([id, data] on the
 * socket) reaches that peer only.  Our greeting and READY are sent before
 * fn is called, so a reply never overtakes them.  NULL (and *len 0)
 * outside fn. */
const uint8_t *im_stream_peer(const im_stream *s, size_t *len);
/* From within fn: 1 when the frame is the first part of a message (the
 * connection's previous message frame had no MORE flag), 0 for a later
 * part, so that a port taking single-part messages counts a multi-part
 * one once. */
int im_stream_first_part(const im_stream *s);

#endif
