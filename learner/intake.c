// SPDX-License-Identifier: Apache-2.0
/* The receiver's side of the learner: starts the receiver (receiver.h) on
 * the PULL socket with the callbacks that tie it to the learner: only
 * welcomed actors may send, every accepted unroll is accounted to its
 * actor and its finished episodes to the progress statistics, and
 * rejections are logged at a bounded rate.  The callbacks run on the
 * receiver's thread. */
#include "internal.h"

#include "err.h"

#include <inttypes.h>

static void on_reject(void *ctx, im_reject why, uint64_t actor_id,
		      const char *detail)
{
	im_learner *l = ctx;
	uint64_t suppressed = 0;
	if (im_log_ratelimit_ok(&l->reject_rl, &suppressed))
		im_warn("rejected a message from actor %" PRIu64 ": %s (%s)%s",
			actor_id, im_validate_reason_text(why), detail,
			suppressed ? "; similar warnings suppressed" : "");
}

static void on_conn_error(void *ctx, int rc, const char *why)
{
	im_learner *l = ctx;
	im_learner_warn_conn_closed(&l->reject_rl, "trajectory", rc, why);
}

static void on_accept(void *ctx, const Impala__Trajectory *t, uint64_t lag)
{
	im_learner *l = ctx;
	im_actors_unroll(l->actors, t->actor_id, t->unroll_seq, t->num_steps,
			 (int64_t)lag, im_now_ms());
	for (size_t i = 0; i < t->n_episodes; i++)
		im_progress_episode(l->progress, t->episodes[i]->episode_return,
				    t->episodes[i]->length);
}

static int actor_lookup(void *ctx, uint64_t id, im_validate_actor *out)
{
	im_learner *l = ctx;
	return im_actors_lookup(l->actors, id, out);
}

int im_learner_start_receiver(im_learner *l)
{
	l->reject_rl = (im_log_ratelimit){.interval_ms = 5000, .burst = 5};
	im_receiver_opts o = {
		.sock = l->pull,
		.store = l->store,
		.dims = l->dims,
		.run_id = l->run_id,
		.prev_run_id = l->prev_run_id,
		.max_policy_lag = (uint64_t)l->cfg->max_policy_lag,
		.param_version = &l->version,
		.max_episode_steps = l->max_episode_steps,
		/* Only actors this learner welcomed may send (issue 14). */
		.actor_lookup = actor_lookup,
		.on_accept = on_accept,
		.on_reject = on_reject,
		.on_conn_error = on_conn_error,
		.ctx = l,
	};
	return im_receiver_start(&l->receiver, &o);
}
