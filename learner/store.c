// SPDX-License-Identifier: Apache-2.0
#include "store.h"

#include "err.h"
#include "log.h"
#include "wire.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Alignment of every allocation in a slot's arena (malloc's). */
#define ARENA_ALIGN 16

/* One unroll: protobuf-c decodes the message straight into the slot's
 * arena (arena_alloc), so the arrays are copied once, from the wire's
 * bytes, until the batcher copies them into a batch. */
struct im_store_slot {
	uint8_t *arena; /* owned; im_store_slot_bytes() */
	size_t cap, used;
	ProtobufCAllocator alloc;
	Impala__Trajectory *t; /* in the arena; NULL until decoded */
	uint32_t index;        /* in the store's slots */
};

struct im_store {
	im_run_dims d;
	uint32_t cap, B;
	/* cap + 1: the queue holds at most cap unrolls, and the receiver
	 * always finds a slot to decode the next message into while the
	 * queue is full (the newcomer then evicts the oldest). */
	uint32_t n_slots;
	im_store_slot *slots; /* (n_slots) */
	uint32_t *free_idx;   /* (n_slots) stack of free slot indices */
	uint32_t n_free;
	uint32_t *queue; /* (n_slots) ring of full slots, oldest first */
	uint32_t q_head, q_len;
	pthread_mutex_t mu;
	pthread_cond_t not_full;
	pthread_cond_t enough;
	int closed;
	uint64_t min_version;
	im_store_stats st;
};

/* ---- slots ---- */

static void *arena_alloc(void *data, size_t size)
{
	im_store_slot *s = data;
	size_t at = (s->used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (at > s->cap || size > s->cap - at)
		return NULL;
	s->used = at + size;
	return s->arena + at;
}

/* Everything goes at once when the slot is reset. */
static void arena_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

static void slot_reset(im_store_slot *s)
{
	s->used = 0;
	s->t = NULL;
}

/* What protobuf-c allocates besides the arrays, for a valid Trajectory:
 * the message structs (Trajectory, four Tensors and their shapes, one
 * Episode and its pointer per episode, at most T), its scan buffers
 * (freed into nothing here) and the alignment of each allocation; the
 * fixed part fits in the 4096 bytes im_validate_max_trajectory_bytes
 * allows for tags.  The worst case (every step truncated, T episodes,
 * test_worst_case_fits_a_slot) needs under 100 bytes a step and fails
 * at 70; this allows twice that. */
static size_t decode_overhead(const im_run_dims *d)
{
	return 4096 + (size_t)d->T * 192;
}

size_t im_store_slot_bytes(const im_run_dims *d)
{
	return im_validate_max_trajectory_bytes(d) + decode_overhead(d);
}

static int slot_alloc(im_store_slot *s, const im_run_dims *d, uint32_t index)
{
	memset(s, 0, sizeof *s);
	s->cap = im_store_slot_bytes(d);
	s->arena = malloc(s->cap);
	if (!s->arena)
		return IM_ENOMEM;
	s->alloc = (ProtobufCAllocator){arena_alloc, arena_free, s};
	s->index = index;
	return IM_OK;
}

/* The byte lengths the batcher relies on; validation checked much more. */
static int fits(const Impala__Trajectory *t, const im_run_dims *d)
{
	size_t T = d->T, row = d->obs_numel * d->obs_elem;
	size_t n_trunc = 0;
	if (!t || t->num_steps != d->T || !t->obs || !t->actions ||
	    t->truncated.len != T || t->terminated.len != T)
		return 0;
	for (size_t i = 0; i < T; i++)
		n_trunc += t->truncated.data[i] != 0;
	size_t final_len = t->final_obs ? t->final_obs->data.len : 0;
	size_t h = 4 * (size_t)d->lstm_hidden;
	size_t pa = t->prev_action ? t->prev_action->data.len : 4 * d->action_dim;
	return t->obs->data.len == (T + 1) * row &&
	       t->actions->data.len == T * d->action_dim * 4 &&
	       t->rewards.len == 4 * T && t->behaviour_logp.len == 4 * T &&
	       final_len == n_trunc * row && t->lstm_h.len == h &&
	       t->lstm_c.len == h && pa == 4 * d->action_dim &&
	       t->n_episodes <= T;
}

/* ---- the store ---- */

int im_store_new(im_store **out, const im_store_opts *o)
{
	if (!out || !o || o->batch_size == 0 || o->capacity < o->batch_size ||
	    o->dims.T == 0 || o->dims.obs_numel == 0 || o->dims.action_dim == 0)
		return IM_EINVAL;
	im_store *s = calloc(1, sizeof *s);
	if (!s)
		return IM_ENOMEM;
	s->d = o->dims;
	s->cap = o->capacity;
	s->B = o->batch_size;
	s->n_slots = s->cap + 1;
	s->slots = calloc(s->n_slots, sizeof *s->slots);
	s->free_idx = calloc(s->n_slots, sizeof *s->free_idx);
	s->queue = calloc(s->n_slots, sizeof *s->queue);
	if (!s->slots || !s->free_idx || !s->queue)
		goto fail;
	for (uint32_t i = 0; i < s->n_slots; i++) {
		if (slot_alloc(&s->slots[i], &s->d, i) != IM_OK)
			goto fail;
		s->free_idx[s->n_free++] = i;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->not_full, &ca);
	pthread_cond_init(&s->enough, &ca);
	pthread_condattr_destroy(&ca);
	s->st.capacity = s->cap;
	*out = s;
	return IM_OK;
fail:
	/* Slots past the failed one are still zeroed by calloc. */
	for (uint32_t i = 0; s->slots && i < s->n_slots; i++)
		free(s->slots[i].arena);
	free(s->slots);
	free(s->free_idx);
	free(s->queue);
	free(s);
	return IM_ENOMEM;
}

void im_store_free(im_store *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->n_slots; i++)
		free(s->slots[i].arena);
	pthread_cond_destroy(&s->not_full);
	pthread_cond_destroy(&s->enough);
	pthread_mutex_destroy(&s->mu);
	free(s->slots);
	free(s->free_idx);
	free(s->queue);
	free(s);
}

/* One wait on c; IM_ETIMEDOUT once the deadline passed (timeout_ms >= 0). */
static int wait_on(im_store *s, pthread_cond_t *c, int timeout_ms,
		   const struct timespec *dl)
{
	if (timeout_ms < 0) {
		pthread_cond_wait(c, &s->mu);
		return IM_OK;
	}
	if (timeout_ms == 0)
		return IM_ETIMEDOUT;
	int rc = pthread_cond_timedwait(c, &s->mu, dl);
	return rc == ETIMEDOUT ? IM_ETIMEDOUT : IM_OK;
}

/* Reserves a free slot index in *idx under the lock. */
static int reserve_locked(im_store *s, int timeout_ms, uint32_t *idx)
{
	struct timespec dl = im_deadline_ms(timeout_ms > 0 ? timeout_ms : 0);
	int rc = IM_OK, waited = 0;
	while (!s->closed && s->n_free == 0 && rc == IM_OK) {
		waited = 1;
		rc = wait_on(s, &s->not_full, timeout_ms, &dl);
	}
	s->st.put_waits += (uint64_t)waited;
	if (s->closed)
		return IM_ECANCELED;
	if (s->n_free == 0)
		return IM_ETIMEDOUT;
	*idx = s->free_idx[--s->n_free];
	return IM_OK;
}

int im_store_reserve(im_store *s, int timeout_ms, im_store_slot **slot)
{
	if (!s || !slot)
		return IM_EINVAL;
	uint32_t idx;
	pthread_mutex_lock(&s->mu);
	int rc = reserve_locked(s, timeout_ms, &idx);
	pthread_mutex_unlock(&s->mu);
	if (rc == IM_OK) {
		slot_reset(&s->slots[idx]);
		*slot = &s->slots[idx];
	}
	return rc;
}

int im_store_decode(im_store_slot *slot, const uint8_t *buf, size_t len,
		    size_t max, Impala__Trajectory **t)
{
	slot_reset(slot);
	int rc = im_wire_decode_trajectory_in(&slot->alloc, buf, len, max,
					      &slot->t);
	if (rc == IM_OK)
		*t = slot->t;
	else
		slot_reset(slot);
	return rc;
}

void im_store_release(im_store *s, im_store_slot *slot)
{
	slot_reset(slot);
	pthread_mutex_lock(&s->mu);
	s->free_idx[s->n_free++] = slot->index;
	pthread_cond_broadcast(&s->not_full);
	pthread_mutex_unlock(&s->mu);
}

/* Frees the oldest queued unroll, under the lock. */
static void evict_oldest_locked(im_store *s)
{
	uint32_t idx = s->queue[s->q_head];
	slot_reset(&s->slots[idx]);
	s->free_idx[s->n_free++] = idx;
	s->q_head = (s->q_head + 1) % s->n_slots;
	s->q_len--;
	s->st.evicted_full++;
	pthread_cond_broadcast(&s->not_full);
}

int im_store_commit(im_store *s, im_store_slot *slot)
{
	if (!fits(slot->t, &s->d)) {
		im_store_release(s, slot);
		return IM_ESHAPE;
	}
	pthread_mutex_lock(&s->mu);
	s->queue[(s->q_head + s->q_len) % s->n_slots] = slot->index;
	s->q_len++;
	s->st.put++;
	if (s->q_len > s->cap)
		evict_oldest_locked(s);
	if (s->q_len >= s->B)
		pthread_cond_broadcast(&s->enough);
	pthread_mutex_unlock(&s->mu);
	return IM_OK;
}

int im_store_put(im_store *s, const Impala__Trajectory *t, int timeout_ms)
{
	if (!s || !t)
		return IM_EINVAL;
	if (!fits(t, &s->d))
		return IM_ESHAPE;
	uint8_t *buf = NULL;
	size_t len = 0;
	if (im_wire_encode(&t->base, &buf, &len) != IM_OK)
		return IM_ENOMEM;
	im_store_slot *slot;
	int rc = im_store_reserve(s, timeout_ms, &slot);
	if (rc == IM_OK) {
		Impala__Trajectory *copy;
		rc = im_store_decode(slot, buf, len, slot->cap, &copy);
		if (rc == IM_OK)
			rc = im_store_commit(s, slot);
		else
			im_store_release(s, slot);
	}
	free(buf);
	return rc;
}

/* Moves queued unrolls older than min_version back to the free stack,
 * keeping the order of the rest. */
static void drop_stale_locked(im_store *s)
{
	uint32_t kept = 0, n = s->q_len;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t idx = s->queue[(s->q_head + i) % s->n_slots];
		if (s->slots[idx].t->param_version < s->min_version) {
			slot_reset(&s->slots[idx]);
			s->free_idx[s->n_free++] = idx;
			s->st.dropped_lag++;
		} else {
			s->queue[(s->q_head + kept++) % s->n_slots] = idx;
		}
	}
	s->q_len = kept;
	if (kept < n)
		pthread_cond_broadcast(&s->not_full);
}

static int wait_batch_locked(im_store *s, int timeout_ms, uint32_t *idx)
{
	struct timespec dl = im_deadline_ms(timeout_ms > 0 ? timeout_ms : 0);
	int rc = IM_OK;
	for (;;) {
		if (s->closed)
			return IM_ECANCELED;
		drop_stale_locked(s);
		if (s->q_len >= s->B)
			break;
		if (rc != IM_OK)
			return rc;
		rc = wait_on(s, &s->enough, timeout_ms, &dl);
	}
	for (uint32_t b = 0; b < s->B; b++)
		idx[b] = s->queue[(s->q_head + b) % s->n_slots];
	s->q_head = (s->q_head + s->B) % s->n_slots;
	s->q_len -= s->B;
	/* Counted as they leave the queue, under the same lock hold, so that
	 * put = taken + dropped_lag + evicted_full + depth in every
	 * im_store_get_stats(). */
	s->st.taken += s->B;
	return IM_OK;
}

int im_store_take(im_store *s, im_batch *b, int timeout_ms)
{
	if (!s || !b || !im_batch_matches(b, &s->d, s->B))
		return IM_EINVAL;
	/* Per-call scratch, as several learner threads take at once. */
	uint32_t *taken = malloc(s->B * sizeof *taken);
	const Impala__Trajectory **ts = malloc(s->B * sizeof *ts);
	if (!taken || !ts) {
		free(taken);
		free(ts);
		return IM_ENOMEM;
	}
	pthread_mutex_lock(&s->mu);
	int rc = wait_batch_locked(s, timeout_ms, taken);
	pthread_mutex_unlock(&s->mu);
	if (rc == IM_OK) {
		/* The slots are this call's until freed below. */
		for (uint32_t i = 0; i < s->B; i++)
			ts[i] = s->slots[taken[i]].t;
		im_batch_fill(b, ts);
		pthread_mutex_lock(&s->mu);
		for (uint32_t i = 0; i < s->B; i++) {
			slot_reset(&s->slots[taken[i]]);
			s->free_idx[s->n_free++] = taken[i];
		}
		pthread_cond_broadcast(&s->not_full);
		pthread_mutex_unlock(&s->mu);
	}
	free(taken);
	free(ts);
	return rc;
}

void im_store_set_min_version(im_store *s, uint64_t v)
{
	pthread_mutex_lock(&s->mu);
	s->min_version = v;
	pthread_mutex_unlock(&s->mu);
}

void im_store_close(im_store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->closed = 1;
	pthread_cond_broadcast(&s->not_full);
	pthread_cond_broadcast(&s->enough);
	pthread_mutex_unlock(&s->mu);
}

void im_store_get_stats(im_store *s, im_store_stats *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->st;
	out->depth = s->q_len;
	pthread_mutex_unlock(&s->mu);
}
