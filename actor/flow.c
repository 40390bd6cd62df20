// SPDX-License-Identifier: Apache-2.0
#include "flow.h"

#include <string.h>

/* splitmix64: enough for unbiased roundings. */
static uint64_t next_u64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void im_flow_init(im_flow *f, uint64_t seed)
{
	memset(f, 0, sizeof *f);
	f->rng = seed;
}

/* floor(num / den) plus one with probability (num mod den) / den. */
static int64_t share(im_flow *f, uint64_t num, uint64_t den)
{
	uint64_t q = num / den, r = num % den;
	return (int64_t)q + (r && next_u64(&f->rng) % den < r);
}

void im_flow_advise(im_flow *f, uint32_t store_free, uint32_t actor_envs,
		    uint32_t my_envs)
{
	if (actor_envs == 0) {
		f->limited = 0;
		return;
	}
	uint32_t mine = my_envs ? my_envs : 1;
	uint32_t all = actor_envs > mine ? actor_envs : mine;
	f->limited = 1;
	f->credit = share(f, (uint64_t)store_free * mine, all);
}

int im_flow_may_send(const im_flow *f)
{
	return !f->limited || f->credit > 0;
}

void im_flow_sent(im_flow *f, uint32_t n)
{
	f->credit -= n;
}
