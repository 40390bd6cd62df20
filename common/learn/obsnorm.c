// SPDX-License-Identifier: Apache-2.0
#include "learn/obsnorm.h"

#include <math.h>

#include "err.h"

static int all_finite(const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return 0;
	return 1;
}

/* Mean and sum of squared deviations of column i of x (n, D): two passes. */
static void column_moments(double *mean, double *m2, const float *x, size_t n,
			   int D, int i)
{
	double s = 0.0, q = 0.0;
	for (size_t r = 0; r < n; r++)
		s += x[r * (size_t)D + (size_t)i];
	s /= (double)n;
	for (size_t r = 0; r < n; r++) {
		double d = x[r * (size_t)D + (size_t)i] - s;
		q += d * d;
	}
	*mean = s;
	*m2 = q;
}

int im_obsnorm_stats(float *mean, float *var, float *count, const float *x,
		     size_t n, int D)
{
	double c = *count;
	if (D < 1 || !(c >= 0.0) || !isfinite(c))
		return IM_EINVAL;
	for (int i = 0; i < D; i++)
		if (!(var[i] >= 0.0f))
			return IM_EINVAL;
	if (n == 0)
		return IM_OK;
	if (!all_finite(x, n * (size_t)D))
		return IM_ENONFINITE;
	double N = c + (double)n, w = (double)n / N;
	for (int i = 0; i < D; i++) {
		double bm, bm2;
		column_moments(&bm, &bm2, x, n, D, i);
		double delta = bm - mean[i];
		double m2 = (double)var[i] * c + bm2 + delta * delta * c * w;
		mean[i] = (float)(mean[i] + delta * w);
		var[i] = (float)(m2 / N);
	}
	*count = (float)N;
	return IM_OK;
}

int im_obsnorm_update(const im_model *m, float *params, const float *obs,
		      size_t rows)
{
	const im_tensor_desc *tm = im_model_find(m, "obs_norm.mean");
	const im_tensor_desc *tv = im_model_find(m, "obs_norm.var");
	const im_tensor_desc *tc = im_model_find(m, "obs_norm.count");
	if (!tm || !tv || !tc)
		return IM_EINVAL;
	return im_obsnorm_stats(params + tm->offset, params + tv->offset,
				params + tc->offset, obs, rows, (int)tm->numel);
}
