// SPDX-License-Identifier: Apache-2.0
/* The learner's ZAP handler (ZeroMQ RFC 27): decides which CURVE clients
 * may connect to the learner's sockets.
 *
 * A client is accepted when its public key is in the authorised-keys
 * directory: every file there whose name ends in ".pub" holds one Z85
 * public key (the format im_curve_read_key reads and impala-keygen writes);
 * other files (notes, editor backups) are ignored.  The ZAP user id of an
 * accepted client is its file name without ".pub".
 *
 * Reloading: the handler rereads the directory when a connection arrives
 * and the last read is older than rescan_ms (1 s by default), so adding a
 * key file lets its actor in on its next connection attempt, and removing
 * one locks its actor out of every new connection, with no restart.  A
 * connection already authenticated stays up: ZeroMQ asks ZAP only during
 * the handshake.  A directory that cannot be read denies everyone
 * (fail closed) until it can be read again.
 *
 * The handler is a thread with a REP socket bound to
 * inproc://zeromq.zap.01 in the learner's ZeroMQ context; it must start
 * before the CURVE sockets bind, and stop before the context terminates.
 * It logs (rate-limited) each refused client and each change of the key
 * set, as the learner's other threads do. */
#ifndef IM_LEARNER_ZAP_H
#define IM_LEARNER_ZAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct im_zap im_zap;

typedef struct im_zap_opts {
	void *zctx;           /* the learner's context (borrowed) */
	const char *keys_dir; /* borrowed; must outlive the handler */
	uint32_t rescan_ms;   /* 0: 1000 */
} im_zap_opts;

/* Reads the directory (any file that is not a valid key, or a directory
 * that cannot be read, is an error here: IM_EINVAL / IM_ESYS with a reason
 * in err), binds the ZAP endpoint and starts the thread.  *out is the
 * caller's (im_zap_stop). */
int im_zap_start(im_zap **out, const im_zap_opts *o, char *err, size_t errlen);

/* Stops the thread and closes its socket.  Accepts NULL. */
void im_zap_stop(im_zap *z);

/* Connections accepted and refused so far; keys in the current set;
 * rereads of the directory since start (a reread happens on the first
 * request at least rescan_ms after the last). */
uint64_t im_zap_accepted(const im_zap *z);
uint64_t im_zap_refused(const im_zap *z);
uint32_t im_zap_num_keys(const im_zap *z);
uint64_t im_zap_scans(const im_zap *z);

#endif
