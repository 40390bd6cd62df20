// SPDX-License-Identifier: Apache-2.0
/* learner/progress.c: the window of the last episodes' returns and
 * lengths, the last update's terms, NaN means before the first episode,
 * the fields it leaves alone, concurrent writers, and the target-return
 * latch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "err.h"
#include "progress.h"

static void fill(im_progress *p, im_status_snapshot *s)
{
	memset(s, 0, sizeof *s);
	im_progress_fill(p, s);
}

static void test_empty_means_are_nan(void **state)
{
	(void)state;
	im_progress *p = NULL;
	assert_int_equal(im_progress_new(&p), IM_OK);
	im_status_snapshot s;
	fill(p, &s);
	assert_int_equal(s.episodes, 0);
	assert_true(isnan(s.mean_return));
	assert_true(isnan(s.mean_length));
	im_progress_free(p);
}

/* 150 episodes with return i and length 2i: the means are over the last
 * 100 (50..149), the count over all. */
static void test_window_keeps_the_last_episodes(void **state)
{
	(void)state;
	im_progress *p = NULL;
	assert_int_equal(im_progress_new(&p), IM_OK);
	for (int i = 0; i < 150; i++)
		im_progress_episode(p, (float)i, (uint32_t)(2 * i));
	im_status_snapshot s;
	fill(p, &s);
	assert_int_equal(s.episodes, 150);
	assert_float_equal(s.mean_return, 99.5, 1e-9);
	assert_float_equal(s.mean_length, 199.0, 1e-9);
	im_progress_free(p);
}

static void test_update_terms_and_other_fields(void **state)
{
	(void)state;
	im_progress *p = NULL;
	assert_int_equal(im_progress_new(&p), IM_OK);
	im_update_stats st = {.grad_norm = 3.5};
	st.loss.pg_loss = 1.0;
	st.loss.baseline_loss = 2.0;
	st.loss.entropy_loss = -0.5;
	st.loss.mean_entropy = 0.69;
	st.loss.total = 2.5;
	im_progress_update(p, &st, 4e-4, 1.5, 3.0);
	im_status_snapshot s;
	memset(&s, 0, sizeof s);
	s.frames = 77;
	s.store_depth = 5;
	im_progress_fill(p, &s);
	assert_float_equal(s.pg_loss, 1.0, 1e-9);
	assert_float_equal(s.baseline_loss, 2.0, 1e-9);
	assert_float_equal(s.entropy_loss, -0.5, 1e-9);
	assert_float_equal(s.entropy, 0.69, 1e-6);
	assert_float_equal(s.total_loss, 2.5, 1e-9);
	assert_float_equal(s.grad_norm, 3.5, 1e-9);
	assert_float_equal(s.learning_rate, 4e-4, 1e-12);
	assert_float_equal(s.policy_lag_mean, 1.5, 1e-9);
	assert_float_equal(s.policy_lag_max, 3.0, 1e-9);
	assert_int_equal(s.frames, 77);
	assert_int_equal(s.store_depth, 5);
	im_progress_free(p);
}

static im_progress *armed(double target)
{
	im_progress *p = NULL;
	assert_int_equal(im_progress_new(&p), IM_OK);
	im_progress_set_target(p, target);
	return p;
}

static void episodes(im_progress *p, int n, float ret)
{
	for (int i = 0; i < n; i++)
		im_progress_episode(p, ret, 10);
}

/* Not before the window is full: 99 episodes above the target are not
 * "the mean of the last 100"; the 100th is. */
static void test_target_waits_for_a_full_window(void **state)
{
	(void)state;
	im_progress *p = armed(475);
	double mean = -1;
	episodes(p, 99, 500);
	assert_int_equal(im_progress_reached(p, &mean), 0);
	assert_float_equal(mean, -1, 0);
	episodes(p, 1, 500);
	assert_int_equal(im_progress_reached(p, &mean), 1);
	assert_float_equal(mean, 500, 1e-9);
	im_progress_free(p);
}

/* The mean crosses the target at the exact episode (9 + 11k/100 >= 10 at
 * k = 10, not at 9) and the latch holds when the mean falls back: the
 * case a periodic look at the mean can miss. */
static void test_target_latches_the_crossing(void **state)
{
	(void)state;
	im_progress *p = armed(10);
	double mean = 0;
	episodes(p, 100, 9);
	episodes(p, 9, 20);
	assert_int_equal(im_progress_reached(p, NULL), 0);
	episodes(p, 1, 20);
	assert_int_equal(im_progress_reached(p, &mean), 1);
	assert_float_equal(mean, 10.1, 1e-9);
	episodes(p, 100, 0);
	assert_int_equal(im_progress_reached(p, &mean), 1);
	assert_float_equal(mean, 10.1, 1e-9);
	im_status_snapshot s;
	fill(p, &s);
	assert_float_equal(s.mean_return, 0, 0);
	im_progress_free(p);
}

/* Negative targets (Acrobot's -100) work; 0 (the flag's off) never
 * latches; arming again clears a latched crossing. */
static void test_target_negative_off_and_rearmed(void **state)
{
	(void)state;
	im_progress *p = armed(-100);
	episodes(p, 100, -150);
	assert_int_equal(im_progress_reached(p, NULL), 0);
	episodes(p, 100, -90);
	assert_int_equal(im_progress_reached(p, NULL), 1);
	im_progress_set_target(p, 0);
	assert_int_equal(im_progress_reached(p, NULL), 0);
	episodes(p, 200, 1e6f);
	assert_int_equal(im_progress_reached(p, NULL), 0);
	im_progress_set_target(p, 1e7);
	episodes(p, 100, 1e6f);
	assert_int_equal(im_progress_reached(p, NULL), 0);
	im_progress_free(p);

	p = NULL;
	assert_int_equal(im_progress_new(&p), IM_OK);
	episodes(p, 200, 500);
	assert_int_equal(im_progress_reached(p, NULL), 0);
	im_progress_free(p);
}

#define WRITERS 4
#define EACH 5000

static void *writer(void *arg)
{
	im_progress *p = arg;
	im_update_stats st = {.grad_norm = 1.0};
	for (int i = 0; i < EACH; i++) {
		im_progress_episode(p, 1.0f, 10);
		im_progress_update(p, &st, 1e-3, 0, 0);
	}
	return NULL;
}

/* Writers on several threads (the receiver's and the learners') and a
 * reader: no episode is lost and every mean is of whole records. */
static void test_concurrent_writers(void **state)
{
	(void)state;
	im_progress *p = NULL;
	assert_int_equal(im_progress_new(&p), IM_OK);
	pthread_t th[WRITERS];
	for (int i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, writer, p), 0);
	im_status_snapshot s;
	for (int i = 0; i < 100; i++) {
		fill(p, &s);
		if (s.episodes)
			assert_float_equal(s.mean_length, 10.0, 1e-9);
	}
	for (int i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
	fill(p, &s);
	assert_int_equal(s.episodes, WRITERS * EACH);
	assert_float_equal(s.mean_return, 1.0, 1e-9);
	im_progress_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_means_are_nan),
		cmocka_unit_test(test_window_keeps_the_last_episodes),
		cmocka_unit_test(test_update_terms_and_other_fields),
		cmocka_unit_test(test_concurrent_writers),
		cmocka_unit_test(test_target_waits_for_a_full_window),
		cmocka_unit_test(test_target_latches_the_crossing),
		cmocka_unit_test(test_target_negative_off_and_rearmed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
