// SPDX-License-Identifier: Apache-2.0
/* The learner's main thread: progress, status, CSV, evaluation,
 * checkpoints, actor supervision and the orderly shutdown. */
#include "checkpoint.h"
#include "err.h"
#include "eval.h"
#include "heap.h"
#include "internal.h"
#include "learner.h"
#include "learn/json.h"
#include "spawn.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t dropped_total(const im_status_snapshot *s)
{
	uint64_t d = 0;
	for (int r = 1; r < IM_REJECT_COUNT; r++)
		d += s->dropped[r];
	return d;
}

/* Rates between two log ticks. */
typedef struct ticker {
	uint64_t t_ms, frames, updates;
} ticker;

static void log_progress(im_learner *l, im_status_snapshot *s, ticker *tk)
{
	uint64_t now = im_now_ms();
	double dt = (double)(now - tk->t_ms) / 1000.0;
	if (dt > 0) {
		s->frames_per_s = (double)(s->frames - tk->frames) / dt;
		s->updates_per_s = (double)(s->updates - tk->updates) / dt;
	}
	*tk = (ticker){now, s->frames, s->updates};
	im_info("frames %" PRIu64 " | %.0f f/s | updates %" PRIu64
		" | return %.1f (%" PRIu64 " ep) | loss pg %.3f base %.3f ent %.3f"
		" | lag %.1f | actors %u | store %u/%u",
		s->frames, s->frames_per_s, s->updates, s->mean_return, s->episodes,
		s->pg_loss, s->baseline_loss, s->entropy_loss, s->policy_lag_mean,
		s->n_actors, s->store_depth, s->store_capacity);
	fprintf(l->csv,
		"%.3f,%" PRIu64 ",%" PRIu64 ",%.1f,%" PRIu64 ",%.4f,%.2f,%.6g,%.6g,"
		"%.6g,%.6g,%.6g,%.6g,%.3f,%.0f,%u,%u,%" PRIu64 "\n",
		s->uptime_s, s->frames, s->updates, s->frames_per_s, s->episodes,
		s->mean_return, s->mean_length, s->total_loss, s->pg_loss,
		s->baseline_loss, s->entropy_loss, s->grad_norm, s->learning_rate,
		s->policy_lag_mean, s->policy_lag_max, s->store_depth, s->n_actors,
		dropped_total(s));
	fflush(l->csv);
	im_learner_observe_row(l, s);
}

/* Work buffers of the main thread. */
typedef struct loop_ctx {
	float *params;
	im_optim *shadow;
	ticker tk;
	uint64_t next_eval, next_save;
	double last_status_ms, last_log_ms;
	uint64_t last_trim_ms;
	uint64_t trims, trim_ns; /* for the status port */
	im_status_snapshot snap;
} loop_ctx;

static int save(im_learner *l, loop_ctx *c, const char *why)
{
	im_ckpt_counters cc = {.run_id = l->run_id};
	snprintf(cc.env, sizeof cc.env, "%.*s", (int)sizeof cc.env - 1, l->env);
	im_learner_copy_state(l, c->params, c->shadow, &cc.frames, &cc.updates,
			      &cc.param_version);
	char err[512] = "";
	int rc = im_checkpoint_save(l->ckpt_path, l->model, c->params, c->shadow,
				    &cc, l->spec_json, err, sizeof err);
	if (rc)
		im_error("checkpoint %s failed: %s", l->ckpt_path, err);
	else
		im_info("checkpoint (%s): %s at %" PRIu64 " frames, %" PRIu64
			" updates",
			why, l->ckpt_path, cc.frames, cc.updates);
	return rc;
}

static void evaluate(im_learner *l, loop_ctx *c)
{
	uint64_t frames, updates, version;
	im_learner_copy_state(l, c->params, NULL, &frames, &updates, &version);
	im_eval_result r;
	char err[256] = "";
	int rc = im_eval_run(l->model, c->params, l->env, l->cfg->num_eval_episodes,
			     (uint64_t)l->cfg->seed ^ 0xe7a1e7a1ULL ^ updates, &r, err,
			     sizeof err);
	if (rc)
		im_warn("evaluation failed: %s", err[0] ? err : im_strerror(rc));
	else
		im_info("eval at %" PRIu64 " frames: return %.2f +- %.2f (min %.1f, "
			"max %.1f) over %d episodes, length %.1f",
			frames, r.mean_return, r.std_return, r.min_return,
			r.max_return, r.episodes, r.mean_length);
	if (rc == IM_OK)
		l->eval_return = r.mean_return; /* for the next logged row */
}

static int spawn_actors(im_learner *l)
{
	const im_learner_config *c = l->cfg;
	if (c->spawn_actors <= 0)
		return IM_OK;
	l->pids = calloc((size_t)c->spawn_actors, sizeof *l->pids);
	if (!l->pids)
		return IM_ENOMEM;
	int envs = c->envs_per_actor ? c->envs_per_actor
				     : (c->num_actors + c->spawn_actors - 1) / c->spawn_actors;
	im_spawn_opts so = {.actor_bin = c->actor_bin, .learner = l->actor_addr, .env = l->env, .num_envs = envs, .log_level = "warn"};
	for (int i = 0; i < c->spawn_actors; i++) {
		int rc = im_spawn_actor(&l->pids[i], i, &so);
		if (rc) {
			im_error("cannot start local actor %d: %s (set --actor-bin)",
				 i + 1, im_strerror(rc));
			return rc;
		}
		l->npids = i + 1;
	}
	im_info("started %d local actors with %d environments each",
		c->spawn_actors, envs);
	return IM_OK;
}

/* Decided at the episode that crossed the target (progress.h), not on
 * this loop's snapshot: *mean is the window's mean then. */
static int solved(const im_learner *l, double *mean)
{
	return im_progress_reached(l->progress, mean);
}

/* Every --heap-trim-interval seconds the free pages of the heap go back to
 * the system (learner/heap.h: without it the resident size follows the
 * deepest the ZeroMQ queues have ever been, and keeps climbing under actor
 * churn).  This thread only sleeps between its ticks, so the trim's walk
 * over the arenas costs no worker a wait longer than one arena's walk. */
static void trim_heap(im_learner *l, loop_ctx *c, uint64_t now)
{
	double every = l->cfg->heap_trim_s;
	if (every <= 0 || (double)(now - c->last_trim_ms) < every * 1000)
		return;
	uint64_t t0 = im_now_ns();
	im_heap_trim();
	c->trim_ns += im_now_ns() - t0;
	c->trims++;
	c->last_trim_ms = now;
}

static void periodic(im_learner *l, loop_ctx *c)
{
	const im_learner_config *cfg = l->cfg;
	uint64_t now = im_now_ms();
	if (l->npids) {
		int gone = im_spawn_reap(l->pids, l->npids);
		if (gone)
			im_warn("%d local actor(s) exited", gone);
	}
	im_actors_prune(l->actors, now);
	trim_heap(l, c, now);
	if (now - c->last_status_ms >= 200 ||
	    now - c->last_log_ms >= cfg->log_interval * 1000) {
		double fps = c->snap.frames_per_s, ups = c->snap.updates_per_s;
		im_learner_snapshot(l, &c->snap);
		c->snap.frames_per_s = fps;
		c->snap.updates_per_s = ups;
		c->snap.heap_trims = c->trims;
		c->snap.heap_trim_s = (double)c->trim_ns / 1e9;
		if (now - c->last_log_ms >= cfg->log_interval * 1000) {
			log_progress(l, &c->snap, &c->tk);
			c->last_log_ms = (double)now;
		}
		im_status_publish(l->status, &c->snap);
		c->last_status_ms = (double)now;
	}
	uint64_t updates = c->snap.updates;
	if (cfg->eval_interval && updates >= c->next_eval) {
		evaluate(l, c);
		c->next_eval = updates + (uint64_t)cfg->eval_interval;
	}
	if (cfg->save_interval && updates >= c->next_save) {
		save(l, c, "interval");
		c->next_save = updates + (uint64_t)cfg->save_interval;
	}
}

static int loop_init(im_learner *l, loop_ctx *c)
{
	memset(c, 0, sizeof c[0]);
	size_t n = im_model_num_params(l->model);
	c->params = malloc(n * sizeof(float));
	if (!c->params || im_optim_new(&c->shadow, &l->opt->opts, n))
		return IM_ENOMEM;
	c->tk = (ticker){im_now_ms(), l->frames, l->updates};
	c->next_eval = l->updates + (uint64_t)l->cfg->eval_interval;
	c->next_save = l->updates + (uint64_t)l->cfg->save_interval;
	c->last_log_ms = (double)im_now_ms();
	c->last_trim_ms = im_now_ms();
	return IM_OK;
}

/* The counters are final (what the checkpoint holds).  After a target
 * stop the mean return is the one the stop was decided on (the window's
 * mean at the episode that reached the target, `decided`), so "target
 * return reached" always comes with a mean at or above the target, not one
 * diluted by the episodes that arrived while the learner shut down; after
 * any other stop it is the final one (the last periodic snapshot can
 * predate every episode of a run shorter than one log interval). */
static void summary(im_learner *l, loop_ctx *c, const char *why, bool target,
		    double decided)
{
	im_learner_snapshot(l, &c->snap);
	if (target)
		c->snap.mean_return = decided;
	double secs = (double)(im_now_ms() - l->t0_ms) / 1000.0;
	im_info("done (%s): %" PRIu64 " frames, %" PRIu64 " updates in %.1f s "
		"(%.0f frames/s), mean return %.2f over the last %d episodes, "
		"%" PRIu64 " unrolls accepted, %" PRIu64 " dropped",
		why, c->snap.frames, c->snap.updates, secs,
		(double)(c->snap.frames - l->start_frames) / (secs > 0 ? secs : 1),
		c->snap.mean_return,
		c->snap.episodes < IM_PROGRESS_WINDOW ? (int)c->snap.episodes : IM_PROGRESS_WINDOW,
		c->snap.unrolls_received, dropped_total(&c->snap));
	/* No episode yet: the mean is NaN, which JSON cannot say; null, as
	 * /status writes it. */
	char mean[32] = "null";
	if (isfinite(c->snap.mean_return))
		snprintf(mean, sizeof mean, "%.3f", c->snap.mean_return);
	/* The checkpoint's path holds --logdir, the user's text: escaped. */
	im_json_buf path = {0};
	im_json_buf_str(&path, l->ckpt_path);
	printf("{\"result\":\"%s\",\"frames\":%" PRIu64 ",\"updates\":%" PRIu64
	       ",\"seconds\":%.2f,\"mean_return\":%s,\"episodes\":%" PRIu64
	       ",\"checkpoint\":%s}\n",
	       why, c->snap.frames, c->snap.updates, secs, mean,
	       c->snap.episodes, path.err ? "null" : path.p);
	free(path.p);
	fflush(stdout);
}

int im_learner_run(im_learner *l, volatile sig_atomic_t *stop)
{
	loop_ctx c;
	char err[256] = "";
	int code = 0;
	if (loop_init(&l[0], &c) || im_learner_start_threads(l, err, sizeof err) ||
	    spawn_actors(l)) {
		im_error("cannot start: %s", err[0] ? err : "out of memory or spawn failed");
		code = 1;
	}
	/* Fresh before the port is announced (the server has served the
	 * one taken at start-up until now). */
	im_learner_snapshot(l, &c.snap);
	im_status_publish(l->status, &c.snap);
	im_info("run %016" PRIx64 ": %s, handshake on %s, status on port %d, run dir %s",
		l->run_id, l->env, l->cfg->bind, im_status_port(l->status), l->dir);
	const char *why = "stopped";
	bool target = false;
	double decided = NAN;
	while (!code && !*stop) {
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
		periodic(l, &c);
		if (atomic_load(&l->failed)) {
			code = 1;
			break;
		}
		if (atomic_load(&l->done)) {
			why = "num_train_steps reached";
			break;
		}
		if (solved(l, &decided)) {
			why = "target return reached";
			target = true;
			break;
		}
	}
	/* Stop taking unrolls, finish the update in flight, then save. */
	im_learner_stop_threads(l);
	im_learner_close_sockets(l);
	/* No buffers (a failed start): never overwrite a good checkpoint
	 * with one that lacks the optimiser state. */
	if (c.params && c.shadow && (l->updates > 0 || l->cfg->init_model_path))
		save(l, &c, "final");
	if (l->npids)
		im_spawn_stop(l->pids, l->npids, 3000);
	summary(l, &c, code ? "error" : why, target && !code, decided);
	free(c.params);
	im_optim_free(c.shadow);
	return code;
}
