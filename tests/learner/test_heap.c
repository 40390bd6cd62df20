// SPDX-License-Identifier: Apache-2.0
/* learner/heap: the figures move by what the test allocates, and a trim
 * gives back the pages of blocks freed in the middle of a thread's arena,
 * which free() alone keeps resident (the soak's growth, heap.h), and a
 * pinned mmap threshold keeps big blocks out of the arenas. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "heap.h"
#include "procstat.h"

/* Blocks of a churned queue: small enough to come from an arena rather
 * than from mmap, as ZeroMQ's message buffers do. */
#define BLOCK (8u << 10)
#define NBLOCKS 8192u /* 64 MiB */

static uint64_t rss(void)
{
	im_procstat p;
	assert_int_equal(im_procstat_read(&p), IM_OK);
	return p.rss_bytes;
}

/* Under a sanitizer malloc is not glibc's: nothing here applies. */
static void need_glibc(void)
{
	if (!IM_HEAP_GLIBC)
		skip();
}

static void test_figures_follow_allocations(void **state)
{
	(void)state;
	need_glibc();
	const size_t n = 32u << 20;
	im_heap_stats a, b, c;
	im_heap_stats_read(&a);
	assert_true(a.in_use_bytes > 0);
	assert_int_equal(a.system_bytes, a.in_use_bytes + a.free_bytes);
	char *p = malloc(n);
	assert_non_null(p);
	im_heap_stats_read(&b);
	assert_true(b.in_use_bytes >= a.in_use_bytes + n);
	assert_int_equal(b.system_bytes, b.in_use_bytes + b.free_bytes);
	free(p);
	im_heap_stats_read(&c);
	assert_true(c.in_use_bytes < b.in_use_bytes - n + (1u << 20));
}

typedef struct churn {
	uint64_t rss_freed;   /* after the free()s, before any trim */
	uint64_t rss_trimmed; /* after im_heap_trim */
	uint64_t rss_full;    /* with every block touched */
} churn;

/* On its own thread (so in an arena of its own, like libzmq's I/O
 * thread): fills NBLOCKS blocks, keeps the last one (so that the arena's
 * top cannot simply shrink), frees the others, then trims. */
static void *churn_thread(void *arg)
{
	churn *out = arg;
	char **blocks = calloc(NBLOCKS, sizeof *blocks);
	if (!blocks)
		return NULL;
	for (uint32_t i = 0; i < NBLOCKS; i++) {
		blocks[i] = malloc(BLOCK);
		if (blocks[i])
			memset(blocks[i], (int)i, BLOCK);
	}
	out->rss_full = rss();
	for (uint32_t i = 0; i + 1 < NBLOCKS; i++)
		free(blocks[i]);
	out->rss_freed = rss();
	im_heap_trim();
	out->rss_trimmed = rss();
	free(blocks[NBLOCKS - 1]);
	free(blocks);
	return NULL;
}

static void test_trim_returns_freed_pages(void **state)
{
	(void)state;
	need_glibc();
	churn c = {0};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, churn_thread, &c), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	const uint64_t total = (uint64_t)BLOCK * NBLOCKS;
	/* free() kept most of the pages: without a trim the resident size
	 * stays near the peak (the behaviour the trim is for). */
	assert_true(c.rss_freed + total / 2 > c.rss_full);
	/* The trim gave back at least half of what was freed. */
	assert_true(c.rss_trimmed + total / 2 < c.rss_freed);
}

#if IM_HEAP_GLIBC
#include <malloc.h>

static size_t mapped_blocks(void)
{
	return mallinfo2().hblks;
}
#else
static size_t mapped_blocks(void)
{
	return 0;
}
#endif

/* Pinned, the threshold stays where it was put: a block of libzmq's
 * receive-buffer size is its own mapping even after a far bigger mapped
 * block was freed (which raises glibc's dynamic threshold to that size
 * and would put every later block below it in an arena).  Process-wide:
 * the last case of this file. */
static void test_pinned_threshold_maps_blocks(void **state)
{
	(void)state;
	need_glibc();
	assert_int_equal(im_heap_pin_mmap_threshold(16u << 10), IM_OK);
	char *big = malloc(4u << 20);
	assert_non_null(big);
	memset(big, 1, 4u << 20);
	free(big);
	size_t before = mapped_blocks();
	char *buf = malloc(18u << 10);
	char *mid = malloc(1u << 20);
	assert_non_null(buf);
	assert_non_null(mid);
	assert_int_equal(mapped_blocks(), before + 2);
	char *small = malloc(8u << 10);
	assert_non_null(small);
	assert_int_equal(mapped_blocks(), before + 2);
	free(small);
	free(mid);
	free(buf);
	assert_int_equal(mapped_blocks(), before);
}

static void test_pin_refuses_what_malloc_refuses(void **state)
{
	(void)state;
	need_glibc();
	assert_int_equal(im_heap_pin_mmap_threshold(IM_HEAP_MMAP_THRESHOLD_MAX + 1),
			 IM_EINVAL);
	assert_int_equal(im_heap_pin_mmap_threshold(1), IM_EINVAL);
	assert_int_equal(im_heap_pin_mmap_threshold(IM_HEAP_MMAP_THRESHOLD_MIN - 1),
			 IM_EINVAL);
	assert_int_equal(im_heap_pin_mmap_threshold(IM_HEAP_MMAP_THRESHOLD_MIN),
			 IM_OK);
	assert_int_equal(im_heap_pin_mmap_threshold(0), IM_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_figures_follow_allocations),
		cmocka_unit_test(test_trim_returns_freed_pages),
		cmocka_unit_test(test_pin_refuses_what_malloc_refuses),
		cmocka_unit_test(test_pinned_threshold_maps_blocks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
