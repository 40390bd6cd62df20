// SPDX-License-Identifier: Apache-2.0
#include "rng.h"

#include <fcntl.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

uint64_t im_rng_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void rng_fill(im_rng *r, uint64_t key)
{
	uint64_t x = key;
	r->key = key;
	for (int i = 0; i < 4; i++) {
		x = im_rng_mix64(x);
		r->s[i] = x;
	}
	/* An all-zero state would be a fixed point; mix64 of distinct inputs
	 * cannot give four zeros in practice, but guard anyway. */
	if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
		r->s[0] = 1;
}

void im_rng_init(im_rng *r, uint64_t seed)
{
	rng_fill(r, im_rng_mix64(seed ^ 0x5eed5eed5eed5eedULL));
}

void im_rng_split(im_rng *child, const im_rng *parent, uint64_t stream)
{
	/* Two rounds keep (key, stream) pairs from colliding in simple ways
	 * such as key ^ stream. */
	uint64_t k = im_rng_mix64(parent->key + im_rng_mix64(stream + 1));
	rng_fill(child, k);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t im_rng_u64(im_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

float im_rng_float(im_rng *r)
{
	return (float)(im_rng_u64(r) >> 40) * 0x1.0p-24f;
}

double im_rng_double(im_rng *r)
{
	return (double)(im_rng_u64(r) >> 11) * 0x1.0p-53;
}

float im_rng_uniform(im_rng *r, float lo, float hi)
{
	float u = lo + (hi - lo) * im_rng_float(r);
	/* Rounding can land exactly on hi; keep the interval half-open. */
	return u < hi ? u : lo;
}

uint64_t im_rng_below(im_rng *r, uint64_t n)
{
	uint64_t limit = -n % n; /* 2^64 mod n: reject below it */
	for (;;) {
		uint64_t x = im_rng_u64(r);
		if (x >= limit)
			return x % n;
	}
}

double im_rng_normal(im_rng *r)
{
	/* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]. */
	double u1 = 1.0 - im_rng_double(r);
	double u2 = im_rng_double(r);
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t im_rng_entropy(void)
{
	uint64_t x = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, &x, sizeof x) != (ssize_t)sizeof x)
			x = 0;
		close(fd);
	}
	if (x == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		x = im_rng_mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
				 ((uint64_t)getpid() << 16));
	}
	return x ? x : 1;
}
