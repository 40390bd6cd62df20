// SPDX-License-Identifier: Apache-2.0
#include "explore.h"

#include <math.h>
#include <stdlib.h>

#include "err.h"
#include "learn/dist.h"

/* Longest hold drawn: far beyond any time limit, and keeps the geometric
 * draw inside uint64. */
#define MAX_HOLD 1000000u

struct im_explore {
	im_explore_opts o;
	int k, n;
	int32_t *held;  /* (k) the action being held */
	uint64_t *left; /* (k) steps of the hold still to take */
	float *lp;      /* (n) scratch: log-softmax of one row */
};

int im_explore_new(im_explore **out, const im_explore_opts *o, int k, int n)
{
	if (!(o->eps >= 0.0 && o->eps <= 1.0) || !(o->hold >= 1.0) ||
	    !isfinite(o->hold) || k < 1 || n < 1)
		return IM_EINVAL;
	im_explore *x = calloc(1, sizeof *x);
	if (!x)
		return IM_ENOMEM;
	x->o = *o;
	x->k = k;
	x->n = n;
	x->held = calloc((size_t)k, sizeof *x->held);
	x->left = calloc((size_t)k, sizeof *x->left);
	x->lp = calloc((size_t)n, sizeof *x->lp);
	if (!x->held || !x->left || !x->lp) {
		im_explore_free(x);
		return IM_ENOMEM;
	}
	*out = x;
	return IM_OK;
}

void im_explore_free(im_explore *x)
{
	if (!x)
		return;
	free(x->held);
	free(x->left);
	free(x->lp);
	free(x);
}

/* L >= 1 with P(L = l) = p (1 - p)^(l - 1), p = 1 / hold: mean hold. */
static uint64_t hold_length(double hold, im_rng *rng)
{
	if (hold <= 1.0)
		return 1;
	double u = 1.0 - im_rng_double(rng); /* (0, 1] */
	double l = 1.0 + floor(log(u) / log1p(-1.0 / hold));
	return l < MAX_HOLD ? (uint64_t)l : MAX_HOLD;
}

void im_explore_apply(im_explore *x, int32_t *a, float *logp,
		      const float *logits, im_rng *rng)
{
	double eps = x->o.eps;
	for (int i = 0; i < x->k; i++) {
		if (x->left[i] > 0) {
			a[i] = x->held[i];
			logp[i] = 0.0f;
			x->left[i]--;
			continue;
		}
		if (eps > 0.0 && im_rng_double(rng) < eps) {
			a[i] = (int32_t)im_rng_below(rng, (uint64_t)x->n);
			x->held[i] = a[i];
			x->left[i] = hold_length(x->o.hold, rng) - 1;
		}
		im_dist_cat_log_softmax(x->lp, logits + (size_t)i * x->n, x->n);
		double mu = (1.0 - eps) * exp((double)x->lp[a[i]]) + eps / x->n;
		logp[i] = (float)log(mu);
	}
}

void im_explore_end(im_explore *x, int i)
{
	x->left[i] = 0;
}

uint64_t im_explore_left(const im_explore *x, int i)
{
	return x->left[i];
}
