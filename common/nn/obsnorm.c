// SPDX-License-Identifier: Apache-2.0
#include "nn/obsnorm.h"

#include <math.h>
#include <stddef.h>

void im_nn_obsnorm_apply(float *out, const float *obs, const float *mean,
			 const float *var, int rows, int D)
{
	for (int r = 0; r < rows; r++) {
		const float *x = obs + (size_t)r * D;
		float *y = out + (size_t)r * D;
		for (int i = 0; i < D; i++) {
			double z = ((double)x[i] - mean[i]) /
				   sqrt((double)var[i] + IM_OBSNORM_EPS);
			y[i] = (float)(z > IM_OBSNORM_CLIP    ? IM_OBSNORM_CLIP
				       : z < -IM_OBSNORM_CLIP ? -IM_OBSNORM_CLIP
							      : z);
		}
	}
}
