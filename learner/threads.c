/* The learner's worker threads: receiver (PULL), publisher (PUB) and the
 * learner threads; the handshake thread (ROUTER) is in handshake.c. */
#include "internal.h"

#include "err.h"
#include "learn/obsnorm.h"
#include "learn/popart.h"
#include "learn/update.h"
#include "transport.h"
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define POLL_MS 100
#define PUBLISH_MIN_MS 2

static int stopping(im_learner *l)
{
	return atomic_load(&l->stopping);
}

/* ---- receiver callbacks (run on the receiver's thread) --------------- */

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

static void on_accept(void *ctx, const Impala__Trajectory *t, uint64_t lag)
{
	im_learner *l = ctx;
	im_actors_unroll(l->actors, t->actor_id, t->unroll_seq, t->num_steps,
			 (int64_t)lag, im_now_ms());
	if (!t->n_episodes)
		return;
	pthread_mutex_lock(&l->stats_mu);
	for (size_t i = 0; i < t->n_episodes; i++) {
		l->returns[l->retpos] = t->episodes[i]->episode_return;
		l->lengths[l->retpos] = (float)t->episodes[i]->length;
		l->retpos = (l->retpos + 1) % IM_RETURNS_WINDOW;
		if (l->nret < IM_RETURNS_WINDOW)
			l->nret++;
		l->episodes++;
	}
	pthread_mutex_unlock(&l->stats_mu);
}

static int actor_lookup(void *ctx, uint64_t id, im_validate_actor *out)
{
	im_learner *l = ctx;
	return im_actors_lookup(l->actors, id, out);
}

static int start_receiver(im_learner *l)
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
		.ctx = l,
	};
	return im_receiver_start(&l->receiver, &o);
}

/* ---- publisher ------------------------------------------------------- */

static void publish(im_learner *l, float *snapshot, size_t n, uint64_t version,
		    uint8_t **buf, size_t *cap)
{
	Impala__Params p = IMPALA__PARAMS__INIT;
	p.run_id = l->run_id;
	p.learner_session = l->session;
	p.version = version;
	p.param_count = n;
	p.data = (ProtobufCBinaryData){n * sizeof(float), (uint8_t *)snapshot};
	p.checksum = im_wire_crc32c(snapshot, n * sizeof(float));
	size_t len = protobuf_c_message_get_packed_size(&p.base);
	if (len > *cap) {
		uint8_t *b = realloc(*buf, len);
		if (!b)
			return;
		*buf = b;
		*cap = len;
	}
	protobuf_c_message_pack(&p.base, *buf);
	im_transport_send(l->pub, *buf, len, ZMQ_DONTWAIT);
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts); /* l->updated's clock */
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *publisher_main(void *arg)
{
	im_learner *l = arg;
	size_t n = im_model_num_params(l->model), cap = 0;
	float *snapshot = malloc(n * sizeof(float));
	uint8_t *buf = NULL;
	uint64_t last = UINT64_MAX, last_ms = 0;
	pthread_mutex_lock(&l->mu);
	while (snapshot && !stopping(l)) {
		struct timespec ts;
		deadline_in(&ts, l->cfg->publish_interval_ms);
		while (!stopping(l) && last != UINT64_MAX &&
		       l->version - last < (uint64_t)l->cfg->publish_every &&
		       pthread_cond_timedwait(&l->updated, &l->mu, &ts) == 0)
			;
		if (stopping(l))
			break;
		/* At most one broadcast per PUBLISH_MIN_MS: a small model
		 * updates thousands of times a second, and every copy costs
		 * the learner a memcpy and a CRC and the actors bandwidth. */
		if (im_now_ms() - last_ms < PUBLISH_MIN_MS) {
			pthread_mutex_unlock(&l->mu);
			struct timespec nap = {0, PUBLISH_MIN_MS * 1000000L};
			nanosleep(&nap, NULL);
			pthread_mutex_lock(&l->mu);
			continue;
		}
		last_ms = im_now_ms();
		memcpy(snapshot, l->params, n * sizeof(float));
		last = l->version;
		pthread_mutex_unlock(&l->mu);
		publish(l, snapshot, n, last, &buf, &cap);
		pthread_mutex_lock(&l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	free(snapshot);
	free(buf);
	return NULL;
}

/* ---- learner threads -------------------------------------------------- */

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
	pthread_mutex_lock(&l->stats_mu);
	l->pg = st->loss.pg_loss;
	l->base = st->loss.baseline_loss;
	l->ent = st->loss.entropy_loss;
	l->entropy = st->loss.mean_entropy;
	l->total = st->loss.total;
	l->grad_norm = st->grad_norm;
	l->lr = lr;
	l->lag_mean = lag_sum / b->B;
	l->lag_max = lag_max;
	pthread_mutex_unlock(&l->stats_mu);
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
	if (rc == IM_OK) {
		l->frames += frames;
		l->updates++;
		/* The receiver reads the version without the lock. */
		__atomic_store_n(&l->version, l->version + 1, __ATOMIC_RELEASE);
		if (cfg->max_policy_lag > 0 && l->version > (uint64_t)cfg->max_policy_lag)
			im_store_set_min_version(l->store,
						 l->version - (uint64_t)cfg->max_policy_lag);
		pthread_cond_broadcast(&l->updated);
	}
	pthread_mutex_unlock(&l->mu);
	if (rc == IM_OK) {
		note_update(l, &st, lr, c->batch, version);
	} else {
		pthread_mutex_lock(&l->stats_mu);
		l->nonfinite_updates++;
		pthread_mutex_unlock(&l->stats_mu);
		im_warn("update skipped: %s", im_strerror(rc));
	}
	return 0;
}

static void learn_ctx_free(learn_ctx *c)
{
	im_batch_free(c->batch);
	im_update_free(c->update);
	free(c->grads);
}

static void *learner_main(void *arg)
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
	while (!stopping(l)) {
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

/* ---- start and stop --------------------------------------------------- */

int im_learner_start_threads(im_learner *l, char *err, size_t errlen)
{
	l->nlearn = l->cfg->num_learners;
	l->learn_thr = calloc((size_t)l->nlearn, sizeof *l->learn_thr);
	if (!l->learn_thr)
		return IM_ENOMEM;
	/* pthread_create returns its error; it does not set errno. */
	int e = 0;
	if (start_receiver(l) != IM_OK)
		e = errno ? errno : ENOMEM;
	if (!e && !(e = pthread_create(&l->hs_thr, NULL, im_learner_handshake_main, l)))
		l->hs_started = 1;
	if (!e && !(e = pthread_create(&l->pub_thr, NULL, publisher_main, l)))
		l->pub_started = 1;
	while (!e && l->nlearn_started < l->nlearn &&
	       !(e = pthread_create(&l->learn_thr[l->nlearn_started], NULL,
				    learner_main, l)))
		l->nlearn_started++;
	l->threads_started = 1;
	if (e) {
		snprintf(err, errlen, "cannot start threads: %s", strerror(e));
		/* Those that did start use the sockets and the store: they
		 * must end before im_learner_free() closes and frees them. */
		im_learner_stop_threads(l);
		return IM_ESYS;
	}
	return IM_OK;
}

void im_learner_stop_threads(im_learner *l)
{
	if (!l->threads_started)
		return;
	atomic_store(&l->stopping, 1);
	im_store_close(l->store);
	pthread_mutex_lock(&l->mu);
	pthread_cond_broadcast(&l->updated);
	pthread_mutex_unlock(&l->mu);
	if (l->receiver)
		im_receiver_get_stats(l->receiver, &l->last_rs);
	im_receiver_stop(l->receiver);
	l->receiver = NULL;
	if (l->hs_started)
		pthread_join(l->hs_thr, NULL);
	if (l->pub_started)
		pthread_join(l->pub_thr, NULL);
	for (int i = 0; i < l->nlearn_started; i++)
		pthread_join(l->learn_thr[i], NULL);
	l->threads_started = l->hs_started = l->pub_started = 0;
	l->nlearn_started = 0;
}
