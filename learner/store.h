// SPDX-License-Identifier: Apache-2.0
/* The learner's bounded store of unrolls.
 *
 * `capacity` (num_storages) + 1 slots are allocated up front.  The receiver
 * thread reserves a free slot (im_store_reserve), decodes a message
 * straight into it (im_store_decode: protobuf-c allocates from the slot,
 * so the arrays are copied once, from the wire's bytes), validates it
 * (common/validate.h) and queues it (im_store_commit) or gives the slot
 * back (im_store_release).  Learner threads call im_store_take() for
 * batch_size unrolls, oldest first, which the batcher (batch.h) copies
 * time-major into an im_batch they own; the slots are then free again.
 * A Trajectory is thus copied twice between the wire and the update:
 * decode, batch.
 *
 * A full store evicts, it never blocks its writer (issue 14).  The queue
 * holds at most `capacity` unrolls; one slot more is allocated, so the
 * receiver always has a slot to decode the next message into.  When a
 * valid newcomer is committed to a full queue, the oldest queued unroll
 * (the stalest: acted with the oldest parameters) is evicted and counted
 * in im_store_stats.evicted_full.  A message that fails decoding or
 * validation never evicts anything: eviction happens at commit.  So the
 * receiver never waits for the learner threads (only, for the time of a
 * memcpy, for a batch being assembled when every other slot is held),
 * keeps reading its PULL socket, and ZeroMQ never stops reading a
 * connection because of the learner (Debian 12's libzmq 4.3.4 can abort
 * the process when a stopped connection fails: common/transport.h).  The
 * pace of the actors is set by flow control in the actors instead
 * (actor/flow.h), which the learner feeds with its store's free room.
 * Unrolls are also dropped for being too old: im_store_set_min_version()
 * makes take() discard queued unrolls acted with older parameters
 * (counted in im_store_stats.dropped_lag).  Every unroll committed is
 * taken, evicted (dropped_lag or evicted_full) or still queued:
 * put = taken + dropped_lag + evicted_full + depth.
 *
 * im_store_close() wakes every waiter; from then on reserve, put and take
 * return IM_ECANCELED.  All functions are thread-safe except
 * im_store_free(), which must run after every other thread is done with
 * the store. */
#ifndef IM_LEARNER_STORE_H
#define IM_LEARNER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "impala.pb-c.h"
#include "validate.h"

typedef struct im_store im_store;
/* One slot, between im_store_reserve and im_store_commit or
 * im_store_release: the reserving thread's alone. */
typedef struct im_store_slot im_store_slot;

typedef struct im_store_opts {
	im_run_dims dims;    /* copied */
	uint32_t capacity;   /* num_storages; >= batch_size */
	uint32_t batch_size; /* B */
} im_store_opts;

/* Bytes one slot allocates for dims d: the largest valid encoded
 * Trajectory (im_validate_max_trajectory_bytes: T+1 observation rows, T
 * rows of final observations of truncated steps, the per-step arrays) and
 * what protobuf-c allocates besides, in the run's obs dtype (README:
 * "Memory").  Pages never written stay unbacked. */
size_t im_store_slot_bytes(const im_run_dims *d);

/* Allocates every slot up front.  *out is set only on success; IM_EINVAL
 * for capacity < batch_size or batch_size 0, IM_ENOMEM. */
int im_store_new(im_store **out, const im_store_opts *o);
void im_store_free(im_store *s);

/* Reserves a free slot, waiting while none is free (every slot queued,
 * being assembled into a batch or reserved; with one reserver that means
 * a take() is copying its batch): timeout_ms < 0 waits forever, 0 does
 * not wait.  On IM_OK *slot is the caller's until it
 * passes it to im_store_commit or im_store_release; IM_ETIMEDOUT,
 * IM_ECANCELED after close. */
int im_store_reserve(im_store *s, int timeout_ms, im_store_slot **slot);

/* Decodes buf (borrowed) into slot, replacing what it held.  On IM_OK *t
 * lives in the slot until commit or release.  Errors as
 * im_wire_decode_trajectory's (len > max: IM_ETOOBIG; IM_EPROTO also for
 * a message whose decoded form outgrows the slot, which no valid one
 * does); the slot stays reserved either way. */
int im_store_decode(im_store_slot *slot, const uint8_t *buf, size_t len,
		    size_t max, Impala__Trajectory **t);

/* Queues the slot's Trajectory for take(), evicting the oldest queued
 * unroll when the queue already holds `capacity` (evicted_full).  It must
 * have passed im_validate_trajectory() with the store's dims; IM_ESHAPE
 * when its byte lengths do not fit them anyway.  The slot is the store's again on
 * return, whatever the result. */
int im_store_commit(im_store *s, im_store_slot *slot);

/* Gives a reserved slot back without queuing it. */
void im_store_release(im_store *s, im_store_slot *slot);

/* Copies t (borrowed; it must have passed im_validate_trajectory() with
 * the same dims) into a free slot: reserve, then decode of t's encoding,
 * then commit.  For callers that hold a decoded Trajectory (tests); the
 * receiver decodes straight into a slot.  Timeouts and errors as reserve
 * and commit; IM_ENOMEM. */
int im_store_put(im_store *s, const Impala__Trajectory *t, int timeout_ms);

/* Waits until batch_size unrolls are queued (timeout_ms as for reserve),
 * removes the oldest batch_size, assembles them into b (im_batch_new for
 * the store's dims and batch size) and frees their slots.  IM_OK,
 * IM_ETIMEDOUT, IM_ECANCELED after close, IM_EINVAL when b does not match.
 * Several threads may take at once; each gets distinct unrolls. */
int im_store_take(im_store *s, im_batch *b, int timeout_ms);

/* Queued unrolls acted with a parameter version below v are discarded by
 * the next take() instead of being used. */
void im_store_set_min_version(im_store *s, uint64_t v);

/* Wakes every waiter and refuses further reserves, puts and takes.
 * Idempotent. */
void im_store_close(im_store *s);

typedef struct im_store_stats {
	uint32_t capacity;
	uint32_t depth;        /* queued unrolls now */
	uint64_t put;          /* unrolls accepted */
	uint64_t taken;        /* unrolls handed out in batches */
	uint64_t dropped_lag;  /* discarded by the min version */
	uint64_t evicted_full; /* the oldest, evicted by a newcomer when full */
	uint64_t put_waits;    /* reserves that found every slot held */
} im_store_stats;

void im_store_get_stats(im_store *s, im_store_stats *out);

#endif
