// SPDX-License-Identifier: Apache-2.0
#include "actors.h"

#include "err.h"
#include "rng.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct actor_row {
	uint64_t id;
	char host[IM_STATUS_HOST_MAX];
	uint64_t frames, unrolls, last_ms;
	int64_t lag;
	uint64_t last_seq;  /* highest unroll_seq accepted, when seq_known */
	int seq_known;      /* 0 until the first unroll after a Hello */
	uint64_t unroll_ms; /* when the last unroll was accepted */
	/* Said Goodbye: not listed or counted, but kept until silent for the
	 * timeout, so that its unrolls still in flight (the Goodbye travels
	 * on another socket and may overtake them) do not bring it back as a
	 * new row.  A Hello clears it. */
	int left;
	int silent; /* silent for the timeout: not listed */
	/* What its latest Hello said, and over which connection. */
	uint32_t num_envs;
	uint64_t welcome_version;
	uint8_t peer[IM_ACTORS_PEER_MAX];
	size_t peer_len;
	uint64_t instance; /* the process that holds the id (actors.h) */
	uint32_t next;     /* next row of its hash chain, +1 (0: none) */
} actor_row;

/* Hash chains over the rows (a power of two, twice IM_ACTORS_MAX): every
 * unroll and every Hello looks its actor up, and a scan of a full table
 * (16384 rows) took about 15 us, under the lock the receiver, the
 * handshake and the status snapshot share, so a peer that filled the
 * table made each message cost that much. */
#define NBUCKETS (2u * IM_ACTORS_MAX)

struct im_actors {
	pthread_mutex_t mu;
	uint64_t timeout_ms;
	actor_row *rows;
	uint32_t n, cap;
	uint32_t *heads; /* [NBUCKETS] first row of each chain, +1 */
	/* Random, so that a peer cannot choose ids that share one chain. */
	uint64_t hash_key;
	/* Full of rows that may be training, none forgettable before this
	 * time (rows' last_ms only grow) unless one says Goodbye or is
	 * pruned: Hellos under new ids are refused until then without a
	 * scan, so that a flood of them against a full table costs no more
	 * than one lookup each. */
	uint64_t no_room_until_ms;
	im_actors_seq_stats seq; /* over the table's life */
	uint32_t mark_from;      /* the row the next marks start at */
};

int im_actors_new(im_actors **out, uint64_t timeout_ms)
{
	im_actors *t = calloc(1, sizeof *t);
	if (!t)
		return IM_ENOMEM;
	t->heads = calloc(NBUCKETS, sizeof *t->heads);
	if (!t->heads) {
		free(t);
		return IM_ENOMEM;
	}
	pthread_mutex_init(&t->mu, NULL);
	t->timeout_ms = timeout_ms;
	t->hash_key = im_rng_entropy();
	*out = t;
	return IM_OK;
}

void im_actors_free(im_actors *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->mu);
	free(t->rows);
	free(t->heads);
	free(t);
}

/* The chain of id: its bits mixed with the table's key (the finaliser of
 * MurmurHash3), so that ids alike in their low bits spread. */
static uint32_t *chain_of(im_actors *t, uint64_t id)
{
	uint64_t h = id ^ t->hash_key;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return &t->heads[h & (NBUCKETS - 1)];
}

/* The row of id, or NULL.  Locked. */
static actor_row *find(im_actors *t, uint64_t id)
{
	for (uint32_t k = *chain_of(t, id); k; k = t->rows[k - 1].next)
		if (t->rows[k - 1].id == id)
			return &t->rows[k - 1];
	return NULL;
}

/* Puts row i at the head of its chain.  Locked. */
static void link_row(im_actors *t, uint32_t i)
{
	uint32_t *head = chain_of(t, t->rows[i].id);
	t->rows[i].next = *head;
	*head = i + 1;
}

/* Takes row i out of its chain.  Locked; i is in it. */
static void unlink_row(im_actors *t, uint32_t i)
{
	uint32_t *p = chain_of(t, t->rows[i].id);
	while (*p != i + 1)
		p = &t->rows[*p - 1].next;
	*p = t->rows[i].next;
}

/* Forgets row i; the last row takes its place.  Locked. */
static void remove_at(im_actors *t, uint32_t i)
{
	uint32_t last = t->n - 1;
	unlink_row(t, i);
	if (i != last) {
		unlink_row(t, last);
		t->rows[i] = t->rows[last];
		link_row(t, i);
	}
	t->n--;
}

static uint64_t since(uint64_t now_ms, uint64_t last_ms);

/* A row that may be forgotten (IM_ACTORS_MAX): it said Goodbye, or has
 * been silent for the timeout; 0 for one that may still be training. */
static int forgettable(const im_actors *t, const actor_row *r, uint64_t now_ms)
{
	return r->left || r->silent ||
	       since(now_ms, r->last_ms) > t->timeout_ms;
}

/* Forgets the forgettable row heard from longest ago.  IM_EAGAIN when
 * every row may still be training.  Locked. */
static int evict_one(im_actors *t, uint64_t now_ms)
{
	if (now_ms < t->no_room_until_ms)
		return IM_EAGAIN;
	uint32_t v = t->n;
	uint64_t first = UINT64_MAX; /* when a row may first be forgotten */
	for (uint32_t i = 0; i < t->n; i++) {
		const actor_row *r = &t->rows[i];
		if (!forgettable(t, r, now_ms)) {
			uint64_t at = r->last_ms + t->timeout_ms + 1;
			first = at < first ? at : first;
		} else if (v == t->n || r->last_ms < t->rows[v].last_ms) {
			v = i;
		}
	}
	if (v == t->n) {
		t->no_room_until_ms = first;
		return IM_EAGAIN;
	}
	remove_at(t, v);
	return IM_OK;
}

/* A new row for id in *out.  IM_EAGAIN when the table is full of actors
 * that may be training, IM_ENOMEM.  Locked. */
static int add_row(im_actors *t, uint64_t id, uint64_t now_ms, actor_row **out)
{
	if (t->n >= IM_ACTORS_MAX) {
		int rc = evict_one(t, now_ms);
		if (rc)
			return rc;
	}
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? 2 * t->cap : 16;
		actor_row *r = realloc(t->rows, cap * sizeof *r);
		if (!r)
			return IM_ENOMEM;
		t->rows = r;
		t->cap = cap;
	}
	actor_row *r = &t->rows[t->n];
	memset(r, 0, sizeof *r);
	r->id = id;
	r->last_ms = now_ms;
	link_row(t, t->n++);
	*out = r;
	return IM_OK;
}

static size_t peer_kept(size_t len)
{
	return len < IM_ACTORS_PEER_MAX ? len : IM_ACTORS_PEER_MAX;
}

int im_actors_hello(im_actors *t, const im_actors_hello_info *h,
		    uint64_t now_ms)
{
	int rc = IM_OK;
	pthread_mutex_lock(&t->mu);
	actor_row *r = find(t, h->id);
	if (!r)
		rc = add_row(t, h->id, now_ms, &r);
	else if (r->instance != h->instance && !forgettable(t, r, now_ms))
		rc = IM_EAUTH;
	if (rc == IM_OK) {
		/* Keep the text printable: it came from the network. */
		size_t j = 0;
		for (const char *p = h->host ? h->host : ""; *p && j + 1 < sizeof r->host; p++)
			r->host[j++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
		r->host[j] = '\0';
		r->last_ms = now_ms;
		r->num_envs = h->num_envs;
		r->welcome_version = h->welcome_version;
		r->peer_len = h->peer_len;
		r->instance = h->instance;
		if (h->peer)
			memcpy(r->peer, h->peer, peer_kept(h->peer_len));
		/* A new session: its numbers may not follow the old ones. */
		r->seq_known = 0;
		r->left = r->silent = 0;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int im_actors_lookup(im_actors *t, uint64_t id, im_validate_actor *out)
{
	pthread_mutex_lock(&t->mu);
	const actor_row *r = find(t, id);
	if (r)
		*out = (im_validate_actor){.num_envs = r->num_envs,
					   .min_param_version = r->welcome_version};
	pthread_mutex_unlock(&t->mu);
	return r != NULL;
}

/* Checks seq against the row's stream (see im_actors_seq_stats).  Locked.
 * Written without seq + 1, which wraps at 2^64 - 1. */
static void check_seq(im_actors *t, actor_row *r, uint64_t seq)
{
	if (!r->seq_known) {
		r->last_seq = seq;
		r->seq_known = 1;
	} else if (seq > r->last_seq) {
		uint64_t skipped = seq - r->last_seq - 1;
		t->seq.gaps += skipped > IM_ACTORS_SEQ_JUMP_MAX ? 1 : skipped;
		r->last_seq = seq;
	} else {
		t->seq.repeats++;
		/* Far below: the stream starts again from there. */
		if (r->last_seq - seq > IM_ACTORS_SEQ_JUMP_MAX)
			r->last_seq = seq;
	}
}

void im_actors_unroll(im_actors *t, uint64_t id, uint64_t seq,
		      uint64_t frames, int64_t lag, uint64_t now_ms)
{
	pthread_mutex_lock(&t->mu);
	actor_row *r = find(t, id);
	if (r) {
		/* Back after a silence: nothing is known of what it lost. */
		if (r->silent)
			r->seq_known = 0;
		r->silent = 0;
		check_seq(t, r, seq);
		r->frames += frames;
		r->unrolls++;
		r->lag = lag;
		r->last_ms = r->unroll_ms = now_ms;
	}
	pthread_mutex_unlock(&t->mu);
}

int im_actors_goodbye(im_actors *t, uint64_t id, uint64_t instance,
		      const void *peer, size_t peer_len)
{
	int rc = 0;
	pthread_mutex_lock(&t->mu);
	actor_row *r = find(t, id);
	if (r && (instance != r->instance || peer_len != r->peer_len || !peer ||
		  memcmp(peer, r->peer, peer_kept(peer_len)) != 0)) {
		rc = IM_EAUTH;
	} else if (r) {
		rc = !r->left && !r->silent;
		r->left = 1;
		t->no_room_until_ms = 0;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

/* Milliseconds since last_ms.  Callers read the clock before taking the
 * lock, so a row updated meanwhile by another thread can be newer than
 * now: that is 0 ms ago, not 2^64 - 1 (which would prune a live actor). */
static uint64_t since(uint64_t now_ms, uint64_t last_ms)
{
	return now_ms > last_ms ? now_ms - last_ms : 0;
}

int im_actors_prune(im_actors *t, uint64_t now_ms)
{
	int removed = 0;
	pthread_mutex_lock(&t->mu);
	for (uint32_t i = 0; i < t->n;) {
		actor_row *r = &t->rows[i];
		if (since(now_ms, r->last_ms) <= t->timeout_ms) {
			i++;
			continue;
		}
		removed += !r->left && !r->silent;
		if (r->left) {
			remove_at(t, i);
		} else {
			r->silent = 1;
			t->no_room_until_ms = 0;
			i++;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return removed;
}

uint32_t im_actors_count(im_actors *t)
{
	uint32_t n = 0;
	pthread_mutex_lock(&t->mu);
	for (uint32_t i = 0; i < t->n; i++)
		n += !t->rows[i].left && !t->rows[i].silent;
	pthread_mutex_unlock(&t->mu);
	return n;
}

uint32_t im_actors_envs(im_actors *t)
{
	uint64_t n = 0;
	pthread_mutex_lock(&t->mu);
	for (uint32_t i = 0; i < t->n; i++)
		if (!t->rows[i].left && !t->rows[i].silent)
			n += t->rows[i].num_envs;
	pthread_mutex_unlock(&t->mu);
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* The mark after seq, saturated: seq is the peer's number, and 2^64 - 1
 * + 1 would wrap to 0, "nothing received" (actors.h). */
static uint64_t next_after(uint64_t seq)
{
	return seq < UINT64_MAX ? seq + 1 : UINT64_MAX;
}

/* An actor whose mark matters (actors.h).  Locked. */
static int has_mark(const actor_row *r, uint64_t now_ms)
{
	return !r->left && !r->silent && r->seq_known &&
	       since(now_ms, r->unroll_ms) <= IM_ACTORS_MARK_MS;
}

uint32_t im_actors_flow_marks(im_actors *t, uint64_t *ids,
			      uint64_t *next_seqs, uint32_t max,
			      uint64_t now_ms, uint32_t *envs)
{
	uint32_t n = 0, listed = 0;
	uint64_t e = 0;
	int over = 0;
	pthread_mutex_lock(&t->mu);
	uint32_t from = t->n ? t->mark_from % t->n : 0;
	for (uint32_t k = 0; k < t->n; k++) {
		uint32_t i = (from + k) % t->n;
		const actor_row *r = &t->rows[i];
		if (r->left || r->silent)
			continue;
		listed++;
		e += r->num_envs;
		if (!has_mark(r, now_ms))
			continue;
		if (n == max) { /* the next call starts at the first left */
			if (!over)
				t->mark_from = i;
			over = 1;
			continue;
		}
		ids[n] = r->id;
		next_seqs[n++] = next_after(r->last_seq);
	}
	pthread_mutex_unlock(&t->mu);
	if (listed && n == 0 && max > 0)
		ids[n] = next_seqs[n] = 0, n++;
	*envs = e > UINT32_MAX ? UINT32_MAX : (uint32_t)e;
	return n;
}

void im_actors_seq(im_actors *t, im_actors_seq_stats *out)
{
	pthread_mutex_lock(&t->mu);
	*out = t->seq;
	pthread_mutex_unlock(&t->mu);
}

void im_actors_fill(im_actors *t, im_status_snapshot *s, uint64_t now_ms)
{
	uint32_t listed = 0, present = 0;
	pthread_mutex_lock(&t->mu);
	s->unroll_seq_gaps = t->seq.gaps;
	s->unroll_seq_repeats = t->seq.repeats;
	for (uint32_t i = 0; i < t->n; i++) {
		const actor_row *r = &t->rows[i];
		if (r->left || r->silent)
			continue;
		present++;
		if (listed == IM_STATUS_MAX_ACTORS)
			continue;
		im_status_actor *a = &s->actors[listed++];
		a->id = r->id;
		snprintf(a->host, sizeof a->host, "%s", r->host);
		a->frames = r->frames;
		a->unrolls = r->unrolls;
		a->last_seen_s = (double)since(now_ms, r->last_ms) / 1000.0;
		a->lag = r->lag;
	}
	pthread_mutex_unlock(&t->mu);
	s->n_actors = present;
	s->n_actors_omitted = present - listed;
}
