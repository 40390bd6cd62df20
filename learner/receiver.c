// SPDX-License-Identifier: Apache-2.0
#include "receiver.h"

#include "err.h"
#include "stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>

struct im_receiver {
	im_receiver_opts o;
	im_stream *stream; /* when the socket is a ZMQ_STREAM */
	size_t max_bytes;  /* the run's largest valid Trajectory */
	pthread_t thread;
	int stop;             /* atomic */
	im_receiver_stats st; /* each field updated atomically */
};

/* Release: a reader that acquires the count also sees what the message's
 * callback wrote before it. */
static void count(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELEASE);
}

static void reject(im_receiver *r, im_reject why, uint64_t actor,
		   const char *detail)
{
	/* The callback first: whoever sees the count may rely on it. */
	if (r->o.on_reject)
		r->o.on_reject(r->o.ctx, why, actor, detail);
	count(&r->st.dropped[why], 1);
}

/* Reserves a slot; IM_ECANCELED once stopping.  The store keeps one slot
 * more than its queue holds, so this waits only while a learner thread
 * copies a batch out of the slots it holds (store.h): never for an update,
 * never long enough for ZeroMQ's queues to fill. */
static int reserve_waiting(im_receiver *r, im_store_slot **slot)
{
	int rc;
	do {
		if (__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
			return IM_ECANCELED;
		rc = im_store_reserve(r->o.store, r->o.poll_ms, slot);
	} while (rc == IM_ETIMEDOUT);
	return rc;
}

/* Validates t (in slot) and queues it, or gives the slot back. */
static void check_and_store(im_receiver *r, im_store_slot *slot,
			    const Impala__Trajectory *t)
{
	char detail[192];
	uint64_t version = __atomic_load_n(r->o.param_version, __ATOMIC_ACQUIRE);
	im_validate_state st = {
		.run_id = r->o.run_id,
		.prev_run_id = r->o.prev_run_id,
		.param_version = version,
		.max_policy_lag = r->o.max_policy_lag,
		.max_episode_steps = r->o.max_episode_steps,
		.actor_lookup = r->o.actor_lookup,
		.actor_ctx = r->o.ctx,
	};
	im_reject why = im_validate_trajectory(t, &r->o.dims, &st, detail,
					       sizeof detail);
	if (why != IM_REJECT_OK) {
		reject(r, why, t->actor_id, detail);
		im_store_release(r->o.store, slot);
		return;
	}
	/* Before the commit: from then on a learner thread may take t. */
	if (r->o.on_accept)
		r->o.on_accept(r->o.ctx, t, version - t->param_version);
	if (im_store_commit(r->o.store, slot) == IM_OK) {
		count(&r->st.frames, r->o.dims.T);
		count(&r->st.accepted, 1);
	}
}

static void reject_undecodable(im_receiver *r, size_t len, int rc)
{
	char detail[192];
	snprintf(detail, sizeof detail, "%zu-byte message: %s", len,
		 im_strerror(rc));
	reject(r, im_validate_decode_rc(rc), 0, detail);
}

/* Decodes one message straight into a store slot (waiting for one),
 * validates and stores it; IM_ECANCELED ends the loop.  An oversized
 * message is refused at once, without waiting for a slot. */
static int handle(im_receiver *r, const uint8_t *buf, size_t len)
{
	if (len > r->max_bytes) {
		reject_undecodable(r, len, IM_ETOOBIG);
		return IM_OK;
	}
	im_store_slot *slot;
	int rc = reserve_waiting(r, &slot);
	if (rc != IM_OK)
		return rc == IM_ECANCELED ? IM_ECANCELED : IM_OK;
	Impala__Trajectory *t = NULL;
	rc = im_store_decode(slot, buf, len, r->max_bytes, &t);
	if (rc != IM_OK) {
		im_store_release(r->o.store, slot);
		reject_undecodable(r, len, rc);
		return IM_OK;
	}
	check_and_store(r, slot, t);
	return IM_OK;
}

static int on_frame(void *ctx, const uint8_t *data, size_t len, int more)
{
	(void)more; /* each part is a message, as with a PULL socket */
	return handle(ctx, data, len);
}

/* Waits up to poll_ms for a message and handles it (on a STREAM socket,
 * what has arrived, in bounded rounds so the stop flag is seen). */
static int step(im_receiver *r)
{
	zmq_pollitem_t item = {.socket = r->o.sock, .events = ZMQ_POLLIN};
	int n = zmq_poll(&item, 1, r->o.poll_ms);
	if (n < 0)
		return zmq_errno() == ETERM ? IM_ECANCELED : IM_OK;
	if (n == 0)
		return IM_OK;
	if (r->stream)
		return im_stream_pump(r->stream, 64, on_frame, r);
	zmq_msg_t m;
	zmq_msg_init(&m);
	int rc = IM_OK;
	int len = zmq_msg_recv(&m, r->o.sock, ZMQ_DONTWAIT);
	if (len >= 0)
		rc = handle(r, zmq_msg_data(&m), (size_t)len);
	else if (zmq_errno() == ETERM)
		rc = IM_ECANCELED;
	zmq_msg_close(&m);
	return rc;
}

static void *receiver_main(void *arg)
{
	im_receiver *r = arg;
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
		if (step(r) == IM_ECANCELED)
			break;
	return NULL;
}

int im_receiver_start(im_receiver **out, const im_receiver_opts *o)
{
	if (!out || !o || !o->sock || !o->store || !o->param_version ||
	    o->dims.T == 0)
		return IM_EINVAL;
	im_receiver *r = calloc(1, sizeof *r);
	if (!r)
		return IM_ENOMEM;
	r->o = *o;
	if (r->o.poll_ms <= 0)
		r->o.poll_ms = 100;
	r->max_bytes = im_validate_max_trajectory_bytes(&r->o.dims);
	int type = 0;
	size_t tl = sizeof type;
	zmq_getsockopt(o->sock, ZMQ_TYPE, &type, &tl);
	if (type == ZMQ_STREAM) {
		im_stream_opts so = {.sock = o->sock,
				     .max_conns = o->max_conns,
				     .on_error = o->on_conn_error,
				     .ctx = o->ctx};
		int rc = im_stream_new(&r->stream, &so);
		if (rc != IM_OK) {
			free(r);
			return rc;
		}
	}
	int e = pthread_create(&r->thread, NULL, receiver_main, r);
	if (e != 0) {
		im_stream_free(r->stream);
		free(r);
		errno = e;
		return IM_ESYS;
	}
	*out = r;
	return IM_OK;
}

void im_receiver_stop(im_receiver *r)
{
	if (!r)
		return;
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	pthread_join(r->thread, NULL);
	im_stream_free(r->stream);
	free(r);
}

void im_receiver_get_stats(im_receiver *r, im_receiver_stats *out)
{
	/* The connections first: once a close shows, so do the counts of
	 * every message that connection brought. */
	out->conns = (im_stream_stats){0};
	if (r->stream)
		im_stream_get_stats(r->stream, &out->conns);
	out->accepted = __atomic_load_n(&r->st.accepted, __ATOMIC_ACQUIRE);
	out->frames = __atomic_load_n(&r->st.frames, __ATOMIC_ACQUIRE);
	for (int i = 0; i < IM_REJECT_COUNT; i++)
		out->dropped[i] = __atomic_load_n(&r->st.dropped[i], __ATOMIC_ACQUIRE);
}
