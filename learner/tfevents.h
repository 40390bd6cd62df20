// SPDX-License-Identifier: Apache-2.0
/* TensorBoard event files: the learner's logged scalars (scalars.h) in
 * the format TensorBoard reads, `events.out.tfevents.<time>.<host>` in the
 * run directory (learner --tensorboard).
 *
 * The file is TFRecord framing (tfrecord.h) of Event messages
 * (proto/tb_event.proto): a file_version event "brain.Event:2" first, then
 * one Event per log interval with wall_time, step = environment frames and
 * a Summary with one simple_value per finite scalar under its tag
 * (scalars.h), flushed at once so a live TensorBoard sees it.
 *
 * One file per run directory, so a resumed run continues its history:
 * opening appends to the newest event file already there (by name).  A
 * torn last record (a learner killed while writing) is cut off first, and
 * a file left with no whole record gets its file_version event first; a
 * file damaged anywhere else is left untouched and a new file started
 * (TensorBoard reads every event file of a directory as one run).  Every
 * open then writes a SessionLog START at the starting step, TensorBoard's
 * sign that the run restarted there: points a killed learner logged after
 * its last checkpoint, at steps the resumed run will log again, are
 * dropped by TensorBoard rather than drawn twice. */
#ifndef IM_LEARNER_TFEVENTS_H
#define IM_LEARNER_TFEVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "scalars.h"

#define IM_TFEVENTS_FILE_VERSION "brain.Event:2"
#define IM_TFEVENTS_PREFIX "events.out.tfevents."

typedef struct im_tfevents im_tfevents;

typedef struct im_tfevents_opts {
	const char *dir;    /* the run directory; must exist */
	const char *host;   /* for a new file's name; NULL: gethostname() */
	double wall_time;   /* now, seconds since the epoch; 0: the clock */
	int64_t start_step; /* frames the run starts (or resumes) at */
} im_tfevents_opts;

/* What opening did, for the learner's log line. */
typedef struct im_tfevents_info {
	int appended;        /* 1: continued an existing file */
	uint64_t torn_bytes; /* cut off its end */
	int damaged_skipped; /* 1: the newest file was damaged; a new one */
} im_tfevents_info;

/* Opens (see above).  *out is set only on success; on failure err says
 * why (IM_ESYS with errno, IM_EIO, IM_ENOMEM, IM_EINVAL) and nothing is
 * left open.  info may be NULL. */
int im_tfevents_open(im_tfevents **out, const im_tfevents_opts *o,
		     im_tfevents_info *info, char *err, size_t errlen);

/* The file's path (owned by w). */
const char *im_tfevents_path(const im_tfevents *w);

/* Appends one Event with every finite value of row (a non-finite one, such
 * as the evaluation return between evaluations, is left out) and flushes.
 * The drops by reason are written once they are non-zero (they are
 * counters: a reason's series starts at its first drop), which halves an
 * event of a healthy run (to about 0.6 KB).
 * IM_EIO (errno set) when the file cannot be written; after a failed
 * write every later one fails at once (the file may end in a partial
 * record, which the next open cuts off). */
int im_tfevents_write_row(im_tfevents *w, double wall_time, int64_t step,
			  const double row[IM_SC_COUNT]);

/* Closes the file; IM_EIO if the last flush failed.  Accepts NULL. */
int im_tfevents_close(im_tfevents *w);

#endif
