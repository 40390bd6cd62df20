/* Branch-free float exp, sigmoid and tanh that the compiler vectorises
 * (glibc's expf and tanhf are scalar calls: tanhf alone was a third of the
 * LSTM step).  exp: Cody-Waite range reduction x = n ln2 + r, |r| <= ln2/2,
 * a degree-6 polynomial for e^r (the classic Cephes expf coefficients,
 * relative error about 2e-7) and 2^n built in the exponent bits.  Inputs are
 * clamped to [-87, 88] so that 2^n stays a normal float; sigmoid and tanh
 * saturate long before that.  Absolute errors: sigmoid ~1e-7,
 * tanh ~2e-7 (tests/nn hold the kernels using them against libm). */
#ifndef IM_NN_FASTMATH_H
#define IM_NN_FASTMATH_H

#include <stdint.h>
#include <string.h>

static inline float im_nni_expf(float x)
{
	x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
	/* Round x / ln2 to nearest with the 1.5 * 2^23 trick (no floorf,
	 * which does not vectorise without SSE4.1). */
	float t = x * 1.44269504088896341f + 12582912.0f;
	float n = t - 12582912.0f;
	float r = x - n * 0.693359375f;
	r = r + n * 2.12194440e-4f;
	float p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	int32_t e = ((int32_t)n + 127) << 23;
	float s;
	memcpy(&s, &e, sizeof(s));
	return p * s;
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
