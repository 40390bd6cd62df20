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

void im_flow_welcome(im_flow *f)
{
	f->limited = 0;
	f->started = 0;
	f->in_flight = 0;
}

void im_flow_find_mark(im_flow_advice *a, const uint64_t *ids, size_t n_ids,
		       const uint64_t *seqs, size_t n_seqs, uint64_t actor_id)
{
	a->counted = n_ids && n_ids == n_seqs;
	a->mark = 0;
	for (size_t i = 0; a->counted && i < n_ids; i++)
		if (ids[i] == actor_id) {
			a->mark = seqs[i];
			return;
		}
}

/* Moves the horizon on once IM_FLOW_HORIZON_MS have passed since its last
 * move: what was sent before the last move is now that old at least. */
static void roll_horizon(im_flow *f, uint64_t now_ms)
{
	if (now_ms - f->cur_ms < IM_FLOW_HORIZON_MS)
		return;
	f->old_seq = f->cur_seq;
	f->cur_seq = f->next_seq;
	f->cur_ms = now_ms;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Unrolls sent that the learner had not received when it measured the
 * room: from the highest of its mark, the first sent since the Welcome
 * and the horizon, up to the next to send. */
static uint64_t in_flight(const im_flow *f, const im_flow_advice *a)
{
	if (!f->started || !a->counted)
		return 0;
	uint64_t from = max_u64(a->mark, max_u64(f->base_seq, f->old_seq));
	return f->next_seq > from ? f->next_seq - from : 0;
}

/* floor(num / den) plus one with probability (num mod den) / den. */
static int64_t share(im_flow *f, uint64_t num, uint64_t den)
{
	uint64_t q = num / den, r = num % den;
	return (int64_t)q + (r && next_u64(&f->rng) % den < r);
}

void im_flow_advise(im_flow *f, const im_flow_advice *a, uint32_t my_envs,
		    uint64_t now_ms)
{
	if (a->actor_envs == 0) {
		f->limited = 0;
		return;
	}
	if (f->started)
		roll_horizon(f, now_ms);
	uint32_t mine = my_envs ? my_envs : 1;
	uint32_t all = a->actor_envs > mine ? a->actor_envs : mine;
	f->limited = 1;
	f->in_flight = in_flight(f, a);
	f->credit = share(f, (uint64_t)a->store_free * mine, all) -
		    (int64_t)f->in_flight;
}

int im_flow_may_send(const im_flow *f)
{
	return !f->limited || f->credit > 0;
}

void im_flow_sent(im_flow *f, uint64_t seq, uint64_t now_ms)
{
	if (!f->started) {
		f->started = 1;
		f->base_seq = f->old_seq = f->cur_seq = seq;
		f->cur_ms = now_ms;
	}
	/* Saturated: seq 2^64 - 1 would wrap next_seq to 0 and count
	 * nothing in flight (an actor never numbers that far; the last
	 * number is then not counted). */
	f->next_seq = seq < UINT64_MAX ? seq + 1 : UINT64_MAX;
	f->credit -= 1;
	roll_horizon(f, now_ms);
}
