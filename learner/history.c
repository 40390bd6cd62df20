// SPDX-License-Identifier: Apache-2.0
/* The dashboard's history: a fixed array of rows, halved when full. */
#include "history.h"

#include "err.h"
#include "rng.h"
#include "text.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct im_history {
	pthread_mutex_t mu; /* guards everything below */
	uint64_t instance;  /* random, per process */
	uint32_t cap, n;
	uint64_t stride, next_seq;
	uint64_t *seqs;           /* (cap) */
	double *rows;             /* (cap, IM_SC_COUNT) */
	double last[IM_SC_COUNT]; /* the newest row pushed */
	int has_last;
	double carry_eval; /* an evaluation waiting for a kept row */
};

int im_history_new(im_history **out, uint32_t capacity)
{
	if (!out || capacity < 4 || capacity % 2)
		return IM_EINVAL;
	im_history *h = calloc(1, sizeof *h);
	if (!h)
		return IM_ENOMEM;
	h->seqs = malloc(capacity * sizeof *h->seqs);
	h->rows = malloc((size_t)capacity * IM_SC_COUNT * sizeof *h->rows);
	if (!h->seqs || !h->rows) {
		im_history_free(h);
		return IM_ENOMEM;
	}
	pthread_mutex_init(&h->mu, NULL);
	h->instance = im_rng_entropy();
	h->cap = capacity;
	h->stride = 1;
	h->carry_eval = NAN;
	*out = h;
	return IM_OK;
}

void im_history_free(im_history *h)
{
	if (!h)
		return;
	if (h->cap)
		pthread_mutex_destroy(&h->mu);
	free(h->seqs);
	free(h->rows);
	free(h);
}

static double *row_at(im_history *h, uint32_t i)
{
	return h->rows + (size_t)i * IM_SC_COUNT;
}

/* An evaluation of a row that is not kept: the newest one waits. */
static void carry(im_history *h, const double *row)
{
	if (!isnan(row[IM_SC_EVAL_RETURN]))
		h->carry_eval = row[IM_SC_EVAL_RETURN];
}

/* Keeps the rows whose seq is a multiple of twice the stride. */
static void halve(im_history *h)
{
	uint64_t keep_every = h->stride * 2;
	uint32_t k = 0;
	for (uint32_t i = 0; i < h->n; i++) {
		double *r = row_at(h, i);
		if (h->seqs[i] % keep_every != 0) {
			/* The next row is kept (they alternate): hand it the
			 * evaluation unless it has its own. */
			if (i + 1 < h->n) {
				double *next = row_at(h, i + 1);
				if (isnan(next[IM_SC_EVAL_RETURN]))
					next[IM_SC_EVAL_RETURN] =
						r[IM_SC_EVAL_RETURN];
			} else if (isnan(h->carry_eval)) {
				/* The last row: its evaluation waits for the
				 * next kept row, unless a newer one (from a
				 * row pushed after it) already does. */
				carry(h, r);
			}
			continue;
		}
		if (k != i) {
			h->seqs[k] = h->seqs[i];
			memcpy(row_at(h, k), r, IM_SC_COUNT * sizeof *r);
		}
		k++;
	}
	h->n = k;
	h->stride = keep_every;
}

void im_history_push(im_history *h, const double row[IM_SC_COUNT])
{
	pthread_mutex_lock(&h->mu);
	uint64_t seq = h->next_seq++;
	memcpy(h->last, row, sizeof h->last);
	h->has_last = 1;
	if (seq % h->stride == 0 && h->n == h->cap)
		halve(h);
	if (seq % h->stride != 0) {
		carry(h, row);
	} else {
		double *r = row_at(h, h->n);
		memcpy(r, row, IM_SC_COUNT * sizeof *r);
		if (isnan(r[IM_SC_EVAL_RETURN]))
			r[IM_SC_EVAL_RETURN] = h->carry_eval;
		h->carry_eval = NAN;
		h->seqs[h->n++] = seq;
	}
	pthread_mutex_unlock(&h->mu);
}

void im_history_get_info(im_history *h, im_history_info *out)
{
	pthread_mutex_lock(&h->mu);
	*out = (im_history_info){.next_seq = h->next_seq,
				 .stride = h->stride,
				 .rows = h->n,
				 .capacity = h->cap};
	pthread_mutex_unlock(&h->mu);
}

/* Index of the first kept row with seq >= since (rows are in seq order). */
static uint32_t first_since(const im_history *h, uint64_t since)
{
	uint32_t lo = 0, hi = h->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (h->seqs[mid] < since)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Under the lock. */
static uint32_t copy_locked(im_history *h, uint64_t since, uint64_t *seqs,
			    double *rows, uint32_t max)
{
	uint32_t i = first_since(h, since);
	uint32_t k = h->n - i < max ? h->n - i : max;
	memcpy(seqs, h->seqs + i, k * sizeof *seqs);
	memcpy(rows, row_at(h, i), (size_t)k * IM_SC_COUNT * sizeof *rows);
	return k;
}

uint32_t im_history_copy(im_history *h, uint64_t since, uint64_t *seqs,
			 double *rows, uint32_t max)
{
	pthread_mutex_lock(&h->mu);
	uint32_t k = copy_locked(h, since, seqs, rows, max);
	pthread_mutex_unlock(&h->mu);
	return k;
}

/* What a render copies under the lock, to format outside it. */
typedef struct view {
	im_history_info info;
	uint64_t instance;
	uint32_t k;
	uint64_t *seqs;
	double *rows;
	int has_last;
	uint64_t last_seq;
	double last[IM_SC_COUNT];
} view;

static int take_view(im_history *h, uint64_t since, view *v)
{
	v->seqs = malloc(h->cap * sizeof *v->seqs);
	v->rows = malloc((size_t)h->cap * IM_SC_COUNT * sizeof *v->rows);
	if (!v->seqs || !v->rows)
		return IM_ENOMEM;
	pthread_mutex_lock(&h->mu);
	v->info = (im_history_info){.next_seq = h->next_seq,
				    .stride = h->stride,
				    .rows = h->n,
				    .capacity = h->cap};
	v->instance = h->instance;
	v->k = copy_locked(h, since, v->seqs, v->rows, h->cap);
	v->has_last = h->has_last;
	v->last_seq = h->next_seq - 1;
	memcpy(v->last, h->last, sizeof v->last);
	pthread_mutex_unlock(&h->mu);
	return IM_OK;
}

static void put_row(im_text *t, uint64_t seq, const double *r)
{
	im_text_printf(t, "[%llu", (unsigned long long)seq);
	for (int j = 0; j < IM_SC_COUNT; j++) {
		im_text_putc(t, ',');
		im_text_json_num(t, r[j]);
	}
	im_text_putc(t, ']');
}

static void render(im_text *t, const view *v)
{
	im_text_printf(t,
		       "{\"instance\":\"%016llx\",\"stride\":%llu,"
		       "\"next\":%llu,\"capacity\":%u,\"columns\":[\"seq\"",
		       (unsigned long long)v->instance,
		       (unsigned long long)v->info.stride,
		       (unsigned long long)v->info.next_seq, v->info.capacity);
	for (int j = 0; j < IM_SC_COUNT; j++)
		im_text_printf(t, ",\"%s\"", im_scalar_name(j));
	im_text_printf(t, "],\"rows\":[");
	for (uint32_t i = 0; i < v->k; i++) {
		if (i)
			im_text_putc(t, ',');
		put_row(t, v->seqs[i], v->rows + (size_t)i * IM_SC_COUNT);
	}
	im_text_printf(t, "],\"last\":");
	if (v->has_last)
		put_row(t, v->last_seq, v->last);
	else
		im_text_printf(t, "null");
	im_text_printf(t, "}\n");
}

int im_history_render_json(im_history *h, uint64_t since, char **out,
			   size_t *len)
{
	view v = {0};
	int rc = take_view(h, since, &v);
	im_text t = {0};
	if (rc == IM_OK) {
		render(&t, &v);
		rc = im_text_finish(&t, out, len);
	}
	free(v.seqs);
	free(v.rows);
	return rc;
}

int im_history_parse_query(const char *query, uint64_t *since)
{
	*since = 0;
	if (!query || !*query)
		return IM_OK;
	if (strncmp(query, "since=", 6) != 0)
		return IM_EINVAL;
	const char *d = query + 6;
	size_t n = strspn(d, "0123456789");
	if (n == 0 || n > 20 || d[n] != '\0')
		return IM_EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t digit = (uint64_t)(d[i] - '0');
		if (v > (UINT64_MAX - digit) / 10)
			return IM_EINVAL;
		v = v * 10 + digit;
	}
	*since = v;
	return IM_OK;
}
