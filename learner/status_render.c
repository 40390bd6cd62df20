// SPDX-License-Identifier: Apache-2.0
/* JSON and Prometheus renderings of an im_status_snapshot. */
#include "status.h"

#include "text.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A Prometheus label value: backslash, quote and newline escaped. */
static void sb_label(im_text *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\\' || c == '"')
			im_text_printf(b, "\\%c", c);
		else if (c == '\n')
			im_text_printf(b, "\\n");
		else
			im_text_putc(b, c >= 0x80 || c < 0x20 ? '?' : (char)c);
	}
}

static void sb_json_num(im_text *b, double v)
{
	if (isfinite(v))
		im_text_printf(b, "%.9g", v);
	else
		im_text_printf(b, "null");
}

static void sb_prom_num(im_text *b, double v)
{
	if (isnan(v))
		im_text_printf(b, "NaN");
	else if (isinf(v))
		im_text_printf(b, v > 0 ? "+Inf" : "-Inf");
	else
		im_text_printf(b, "%.9g", v);
}

/* ---- JSON ---- */

static void json_key_num(im_text *b, const char *k, double v)
{
	im_text_printf(b, "\"%s\":", k);
	sb_json_num(b, v);
	im_text_putc(b, ',');
}

static void json_key_u64(im_text *b, const char *k, uint64_t v)
{
	im_text_printf(b, "\"%s\":%llu,", k, (unsigned long long)v);
}

static void json_run(im_text *b, const im_status_snapshot *s)
{
	im_text_printf(b, "\"run_id\":\"%016llx\",\"env\":",
		       (unsigned long long)s->run_id);
	im_text_json_str(b, s->env);
	im_text_printf(b, ",\"tag\":");
	im_text_json_str(b, s->tag);
	im_text_printf(b, ",\"blas_core\":");
	im_text_json_str(b, s->blas_core);
	im_text_putc(b, ',');
	json_key_num(b, "uptime_s", s->uptime_s);
	json_key_u64(b, "frames", s->frames);
	json_key_u64(b, "updates", s->updates);
	json_key_u64(b, "param_version", s->param_version);
	json_key_num(b, "frames_per_s", s->frames_per_s);
	json_key_num(b, "updates_per_s", s->updates_per_s);
	json_key_u64(b, "episodes", s->episodes);
	json_key_num(b, "mean_return", s->mean_return);
	json_key_num(b, "mean_length", s->mean_length);
}

static void json_hs_port(im_text *b, const im_status_snapshot *s)
{
	json_key_u64(b, "hs_conns_open", s->hs_conns_open);
	json_key_u64(b, "hs_conns_refused", s->hs_conns_refused);
	json_key_u64(b, "hs_conn_errors", s->hs_conn_errors);
	json_key_u64(b, "hs_replies_dropped", s->hs_replies_dropped);
}

static void json_learning(im_text *b, const im_status_snapshot *s)
{
	im_text_printf(b, "\"losses\":{");
	json_key_num(b, "total", s->total_loss);
	json_key_num(b, "pg", s->pg_loss);
	json_key_num(b, "baseline", s->baseline_loss);
	im_text_printf(b, "\"entropy\":");
	sb_json_num(b, s->entropy_loss);
	im_text_printf(b, "},");
	json_key_num(b, "grad_norm", s->grad_norm);
	json_key_num(b, "learning_rate", s->learning_rate);
	im_text_printf(b, "\"policy_lag\":{\"mean\":");
	sb_json_num(b, s->policy_lag_mean);
	im_text_printf(b, ",\"max\":");
	sb_json_num(b, s->policy_lag_max);
	im_text_printf(b, "},\"store\":{\"depth\":%u,\"capacity\":%u},",
		       s->store_depth, s->store_capacity);
	json_key_u64(b, "unrolls_received", s->unrolls_received);
	json_key_u64(b, "unrolls_batched", s->unrolls_batched);
	json_key_u64(b, "unrolls_evicted", s->unrolls_evicted);
	json_key_u64(b, "unrolls_evicted_full", s->unrolls_evicted_full);
	json_key_u64(b, "auth_refused", s->auth_refused);
	json_key_u64(b, "traj_conns_open", s->traj_conns_open);
	json_key_u64(b, "traj_conns_refused", s->traj_conns_refused);
	json_key_u64(b, "traj_conn_errors", s->traj_conn_errors);
	json_key_u64(b, "traj_frames_cut", s->traj_frames_cut);
	json_key_u64(b, "unroll_seq_gaps", s->unroll_seq_gaps);
	json_key_u64(b, "unroll_seq_repeats", s->unroll_seq_repeats);
}

static void json_params_port(im_text *b, const im_status_snapshot *s)
{
	json_key_u64(b, "params_conns_open", s->params_conns_open);
	json_key_u64(b, "params_conns_refused", s->params_conns_refused);
	json_key_u64(b, "params_conn_errors", s->params_conn_errors);
	json_key_u64(b, "params_skipped", s->params_skipped);
	json_key_u64(b, "params_conns_closed_slow", s->params_conns_closed_slow);
	json_key_u64(b, "params_pool_empty", s->params_pool_empty);
	json_key_u64(b, "params_held_bytes", s->params_held_bytes);
}

static void json_process(im_text *b, const im_status_snapshot *s)
{
	im_text_printf(b, "\"process\":{\"rss_bytes\":%llu,\"open_fds\":%u,"
			  "\"open_sockets\":%u,\"max_fds\":%llu,"
			  "\"status_connections\":%u,",
		       (unsigned long long)s->rss_bytes, s->open_fds,
		       s->open_sockets, (unsigned long long)s->max_fds,
		       s->status_conns);
	im_text_printf(b, "\"heap\":{\"system_bytes\":%llu,\"in_use_bytes\":%llu,"
			  "\"free_bytes\":%llu,\"trims\":%llu,\"trim_seconds\":",
		       (unsigned long long)s->heap_system_bytes,
		       (unsigned long long)s->heap_in_use_bytes,
		       (unsigned long long)s->heap_free_bytes,
		       (unsigned long long)s->heap_trims);
	sb_json_num(b, s->heap_trim_s);
	im_text_printf(b, "}},");
}

static void json_dropped(im_text *b, const im_status_snapshot *s)
{
	im_text_printf(b, "\"dropped\":{");
	for (int r = 1; r < IM_REJECT_COUNT; r++)
		im_text_printf(b, "%s\"%s\":%llu", r > 1 ? "," : "",
			       im_validate_reason_name((im_reject)r),
			       (unsigned long long)s->dropped[r]);
	im_text_printf(b, "},");
}

static void json_actors(im_text *b, const im_status_snapshot *s)
{
	uint32_t n = s->n_actors < IM_STATUS_MAX_ACTORS ? s->n_actors
							: IM_STATUS_MAX_ACTORS;
	im_text_printf(b, "\"actors\":[");
	for (uint32_t i = 0; i < n; i++) {
		const im_status_actor *a = &s->actors[i];
		im_text_printf(b, "%s{\"id\":%llu,\"host\":", i ? "," : "",
			       (unsigned long long)a->id);
		im_text_json_str(b, a->host);
		im_text_printf(b, ",\"frames\":%llu,\"unrolls\":%llu,\"last_seen_s\":",
			       (unsigned long long)a->frames,
			       (unsigned long long)a->unrolls);
		sb_json_num(b, a->last_seen_s);
		im_text_printf(b, ",\"lag\":%lld}", (long long)a->lag);
	}
	im_text_printf(b, "],\"actors_omitted\":%u", s->n_actors_omitted);
}

int im_status_render_json(const im_status_snapshot *s, char **out,
			  size_t *len)
{
	im_text b = {0};
	im_text_putc(&b, '{');
	json_run(&b, s);
	json_hs_port(&b, s);
	json_learning(&b, s);
	json_params_port(&b, s);
	json_process(&b, s);
	json_dropped(&b, s);
	json_actors(&b, s);
	im_text_printf(&b, "}\n");
	return im_text_finish(&b, out, len);
}

/* ---- Prometheus text format 0.0.4 ---- */

static void prom_head(im_text *b, const char *name, const char *type,
		      const char *help)
{
	im_text_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void prom_gauge(im_text *b, const char *name, const char *help, double v)
{
	prom_head(b, name, "gauge", help);
	im_text_printf(b, "%s ", name);
	sb_prom_num(b, v);
	im_text_putc(b, '\n');
}

static void prom_counter(im_text *b, const char *name, const char *help,
			 uint64_t v)
{
	prom_head(b, name, "counter", help);
	im_text_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void prom_run(im_text *b, const im_status_snapshot *s)
{
	prom_head(b, "impala_info", "gauge", "Run identity (value 1).");
	im_text_printf(b, "impala_info{run_id=\"%016llx\",env=\"",
		       (unsigned long long)s->run_id);
	sb_label(b, s->env);
	im_text_printf(b, "\",tag=\"");
	sb_label(b, s->tag);
	im_text_printf(b, "\",blas_core=\"");
	sb_label(b, s->blas_core);
	im_text_printf(b, "\"} 1\n");
	prom_gauge(b, "impala_uptime_seconds", "Seconds since the learner started.",
		   s->uptime_s);
	prom_counter(b, "impala_env_frames_total",
		     "Environment frames consumed by the learner.", s->frames);
	prom_counter(b, "impala_updates_total", "Learner updates applied.",
		     s->updates);
	prom_gauge(b, "impala_param_version", "Parameter version last published.",
		   (double)s->param_version);
	prom_gauge(b, "impala_frames_per_second",
		   "Environment frames consumed per second.", s->frames_per_s);
	prom_gauge(b, "impala_updates_per_second", "Learner updates per second.",
		   s->updates_per_s);
	prom_counter(b, "impala_episodes_total", "Episodes finished by actors.",
		     s->episodes);
	prom_gauge(b, "impala_episode_return_mean",
		   "Mean return of the last 100 episodes.", s->mean_return);
	prom_gauge(b, "impala_episode_length_mean",
		   "Mean length of the last 100 episodes.", s->mean_length);
}

static void prom_hs_port(im_text *b, const im_status_snapshot *s)
{
	prom_gauge(b, "impala_hs_connections",
		   "Open connections on the handshake port (without CURVE).",
		   (double)s->hs_conns_open);
	prom_counter(b, "impala_hs_connections_refused_total",
		     "Handshake connections closed at once: the bound on "
		     "connections was reached.",
		     s->hs_conns_refused);
	prom_counter(b, "impala_hs_protocol_errors_total",
		     "Handshake connections closed for a ZMTP protocol error.",
		     s->hs_conn_errors);
	prom_counter(b, "impala_hs_replies_dropped_total",
		     "Welcomes and refusals dropped: the connection's queue "
		     "was full (a peer that does not read).",
		     s->hs_replies_dropped);
}

static void prom_learning(im_text *b, const im_status_snapshot *s)
{
	static const char *const kinds[] = {"total", "pg", "baseline", "entropy"};
	const double v[] = {s->total_loss, s->pg_loss, s->baseline_loss,
			    s->entropy_loss};
	prom_head(b, "impala_loss", "gauge", "Loss terms of the last update.");
	for (int i = 0; i < 4; i++) {
		im_text_printf(b, "impala_loss{kind=\"%s\"} ", kinds[i]);
		sb_prom_num(b, v[i]);
		im_text_putc(b, '\n');
	}
	prom_gauge(b, "impala_grad_norm", "Gradient norm before clipping.",
		   s->grad_norm);
	prom_gauge(b, "impala_learning_rate", "Current learning rate.",
		   s->learning_rate);
	prom_gauge(b, "impala_policy_lag_mean",
		   "Mean policy lag of the last batch, in updates.",
		   s->policy_lag_mean);
	prom_gauge(b, "impala_policy_lag_max",
		   "Largest policy lag of the last batch, in updates.",
		   s->policy_lag_max);
	prom_gauge(b, "impala_store_depth", "Unrolls waiting in the store.",
		   s->store_depth);
	prom_gauge(b, "impala_store_capacity", "Slots in the store.",
		   s->store_capacity);
	prom_counter(b, "impala_unrolls_received_total",
		     "Unrolls accepted into the store.", s->unrolls_received);
	prom_counter(b, "impala_unrolls_batched_total",
		     "Unrolls taken from the store for an update.",
		     s->unrolls_batched);
	prom_counter(b, "impala_unrolls_evicted_total",
		     "Unrolls evicted from the store unused: older than "
		     "--max-policy-lag, or the oldest when the store was full.",
		     s->unrolls_evicted);
	prom_counter(b, "impala_unrolls_evicted_full_total",
		     "Unrolls evicted from the store unused as the oldest, "
		     "for a newcomer when the store was full.",
		     s->unrolls_evicted_full);
	prom_counter(b, "impala_auth_refused_total",
		     "Connections refused by CURVE authorisation.", s->auth_refused);
	prom_gauge(b, "impala_traj_connections",
		   "Open connections on the trajectory port (without CURVE).",
		   (double)s->traj_conns_open);
	prom_counter(b, "impala_traj_connections_refused_total",
		     "Trajectory connections closed at once: the bound on "
		     "connections was reached.",
		     s->traj_conns_refused);
	prom_counter(b, "impala_traj_protocol_errors_total",
		     "Trajectory connections closed for a ZMTP protocol error.",
		     s->traj_conn_errors);
	prom_counter(b, "impala_traj_frames_cut_total",
		     "Message frames dropped half-received when their "
		     "connection closed.",
		     s->traj_frames_cut);
	prom_counter(b, "impala_unroll_seq_gaps_total",
		     "Unroll sequence numbers skipped in an actor's stream "
		     "(lost or rejected).",
		     s->unroll_seq_gaps);
	prom_counter(b, "impala_unroll_seq_repeats_total",
		     "Unrolls accepted with a sequence number already passed "
		     "(duplicated or reordered).",
		     s->unroll_seq_repeats);
}

static void prom_params_port(im_text *b, const im_status_snapshot *s)
{
	prom_gauge(b, "impala_params_connections",
		   "Open connections on the parameter port (without CURVE).",
		   (double)s->params_conns_open);
	prom_counter(b, "impala_params_connections_refused_total",
		     "Parameter connections closed at once: the bound on "
		     "connections was reached.",
		     s->params_conns_refused);
	prom_counter(b, "impala_params_protocol_errors_total",
		     "Parameter connections closed for a ZMTP protocol error.",
		     s->params_conn_errors);
	prom_counter(b, "impala_params_skipped_total",
		     "Broadcasts not sent to a connection still busy with an "
		     "earlier one.",
		     s->params_skipped);
	prom_counter(b, "impala_params_connections_closed_slow_total",
		     "Parameter connections closed for holding a broadcast "
		     "too long, or the oldest when buffers ran short.",
		     s->params_conns_closed_slow);
	prom_counter(b, "impala_params_pool_empty_total",
		     "Broadcasts lost: every broadcast buffer was in use.",
		     s->params_pool_empty);
	prom_gauge(b, "impala_params_held_bytes",
		   "Bytes of parameter broadcast buffers in use.",
		   (double)s->params_held_bytes);
}

static void prom_dropped(im_text *b, const im_status_snapshot *s)
{
	prom_head(b, "impala_dropped_messages_total", "counter",
		  "Messages rejected or discarded, by reason.");
	for (int r = 1; r < IM_REJECT_COUNT; r++)
		im_text_printf(b, "impala_dropped_messages_total{reason=\"%s\"} %llu\n",
			       im_validate_reason_name((im_reject)r),
			       (unsigned long long)s->dropped[r]);
}

/* One labelled sample per actor; which field, by `which`. */
static void prom_actor_family(im_text *b, const im_status_snapshot *s,
			      uint32_t n, int which)
{
	static const char *const names[] = {
		"impala_actor_frames_total", "impala_actor_unrolls_total",
		"impala_actor_last_seen_seconds", "impala_actor_policy_lag"};
	static const char *const types[] = {"counter", "counter", "gauge",
					    "gauge"};
	static const char *const helps[] = {
		"Frames received from the actor.",
		"Unrolls received from the actor.",
		"Seconds since the actor's last message.",
		"Policy lag of the actor's last unroll, in updates."};
	prom_head(b, names[which], types[which], helps[which]);
	for (uint32_t i = 0; i < n; i++) {
		const im_status_actor *a = &s->actors[i];
		im_text_printf(b, "%s{actor=\"%llu\",host=\"", names[which],
			       (unsigned long long)a->id);
		sb_label(b, a->host);
		im_text_printf(b, "\"} ");
		if (which == 0)
			im_text_printf(b, "%llu", (unsigned long long)a->frames);
		else if (which == 1)
			im_text_printf(b, "%llu", (unsigned long long)a->unrolls);
		else if (which == 2)
			sb_prom_num(b, a->last_seen_s);
		else
			im_text_printf(b, "%lld", (long long)a->lag);
		im_text_putc(b, '\n');
	}
}

/* The process metrics under the names Prometheus's client libraries use,
 * so existing dashboards and alerts apply. */
static void prom_process(im_text *b, const im_status_snapshot *s)
{
	prom_gauge(b, "process_resident_memory_bytes",
		   "Resident memory size in bytes.", (double)s->rss_bytes);
	prom_gauge(b, "process_open_fds", "Number of open file descriptors.",
		   (double)s->open_fds);
	prom_gauge(b, "process_max_fds",
		   "Maximum number of open file descriptors.",
		   (double)s->max_fds);
	prom_gauge(b, "impala_open_sockets",
		   "Open sockets: ZeroMQ peers and listeners, status clients.",
		   (double)s->open_sockets);
	prom_gauge(b, "impala_status_connections",
		   "Open connections on the status port, this one included.",
		   (double)s->status_conns);
	prom_gauge(b, "impala_heap_system_bytes",
		   "C heap taken from the system (malloc arenas and mmapped "
		   "blocks).",
		   (double)s->heap_system_bytes);
	prom_gauge(b, "impala_heap_in_use_bytes",
		   "C heap allocated and not freed.", (double)s->heap_in_use_bytes);
	prom_gauge(b, "impala_heap_free_bytes",
		   "Free C heap kept by the allocator (resident until trimmed).",
		   (double)s->heap_free_bytes);
	prom_counter(b, "impala_heap_trims_total",
		     "Times the free heap was handed back to the system.",
		     s->heap_trims);
	prom_head(b, "impala_heap_trim_seconds_total", "counter",
		  "Seconds the learner spent handing the free heap back.");
	im_text_printf(b, "impala_heap_trim_seconds_total ");
	sb_prom_num(b, s->heap_trim_s);
	im_text_putc(b, '\n');
}

int im_status_render_metrics(const im_status_snapshot *s, char **out,
			     size_t *len)
{
	im_text b = {0};
	uint32_t n = s->n_actors < IM_STATUS_MAX_ACTORS ? s->n_actors
							: IM_STATUS_MAX_ACTORS;
	prom_run(&b, s);
	prom_hs_port(&b, s);
	prom_learning(&b, s);
	prom_params_port(&b, s);
	prom_dropped(&b, s);
	prom_process(&b, s);
	/* n_actors counts every actor, listed rows and omitted ones alike. */
	prom_gauge(&b, "impala_actors", "Actors seen recently.",
		   (double)s->n_actors);
	for (int which = 0; which < 4; which++)
		prom_actor_family(&b, s, n, which);
	return im_text_finish(&b, out, len);
}
