// SPDX-License-Identifier: Apache-2.0
#include "progress.h"

#include "err.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

struct im_progress {
	pthread_mutex_t mu;                /* guards every field below */
	float returns[IM_PROGRESS_WINDOW]; /* ring of the last episodes */
	float lengths[IM_PROGRESS_WINDOW];
	int n, pos;        /* ring entries in use, next write */
	uint64_t episodes; /* all finished so far */
	double pg, base, ent, total, entropy, grad_norm, lr;
	double lag_mean, lag_max;
};

int im_progress_new(im_progress **out)
{
	im_progress *p = calloc(1, sizeof *p);
	if (!p)
		return IM_ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	*out = p;
	return IM_OK;
}

void im_progress_free(im_progress *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->mu);
	free(p);
}

void im_progress_episode(im_progress *p, float ret, uint32_t length)
{
	pthread_mutex_lock(&p->mu);
	p->returns[p->pos] = ret;
	p->lengths[p->pos] = (float)length;
	p->pos = (p->pos + 1) % IM_PROGRESS_WINDOW;
	if (p->n < IM_PROGRESS_WINDOW)
		p->n++;
	p->episodes++;
	pthread_mutex_unlock(&p->mu);
}

void im_progress_update(im_progress *p, const im_update_stats *st, double lr,
			double lag_mean, double lag_max)
{
	pthread_mutex_lock(&p->mu);
	p->pg = st->loss.pg_loss;
	p->base = st->loss.baseline_loss;
	p->ent = st->loss.entropy_loss;
	p->entropy = st->loss.mean_entropy;
	p->total = st->loss.total;
	p->grad_norm = st->grad_norm;
	p->lr = lr;
	p->lag_mean = lag_mean;
	p->lag_max = lag_max;
	pthread_mutex_unlock(&p->mu);
}

void im_progress_fill(im_progress *p, im_status_snapshot *s)
{
	pthread_mutex_lock(&p->mu);
	double sr = 0, sl = 0;
	for (int i = 0; i < p->n; i++) {
		sr += p->returns[i];
		sl += p->lengths[i];
	}
	s->episodes = p->episodes;
	s->mean_return = p->n ? sr / p->n : NAN;
	s->mean_length = p->n ? sl / p->n : NAN;
	s->total_loss = p->total;
	s->pg_loss = p->pg;
	s->baseline_loss = p->base;
	s->entropy_loss = p->ent;
	s->entropy = p->entropy;
	s->grad_norm = p->grad_norm;
	s->learning_rate = p->lr;
	s->policy_lag_mean = p->lag_mean;
	s->policy_lag_max = p->lag_max;
	pthread_mutex_unlock(&p->mu);
}
