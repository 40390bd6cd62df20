// SPDX-License-Identifier: Apache-2.0
/* The server side of one ZMTP 3.x connection with the NULL mechanism
 * (rfc.zeromq.org/spec/23 and spec/37), as a pure byte-level state
 * machine: bytes from the peer go in, message frames and errors come
 * out, and the bytes to send back (our greeting, then our READY) wait in
 * an output buffer.  No sockets: the caller moves the bytes (the learner
 * reads them from a ZMQ_STREAM socket, learner/stream.h).
 *
 * Why it exists: libzmq 4.3.4's ZMTP engine can abort the process on a
 * PING that sat in a stopped connection (common/transport.h,
 * "Heartbeats"); a ZMQ_STREAM socket's raw engine decodes no ZMTP at all,
 * so the learner speaks the framing itself and never answers a command.
 *
 * The conversation, as this side sees it:
 *   1. our greeting (signature, version 3.1, mechanism NULL, as-server 0)
 *      is in the output from the start;
 *   2. the peer's greeting: byte 0 0xFF, byte 9 with bit 0 set, major
 *      version 3 or more (any minor), mechanism "NULL"; the as-server
 *      flag and the filler are not checked (NULL has no roles);
 *   3. our READY (Socket-Type = opts.socket_type) joins the output;
 *   4. the peer's first frame must be a READY command whose Socket-Type
 *      property (name compared without case) is opts.peer_type; other
 *      properties are ignored; an ERROR command or anything else fails;
 *   5. then frames: each message frame (short or long form, MORE or not)
 *      is passed to the callback on its own, as a PULL socket's reader
 *      receives each part; command frames (PING, PONG, unknown) are
 *      skipped without being stored, and never answered.
 * Protocol errors (IM_EPROTO: bad signature, wrong mechanism, missing or
 * wrong socket type, a message before READY, a command with MORE set,
 * reserved flag bits set; IM_EVERSION: ZMTP below 3.0; IM_ETOOBIG: a
 * message frame above max_frame or a handshake command above
 * IM_ZMTP_MAX_COMMAND) are final: the connection is dead and every later
 * feed returns the same code.  im_zmtp_error() says what it was.
 *
 * Memory: one message frame is reassembled at a time, in a buffer that
 * grows with the bytes actually received (never beyond max_frame), and a
 * frame that arrives whole in one feed is passed without a copy. */
#ifndef IM_ZMTP_H
#define IM_ZMTP_H

#include <stddef.h>
#include <stdint.h>

#define IM_ZMTP_GREETING_LEN 64
/* The largest handshake command (READY and its properties) accepted. */
#define IM_ZMTP_MAX_COMMAND 4096

typedef struct im_zmtp im_zmtp;

typedef struct im_zmtp_opts {
	const char *socket_type; /* ours, sent in READY: "PULL"; <= 32 chars */
	const char *peer_type;   /* the only one accepted: "PUSH" */
	uint64_t max_frame;      /* largest message frame, bytes; >= 1 */
} im_zmtp_opts;

/* A complete message frame: data is valid during the call only.  more is
 * the frame's MORE flag.  A nonzero return stops the feed, which returns
 * that value. */
typedef int (*im_zmtp_frame_fn)(void *ctx, const uint8_t *data, size_t len,
				int more);

/* Creates the state of one connection; the strings are copied.  *out is
 * set only on success (IM_EINVAL, IM_ENOMEM). */
int im_zmtp_new(im_zmtp **out, const im_zmtp_opts *o);
/* Frees z and its buffer.  Accepts NULL. */
void im_zmtp_free(im_zmtp *z);

/* Feeds len bytes from the peer (buf stays the caller's), calling fn for
 * each complete message frame, in order.  IM_OK; a protocol error (see
 * above); IM_ENOMEM when the reassembly buffer cannot grow (also final);
 * or fn's nonzero return, in which case the bytes after that frame are
 * not consumed and the connection should be closed. */
int im_zmtp_feed(im_zmtp *z, const uint8_t *buf, size_t len,
		 im_zmtp_frame_fn fn, void *ctx);

/* The bytes waiting to be sent to the peer (*len 0 when none); valid
 * until the next feed or im_zmtp_output_sent(). */
const uint8_t *im_zmtp_output(const im_zmtp *z, size_t *len);
/* Marks the whole output as sent. */
void im_zmtp_output_sent(im_zmtp *z);

/* The longest frame header im_zmtp_frame_header() writes. */
#define IM_ZMTP_HEADER_MAX 9

/* Writes the header of a message frame of len body bytes, the MORE flag
 * set when more is nonzero, into out: the short form (2 bytes) up to 255
 * bytes, the long form (9 bytes) above.  Returns the header's length.
 * For the learner's own sends on a ZMQ_STREAM socket: the header and the
 * body must reach the peer back to back. */
size_t im_zmtp_frame_header(uint8_t out[IM_ZMTP_HEADER_MAX], uint64_t len,
			    int more);

/* 1 once the peer's READY was accepted. */
int im_zmtp_ready(const im_zmtp *z);
/* Bytes of a message frame received but not complete (what closing the
 * connection now would lose). */
uint64_t im_zmtp_partial(const im_zmtp *z);
/* A static one-line description of the final error; "" when none. */
const char *im_zmtp_error(const im_zmtp *z);

#endif
