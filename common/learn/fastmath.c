// SPDX-License-Identifier: Apache-2.0
/* The clamps in im_fast_expf are selects, not branches, only when the
 * compiler may assume that comparisons do not trap; GCC's default
 * -ftrapping-math otherwise keeps this loop scalar.  The pragma comes before
 * the includes so that the inline exp is compiled under it too.  Nothing
 * here relies on traps. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "learn/fastmath.h"

#include "fastexp.h"

void im_fastmath_expf(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = im_fast_expf(x[i]);
}
