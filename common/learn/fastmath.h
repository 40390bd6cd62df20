// SPDX-License-Identifier: Apache-2.0
/* A vectorisable exp over float arrays, for the loss's softmax loops:
 * im_fast_expf (fastexp.h, where its method, range and error are
 * described) applied in place. */
#ifndef IM_LEARN_FASTMATH_H
#define IM_LEARN_FASTMATH_H

#include <stddef.h>

/* x[i] = exp(x[i]) for i < n, in place. */
void im_fastmath_expf(float *x, size_t n);

#endif
