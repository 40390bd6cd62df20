// SPDX-License-Identifier: Apache-2.0
/* A branch-free float exp that the compiler vectorises (glibc's expf is a
 * call it cannot vectorise without -ffast-math), shared by the network's
 * activations (nn/fastmath.h) and the loss's softmax (learn/fastmath.h).
 *
 * Round x / ln 2 to n with the 1.5 * 2^23 trick (floorf does not vectorise
 * without SSE4.1), reduce r = x - n ln 2 in two parts (Cody-Waite), a
 * degree-6 polynomial for e^r (Cephes' expf coefficients) and 2^n built in
 * the exponent bits, as the product 2^(n/2) 2^(n - n/2) because n reaches
 * 128 above x = 88.38 and 2^128 alone is not a float.  Relative error below
 * 2e-7 on [-87.3, 88.7] (tests hold it to exp() in double); inputs below
 * -87.3 (and -inf) give 0 where glibc gives denormals; inputs above 88.7 are
 * clamped to it; NaN is not propagated.
 *
 * The clamps are selects only when the compiler may assume comparisons do
 * not trap: files whose loops use this put
 *   #pragma GCC optimize("no-trapping-math")
 * first (we never enable floating-point traps, so no result changes). */
#ifndef IM_FASTEXP_H
#define IM_FASTEXP_H

#include <stdint.h>
#include <string.h>

static inline float im_fast_expf(float x)
{
	const float hi = 88.7f, lo = -87.3f;
	float xc = x > hi ? hi : x;
	xc = xc < lo ? lo : xc;
	float t = xc * 1.44269504088896341f + 12582912.0f; /* 1.5 * 2^23 */
	float n = t - 12582912.0f;                         /* round(x / ln 2) */
	int32_t ti, e0, e1;
	memcpy(&ti, &t, 4);
	int32_t n0 = (ti - 0x4B400000) / 2, n1 = (ti - 0x4B400000) - n0;
	e0 = (n0 + 127) * (1 << 23);
	e1 = (n1 + 127) * (1 << 23);
	float s0, s1;
	memcpy(&s0, &e0, 4);
	memcpy(&s1, &e1, 4);
	float r = xc - n * 0.693359375f; /* ln 2 in two parts */
	r = r - n * -2.12194440e-4f;
	float p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	float y = (p * r * r + r + 1.0f) * s0 * s1;
	return x < lo ? 0.0f : y;
}

#endif
