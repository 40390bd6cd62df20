// SPDX-License-Identifier: Apache-2.0
/* The table of logged scalars: names for the history, tags for TensorBoard. */
#include "scalars.h"

#include <stddef.h>

typedef struct scalar_info {
	const char *name;
	const char *tag;
} scalar_info;

/* Tags follow the grouping TensorBoard users know from torchbeast's and
 * Sample Factory's logs: the section before the slash is a panel. */
static const scalar_info table[IM_SC_DROPPED_FIRST] = {
	[IM_SC_TIME_S] = {"time_s", "perf/uptime_s"},
	[IM_SC_FRAMES] = {"frames", "train/frames"},
	[IM_SC_UPDATES] = {"updates", "train/updates"},
	[IM_SC_FRAMES_PER_S] = {"frames_per_s", "perf/frames_per_s"},
	[IM_SC_UPDATES_PER_S] = {"updates_per_s", "perf/updates_per_s"},
	[IM_SC_EPISODES] = {"episodes", "train/episodes"},
	[IM_SC_RETURN] = {"mean_return", "train/episode_return"},
	[IM_SC_LENGTH] = {"mean_length", "train/episode_length"},
	[IM_SC_EVAL_RETURN] = {"eval_return", "eval/episode_return"},
	[IM_SC_LOSS_TOTAL] = {"total_loss", "loss/total"},
	[IM_SC_LOSS_PG] = {"pg_loss", "loss/policy"},
	[IM_SC_LOSS_BASELINE] = {"baseline_loss", "loss/baseline"},
	[IM_SC_LOSS_ENTROPY] = {"entropy_loss", "loss/entropy"},
	[IM_SC_ENTROPY] = {"entropy", "train/entropy"},
	[IM_SC_GRAD_NORM] = {"grad_norm", "optim/grad_norm"},
	[IM_SC_LR] = {"lr", "optim/learning_rate"},
	[IM_SC_LAG_MEAN] = {"lag_mean", "policy_lag/mean"},
	[IM_SC_LAG_MAX] = {"lag_max", "policy_lag/max"},
	[IM_SC_STORE_DEPTH] = {"store_depth", "store/depth"},
	[IM_SC_ACTORS] = {"actors", "actors/connected"},
	[IM_SC_DROPPED] = {"dropped", "dropped/total"},
};

/* Drops by reason, from the X-macro the validator's names come from
 * (index 0, OK, is not a drop and has no scalar). */
static const scalar_info dropped[IM_REJECT_COUNT] = {
#define IM_XX_(id, name, text) {"dropped_" name, "dropped/" name},
	IM_REJECT_MAP(IM_XX_)
#undef IM_XX_
};

static const scalar_info *info(int i)
{
	if (i < 0 || i >= IM_SC_COUNT)
		return NULL;
	return i < IM_SC_DROPPED_FIRST ? &table[i]
				       : &dropped[i - IM_SC_DROPPED_FIRST + 1];
}

const char *im_scalar_name(int i)
{
	const scalar_info *s = info(i);
	return s ? s->name : NULL;
}

const char *im_scalar_tag(int i)
{
	const scalar_info *s = info(i);
	return s ? s->tag : NULL;
}

void im_scalars_fill(double row[IM_SC_COUNT], const im_status_snapshot *s,
		     double eval_return)
{
	row[IM_SC_TIME_S] = s->uptime_s;
	row[IM_SC_FRAMES] = (double)s->frames;
	row[IM_SC_UPDATES] = (double)s->updates;
	row[IM_SC_FRAMES_PER_S] = s->frames_per_s;
	row[IM_SC_UPDATES_PER_S] = s->updates_per_s;
	row[IM_SC_EPISODES] = (double)s->episodes;
	row[IM_SC_RETURN] = s->mean_return;
	row[IM_SC_LENGTH] = s->mean_length;
	row[IM_SC_EVAL_RETURN] = eval_return;
	row[IM_SC_LOSS_TOTAL] = s->total_loss;
	row[IM_SC_LOSS_PG] = s->pg_loss;
	row[IM_SC_LOSS_BASELINE] = s->baseline_loss;
	row[IM_SC_LOSS_ENTROPY] = s->entropy_loss;
	row[IM_SC_ENTROPY] = s->entropy;
	row[IM_SC_GRAD_NORM] = s->grad_norm;
	row[IM_SC_LR] = s->learning_rate;
	row[IM_SC_LAG_MEAN] = s->policy_lag_mean;
	row[IM_SC_LAG_MAX] = s->policy_lag_max;
	row[IM_SC_STORE_DEPTH] = s->store_depth;
	row[IM_SC_ACTORS] = s->n_actors;
	double total = 0;
	for (int r = 1; r < IM_REJECT_COUNT; r++) {
		row[IM_SC_DROPPED_FIRST + r - 1] = (double)s->dropped[r];
		total += (double)s->dropped[r];
	}
	row[IM_SC_DROPPED] = total;
}
