// SPDX-License-Identifier: Apache-2.0
/* The actor's flow control (actor/flow.h): no limit before an advice, a
 * share of the learner's free room by environments, shares rounded at
 * random so that many small ones add up to the room, each advice
 * replacing the last, the unrolls in flight (sent from the learner's mark
 * on) subtracted, and the horizon that forgets lost ones.  A simulated store, learner and two actors with a
 * link slower than the broadcasts shows the overshoot the rule before
 * caused, and that the learner does not starve for it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "flow.h"

/* Advises f as a Params would: store_free, actor_envs, and the marks
 * (counted) with this actor's mark. */
static void advise(im_flow *f, uint32_t store_free, uint32_t actor_envs,
		   uint32_t my_envs, int counted, uint64_t mark, uint64_t now)
{
	im_flow_advice a = {.store_free = store_free,
			    .actor_envs = actor_envs,
			    .counted = counted,
			    .mark = mark};
	im_flow_advise(f, &a, my_envs, now);
}

static void send_seqs(im_flow *f, uint64_t from, uint64_t n, uint64_t now)
{
	for (uint64_t k = 0; k < n; k++) /* from + n may wrap */
		im_flow_sent(f, from + k, now);
}

typedef struct share_case {
	const char *name;
	uint32_t store_free, actor_envs, my_envs;
	int64_t credit; /* expected, exact */
} share_case;

static const share_case shares[] = {
	{"whole room to the only actor", 96, 8, 8, 96},
	{"half to one of two equal actors", 96, 16, 8, 48},
	{"by environments", 90, 10, 3, 27},
	{"not yet listed: counts itself", 12, 2, 4, 12},
	{"full store", 0, 16, 8, 0},
};

static void test_exact_shares(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof shares / sizeof shares[0]; i++) {
		const share_case *c = &shares[i];
		im_flow f;
		im_flow_init(&f, 1);
		advise(&f, c->store_free, c->actor_envs, c->my_envs, 1, 0, 0);
		if (f.credit != c->credit)
			fail_msg("%s: credit %lld, expected %lld", c->name,
				 (long long)f.credit, (long long)c->credit);
		assert_int_equal(im_flow_may_send(&f), c->credit > 0);
	}
}

/* The actor sent `sent` unrolls numbered from first since its Welcome,
 * then heard an advice with store_free 40 over 16 environments (its share
 * of 8 environments: 20) and its mark. */
typedef struct flight_case {
	const char *name;
	int counted;
	uint64_t mark, first, sent;
	int64_t credit;
	int may_send;
} flight_case;

static const flight_case flights[] = {
	{"sent from the mark on are in flight", 1, 10, 0, 18, 12, 1},
	{"all received: nothing in flight", 1, 18, 0, 18, 20, 1},
	{"not listed: all since the Welcome in flight", 1, 0, 100, 8, 12, 1},
	{"a mark from before the Welcome counts from it", 1, 50, 100, 8, 12,
	 1},
	{"a mark past what was sent counts nothing", 1, 30, 0, 18, 20, 1},
	{"as many in flight as the share: wait", 1, 0, 0, 20, 0, 0},
	{"more in flight than the share: wait", 1, 0, 0, 26, -6, 0},
	{"no marks (a learner before them): none counted", 0, 0, 0, 18, 20,
	 1},
	/* next_seq saturates at 2^64 - 1 instead of wrapping to 0 (which
	 * counted nothing in flight): the last number is not counted. */
	{"numbers up to 2^64 - 1: saturated, not wrapped", 1, 0,
	 UINT64_MAX - 4, 5, 16, 1},
};

static void test_in_flight(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof flights / sizeof flights[0]; i++) {
		const flight_case *c = &flights[i];
		im_flow f;
		im_flow_init(&f, 1);
		im_flow_welcome(&f);
		send_seqs(&f, c->first, c->sent, 0);
		advise(&f, 40, 16, 8, c->counted, c->mark, 10);
		if (f.credit != c->credit || im_flow_may_send(&f) != c->may_send)
			fail_msg("%s: credit %lld may_send %d, expected %lld %d",
				 c->name, (long long)f.credit,
				 im_flow_may_send(&f), (long long)c->credit,
				 c->may_send);
	}
}

typedef struct mark_case {
	const char *name;
	uint64_t ids[3], seqs[3];
	size_t n_ids, n_seqs;
	int counted;
	uint64_t mark;
} mark_case;

static const mark_case marks[] = {
	{"listed", {5, 7, 9}, {50, 70, 90}, 3, 3, 1, 70},
	{"not listed", {5, 9}, {50, 90}, 2, 2, 1, 0},
	{"no marks", {0}, {0}, 0, 0, 0, 0},
	{"arrays of different lengths", {7, 9}, {70}, 2, 1, 0, 0},
};

static void test_find_mark(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
		const mark_case *c = &marks[i];
		im_flow_advice a = {.counted = -1, .mark = 12345};
		im_flow_find_mark(&a, c->ids, c->n_ids, c->seqs, c->n_seqs, 7);
		if (a.counted != c->counted || a.mark != c->mark)
			fail_msg("%s: counted %d mark %llu", c->name, a.counted,
				 (unsigned long long)a.mark);
	}
}

static void test_unlimited_without_advice(void **state)
{
	(void)state;
	im_flow f;
	im_flow_init(&f, 7);
	for (uint64_t i = 0; i < 1000; i++) {
		assert_true(im_flow_may_send(&f));
		im_flow_sent(&f, i, 0);
	}
	/* Limited by an advice, lifted by a learner that gives none. */
	advise(&f, 0, 4, 1, 1, 1000, 0);
	assert_false(im_flow_may_send(&f));
	advise(&f, 0, 0, 1, 1, 1000, 0);
	assert_true(im_flow_may_send(&f));
	/* And by a Welcome. */
	advise(&f, 0, 4, 1, 1, 1000, 0);
	im_flow_welcome(&f);
	assert_true(im_flow_may_send(&f));
}

static void test_round_then_wait(void **state)
{
	(void)state;
	im_flow f;
	im_flow_init(&f, 3);
	advise(&f, 10, 8, 8, 1, 0, 0);
	/* A round of 8, then a second (credit 2 left), then nothing. */
	assert_true(im_flow_may_send(&f));
	send_seqs(&f, 0, 8, 0);
	assert_true(im_flow_may_send(&f));
	send_seqs(&f, 8, 8, 0);
	assert_false(im_flow_may_send(&f));
	/* The next advice replaces the credit: a fresh view of the store,
	 * less what is still on the way (seq 12 to 15). */
	advise(&f, 20, 8, 8, 1, 12, 1);
	assert_int_equal(f.credit, 16);
	assert_true(im_flow_may_send(&f));
	/* All on the way: nothing left. */
	advise(&f, 4, 8, 8, 1, 12, 2);
	assert_int_equal(f.credit, 0);
	assert_false(im_flow_may_send(&f));
}

/* An unroll lost on the way never raises the mark: after the horizon
 * (between one and two of it) it no longer counts. */
static void test_horizon_forgets_lost(void **state)
{
	(void)state;
	im_flow f;
	im_flow_init(&f, 5);
	im_flow_welcome(&f);
	send_seqs(&f, 0, 8, 0);
	advise(&f, 16, 8, 8, 1, 0, 500);
	assert_int_equal(f.credit, 8);
	advise(&f, 16, 8, 8, 1, 0, IM_FLOW_HORIZON_MS);
	assert_int_equal(f.credit, 8);
	advise(&f, 16, 8, 8, 1, 0, 2 * IM_FLOW_HORIZON_MS - 1);
	assert_int_equal(f.credit, 8);
	advise(&f, 16, 8, 8, 1, 0, 2 * IM_FLOW_HORIZON_MS);
	assert_int_equal(f.credit, 16);
	assert_int_equal(f.in_flight, 0);
}

/* 64 actors of one environment share 10 free slots: each gets 0 or 1,
 * and on average the shares add up to the room. */
static void test_small_shares_add_up(void **state)
{
	(void)state;
	im_flow f;
	im_flow_init(&f, 12345);
	int64_t total = 0;
	const int n = 64000;
	for (int i = 0; i < n; i++) {
		advise(&f, 10, 64, 1, 1, 0, 0);
		assert_true(f.credit == 0 || f.credit == 1);
		total += f.credit;
	}
	/* Expected 10000 (10/64 each); binomial sd ~92: 5 sd either way. */
	assert_true(total > 9540 && total < 10460);
}

/* ---- a simulated pipeline ------------------------------------------- */

/* One millisecond per step.  Two actors of 8 environments act a round in
 * ACT_MS and their unrolls reach the store LINK_MS later; the learner
 * takes a batch of 8 every TAKE_MS while 8 are queued; a Params measures
 * the store and the marks every PARAMS_MS and reaches the actors 1 ms
 * later.  The actors could fill the store four times faster than the
 * learner empties it, and the link is slower than the broadcasts: the
 * case of the MinAtar benchmark (2 actors, a Params every 5 ms). */
#define CAP 60
#define ENVS 8
#define ACTORS 2
#define ACT_MS 2
#define LINK_MS 7
#define TAKE_MS 4
#define PARAMS_MS 5
#define RUN_MS 20000
#define WARM_MS 200
#define PIPE (ACTORS * ENVS * (LINK_MS / ACT_MS + 2))

typedef struct sim_unroll {
	int actor;
	uint64_t seq, arrive;
} sim_unroll;

typedef struct sim {
	im_flow flow[ACTORS];
	uint64_t next_seq[ACTORS], act_done[ACTORS], mark[ACTORS];
	int acting[ACTORS];
	sim_unroll pipe[PIPE];
	size_t head, len;
	uint32_t depth;
	uint64_t evicted, arrived, taken, starved;
	/* A Params on its way: measured, to arrive at params_at. */
	im_flow_advice pending[ACTORS];
	uint64_t params_at;
} sim;

static void sim_arrivals(sim *s, uint64_t t)
{
	while (s->len && s->pipe[s->head].arrive <= t) {
		sim_unroll *u = &s->pipe[s->head];
		s->mark[u->actor] = u->seq + 1;
		s->arrived++;
		if (s->depth == CAP)
			s->evicted++;
		else
			s->depth++;
		s->head = (s->head + 1) % PIPE;
		s->len--;
	}
}

static void sim_learner(sim *s, uint64_t t)
{
	if (t % TAKE_MS)
		return;
	if (s->depth >= 8) {
		s->depth -= 8;
		s->taken += 8;
	} else if (t >= WARM_MS) {
		s->starved++;
	}
}

static void sim_params(sim *s, uint64_t t)
{
	if (t % PARAMS_MS == 0)
		for (int a = 0; a < ACTORS; a++)
			s->pending[a] = (im_flow_advice){
				.store_free = CAP - s->depth,
				.actor_envs = ACTORS * ENVS,
				.counted = 1,
				.mark = s->mark[a]};
	if (t % PARAMS_MS == 1)
		for (int a = 0; a < ACTORS; a++)
			im_flow_advise(&s->flow[a], &s->pending[a], ENVS, t);
}

static void sim_actor(sim *s, int a, uint64_t t)
{
	if (s->acting[a] && s->act_done[a] <= t) {
		for (int e = 0; e < ENVS; e++) {
			assert_true(s->len < PIPE);
			size_t at = (s->head + s->len++) % PIPE;
			s->pipe[at] = (sim_unroll){a, s->next_seq[a], t + LINK_MS};
			im_flow_sent(&s->flow[a], s->next_seq[a]++, t);
		}
		s->acting[a] = 0;
	}
	if (!s->acting[a] && im_flow_may_send(&s->flow[a])) {
		s->acting[a] = 1;
		s->act_done[a] = t + ACT_MS;
	}
}

static void test_simulated_no_overshoot(void **state)
{
	(void)state;
	static sim s;
	memset(&s, 0, sizeof s);
	for (int a = 0; a < ACTORS; a++) {
		im_flow_init(&s.flow[a], 100 + (uint64_t)a);
		im_flow_welcome(&s.flow[a]);
	}
	for (uint64_t t = 0; t < RUN_MS; t++) {
		sim_arrivals(&s, t);
		sim_learner(&s, t);
		sim_params(&s, t);
		for (int a = 0; a < ACTORS; a++)
			sim_actor(&s, a, t);
	}
	/* The learner took a batch at every chance after the warm-up, and no
	 * unroll was evicted.  The rule before evicted 17% of them. */
	print_message("arrived %llu taken %llu evicted %llu starved %llu\n",
		      (unsigned long long)s.arrived,
		      (unsigned long long)s.taken,
		      (unsigned long long)s.evicted,
		      (unsigned long long)s.starved);
	assert_int_equal(s.starved, 0);
	assert_true(s.taken >= 8 * (RUN_MS - WARM_MS) / TAKE_MS);
	assert_int_equal(s.evicted, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_shares),
		cmocka_unit_test(test_in_flight),
		cmocka_unit_test(test_find_mark),
		cmocka_unit_test(test_unlimited_without_advice),
		cmocka_unit_test(test_round_then_wait),
		cmocka_unit_test(test_horizon_forgets_lost),
		cmocka_unit_test(test_small_shares_add_up),
		cmocka_unit_test(test_simulated_no_overshoot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
