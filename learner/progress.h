// SPDX-License-Identifier: Apache-2.0
/* The learner's progress statistics: the returns and lengths of the last
 * IM_PROGRESS_WINDOW finished episodes, the episode count, the terms of
 * the last update (losses, gradient norm, learning rate, policy lag).
 *
 * Written by the receiver's thread (episodes) and the learner threads
 * (updates), read by the main thread for /status, the logs and the
 * target-return stop; every function takes the module's own lock, so no
 * caller holds the learner's model lock for them. */
#ifndef IM_LEARNER_PROGRESS_H
#define IM_LEARNER_PROGRESS_H

#include <stdint.h>

#include "learn/update.h"
#include "status.h"

/* Episodes in the mean return (and the minimum count before a
 * --target-return stop may trigger). */
#define IM_PROGRESS_WINDOW 100

typedef struct im_progress im_progress;

/* *out is the caller's (im_progress_free) and set only on success. */
int im_progress_new(im_progress **out);
/* Accepts NULL.  No other thread may be using p. */
void im_progress_free(im_progress *p);

/* One finished episode.  With a target set, latches "reached" when this
 * episode fills the window or keeps it full with a mean return at or
 * above the target. */
void im_progress_episode(im_progress *p, float ret, uint32_t length);

/* Arms the target-return latch (--target-return; 0 disarms it, as the
 * flag's 0 means off) and clears a latched crossing. */
void im_progress_set_target(im_progress *p, double target);

/* 1 when, since im_progress_set_target, some finished episode left a full
 * window of IM_PROGRESS_WINDOW episodes whose mean return reached the
 * target, and then *mean (when not NULL) is the mean at the first such
 * episode; 0 otherwise (*mean untouched).  The latch holds when later
 * episodes lower the mean. */
int im_progress_reached(im_progress *p, double *mean);

/* One applied update: its loss terms and gradient norm, the learning rate
 * it used, and the mean and largest policy lag of its batch. */
void im_progress_update(im_progress *p, const im_update_stats *st, double lr,
			double lag_mean, double lag_max);

/* Writes the episode and update fields of s (episodes, mean return and
 * length, NaN before the first episode; losses, entropy, gradient norm,
 * learning rate, policy lag); leaves the other fields alone. */
void im_progress_fill(im_progress *p, im_status_snapshot *s);

#endif
