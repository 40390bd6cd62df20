// SPDX-License-Identifier: Apache-2.0
/* The parameter port without CURVE: a ZMQ_STREAM socket on which the
 * learner speaks ZMTP itself as a PUB (issue 14), and the fan-out of each
 * broadcast to every connection, with a bound on what peers can make the
 * learner hold.
 *
 * Why: a PUB socket runs libzmq 4.3.4's ZMTP engine, which a raw peer
 * aborts by flooding subscriptions, each followed by a PING, and
 * resetting (learner/stream.h; tests/bench/README.md, "The libzmq
 * abort").  A STREAM socket's raw engine decodes no command.
 *
 * The peers: our Socket-Type is PUB; the only peer type accepted is SUB,
 * what impala-actor uses (a PUB, XPUB or anything else is a protocol
 * error: closed and counted).  Whatever a SUB sends after READY
 * (subscriptions as message frames in ZMTP 3.0, SUBSCRIBE or CANCEL
 * commands in 3.1) is read and ignored: a message frame above
 * IM_FANOUT_MAX_SUB bytes closes that connection; commands are skipped
 * whatever their size, never stored.  Every ready connection gets every
 * broadcast it is free for; the actor subscribes to everything and its
 * SUB filters for itself.
 *
 * Threads: the socket must be read (connects, greetings, READY,
 * subscriptions) as well as written, and ZeroMQ sockets are not
 * thread-safe, so one small I/O thread owns it from im_fanout_new() to
 * im_fanout_stop().  The publisher hands it each broadcast through a
 * one-slot mailbox and an eventfd: the publisher's waits (on the learner's
 * update condition) stay as they were, and the I/O thread answers a new
 * connection at once instead of between broadcasts.
 *
 * A broadcast is ONE buffer: the ZMTP frame header followed by the packed
 * Params.  Each ready connection gets it as its own zmq message that
 * references the buffer (zmq_msg_init_data, no copy), with the
 * connection as the free callback's hint, so the fan-out knows per
 * connection whether libzmq still holds a broadcast for it (until its
 * engine has written the last byte to the kernel).  One message per
 * connection: a full pipe never leaves half a frame on the wire.
 *
 * The bound (what peers can make the learner hold): the buffers come from
 * a pool of `buffers` (IM_FANOUT_BUFFERS, 8) buffers of one packed Params
 * each, whatever the peers do: at most 8 parameter arenas (about 4 MiB
 * for MinAtar's 530 KB arena).  To keep it so:
 *   - a connection is sent a broadcast only when libzmq holds none for it
 *     (so it never holds more than one, and its pipe, SNDHWM 16, always
 *     has room for the empty frame that closes it); a broadcast that finds
 *     it busy is skipped for it (`skipped`), and once it is free it gets
 *     the newest broadcast at once (newest-only, as the actor's SUB keeps
 *     only the newest);
 *   - a connection that has held one broadcast for slow_ms
 *     (IM_FANOUT_SLOW_MS, 10 s: an actor reads Params on its own I/O
 *     thread, so only a stopped or hostile peer takes that long) is
 *     closed (`closed_slow`);
 *   - when all buffers but one are in use (the newest, the mailbox's and
 *     those older broadcasts that slow connections still hold), the
 *     connections holding the oldest are closed (`closed_slow` too) when
 *     they have read none of it for stall_ms (IM_FANOUT_STALL_MS, 250 ms:
 *     their peer acknowledged no byte, TCP_INFO's tcpi_bytes_acked) or
 *     have held it for pressure_ms (IM_FANOUT_PRESSURE_MS, 5 s), so that
 *     later broadcasts find a free buffer.  Until then a broadcast that
 *     finds no free buffer is not sent (`pool_empty`; the publisher sends
 *     again within its interval) and every connection that frees up gets
 *     the newest one taken.
 *
 * Why (the last review's finding 6): the pool ran short, and closed its
 * oldest holders at once, whenever 6 connections held different
 * broadcasts, which with a broadcast every 5 ms (--publish-min-ms) means
 * 6 readers each taking over ~30 ms per message: a 4 MB model at under
 * ~1 Gbit/s each.  An honest actor on a 100 Mbit/s link (0.34 s for
 * 4 MB) was cut before it finished every message it was sent, and so
 * never got parameters.  A reader that still reads is now spared unless
 * one message takes it over 5 s (4 MB at under 6.4 Mbit/s, e.g. over
 * ~150 actors sharing the learner's 1 Gbit/s uplink), when its
 * parameters are that old anyway; one stalled for 250 ms (a stopped or
 * hostile peer, or a link that lost a segment and waits for its
 * retransmission timeout) is closed as before, and if honest it
 * reconnects and gets the newest: one missed message, not starvation.
 * A rule on the time held alone (5 s, tried first) let 48 stalled peers
 * hold back fresh parameters: tests/e2e/test_hostile.py's
 * case_params_stalled_readers (a reader must get 5 in 2 s) failed 5 of 6
 * runs under load with it (deploy/README.md, section 3).
 * Plus what learner/stream.h bounds for reading: max_conns connections,
 * one subscription frame and 4 KiB of handshake state each. */
#ifndef IM_LEARNER_FANOUT_H
#define IM_LEARNER_FANOUT_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

#define IM_FANOUT_BUFFERS 8
#define IM_FANOUT_SLOW_MS 10000
#define IM_FANOUT_PRESSURE_MS 5000
#define IM_FANOUT_STALL_MS 250
/* The largest message frame taken from a SUB peer: a subscription is its
 * topic and one byte (the actor's is one byte). */
#define IM_FANOUT_MAX_SUB 4096

typedef struct im_fanout im_fanout;

typedef struct im_fanout_opts {
	/* A bound ZMQ_STREAM socket, borrowed: only the fan-out's thread
	 * uses it until im_fanout_stop().  Its SNDHWM must be above 2. */
	void *sock;
	uint32_t max_conns; /* 0: IM_STREAM_MAX_CONNS */
	int buffers;        /* the pool; 0: IM_FANOUT_BUFFERS; >= 3 */
	int slow_ms;        /* 0: IM_FANOUT_SLOW_MS */
	int pressure_ms;    /* 0: IM_FANOUT_PRESSURE_MS */
	int stall_ms;       /* 0: IM_FANOUT_STALL_MS */
	int poll_ms;        /* the thread's idle wake-up; 0: 100 */
	/* Connections closed for a protocol error (rc, a static reason);
	 * called on the fan-out's thread.  NULL: counted only. */
	void (*on_error)(void *ctx, int rc, const char *why);
	void *ctx;
} im_fanout_opts;

typedef struct im_fanout_stats {
	im_stream_stats conns; /* refused includes the fan-out's own */
	uint64_t broadcasts;   /* taken from the publisher by the thread */
	uint64_t sent;         /* messages given to libzmq, one per peer */
	uint64_t skipped;      /* a broadcast not sent to a busy connection */
	uint64_t closed_slow;  /* closed: held one too long, or the oldest
				* with the pool short (stall_ms, pressure_ms) */
	uint64_t pool_empty;   /* broadcasts lost: no free buffer */
	uint64_t held_bytes;   /* bytes of the buffers in use now */
} im_fanout_stats;

/* Starts the fan-out's thread on o->sock.  *out set only on success:
 * IM_EINVAL (not a STREAM socket, buffers below 3), IM_ENOMEM, IM_ESYS. */
int im_fanout_new(im_fanout **out, const im_fanout_opts *o);

/* Broadcasts a message of len bytes that fill(ctx, body) writes into the
 * body (len bytes, the fan-out's buffer, valid during the call only).
 * Any one thread (the publisher).  IM_OK: handed to the fan-out's
 * thread, which sends it to every free ready connection (a broadcast
 * not yet taken is replaced: only the newest counts); IM_EAGAIN: every
 * buffer is in use (counted as pool_empty); IM_ENOMEM. */
int im_fanout_broadcast(im_fanout *f, size_t len,
			void (*fill)(void *ctx, uint8_t *body), void *ctx);

/* Stops and joins the thread; the socket is the caller's again (close it
 * with linger 0).  Idempotent; accepts NULL. */
void im_fanout_stop(im_fanout *f);
/* Frees the fan-out.  libzmq may call back into it until the messages it
 * holds are released: only after the socket's context was terminated
 * (zmq_ctx_term).  Stops first if needed; accepts NULL. */
void im_fanout_free(im_fanout *f);

/* The counters, each read atomically (any thread, until free). */
void im_fanout_get_stats(im_fanout *f, im_fanout_stats *out);

#endif
