// SPDX-License-Identifier: Apache-2.0
/* What watches a run besides the log lines and the CSV: the dashboard's
 * history and routes, and the TensorBoard event file. */
#include "dash.h"
#include "err.h"
#include "flags.h"
#include "history.h"
#include "internal.h"
#include "text.h"
#include "tfevents.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static void flag_value(im_text *t, const im_flag *f)
{
	switch (f->type) {
	case IM_FLAG_INT:
		im_text_printf(t, "%d", *(const int *)f->dst);
		break;
	case IM_FLAG_I64:
		im_text_printf(t, "%" PRId64, *(const int64_t *)f->dst);
		break;
	case IM_FLAG_DOUBLE:
		im_text_json_num(t, *(const double *)f->dst);
		break;
	case IM_FLAG_BOOL:
		im_text_printf(t, *(const int *)f->dst ? "true" : "false");
		break;
	case IM_FLAG_STR: {
		const char *s = *(const char *const *)f->dst;
		if (s)
			im_text_json_str(t, s);
		else
			im_text_printf(t, "null");
		break;
	}
	case IM_FLAG_ENUM:
		im_text_json_str(t, f->en->name(f->dst));
		break;
	}
}

/* {"verb": ..., "run_dir": ..., "<flag>": value, ...} in --help order. */
static int config_json(const im_learner_config *cfg, char **out, size_t *len)
{
	im_learner_config c = *cfg; /* the table wants writable fields */
	im_flag f[IM_LEARNER_MAX_FLAGS];
	size_t n = im_learner_config_table(&c, f);
	im_text t = {0};
	im_text_printf(&t, "{\"verb\":");
	im_text_json_str(&t, im_learner_verbs[c.verb]);
	im_text_printf(&t, ",\"run_dir\":");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/%s/seed%" PRId64, c.logdir, c.tag,
		 c.seed);
	im_text_json_str(&t, dir);
	for (size_t i = 0; i < n; i++) {
		im_text_printf(&t, ",\"%s\":", f[i].name);
		flag_value(&t, &f[i]);
	}
	im_text_printf(&t, "}\n");
	return im_text_finish(&t, out, len);
}

int im_learner_observe_start(im_learner *l, char *err, size_t errlen)
{
	l->eval_return = NAN;
	int rc = im_history_new(&l->history, IM_HISTORY_DEFAULT_CAPACITY);
	char *cfg = NULL;
	size_t len;
	if (rc == IM_OK)
		rc = config_json(l->cfg, &cfg, &len);
	if (rc == IM_OK) {
		im_dash_opts o = {.history = l->history, .config_json = cfg};
		rc = im_dash_new(&l->dash, &o);
	}
	free(cfg);
	if (rc)
		return im_errf(err, errlen, rc,
			       "cannot set up the dashboard: %s",
			       im_strerror(rc));
	return IM_OK;
}

/* A resumed run's dashboard starts with the run's history so far. */
static void load_history(im_learner *l)
{
	if (l->start_frames == 0)
		return;
	char csv[PATH_MAX + 16];
	snprintf(csv, sizeof csv, "%s/metrics.csv", l->dir);
	uint64_t n = 0;
	int rc = im_history_load_csv(l->history, csv, l->start_frames, &n);
	if (rc)
		im_warn("dashboard: cannot read the history in %s: %s", csv,
			rc == IM_ESYS ? strerror(errno) : im_strerror(rc));
	else
		im_info("dashboard: %" PRIu64 " rows of history from %s", n,
			csv);
}

int im_learner_observe_files(im_learner *l, char *err, size_t errlen)
{
	load_history(l);
	if (!l->cfg->tensorboard)
		return IM_OK;
	im_tfevents_opts o = {.dir = l->dir, .start_step = (int64_t)l->frames};
	im_tfevents_info info;
	char why[PATH_MAX + 128] = "";
	int rc = im_tfevents_open(&l->tb, &o, &info, why, sizeof why);
	if (rc)
		return im_errf(err, errlen, rc, "--tensorboard: %s", why);
	if (info.damaged_skipped)
		im_warn("TensorBoard: the newest event file in %s is damaged; "
			"left as it is, continuing in a new file",
			l->dir);
	if (info.torn_bytes)
		im_warn("TensorBoard: cut a torn last record (%" PRIu64
			" bytes) "
			"off %s",
			info.torn_bytes, im_tfevents_path(l->tb));
	im_info("TensorBoard: %s %s at step %" PRIu64,
		info.appended ? "appending to" : "writing",
		im_tfevents_path(l->tb), l->frames);
	return IM_OK;
}

static double wall_time_s(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

void im_learner_observe_row(im_learner *l, const im_status_snapshot *s)
{
	double row[IM_SC_COUNT];
	im_scalars_fill(row, s, l->eval_return);
	l->eval_return = NAN;
	im_history_push(l->history, row);
	if (!l->tb)
		return;
	if (im_tfevents_write_row(l->tb, wall_time_s(), (int64_t)s->frames,
				  row) != IM_OK) {
		im_error(
			"TensorBoard: cannot write %s (%s); no more events this "
			"run",
			im_tfevents_path(l->tb), strerror(errno));
		im_tfevents_close(l->tb);
		l->tb = NULL;
	}
}

void im_learner_observe_free(im_learner *l)
{
	if (l->tb && im_tfevents_close(l->tb) != IM_OK)
		im_warn("TensorBoard: closing the event file failed");
	l->tb = NULL;
	im_dash_free(l->dash);
	l->dash = NULL;
	im_history_free(l->history);
	l->history = NULL;
}
