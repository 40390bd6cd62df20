// SPDX-License-Identifier: Apache-2.0
/* What the main thread reads of the running learner: the parameters,
 * optimiser state and counters under the model lock (for checkpoints and
 * evaluation), and the snapshot of every statistic for /status, the logs
 * and the dashboard. */
#include "internal.h"

#include "fanout.h"
#include "stream.h"

#include "zap.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

void im_learner_copy_state(im_learner *l, float *params, im_optim *shadow,
			   uint64_t *frames, uint64_t *updates,
			   uint64_t *version)
{
	size_t n = im_model_num_params(l->model);
	pthread_mutex_lock(&l->mu);
	memcpy(params, l->params, n * sizeof(float));
	if (shadow) {
		for (int i = 0; i < im_optim_state_count(l->opt); i++)
			memcpy(im_optim_state(shadow, i), im_optim_state(l->opt, i),
			       n * sizeof(float));
		shadow->step = l->opt->step;
	}
	*frames = l->frames;
	*updates = l->updates;
	*version = l->version;
	pthread_mutex_unlock(&l->mu);
}

/* The parameter port's counters: zero with CURVE (a PUB). */
static void snapshot_params_port(im_learner *l, im_status_snapshot *s)
{
	if (!l->fanout)
		return;
	im_fanout_stats fs;
	im_fanout_get_stats(l->fanout, &fs);
	s->params_conns_open = fs.conns.open;
	s->params_conns_refused = fs.conns.refused;
	s->params_conn_errors = fs.conns.errors;
	s->params_skipped = fs.skipped;
	s->params_conns_closed_slow = fs.closed_slow;
	s->params_pool_empty = fs.pool_empty;
	s->params_held_bytes = fs.held_bytes;
}

/* The handshake port's counters: zero with CURVE (a ROUTER).  The
 * stream lives until im_learner_free(), so they stay after a stop. */
static void snapshot_hs_port(im_learner *l, im_status_snapshot *s)
{
	if (!l->hs_stream)
		return;
	im_stream_stats st;
	im_stream_get_stats(l->hs_stream, &st);
	s->hs_conns_open = st.open;
	s->hs_conns_refused = st.refused;
	s->hs_conn_errors = st.errors;
	s->hs_replies_dropped = atomic_load(&l->hs_replies_dropped);
}

void im_learner_snapshot(im_learner *l, im_status_snapshot *s)
{
	uint64_t now = im_now_ms();
	memset(s, 0, sizeof *s);
	s->run_id = l->run_id;
	snprintf(s->env, sizeof s->env, "%.*s", (int)sizeof s->env - 1, l->env);
	snprintf(s->tag, sizeof s->tag, "%s", l->cfg->tag);
	const char *core = openblas_get_corename();
	snprintf(s->blas_core, sizeof s->blas_core, "%s", core ? core : "");
	s->uptime_s = (double)(now - l->t0_ms) / 1000.0;
	pthread_mutex_lock(&l->mu);
	s->frames = l->frames;
	s->updates = l->updates;
	s->param_version = l->version;
	pthread_mutex_unlock(&l->mu);
	im_progress_fill(l->progress, s);
	im_store_stats ss;
	im_store_get_stats(l->store, &ss);
	s->store_depth = ss.depth;
	s->store_capacity = ss.capacity;
	s->unrolls_batched = ss.taken;
	s->unrolls_evicted = ss.dropped_lag + ss.evicted_full;
	s->unrolls_evicted_full = ss.evicted_full;
	/* The ledger's terms from one read under the store's lock, so that
	 * received = batched + evicted + depth holds in every snapshot: the
	 * receiver's own count of accepted unrolls is bumped after the
	 * commit and was read after the store's, so a snapshot could show
	 * either side ahead. */
	s->unrolls_received = ss.put;
	im_receiver_stats rs = {0};
	if (l->receiver)
		im_receiver_get_stats(l->receiver, &rs);
	l->last_rs = l->receiver ? rs : l->last_rs;
	s->auth_refused = l->zap ? im_zap_refused(l->zap) : 0;
	snapshot_hs_port(l, s);
	s->traj_conns_open = l->receiver ? rs.conns.open : 0;
	s->traj_conns_refused = l->last_rs.conns.refused;
	s->traj_conn_errors = l->last_rs.conns.errors;
	s->traj_frames_cut = l->last_rs.conns.partial;
	snapshot_params_port(l, s);
	for (int r = 1; r < IM_REJECT_COUNT; r++)
		s->dropped[r] = atomic_load(&l->dropped[r]) + l->last_rs.dropped[r];
	im_actors_fill(l->actors, s, now);
}
