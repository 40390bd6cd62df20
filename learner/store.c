#include "store.h"

#include "err.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Slots hold the wire's little-endian arrays as they came. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "store.c copies little-endian wire arrays natively; add byte swaps"
#endif

/* One unroll, in the wire's layout.  Arrays are sized for the worst case
 * (T truncated steps, T episodes) and carved from one block (slot_carve);
 * pages never written stay unbacked. */
typedef struct slot {
	uint8_t *block;        /* every array below; owned */
	uint8_t *obs;          /* (T+1, obs_numel) of obs_elem bytes */
	uint8_t *final_obs;    /* (T, obs_numel), n_trunc rows used */
	uint8_t *actions;      /* (T, D) int32 or float32 */
	float *rewards;        /* (T) */
	uint8_t *terminated;   /* (T) */
	uint8_t *truncated;    /* (T) */
	float *logp;           /* (T) */
	float *h, *c;          /* (H) each; NULL without LSTM */
	uint8_t *prev_action;  /* (D) int32 or float32 */
	float prev_reward;
	uint32_t n_trunc;
	float *ep_return;      /* (T) */
	uint32_t *ep_length;   /* (T) */
	uint8_t *ep_truncated; /* (T) */
	im_unroll_meta meta;   /* episode pointers unused here */
} slot;

struct im_store {
	im_run_dims d;
	uint32_t cap, B;
	slot *slots;           /* (cap) */
	uint32_t *free_idx;    /* (cap) stack of free slot indices */
	uint32_t n_free;
	uint32_t *queue;       /* (cap) ring of full slots, oldest first */
	uint32_t q_head, q_len;
	pthread_mutex_t mu;
	pthread_cond_t not_full;
	pthread_cond_t enough;
	int closed;
	uint64_t min_version;
	im_store_stats st;
};

/* ---- slots ---- */

/* The next `bytes` of a slot's block at *at (NULL when only counting). */
static void *carve(uint8_t *block, size_t *at, size_t bytes)
{
	void *p = block ? block + *at : NULL;
	*at += bytes;
	return p;
}

/* Points s's arrays into block, or with block NULL only counts: the one
 * list of a slot's arrays that slot_alloc and im_store_slot_bytes share.
 * Arrays of 4-byte elements come first, then the observation rows (so
 * float rows stay aligned), then the byte arrays: malloc's alignment
 * serves them all and no padding is needed.  Returns the block's bytes. */
static size_t slot_carve(slot *s, const im_run_dims *d, uint8_t *block)
{
	size_t T = d->T, row = d->obs_numel * d->obs_elem, at = 0;
	size_t A = (size_t)d->action_dim * 4, H = (size_t)d->lstm_hidden * 4;
	s->actions = carve(block, &at, T * A);
	s->prev_action = carve(block, &at, A);
	s->rewards = carve(block, &at, T * sizeof(float));
	s->logp = carve(block, &at, T * sizeof(float));
	s->ep_return = carve(block, &at, T * sizeof(float));
	s->ep_length = carve(block, &at, T * sizeof(uint32_t));
	s->h = carve(block, &at, H);
	s->c = carve(block, &at, H);
	s->obs = carve(block, &at, (T + 1) * row);
	s->final_obs = carve(block, &at, T * row);
	s->terminated = carve(block, &at, T);
	s->truncated = carve(block, &at, T);
	s->ep_truncated = carve(block, &at, T);
	if (!H)
		s->h = s->c = NULL;
	return at;
}

static void slot_free(slot *s)
{
	free(s->block);
	s->block = NULL;
}

static int slot_alloc(slot *s, const im_run_dims *d)
{
	memset(s, 0, sizeof *s);
	s->block = malloc(slot_carve(s, d, NULL));
	if (!s->block)
		return IM_ENOMEM;
	slot_carve(s, d, s->block);
	return IM_OK;
}

size_t im_store_slot_bytes(const im_run_dims *d)
{
	slot s;
	return slot_carve(&s, d, NULL);
}

/* The byte lengths the copy relies on; validation checked much more. */
static int fits(const Impala__Trajectory *t, const im_run_dims *d)
{
	size_t T = d->T, row = d->obs_numel * d->obs_elem;
	size_t n_trunc = 0;
	if (t->num_steps != d->T || !t->obs || !t->actions ||
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

static void slot_fill(slot *s, const Impala__Trajectory *t,
		      const im_run_dims *d)
{
	size_t T = d->T, row = d->obs_numel * d->obs_elem;
	memcpy(s->obs, t->obs->data.data, (T + 1) * row);
	s->n_trunc = 0;
	for (size_t i = 0; i < T; i++)
		s->n_trunc += t->truncated.data[i] != 0;
	if (s->n_trunc)
		memcpy(s->final_obs, t->final_obs->data.data, s->n_trunc * row);
	memcpy(s->actions, t->actions->data.data, T * d->action_dim * 4);
	memcpy(s->rewards, t->rewards.data, 4 * T);
	memcpy(s->terminated, t->terminated.data, T);
	memcpy(s->truncated, t->truncated.data, T);
	memcpy(s->logp, t->behaviour_logp.data, 4 * T);
	if (d->lstm_hidden) {
		memcpy(s->h, t->lstm_h.data, 4 * (size_t)d->lstm_hidden);
		memcpy(s->c, t->lstm_c.data, 4 * (size_t)d->lstm_hidden);
	}
	/* An absent previous action means "no action yet": zeros. */
	if (t->prev_action)
		memcpy(s->prev_action, t->prev_action->data.data, 4 * d->action_dim);
	else
		memset(s->prev_action, 0, 4 * d->action_dim);
	s->prev_reward = t->prev_reward;
	for (size_t i = 0; i < t->n_episodes; i++) {
		s->ep_return[i] = t->episodes[i]->episode_return;
		s->ep_length[i] = t->episodes[i]->length;
		s->ep_truncated[i] = t->episodes[i]->truncated ? 1 : 0;
	}
	s->meta = (im_unroll_meta){
		.actor_id = t->actor_id,
		.unroll_seq = t->unroll_seq,
		.param_version = t->param_version,
		.env_index = t->env_index,
		.n_episodes = (uint32_t)t->n_episodes,
	};
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
	s->slots = calloc(s->cap, sizeof *s->slots);
	s->free_idx = calloc(s->cap, sizeof *s->free_idx);
	s->queue = calloc(s->cap, sizeof *s->queue);
	if (!s->slots || !s->free_idx || !s->queue)
		goto fail;
	for (uint32_t i = 0; i < s->cap; i++) {
		if (slot_alloc(&s->slots[i], &s->d) != IM_OK)
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
	for (uint32_t i = 0; s->slots && i < s->cap; i++)
		slot_free(&s->slots[i]);
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
	for (uint32_t i = 0; i < s->cap; i++)
		slot_free(&s->slots[i]);
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
static int reserve_slot(im_store *s, int timeout_ms, uint32_t *idx)
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

int im_store_put(im_store *s, const Impala__Trajectory *t, int timeout_ms)
{
	if (!s || !t)
		return IM_EINVAL;
	if (!fits(t, &s->d))
		return IM_ESHAPE;
	uint32_t idx;
	pthread_mutex_lock(&s->mu);
	int rc = reserve_slot(s, timeout_ms, &idx);
	pthread_mutex_unlock(&s->mu);
	if (rc != IM_OK)
		return rc;
	/* The slot is ours until queued: copy without holding the lock. */
	slot_fill(&s->slots[idx], t, &s->d);
	pthread_mutex_lock(&s->mu);
	s->queue[(s->q_head + s->q_len) % s->cap] = idx;
	s->q_len++;
	s->st.put++;
	if (s->q_len >= s->B)
		pthread_cond_broadcast(&s->enough);
	pthread_mutex_unlock(&s->mu);
	return IM_OK;
}

/* Moves queued unrolls older than min_version back to the free stack,
 * keeping the order of the rest. */
static void drop_stale_locked(im_store *s)
{
	uint32_t kept = 0, n = s->q_len;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t idx = s->queue[(s->q_head + i) % s->cap];
		if (s->slots[idx].meta.param_version < s->min_version) {
			s->free_idx[s->n_free++] = idx;
			s->st.dropped_lag++;
		} else {
			s->queue[(s->q_head + kept++) % s->cap] = idx;
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
		idx[b] = s->queue[(s->q_head + b) % s->cap];
	s->q_head = (s->q_head + s->B) % s->cap;
	s->q_len -= s->B;
	return IM_OK;
}

static void copy_action(im_batch *b, size_t at, const uint8_t *src,
			int32_t *dst_i, float *dst_f)
{
	if (b->discrete)
		memcpy(&dst_i[at], src, sizeof(int32_t));
	else
		memcpy(&dst_f[at * b->action_dim], src, 4 * b->action_dim);
}

static void zero_action(im_batch *b, size_t at, int32_t *dst_i, float *dst_f)
{
	if (b->discrete)
		dst_i[at] = 0;
	else
		memset(&dst_f[at * b->action_dim], 0, 4 * b->action_dim);
}

/* Step-0 inputs and the per-step arrays of unroll bi. */
static void assemble_steps(im_batch *b, const slot *s, uint32_t bi)
{
	size_t B = b->B, row = b->obs_numel * b->obs_elem, D = b->action_dim;
	uint8_t *obs = b->obs;
	/* Rows in the wire's dtype, as they came: bytes stay bytes. */
	for (size_t t = 0; t <= b->T; t++)
		memcpy(&obs[(t * B + bi) * row], &s->obs[t * row], row);
	copy_action(b, bi, s->prev_action, b->prev_action, b->prev_action_box);
	b->prev_reward[bi] = s->prev_reward;
	b->reset[bi] = 0.0f;
	b->reset_u8[bi] = 0;
	for (size_t t = 0; t < b->T; t++) {
		size_t at = t * B + bi, next = at + B;
		const uint8_t *a = &s->actions[t * D * 4];
		int done = s->terminated[t] || s->truncated[t];
		copy_action(b, at, a, b->actions, b->actions_box);
		b->rewards[at] = s->rewards[t];
		b->terminated[at] = s->terminated[t] ? 1.0f : 0.0f;
		b->truncated[at] = s->truncated[t] ? 1.0f : 0.0f;
		b->behaviour_logp[at] = s->logp[t];
		b->terminated_u8[at] = s->terminated[t] ? 1 : 0;
		b->truncated_u8[at] = s->truncated[t] ? 1 : 0;
		b->reset_u8[next] = done ? 1 : 0;
		b->reset[next] = done ? 1.0f : 0.0f;
		b->prev_reward[next] = done ? 0.0f : s->rewards[t];
		if (done)
			zero_action(b, next, b->prev_action, b->prev_action_box);
		else
			copy_action(b, next, a, b->prev_action, b->prev_action_box);
	}
}

static void assemble_meta(im_batch *b, const slot *s, uint32_t bi)
{
	size_t off = (size_t)bi * b->T, ne = s->meta.n_episodes;
	memcpy(&b->ep_return[off], s->ep_return, ne * sizeof(float));
	memcpy(&b->ep_length[off], s->ep_length, ne * sizeof(uint32_t));
	memcpy(&b->ep_truncated[off], s->ep_truncated, ne);
	b->meta[bi] = s->meta;
	b->meta[bi].episode_return = &b->ep_return[off];
	b->meta[bi].episode_length = &b->ep_length[off];
	b->meta[bi].episode_truncated = &b->ep_truncated[off];
	if (b->lstm_hidden) {
		size_t H = b->lstm_hidden;
		memcpy(&b->h0[bi * H], s->h, H * sizeof(float));
		memcpy(&b->c0[bi * H], s->c, H * sizeof(float));
	}
}

/* Bootstrap rows for truncated steps, in ascending t*B + b. */
static void assemble_extra(im_batch *b, slot *const *sl, uint32_t *rows)
{
	size_t B = b->B, n = b->obs_numel * b->obs_elem, D = b->action_dim;
	uint8_t *extra_obs = b->extra_obs;
	uint32_t k = 0;
	/* rows[bi]: truncations seen so far in unroll bi, which is the row
	 * of its final_obs that belongs to the next one. */
	memset(rows, 0, B * sizeof *rows);
	for (size_t t = 0; t < b->T; t++) {
		for (size_t bi = 0; bi < B; bi++) {
			const slot *s = sl[bi];
			if (!s->truncated[t])
				continue;
			uint32_t row = rows[bi]++;
			b->extra_index[k] = (int32_t)(t * B + bi);
			memcpy(&extra_obs[(size_t)k * n],
			       &s->final_obs[(size_t)row * n], n);
			copy_action(b, k, &s->actions[t * D * 4],
				    b->extra_prev_action, b->extra_prev_action_box);
			b->extra_prev_reward[k] = s->rewards[t];
			k++;
		}
	}
	b->n_extra = k;
	b->input.extra.n = (int)k;
}

static int batch_matches(const im_batch *b, const im_store *s)
{
	return b->T == s->d.T && b->B == s->B && b->obs_numel == s->d.obs_numel &&
	       b->obs_elem == s->d.obs_elem &&
	       b->action_dim == s->d.action_dim &&
	       b->lstm_hidden == s->d.lstm_hidden &&
	       b->discrete == (s->d.action_kind ==
			       IMPALA__ACTION_KIND__ACTION_DISCRETE);
}

int im_store_take(im_store *s, im_batch *b, int timeout_ms)
{
	if (!s || !b || !batch_matches(b, s))
		return IM_EINVAL;
	/* Per-call scratch, as several learner threads take at once. */
	uint32_t *taken = malloc(2 * s->B * sizeof *taken);
	slot **sl = malloc(s->B * sizeof *sl);
	if (!taken || !sl) {
		free(taken);
		free(sl);
		return IM_ENOMEM;
	}
	pthread_mutex_lock(&s->mu);
	int rc = wait_batch_locked(s, timeout_ms, taken);
	pthread_mutex_unlock(&s->mu);
	if (rc == IM_OK) {
		for (uint32_t i = 0; i < s->B; i++) {
			sl[i] = &s->slots[taken[i]];
			assemble_steps(b, sl[i], i);
			assemble_meta(b, sl[i], i);
		}
		assemble_extra(b, sl, taken + s->B);
		pthread_mutex_lock(&s->mu);
		for (uint32_t i = 0; i < s->B; i++)
			s->free_idx[s->n_free++] = taken[i];
		s->st.taken += s->B;
		pthread_cond_broadcast(&s->not_full);
		pthread_mutex_unlock(&s->mu);
	}
	free(taken);
	free(sl);
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

/* ---- batches ---- */

void im_batch_free(im_batch *b)
{
	if (!b)
		return;
	free(b->obs);
	free(b->actions);
	free(b->actions_box);
	free(b->rewards);
	free(b->terminated);
	free(b->truncated);
	free(b->behaviour_logp);
	free(b->prev_action);
	free(b->prev_action_box);
	free(b->prev_reward);
	free(b->reset);
	free(b->terminated_u8);
	free(b->truncated_u8);
	free(b->reset_u8);
	free(b->h0);
	free(b->c0);
	free(b->extra_index);
	free(b->extra_obs);
	free(b->extra_prev_action);
	free(b->extra_prev_action_box);
	free(b->extra_prev_reward);
	free(b->meta);
	free(b->ep_return);
	free(b->ep_length);
	free(b->ep_truncated);
	free(b);
}

/* Arrays of the action type: int32 for Discrete, float for Box. */
static int alloc_actions(im_batch *b, size_t TB, size_t T1B)
{
	size_t D = b->action_dim;
	if (b->discrete) {
		b->actions = malloc(TB * sizeof(int32_t));
		b->prev_action = malloc(T1B * sizeof(int32_t));
		b->extra_prev_action = malloc(TB * sizeof(int32_t));
		return b->actions && b->prev_action && b->extra_prev_action;
	}
	b->actions_box = malloc(TB * D * sizeof(float));
	b->prev_action_box = malloc(T1B * D * sizeof(float));
	b->extra_prev_action_box = malloc(TB * D * sizeof(float));
	return b->actions_box && b->prev_action_box && b->extra_prev_action_box;
}

/* The update's view of b (im_update_batch): every pointer into b. */
static void set_input(im_batch *b)
{
	b->input = (im_update_batch){
		.in = {(int)b->T + 1, (int)b->B, b->obs, b->prev_action,
		       b->prev_action_box, b->prev_reward, b->reset_u8},
		.h0 = b->h0,
		.c0 = b->c0,
		.extra = {0, b->extra_index, b->extra_obs, b->extra_prev_action,
			  b->extra_prev_action_box, b->extra_prev_reward},
		.act_discrete = b->actions,
		.act_box = b->actions_box,
		.behaviour_logp = b->behaviour_logp,
		.rewards = b->rewards,
		.terminated = b->terminated_u8,
		.truncated = b->truncated_u8,
	};
}

int im_batch_new(im_batch **out, const im_run_dims *d, uint32_t B)
{
	if (!out || !d || B == 0 || d->T == 0 || d->obs_numel == 0 ||
	    (d->obs_elem != 1 && d->obs_elem != 4))
		return IM_EINVAL;
	im_batch *b = calloc(1, sizeof *b);
	if (!b)
		return IM_ENOMEM;
	b->T = d->T;
	b->B = B;
	b->obs_numel = d->obs_numel;
	b->obs_elem = d->obs_elem;
	b->action_dim = d->action_dim;
	b->lstm_hidden = d->lstm_hidden;
	b->discrete = d->action_kind == IMPALA__ACTION_KIND__ACTION_DISCRETE;
	size_t TB = (size_t)d->T * B, T1B = TB + B;
	size_t row = d->obs_numel * d->obs_elem;
	b->obs = malloc(T1B * row);
	b->rewards = malloc(TB * sizeof(float));
	b->terminated = malloc(TB * sizeof(float));
	b->truncated = malloc(TB * sizeof(float));
	b->behaviour_logp = malloc(TB * sizeof(float));
	b->prev_reward = malloc(T1B * sizeof(float));
	b->reset = malloc(T1B * sizeof(float));
	b->extra_index = malloc(TB * sizeof(int32_t));
	b->extra_obs = malloc(TB * row);
	b->extra_prev_reward = malloc(TB * sizeof(float));
	b->meta = calloc(B, sizeof *b->meta);
	b->ep_return = malloc(TB * sizeof(float));
	b->ep_length = malloc(TB * sizeof(uint32_t));
	b->ep_truncated = malloc(TB);
	b->terminated_u8 = malloc(TB);
	b->truncated_u8 = malloc(TB);
	b->reset_u8 = malloc(T1B);
	int ok = b->obs && b->rewards && b->terminated && b->truncated &&
		 b->behaviour_logp && b->prev_reward && b->reset &&
		 b->extra_index && b->extra_obs && b->extra_prev_reward &&
		 b->meta && b->ep_return && b->ep_length && b->ep_truncated &&
		 b->terminated_u8 && b->truncated_u8 && b->reset_u8 &&
		 alloc_actions(b, TB, T1B);
	if (ok && d->lstm_hidden) {
		b->h0 = malloc((size_t)B * d->lstm_hidden * sizeof(float));
		b->c0 = malloc((size_t)B * d->lstm_hidden * sizeof(float));
		ok = b->h0 && b->c0;
	}
	if (!ok)
		goto fail;
	set_input(b);
	*out = b;
	return IM_OK;
fail:
	im_batch_free(b);
	return IM_ENOMEM;
}
