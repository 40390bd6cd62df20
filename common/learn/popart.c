// SPDX-License-Identifier: Apache-2.0
#include "learn/popart.h"

#include <math.h>

#include "err.h"

double im_popart_step(double beta, uint64_t updates)
{
	double first = 1.0 / ((double)updates + 1.0);
	return first > beta ? first : beta;
}

int im_popart_stats(float *mu, float *sigma, const float *vs, size_t n,
		    double beta)
{
	if (!(beta > 0.0 && beta <= 1.0) || !(*sigma > 0.0f))
		return IM_EINVAL;
	if (n == 0)
		return IM_OK;
	double m1 = 0.0, m2 = 0.0;
	for (size_t i = 0; i < n; i++) {
		m1 += vs[i];
		m2 += (double)vs[i] * vs[i];
	}
	m1 /= (double)n;
	m2 /= (double)n;
	if (!isfinite(m1) || !isfinite(m2))
		return IM_ENONFINITE;
	double mu0 = *mu, nu0 = (double)*sigma * *sigma + mu0 * mu0;
	double mu1 = (1.0 - beta) * mu0 + beta * m1;
	double nu1 = (1.0 - beta) * nu0 + beta * m2;
	double var = nu1 - mu1 * mu1, lo = IM_POPART_SIGMA_MIN,
	       hi = IM_POPART_SIGMA_MAX;
	double s = var > lo * lo ? sqrt(var) : lo;
	*mu = (float)mu1;
	*sigma = (float)(s < hi ? s : hi);
	return IM_OK;
}

int im_popart_rescale(float *w, float *b, size_t C, float mu, float sigma,
		      float mu_new, float sigma_new)
{
	if (!(sigma > 0.0f) || !(sigma_new > 0.0f))
		return IM_EINVAL;
	double ratio = (double)sigma / sigma_new;
	for (size_t i = 0; i < C; i++)
		w[i] = (float)(w[i] * ratio);
	*b = (float)(((double)sigma * *b + mu - mu_new) / sigma_new);
	return IM_OK;
}

int im_popart_update(const im_model *m, float *params, const float *vs,
		     size_t n, double beta)
{
	const im_tensor_desc *tw = im_model_find(m, "baseline.weight");
	const im_tensor_desc *tb = im_model_find(m, "baseline.bias");
	const im_tensor_desc *tm = im_model_find(m, "baseline.mu");
	const im_tensor_desc *ts = im_model_find(m, "baseline.sigma");
	if (!tw || !tb || !tm || !ts)
		return IM_EINVAL;
	float *mu = params + tm->offset, *sigma = params + ts->offset;
	float mu0 = *mu, sigma0 = *sigma;
	int rc = im_popart_stats(mu, sigma, vs, n, beta);
	if (rc)
		return rc;
	return im_popart_rescale(params + tw->offset, params + tb->offset,
				 tw->numel, mu0, sigma0, *mu, *sigma);
}
