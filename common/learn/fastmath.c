#include "learn/fastmath.h"

#include <stdint.h>
#include <string.h>

/* The clamps below are selects, not branches, only when the compiler may
 * assume that comparisons do not trap; GCC's default -ftrapping-math
 * otherwise keeps this loop scalar.  Nothing here relies on traps. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

static inline float expf1(float x)
{
	const float hi = 88.7f, lo = -87.3f;
	float xc = x > hi ? hi : x;
	xc = xc < lo ? lo : xc;
	float t = xc * 1.44269504088896341f + 12582912.0f; /* 1.5 * 2^23 */
	float n = t - 12582912.0f; /* round(x / ln 2) */
	int32_t ti, e0, e1;
	memcpy(&ti, &t, 4);
	/* 2^n as the product of two floats 2^(n/2) and 2^(n - n/2): n reaches
	 * 128 for x above 88.38, and 2^128 alone is not a float.  Multiplying
	 * by powers of two is exact, so nothing else changes. */
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

void im_fastmath_expf(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = expf1(x[i]);
}
