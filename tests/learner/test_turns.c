// SPDX-License-Identifier: Apache-2.0
/* The learner threads' apply order (learner/turns.h), driven as learn.c
 * drives it, with a fake compute (a sleep) in place of the model: under
 * the lock a thread takes a batch, a ticket and the version; outside it
 * it "computes"; under the lock again it waits for its turn, applies
 * (version + 1, frames counted) unless its compute failed, and passes
 * the turn.  Each case checks that every batch is applied exactly once,
 * frames are counted once, versions rise by one per apply, applies come
 * in ticket order, and no gradient is applied more than N - 1 updates
 * after the version it was computed at. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "turns.h"

#define MAX_THREADS 8
#define NBATCH 600
#define FRAMES 20 /* per batch */

typedef struct world {
	/* The case. */
	int nthreads;
	int slow_thread; /* this thread computes for slow_us; -1: none */
	int slow_us;     /* the slow thread's compute */
	int fail_every;  /* batch ids that are multiples fail; 0: none */
	/* Shared, under mu. */
	pthread_mutex_t mu;
	im_turns turns;
	int next_batch;
	uint64_t version, frames, applies;
	uint64_t max_stale;
	int applied[NBATCH];
	uint64_t order[NBATCH]; /* tickets in the order their turns came */
	int norder;
	int out_of_step; /* a version that did not rise by exactly one */
} world;

typedef struct worker {
	world *w;
	int id;
	unsigned seed;
} worker;

static void sleep_us(int us)
{
	struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000L};
	nanosleep(&ts, NULL);
}

static void apply(world *w, int batch, uint64_t snap_version)
{
	uint64_t stale = w->version - snap_version;
	if (stale > w->max_stale)
		w->max_stale = stale;
	uint64_t before = w->version;
	w->version++;
	if (w->version != before + 1)
		w->out_of_step = 1;
	w->frames += FRAMES;
	w->applies++;
	w->applied[batch]++;
}

static void *worker_main(void *arg)
{
	worker *k = arg;
	world *w = k->w;
	for (;;) {
		pthread_mutex_lock(&w->mu);
		if (w->next_batch == NBATCH) {
			pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		int batch = w->next_batch++;
		uint64_t ticket = im_turns_take(&w->turns);
		uint64_t snap_version = w->version;
		pthread_mutex_unlock(&w->mu);
		sleep_us(k->id == w->slow_thread ? w->slow_us
						 : (int)(rand_r(&k->seed) % 200));
		int failed = w->fail_every && batch % w->fail_every == 0;
		pthread_mutex_lock(&w->mu);
		im_turns_wait(&w->turns, &w->mu, ticket);
		w->order[w->norder++] = ticket;
		if (!failed)
			apply(w, batch, snap_version);
		im_turns_pass(&w->turns);
		pthread_mutex_unlock(&w->mu);
	}
}

static void run(world *w)
{
	pthread_mutex_init(&w->mu, NULL);
	assert_int_equal(im_turns_init(&w->turns), IM_OK);
	pthread_t thr[MAX_THREADS];
	worker k[MAX_THREADS];
	for (int i = 0; i < w->nthreads; i++) {
		k[i] = (worker){w, i, (unsigned)(i + 1)};
		assert_int_equal(pthread_create(&thr[i], NULL, worker_main, &k[i]), 0);
	}
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(thr[i], NULL);
	im_turns_destroy(&w->turns);
	pthread_mutex_destroy(&w->mu);
}

static void check(const world *w)
{
	uint64_t want = 0;
	for (int b = 0; b < NBATCH; b++) {
		int failed = w->fail_every && b % w->fail_every == 0;
		assert_int_equal(w->applied[b], failed ? 0 : 1);
		want += failed ? 0 : 1;
	}
	assert_int_equal(w->applies, want);
	assert_int_equal(w->version, want);
	assert_int_equal(w->frames, want * FRAMES);
	assert_false(w->out_of_step);
	assert_int_equal(w->norder, NBATCH);
	for (int i = 0; i < NBATCH; i++)
		assert_int_equal(w->order[i], (uint64_t)i);
	assert_true(w->max_stale <= (uint64_t)(w->nthreads - 1));
}

static world *new_world(int nthreads, int slow_thread, int slow_us,
			int fail_every)
{
	world *w = calloc(1, sizeof *w);
	assert_non_null(w);
	w->nthreads = nthreads;
	w->slow_thread = slow_thread;
	w->slow_us = slow_us;
	w->fail_every = fail_every;
	return w;
}

static void run_case(int nthreads, int slow_thread, int slow_us,
		     int fail_every)
{
	world *w = new_world(nthreads, slow_thread, slow_us, fail_every);
	run(w);
	check(w);
	free(w);
}

static void test_one_thread_is_never_stale(void **state)
{
	(void)state;
	world *w = new_world(1, -1, 0, 0);
	run(w);
	check(w);
	assert_int_equal(w->max_stale, 0);
	free(w);
}

static void test_two_threads(void **state)
{
	(void)state;
	run_case(2, -1, 0, 0);
}

static void test_four_threads(void **state)
{
	(void)state;
	run_case(4, -1, 0, 0);
}

/* One thread computes 100 times longer than the others: without the
 * turns they would apply dozens of updates meanwhile, and its gradients
 * would be that stale. */
static void test_slow_thread_holds_the_others_back(void **state)
{
	(void)state;
	world *w = new_world(3, 0, 5000, 0);
	run(w);
	check(w);
	/* The bound is reached: the others applied while it computed. */
	assert_int_equal(w->max_stale, 2);
	free(w);
}

/* A failed compute applies nothing but passes its turn: nobody waits
 * forever and the failed batches are not counted. */
static void test_failed_computes_pass_their_turn(void **state)
{
	(void)state;
	run_case(4, -1, 0, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_thread_is_never_stale),
		cmocka_unit_test(test_two_threads),
		cmocka_unit_test(test_four_threads),
		cmocka_unit_test(test_slow_thread_holds_the_others_back),
		cmocka_unit_test(test_failed_computes_pass_their_turn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
