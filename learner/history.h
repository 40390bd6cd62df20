// SPDX-License-Identifier: Apache-2.0
/* The dashboard's history: the rows of scalars the learner logs at every
 * --log-interval (scalars.h), kept in a fixed amount of memory however long
 * the run lasts, so that a page opened late still draws the whole run.
 *
 * Decimation.  Rows are numbered 0, 1, 2, ... as they are pushed (seq).
 * The history keeps the rows whose seq is a multiple of its stride, 1 at
 * first.  When all `capacity` slots are taken it keeps every second row
 * (the multiples of twice the stride) and doubles the stride: the run stays
 * covered from its first row to its newest at evenly spaced points, with
 * half the resolution, and never more than `capacity` rows.  The newest row
 * is always kept as well (`last`), so the right edge of a chart is live
 * whatever the stride.  An evaluation return in a row that is not kept
 * moves to the next kept row that has none: evaluations are rare and each
 * is worth a point.
 *
 * Thread-safe: the learner's main thread pushes once per log interval; the
 * status server's thread renders under the same mutex only long enough to
 * copy the rows, so a page view costs the learner at most one copy. */
#ifndef IM_LEARNER_HISTORY_H
#define IM_LEARNER_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "scalars.h"

/* 2048 rows of IM_SC_COUNT doubles: about 0.8 MB. */
#define IM_HISTORY_DEFAULT_CAPACITY 2048u

typedef struct im_history im_history;

/* capacity: rows kept, even and at least 4 (IM_EINVAL otherwise);
 * IM_ENOMEM.  *out is set only on success. */
int im_history_new(im_history **out, uint32_t capacity);
/* Accepts NULL. */
void im_history_free(im_history *h);

/* Appends a row (copied). */
void im_history_push(im_history *h, const double row[IM_SC_COUNT]);

/* What the history holds, for tests and the status page. */
typedef struct im_history_info {
	uint64_t next_seq; /* seq the next pushed row will get */
	uint64_t stride;
	uint32_t rows; /* kept rows, `last` not counted */
	uint32_t capacity;
} im_history_info;
void im_history_get_info(im_history *h, im_history_info *out);

/* Copies the kept rows with seq >= since, oldest first, at most max of
 * them: seqs[i] and IM_SC_COUNT doubles at rows + i * IM_SC_COUNT (caller's
 * buffers).  Returns how many were copied. */
uint32_t im_history_copy(im_history *h, uint64_t since, uint64_t *seqs,
			 double *rows, uint32_t max);

/* The JSON document of GET /history?since=N: the history's identity (a
 * random instance id per learner process, so a page notices a restart),
 * stride, next seq and capacity, the column names, the kept rows with
 * seq >= since as arrays [seq, scalar...] and the newest row as `last`
 * (null before the first push).  Non-finite values are null.  The new
 * buffer *out (NUL-terminated, length *len) is the caller's to free;
 * IM_ENOMEM with nothing allocated. */
int im_history_render_json(im_history *h, uint64_t since, char **out,
			   size_t *len);

/* Refills the history of a resumed run from its metrics.csv (columns
 * matched by the header's names; those the CSV lacks are NaN): the rows
 * of the last run segment in the file (after the last place its frames
 * went back, where a new run reused the directory) with frames at or below
 * max_frames (rows a killed learner logged after the checkpoint it resumes
 * from are orphans, left out as TensorBoard leaves them out).  Incomplete
 * lines are skipped.  *loaded: rows pushed.  IM_ESYS (errno) when the file
 * cannot be opened, IM_ECORRUPT without a header, IM_EIO. */
int im_history_load_csv(im_history *h, const char *path, uint64_t max_frames,
			uint64_t *loaded);

/* Parses the query string of /history (what follows '?', or NULL when
 * there is none).  Accepted: nothing, or exactly "since=N" with N 1 to 20
 * decimal digits not above 2^64 - 1.  Anything else, including other
 * keys, repeated or empty values, signs, spaces and percent-escapes, is
 * IM_EINVAL (input from the network: refused, not guessed at). */
int im_history_parse_query(const char *query, uint64_t *since);

#endif
