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
	double target;     /* the armed target return (when armed) */
	int armed, reached;
	double reached_mean; /* the window's mean when it latched */
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

/* The mean of the window's n entries, summed as im_progress_fill sums
 * them, so the latch and /status agree to the last bit. */
static double window_mean(const float *v, int n)
{
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += v[i];
	return sum / n;
}

/* A hundred additions per episode, and only while armed and not yet
 * reached. */
static void check_target(im_progress *p)
{
	if (!p->armed || p->reached || p->n < IM_PROGRESS_WINDOW)
		return;
	double mean = window_mean(p->returns, p->n);
	if (mean >= p->target) {
		p->reached = 1;
		p->reached_mean = mean;
	}
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
	check_target(p);
	pthread_mutex_unlock(&p->mu);
}

void im_progress_set_target(im_progress *p, double target)
{
	pthread_mutex_lock(&p->mu);
	p->target = target;
	p->armed = target != 0;
	p->reached = 0;
	pthread_mutex_unlock(&p->mu);
}

int im_progress_reached(im_progress *p, double *mean)
{
	pthread_mutex_lock(&p->mu);
	int reached = p->reached;
	if (reached && mean)
		*mean = p->reached_mean;
	pthread_mutex_unlock(&p->mu);
	return reached;
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
	s->episodes = p->episodes;
	s->mean_return = p->n ? window_mean(p->returns, p->n) : NAN;
	s->mean_length = p->n ? window_mean(p->lengths, p->n) : NAN;
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
