// SPDX-License-Identifier: Apache-2.0
/* The learner threads: each takes batch_size unrolls from the store,
 * time-major, and applies one V-trace update to the shared parameters
 * under the learner's lock (l->mu, over the compute and the apply, as
 * monobeast does), until num_train_steps frames, a stop, or an error. */
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

/* One update under the lock.  Returns 0, or 1 when training is done. */
static int learn_step(im_learner *l, learn_ctx *c)
{
	const im_learner_config *cfg = l->cfg;
	uint64_t frames = (uint64_t)c->batch->T * c->batch->B;
	size_t n = im_model_num_params(l->model);
	im_update_stats st;
	pthread_mutex_lock(&l->mu);
	if (l->frames >= (uint64_t)cfg->num_train_steps) {
		pthread_mutex_unlock(&l->mu);
		return 1;
	}
	uint64_t version = l->version;
	float lr = im_optim_lr_linear((float)cfg->lr, l->frames,
				      (uint64_t)cfg->num_train_steps);
	int rc = im_update_compute(c->update, l->params, c->grads,
				   &c->batch->input, &l->loss, &st);
	if (rc == IM_OK)
		rc = im_update_apply(l->opt, l->params, c->grads, n, lr,
				     cfg->max_grad_norm, &st);
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
	pthread_mutex_unlock(&l->mu);
	if (rc == IM_OK)
		note_update(l, &st, lr, c->batch, version);
	else
		im_warn("update skipped: %s", im_strerror(rc));
	return 0;
}

static void learn_ctx_free(learn_ctx *c)
{
	im_batch_free(c->batch);
	im_update_free(c->update);
	free(c->grads);
}

void *im_learner_learn_main(void *arg)
{
	im_learner *l = arg;
	learn_ctx c;
	memset(&c, 0, sizeof c);
	int rc = im_batch_new(&c.batch, &l->dims, (uint32_t)l->cfg->batch_size);
	if (rc == IM_OK)
		rc = im_update_new(&c.update, l->model, (int)l->dims.T, l->cfg->batch_size);
	c.grads = malloc(im_model_num_params(l->model) * sizeof(float));
	if (rc || !c.grads) {
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
		if (learn_step(l, &c)) {
			atomic_store(&l->done, 1);
			break;
		}
	}
	learn_ctx_free(&c);
	return NULL;
}
