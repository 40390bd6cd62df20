/* A vectorisable exp over float arrays, for the loss's softmax loops.
 *
 * glibc's expf is a call the compiler cannot vectorise without -ffast-math;
 * this one is plain arithmetic: round x / ln 2 to n with the 1.5 * 2^23
 * trick, reduce r = x - n ln 2 (in two parts), a degree-6 polynomial for
 * e^r (Cephes' expf coefficients), and 2^n built in the exponent bits.
 * Relative error below 2e-7 on [-87, 88.7] (tests hold it to exp() in
 * double); inputs below -87.3 (and -inf) give 0 where glibc gives
 * denormals; inputs above 88.7 are clamped to it; NaN is not propagated. */
#ifndef IM_LEARN_FASTMATH_H
#define IM_LEARN_FASTMATH_H

#include <stddef.h>

/* x[i] = exp(x[i]) for i < n, in place. */
void im_fastmath_expf(float *x, size_t n);

#endif
