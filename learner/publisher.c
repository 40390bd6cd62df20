// SPDX-License-Identifier: Apache-2.0
/* The publisher thread: broadcasts the parameters (on the PUB socket, or
 * through the fan-out without CURVE, learner/fanout.h) after
 * every publish_every updates, and at least every publish_interval_ms
 * (so that an actor that joined late or missed a message catches up), at
 * most one broadcast per publish_min_ms (sooner when the actors' version
 * falls half of --max-policy-lag behind), each of the newest parameters.
 * Each carries the flow-control advice (actor/flow.h): the store's free
 * room, the actors' environments and the unroll_seq the received unrolls
 * of each actor that sent lately reach (learner/actors.h: at most
 * IM_WIRE_MAX_FLOW_MARKS), read just before sending. */
#include "internal.h"

#include "err.h"
#include "fanout.h"
#include "transport.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static int stopping(im_learner *l)
{
	return atomic_load(&l->stopping);
}

static void pack_params(void *ctx, uint8_t *body)
{
	const Impala__Params *p = ctx;
	protobuf_c_message_pack(&p->base, body);
}

/* Without CURVE the fan-out frames it into one buffer of its own and
 * references that from every connection's message (learner/fanout.h);
 * with CURVE the PUB socket copies *buf once and shares it. */
static void send_params(im_learner *l, const Impala__Params *p, uint8_t **buf,
			size_t *cap)
{
	if (l->fanout) {
		size_t n = protobuf_c_message_get_packed_size(&p->base);
		im_fanout_broadcast(l->fanout, n, pack_params, (void *)p);
		return;
	}
	size_t len;
	if (im_wire_pack_into(&p->base, buf, cap, &len) == IM_OK)
		im_transport_send(l->pub, *buf, len, ZMQ_DONTWAIT);
}

/* The flow-control advice's buffers: at most IM_WIRE_MAX_FLOW_MARKS
 * marks (learner/actors.h says whose). */
typedef struct advice_buf {
	uint64_t *ids, *next_seqs; /* [IM_WIRE_MAX_FLOW_MARKS] each */
} advice_buf;

static int advice_buf_init(advice_buf *a)
{
	a->ids = malloc(IM_WIRE_MAX_FLOW_MARKS * sizeof *a->ids);
	a->next_seqs = malloc(IM_WIRE_MAX_FLOW_MARKS * sizeof *a->next_seqs);
	return a->ids && a->next_seqs ? IM_OK : IM_ENOMEM;
}

static void advice_buf_free(advice_buf *a)
{
	free(a->ids);
	free(a->next_seqs);
}

/* Fills p's flow-control advice (actor/flow.h): the received unroll_seq
 * marks of the actors that sent lately (at most IM_WIRE_MAX_FLOW_MARKS,
 * learner/actors.h), then the store's free room.  In that order:
 * the receiver marks an unroll received just before it queues it, so an
 * unroll arriving meanwhile counts as in flight and as queued (one
 * unroll less advised), almost never as neither. */
static void fill_advice(im_learner *l, Impala__Params *p, advice_buf *a)
{
	uint32_t envs = 0;
	uint32_t n = im_actors_flow_marks(l->actors, a->ids, a->next_seqs,
					  IM_WIRE_MAX_FLOW_MARKS, im_now_ms(),
					  &envs);
	p->n_flow_actor_ids = p->n_flow_next_seqs = n;
	p->flow_actor_ids = a->ids;
	p->flow_next_seqs = a->next_seqs;
	im_store_stats ss;
	im_store_get_stats(l->store, &ss);
	p->store_free = ss.capacity > ss.depth ? ss.capacity - ss.depth : 0;
	/* At least 1: 0 would mean "no advice" to the actors, and lift
	 * their limit just when every actor has been quiet (held by a full
	 * store) for --actor-timeout. */
	p->actor_envs = envs ? envs : 1;
}

/* Sends one Params of the snapshot, packed into the reused *buf. */
static void publish(im_learner *l, float *snapshot, size_t n, uint64_t version,
		    uint8_t **buf, size_t *cap, advice_buf *adv)
{
	Impala__Params p = IMPALA__PARAMS__INIT;
	p.run_id = l->run_id;
	p.learner_session = l->session;
	p.version = version;
	p.param_count = n;
	p.data = (ProtobufCBinaryData){n * sizeof(float), (uint8_t *)snapshot};
	p.checksum = im_wire_crc32c(snapshot, n * sizeof(float));
	fill_advice(l, &p, adv);
	send_params(l, &p, buf, cap);
}

/* Waits (l->mu held) until publish_every updates since version `last`,
 * the interval, or stop. */
static void wait_for_updates(im_learner *l, uint64_t last)
{
	/* l->updated's clock is monotonic (learner.c). */
	struct timespec ts = im_deadline_ms(l->cfg->publish_interval_ms);
	while (!stopping(l) && last != UINT64_MAX &&
	       l->version - last < (uint64_t)l->cfg->publish_every &&
	       pthread_cond_timedwait(&l->updated, &l->mu, &ts) == 0)
		;
}

/* 1 when the last broadcast is half of --max-policy-lag behind the
 * learner: a fast machine (6,000 CartPole updates/s is 30 updates per
 * 5 ms) would otherwise let unrolls acted on it arrive older than the
 * bound and be dropped.  Never with the bound off. */
static int lag_urgent(const im_learner *l, uint64_t last)
{
	uint64_t bound = (uint64_t)l->cfg->max_policy_lag;
	if (!bound || last == UINT64_MAX)
		return 0;
	uint64_t half = bound / 2 ? bound / 2 : 1;
	return l->version - last >= half;
}

/* Waits (l->mu held) until publish_min_ms after the last broadcast at
 * last_ms, unless the lag is urgent or the learner stops. */
static void wait_min_gap(im_learner *l, uint64_t last, uint64_t last_ms)
{
	uint64_t since = im_now_ms() - last_ms;
	uint64_t min = (uint64_t)l->cfg->publish_min_ms;
	if (since >= min)
		return;
	struct timespec ts = im_deadline_ms((int)(min - since));
	while (!stopping(l) && !lag_urgent(l, last) &&
	       pthread_cond_timedwait(&l->updated, &l->mu, &ts) == 0)
		;
}

void *im_learner_publisher_main(void *arg)
{
	im_learner *l = arg;
	size_t n = im_model_num_params(l->model), cap = 0;
	float *snapshot = malloc(n * sizeof(float));
	uint8_t *buf = NULL;
	uint64_t last = UINT64_MAX, last_ms = 0;
	advice_buf adv;
	int ok = advice_buf_init(&adv) == IM_OK;
	pthread_mutex_lock(&l->mu);
	while (snapshot && ok && !stopping(l)) {
		wait_for_updates(l, last);
		if (stopping(l))
			break;
		/* At most one broadcast per publish_min_ms: a small model
		 * updates hundreds or thousands of times a second, and every
		 * copy costs the learner a memcpy and a CRC and each actor a
		 * receive, a decode, a CRC and a copy (README, "MinAtar
		 * learning").  The wait ends early when the actors' newest
		 * version falls half the lag bound behind (lag_urgent); the
		 * newest parameters are taken after it. */
		wait_min_gap(l, last, last_ms);
		if (stopping(l))
			break;
		last_ms = im_now_ms();
		memcpy(snapshot, l->params, n * sizeof(float));
		last = l->version;
		pthread_mutex_unlock(&l->mu);
		publish(l, snapshot, n, last, &buf, &cap, &adv);
		pthread_mutex_lock(&l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	free(snapshot);
	free(buf);
	advice_buf_free(&adv);
	return NULL;
}
