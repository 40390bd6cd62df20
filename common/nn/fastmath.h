// SPDX-License-Identifier: Apache-2.0
/* Branch-free float sigmoid and tanh that the compiler vectorises (glibc's
 * tanhf is a scalar call: it alone was a third of the LSTM step), built on
 * the shared vectorisable exp (fastexp.h).  Absolute errors: sigmoid
 * ~1e-7, tanh ~2e-7 (tests/nn hold the kernels using them against libm). */
#ifndef IM_NN_FASTMATH_H
#define IM_NN_FASTMATH_H

#include "fastexp.h"

/* exp itself is the shared one (fastexp.h). */
static inline float im_nni_expf(float x)
{
	return im_fast_expf(x);
}

static inline float im_nni_sigmoidf(float x)
{
	return 1.0f / (1.0f + im_nni_expf(-x));
}

/* tanh x = sign(x) (1 - 2 / (e^{2|x|} + 1)): no cancellation for large
 * |x|, and near 0 the absolute error stays ~1e-7. */
static inline float im_nni_tanhf(float x)
{
	float a = x < 0.0f ? -x : x;
	float y = 1.0f - 2.0f / (im_nni_expf(2.0f * a) + 1.0f);
	return x < 0.0f ? -y : y;
}

#endif
