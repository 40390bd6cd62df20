// SPDX-License-Identifier: Apache-2.0
/* The learner threads: each takes batch_size unrolls from the store,
 * time-major, and applies one V-trace update to the shared parameters,
 * until num_train_steps frames, a stop, or an error.
 *
 * With --learner-overlap (off by default) a thread copies the parameters and
 * their version under the learner's lock (l->mu), computes its gradient
 * on the copy outside it, and takes the lock again only to apply: the
 * optimiser step, PopArt's and obs-norm's statistics and the counters.
 * Applies happen in the order of the copies (turns.h), so with N threads a
 * gradient is at most N - 1 updates stale (bounded asynchrony, as A3C's
 * with a bound), and nothing reads the parameters while another thread
 * writes them.  Without it (monobeast's way) the whole update runs under
 * the lock and the threads overlap only their batch assembly.
 *
 * PopArt: the gradient was computed with the copy's statistics and value
 * head; the apply steps the head as it is now and then rescales it for the
 * new statistics, as in the serial case.  The statistics move by at most
 * N - 1 steps of popart_beta in between, far below the update's own noise,
 * so no correction is made.  Obs-norm likewise: the gradient uses the
 * copy's normalisation, the apply folds in this batch's observations.
 * The policy lag noted for a batch is measured from the copy's version,
 * the parameters its gradient was computed at.
 *
 * Why off by default: on this shared 2-core machine at load 20-25
 * (tests/bench/README.md, "Overlapping the learner threads") it cost 10-20%
 * more learner CPU per frame (a copy of the arena per update, and the
 * threads' caches) and gained frames/s only in some rounds: with no idle
 * core, overlap has nothing to fill.  Its case is a machine with a core
 * idle while one thread waits for the lock; turn it on after measuring
 * there (profile_run.sh prints the threads' blocked shares). */
#include "internal.h"

#include "err.h"
#include "learn/obsnorm.h"
#include "learn/popart.h"
#include "learn/update.h"

#include <stdlib.h>
#include <string.h>

#define POLL_MS 100

typedef struct learn_ctx {
	im_batch *batch;
	im_update *update;
	float *grads;
	float *snap; /* (n) the parameters a gradient is computed at, with
		      * --learner-overlap; NULL without */
} learn_ctx;

static void note_update(im_learner *l, const im_update_stats *st, float lr,
			const im_batch *b, uint64_t version)
{
	double lag_sum = 0, lag_max = 0;
	for (uint32_t i = 0; i < b->B; i++) {
		double lag = (double)(version - b->meta[i].param_version);
		lag_sum += lag;
		lag_max = lag > lag_max ? lag : lag_max;
	}
	im_progress_update(l->progress, st, lr, lag_sum / b->B, lag_max);
}

/* Counts the update (l->mu held) and lets the others see it. */
static void advance(im_learner *l, uint64_t frames)
{
	const im_learner_config *cfg = l->cfg;
	l->frames += frames;
	l->updates++;
	/* The receiver reads the version without the lock. */
	__atomic_store_n(&l->version, l->version + 1, __ATOMIC_RELEASE);
	if (cfg->max_policy_lag > 0 && l->version > (uint64_t)cfg->max_policy_lag)
		im_store_set_min_version(l->store,
					 l->version - (uint64_t)cfg->max_policy_lag);
	pthread_cond_broadcast(&l->updated);
}

/* The apply, l->mu held: the optimiser step, PopArt's and obs-norm's
 * statistics, then the counters.  *lr is the step's learning rate. */
static int apply_locked(im_learner *l, learn_ctx *c, im_update_stats *st,
			float *lr)
{
	const im_learner_config *cfg = l->cfg;
	uint64_t frames = (uint64_t)c->batch->T * c->batch->B;
	*lr = im_optim_lr_linear((float)cfg->lr, l->frames,
				 (uint64_t)cfg->num_train_steps);
	int rc = im_update_apply(l->opt, l->params, c->grads,
				 im_model_num_params(l->model), *lr,
				 cfg->max_grad_norm, st);
	if (rc == IM_OK && cfg->popart)
		rc = im_popart_update(l->model, l->params,
				      im_update_vs(c->update), frames,
				      im_popart_step(cfg->popart_beta, l->updates));
	/* Steps 0..T-1 of each unroll: step T is the next unroll's step 0. */
	if (rc == IM_OK && cfg->obs_norm)
		rc = im_obsnorm_update(l->model, l->params,
				       c->batch->input.in.obs, frames);
	if (rc == IM_OK)
		advance(l, frames);
	return rc;
}

static int trained(const im_learner *l)
{
	return l->frames >= (uint64_t)l->cfg->num_train_steps;
}

static void report(im_learner *l, int rc, const im_update_stats *st, float lr,
		   const im_batch *b, uint64_t version)
{
	if (rc == IM_OK)
		note_update(l, st, lr, b, version);
	else
		im_warn("update skipped: %s", im_strerror(rc));
}

/* One update wholly under the lock (--no-learner-overlap).  Returns 0, or
 * 1 when training is done. */
static int learn_step_locked(im_learner *l, learn_ctx *c)
{
	im_update_stats st;
	float lr = 0;
	/* Reads no parameter: done before the lock, not under it. */
	memset(c->grads, 0, im_model_num_params(l->model) * sizeof(float));
	pthread_mutex_lock(&l->mu);
	if (trained(l)) {
		pthread_mutex_unlock(&l->mu);
		return 1;
	}
	uint64_t version = l->version;
	int rc = im_update_compute_zeroed(c->update, l->params, c->grads,
					  &c->batch->input, &l->loss, &st);
	if (rc == IM_OK)
		rc = apply_locked(l, c, &st, &lr);
	pthread_mutex_unlock(&l->mu);
	report(l, rc, &st, lr, c->batch, version);
	return 0;
}

/* One update computed outside the lock on a copy of the parameters taken
 * under it, applied in the copy's turn (turns.h).  The turn is passed
 * whatever happens, so the threads behind never wait forever. */
static int learn_step_overlap(im_learner *l, learn_ctx *c)
{
	im_update_stats st;
	float lr = 0;
	pthread_mutex_lock(&l->mu);
	if (trained(l)) {
		pthread_mutex_unlock(&l->mu);
		return 1;
	}
	uint64_t ticket = im_turns_take(&l->turns);
	uint64_t version = l->version;
	memcpy(c->snap, l->params, im_model_num_params(l->model) * sizeof(float));
	pthread_mutex_unlock(&l->mu);
	int rc = im_update_compute(c->update, c->snap, c->grads,
				   &c->batch->input, &l->loss, &st);
	pthread_mutex_lock(&l->mu);
	im_turns_wait(&l->turns, &l->mu, ticket);
	int done = trained(l);
	if (!done && rc == IM_OK)
		rc = apply_locked(l, c, &st, &lr);
	im_turns_pass(&l->turns);
	pthread_mutex_unlock(&l->mu);
	if (done)
		return 1;
	report(l, rc, &st, lr, c->batch, version);
	return 0;
}

static void learn_ctx_free(learn_ctx *c)
{
	im_batch_free(c->batch);
	im_update_free(c->update);
	free(c->grads);
	free(c->snap);
}

void *im_learner_learn_main(void *arg)
{
	im_learner *l = arg;
	learn_ctx c;
	memset(&c, 0, sizeof c);
	int rc = im_batch_new(&c.batch, &l->dims, (uint32_t)l->cfg->batch_size);
	if (rc == IM_OK)
		rc = im_update_new(&c.update, l->model, (int)l->dims.T, l->cfg->batch_size);
	size_t bytes = im_model_num_params(l->model) * sizeof(float);
	c.grads = malloc(bytes);
	if (l->cfg->learner_overlap)
		c.snap = malloc(bytes);
	if (rc || !c.grads || (l->cfg->learner_overlap && !c.snap)) {
		im_error("learner thread: out of memory");
		atomic_store(&l->failed, 1);
		learn_ctx_free(&c);
		return NULL;
	}
	while (!atomic_load(&l->stopping)) {
		rc = im_store_take(l->store, c.batch, POLL_MS);
		if (rc == IM_ETIMEDOUT)
			continue;
		if (rc) {
			if (rc != IM_ECANCELED) {
				im_error("learner thread: %s", im_strerror(rc));
				atomic_store(&l->failed, 1);
			}
			break;
		}
		int done = l->cfg->learner_overlap ? learn_step_overlap(l, &c)
						   : learn_step_locked(l, &c);
		if (done) {
			atomic_store(&l->done, 1);
			break;
		}
	}
	learn_ctx_free(&c);
	return NULL;
}
