// SPDX-License-Identifier: Apache-2.0
/* The scalars the learner logs at every --log-interval, as one table that
 * the dashboard's history (history.h) and the TensorBoard writer
 * (tfevents.h) share: a row is IM_SC_COUNT doubles, NaN where a value does
 * not exist yet (the mean return before the first episode, the evaluation
 * return between evaluations).  metrics.csv holds the same numbers under
 * the CSV names. */
#ifndef IM_LEARNER_SCALARS_H
#define IM_LEARNER_SCALARS_H

#include "status.h"
#include "validate.h"

enum im_scalar {
	IM_SC_TIME_S, /* seconds since the learner started */
	IM_SC_FRAMES, /* environment frames consumed (TensorBoard step) */
	IM_SC_UPDATES,
	IM_SC_FRAMES_PER_S,
	IM_SC_UPDATES_PER_S,
	IM_SC_EPISODES,
	IM_SC_RETURN, /* mean of the last 100 episodes */
	IM_SC_LENGTH,
	IM_SC_EVAL_RETURN, /* the evaluation finished since the last row */
	IM_SC_LOSS_TOTAL,
	IM_SC_LOSS_PG,
	IM_SC_LOSS_BASELINE,
	IM_SC_LOSS_ENTROPY,
	IM_SC_ENTROPY, /* mean policy entropy of the last batch */
	IM_SC_GRAD_NORM,
	IM_SC_LR,
	IM_SC_LAG_MEAN,
	IM_SC_LAG_MAX,
	IM_SC_STORE_DEPTH,
	IM_SC_ACTORS,
	IM_SC_DROPPED, /* all reasons */
	/* Then one per im_reject reason but OK, in its order. */
	IM_SC_DROPPED_FIRST,
	IM_SC_COUNT = IM_SC_DROPPED_FIRST + IM_REJECT_COUNT - 1
};

/* The key of scalar i in the history's JSON and the CSV ("mean_return",
 * "dropped_bad_shape"), and its TensorBoard tag ("train/episode_return",
 * "dropped/bad_shape").  Static strings; NULL when i is out of range. */
const char *im_scalar_name(int i);
const char *im_scalar_tag(int i);

/* One row from a snapshot and the evaluation return (NaN if none). */
void im_scalars_fill(double row[IM_SC_COUNT], const im_status_snapshot *s,
		     double eval_return);

#endif
