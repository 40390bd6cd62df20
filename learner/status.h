// SPDX-License-Identifier: Apache-2.0
/* The learner's status port: HTTP/1.1 on libuv, on its own thread and loop.
 *
 *   GET /healthz  200 "ok\n"
 *   GET /status   200 JSON (the snapshot below)
 *   GET /metrics  200 Prometheus text exposition format 0.0.4
 *   GET /, /dash/..., /history, /config: the dashboard (dash.h), when
 *                 opts.dash is set
 *   other paths   404;  methods other than GET  405 (Allow: GET);
 *   bad request line or headers over 8 KiB  400.
 * Every response closes the connection.
 *
 * Hand-off: the learner fills an im_status_snapshot of its own and calls
 * im_status_publish(), which copies it under a mutex; the server thread
 * copies the latest one under the same mutex and renders outside it.  The
 * learner therefore waits at most for one struct copy, never for a client.
 *
 * Hostile clients: each connection has a deadline (read_timeout_ms from
 * accept to the end of the response) after which it is closed; requests
 * are limited to 8 KiB of head; at most max_conns connections are open,
 * and a further one closes the oldest, so that clients holding idle
 * connections cannot lock out a monitor.  All I/O is non-blocking on the
 * server's loop, so one slow client delays no other.
 *
 * Start-up: the snapshot served before the first im_status_publish() is
 * im_status_opts.initial (a real one, never all zeros). */
#ifndef IM_LEARNER_STATUS_H
#define IM_LEARNER_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "validate.h"

#define IM_STATUS_MAX_ACTORS 256
#define IM_STATUS_HOST_MAX 64
#define IM_STATUS_NAME_MAX 128
#define IM_STATUS_MAX_HEAD 8192
/* --status-addr when none is given (config.c): loopback only. */
#define IM_STATUS_DEFAULT_ADDR "127.0.0.1:8080"

typedef struct im_status_actor {
	uint64_t id;
	char host[IM_STATUS_HOST_MAX]; /* as the actor's Hello said: untrusted */
	uint64_t frames;
	uint64_t unrolls;
	double last_seen_s; /* seconds since its last message */
	int64_t lag;        /* policy lag of its last unroll */
} im_status_actor;

/* Plain data, copied whole.  Doubles that have no value yet (mean return
 * before any episode) are NaN: JSON null, Prometheus NaN. */
typedef struct im_status_snapshot {
	uint64_t run_id;
	char env[IM_STATUS_NAME_MAX];
	char tag[IM_STATUS_NAME_MAX];
	char blas_core[IM_STATUS_NAME_MAX]; /* OpenBLAS kernels (common/blas.h) */
	double uptime_s;
	uint64_t frames;        /* environment steps consumed (the "step") */
	uint64_t updates;       /* learner updates */
	uint64_t param_version; /* parameters last published */
	double frames_per_s;
	double updates_per_s;
	uint64_t episodes;
	double mean_return; /* over the last 100 episodes */
	double mean_length;
	double total_loss, pg_loss, baseline_loss, entropy_loss;
	double entropy; /* mean policy entropy of the last batch */
	double grad_norm;
	double learning_rate;
	double policy_lag_mean; /* over the last batch */
	double policy_lag_max;
	uint32_t store_depth;
	uint32_t store_capacity;
	/* The unroll ledger: every unroll an actor sent is either accepted
	 * (unrolls_received) or rejected at receipt (dropped, by reason); every
	 * accepted one is then either handed to a learner thread
	 * (unrolls_batched), evicted from the store (unrolls_evicted: as
	 * older than --max-policy-lag, or as the oldest when a newcomer found
	 * the store full, unrolls_evicted_full), or still in the store
	 * (store_depth):  received = batched + evicted + store_depth. */
	uint64_t unrolls_received;     /* accepted into the store */
	uint64_t unrolls_batched;      /* taken from the store for an update */
	uint64_t unrolls_evicted;      /* left the store unused (both reasons) */
	uint64_t unrolls_evicted_full; /* of which: oldest, store full */
	uint64_t auth_refused;         /* CURVE connections refused (ZAP) */
	/* The handshake port's connections without CURVE (learner/stream.h,
	 * learner/handshake.c): open now, refused beyond the bound, closed
	 * for a ZMTP protocol error, and replies (Welcome or refusal)
	 * dropped because the connection's queue was full. */
	uint64_t hs_conns_open;
	uint64_t hs_conns_refused;
	uint64_t hs_conn_errors;
	uint64_t hs_replies_dropped;
	/* The trajectory port's connections without CURVE (learner/stream.h):
	 * open now, refused beyond the bound, closed for a ZMTP protocol
	 * error, and message frames cut by a connection's close (dropped). */
	uint64_t traj_conns_open;
	uint64_t traj_conns_refused;
	uint64_t traj_conn_errors;
	uint64_t traj_frames_cut;
	/* The parameter port's connections without CURVE (learner/fanout.h):
	 * open now, refused beyond the bound, closed for a ZMTP protocol
	 * error, broadcasts not sent to a connection still busy with an
	 * earlier one, connections closed as too slow (one broadcast held
	 * for 10 s, or the oldest held when the buffers ran short),
	 * broadcasts lost for want of a buffer, and the bytes of broadcast
	 * buffers in use now. */
	uint64_t params_conns_open;
	uint64_t params_conns_refused;
	uint64_t params_conn_errors;
	uint64_t params_skipped;
	uint64_t params_conns_closed_slow;
	uint64_t params_pool_empty;
	uint64_t params_held_bytes;
	/* Faults in the actors' unroll_seq streams (learner/actors.h):
	 * numbers skipped, and unrolls repeated or out of order. */
	uint64_t unroll_seq_gaps;
	uint64_t unroll_seq_repeats;
	uint64_t dropped[IM_REJECT_COUNT]; /* by reason; [OK] unused */
	/* The process and the status port, filled in by the status server for
	 * each request (the learner leaves them zero): resident memory, open
	 * descriptors and sockets (learner/procstat.h), and open connections
	 * on the status port, this request's included; the C heap
	 * (learner/heap.h). */
	uint64_t rss_bytes;
	uint64_t heap_system_bytes;
	uint64_t heap_in_use_bytes;
	uint64_t heap_free_bytes;
	/* Filled in by the learner: its heap trims so far and their time
	 * (--heap-trim-interval, learner/heap.h). */
	uint64_t heap_trims;
	double heap_trim_s;
	uint32_t open_fds;
	uint32_t open_sockets;
	uint64_t max_fds;
	uint32_t status_conns;
	uint32_t n_actors;
	uint32_t n_actors_omitted; /* rows beyond IM_STATUS_MAX_ACTORS */
	im_status_actor actors[IM_STATUS_MAX_ACTORS];
} im_status_snapshot;

typedef struct im_status im_status;

typedef struct im_status_opts {
	const char *addr;    /* "host:port", "[v6]:port"; port 0 picks one;
			      * NULL: IM_STATUS_DEFAULT_ADDR */
	int read_timeout_ms; /* 0: 5000 */
	int max_conns;       /* 0: 64 */
	/* Served until the first im_status_publish(); copied before the
	 * port accepts anyone.  NULL: all zeros (tests only). */
	const struct im_status_snapshot *initial;
	/* The dashboard's routes (dash.h: /, /dash/..., /history, /config),
	 * borrowed, outliving the server; NULL: none. */
	const struct im_dash *dash;
} im_status_opts;

/* Binds, then starts the server thread.  *out is set only on success;
 * IM_EINVAL for a bad address, IM_ESYS (errno set) when the bind fails,
 * IM_ENOMEM.  On failure no thread runs and nothing is left open. */
int im_status_new(im_status **out, const im_status_opts *o);

/* Nonzero when port (the text after the last ':' of an address) is a
 * decimal number from 0 to 65535. */
int im_status_port_ok(const char *port);

/* The bound port (useful after port 0). */
int im_status_port(const im_status *s);

/* Copies *snap (the caller keeps it) for the next requests. */
void im_status_publish(im_status *s, const im_status_snapshot *snap);

/* Stops the loop, closes every connection, joins the thread, frees.
 * Returns IM_ESTATE when the loop still had handles open (a leak; the
 * memory is freed all the same), else IM_OK.  Accepts NULL. */
int im_status_close(im_status *s);
/* im_status_close() for those who do not check. */
void im_status_free(im_status *s);

/* Renderers, also used by tests.  Each writes a NUL-terminated document
 * into a new malloc'd buffer *out (the caller frees it) with its length in
 * *len; IM_ENOMEM on failure, with nothing allocated. */
int im_status_render_json(const im_status_snapshot *s, char **out,
			  size_t *len);
int im_status_render_metrics(const im_status_snapshot *s, char **out,
			     size_t *len);

#endif
