// SPDX-License-Identifier: Apache-2.0
/* The image encoders' flatten (internal.h): an image's (H, W, C) to the
 * Linear layer's (C, H, W) and its gradient back, in 4 x 4 blocks.
 *
 * Why blocks: one side of a transpose is strided whatever the loop order,
 * and element by element the minatar encoder's two transposes (64 pixels
 * by 16 channels per image) were 8% of the MinAtar presets' update
 * (tests/bench/README.md, "The learner's update at T = 5, B = 4").  A
 * block of 4 x 4 is 4 loads, a transpose in registers and 4 stores.
 * Every element is copied, or masked, as by the element loops (kept
 * below as the reference the tests hold these to), bit for bit, NaN
 * included. */
#include "nn/internal.h"

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

void im_nni_hwc_to_chw_naive(float *restrict dst, const float *restrict src,
			     int HW, int C, int relu)
{
	for (size_t hw = 0; hw < (size_t)HW; hw++)
		for (size_t c = 0; c < (size_t)C; c++) {
			float v = src[hw * C + c];
			dst[c * HW + hw] = relu && v < 0.0f ? 0.0f : v;
		}
}

void im_nni_chw_to_hwc_naive(float *restrict dst, const float *restrict src,
			     const float *restrict mask, int HW, int C)
{
	for (size_t hw = 0; hw < (size_t)HW; hw++)
		for (size_t c = 0; c < (size_t)C; c++) {
			size_t k = c * HW + hw;
			dst[hw * C + c] = mask && !(mask[k] > 0.0f) ? 0.0f : src[k];
		}
}

#if defined(__SSE__)
/* One block: dst rows j..j+3 (stride S) from src rows i..i+3 (stride R). */
static void block_hwc_to_chw(float *restrict dst, const float *restrict src,
			     size_t S, size_t R, int relu)
{
	__m128 r0 = _mm_loadu_ps(src), r1 = _mm_loadu_ps(src + R);
	__m128 r2 = _mm_loadu_ps(src + 2 * R), r3 = _mm_loadu_ps(src + 3 * R);
	_MM_TRANSPOSE4_PS(r0, r1, r2, r3);
	if (relu) {
		/* max(0, v): v itself when v is NaN (the second operand wins),
		 * and -0 stays -0, as v < 0 ? 0 : v. */
		const __m128 z = _mm_setzero_ps();
		r0 = _mm_max_ps(z, r0), r1 = _mm_max_ps(z, r1);
		r2 = _mm_max_ps(z, r2), r3 = _mm_max_ps(z, r3);
	}
	_mm_storeu_ps(dst, r0);
	_mm_storeu_ps(dst + S, r1);
	_mm_storeu_ps(dst + 2 * S, r2);
	_mm_storeu_ps(dst + 3 * S, r3);
}

/* d where m > 0, else 0 (also for a NaN m), as the element loop. */
static __m128 masked(__m128 d, const float *m)
{
	return _mm_and_ps(_mm_cmpgt_ps(_mm_loadu_ps(m), _mm_setzero_ps()), d);
}

static void block_chw_to_hwc(float *restrict dst, const float *restrict src,
			     const float *restrict mask, size_t S, size_t R)
{
	__m128 r0 = _mm_loadu_ps(src), r1 = _mm_loadu_ps(src + R);
	__m128 r2 = _mm_loadu_ps(src + 2 * R), r3 = _mm_loadu_ps(src + 3 * R);
	if (mask) {
		r0 = masked(r0, mask), r1 = masked(r1, mask + R);
		r2 = masked(r2, mask + 2 * R), r3 = masked(r3, mask + 3 * R);
	}
	_MM_TRANSPOSE4_PS(r0, r1, r2, r3);
	_mm_storeu_ps(dst, r0);
	_mm_storeu_ps(dst + S, r1);
	_mm_storeu_ps(dst + 2 * S, r2);
	_mm_storeu_ps(dst + 3 * S, r3);
}
#endif

void im_nni_hwc_to_chw(float *restrict dst, const float *restrict src, int HW,
		       int C, int relu)
{
#if defined(__SSE__)
	if (HW % 4 == 0 && C % 4 == 0) {
		for (size_t hw = 0; hw < (size_t)HW; hw += 4)
			for (size_t c = 0; c < (size_t)C; c += 4)
				block_hwc_to_chw(dst + c * HW + hw,
						 src + hw * C + c, (size_t)HW,
						 (size_t)C, relu);
		return;
	}
#endif
	im_nni_hwc_to_chw_naive(dst, src, HW, C, relu);
}

void im_nni_chw_to_hwc(float *restrict dst, const float *restrict src,
		       const float *restrict mask, int HW, int C)
{
#if defined(__SSE__)
	if (HW % 4 == 0 && C % 4 == 0) {
		for (size_t c = 0; c < (size_t)C; c += 4)
			for (size_t hw = 0; hw < (size_t)HW; hw += 4) {
				size_t k = c * HW + hw;
				block_chw_to_hwc(dst + hw * C + c, src + k,
						 mask ? mask + k : NULL, (size_t)C,
						 (size_t)HW);
			}
		return;
	}
#endif
	im_nni_chw_to_hwc_naive(dst, src, mask, HW, C);
}
