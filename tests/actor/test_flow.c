// SPDX-License-Identifier: Apache-2.0
/* The actor's flow control (actor/flow.h): no limit before an advice, a
 * share of the learner's free room by environments, shares rounded at
 * random so that many small ones add up to the room, each advice
 * replacing the last, and a learner without advice lifting the limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "flow.h"

typedef struct advice_case {
	const char *name;
	uint32_t store_free, actor_envs, my_envs;
	int64_t credit; /* expected, exact */
} advice_case;

static const advice_case exact[] = {
	{"whole room to the only actor", 96, 8, 8, 96},
	{"half to one of two equal actors", 96, 16, 8, 48},
	{"by environments", 90, 10, 3, 27},
	{"not yet listed: counts itself", 12, 2, 4, 12},
	{"full store", 0, 16, 8, 0},
};

static void test_exact_shares(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
		const advice_case *c = &exact[i];
		im_flow f;
		im_flow_init(&f, 1);
		im_flow_advise(&f, c->store_free, c->actor_envs, c->my_envs);
		if (f.credit != c->credit)
			fail_msg("%s: credit %lld, expected %lld", c->name,
				 (long long)f.credit, (long long)c->credit);
		assert_int_equal(im_flow_may_send(&f), c->credit > 0);
	}
}

static void test_unlimited_without_advice(void **state)
{
	(void)state;
	im_flow f;
	im_flow_init(&f, 7);
	for (int i = 0; i < 1000; i++) {
		assert_true(im_flow_may_send(&f));
		im_flow_sent(&f, 8);
	}
	/* Limited by an advice, lifted by a learner that gives none. */
	im_flow_advise(&f, 0, 4, 1);
	assert_false(im_flow_may_send(&f));
	im_flow_advise(&f, 0, 0, 1);
	assert_true(im_flow_may_send(&f));
}

static void test_round_then_wait(void **state)
{
	(void)state;
	im_flow f;
	im_flow_init(&f, 3);
	im_flow_advise(&f, 10, 8, 8);
	/* A round of 8, then a second (credit 2 left), then nothing. */
	assert_true(im_flow_may_send(&f));
	im_flow_sent(&f, 8);
	assert_true(im_flow_may_send(&f));
	im_flow_sent(&f, 8);
	assert_false(im_flow_may_send(&f));
	/* The next advice replaces the debt: it is a fresh view. */
	im_flow_advise(&f, 4, 8, 8);
	assert_int_equal(f.credit, 4);
	assert_true(im_flow_may_send(&f));
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
		im_flow_advise(&f, 10, 64, 1);
		assert_true(f.credit == 0 || f.credit == 1);
		total += f.credit;
	}
	/* Expected 10000 (10/64 each); binomial sd ~92: 5 sd either way. */
	assert_true(total > 9540 && total < 10460);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_shares),
		cmocka_unit_test(test_unlimited_without_advice),
		cmocka_unit_test(test_round_then_wait),
		cmocka_unit_test(test_small_shares_add_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
