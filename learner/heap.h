// SPDX-License-Identifier: Apache-2.0
/* The C heap of the learner process (glibc malloc): what it holds, and
 * handing its free pages back to the system.
 *
 * Why: under churn (actors connecting, filling their queues, dying) the
 * trajectories queued in ZeroMQ's pipes are allocated on libzmq's I/O
 * thread, in that thread's malloc arena, and freed on the receiver's.
 * The arena keeps the pages of what was freed in the middle of it, so the
 * process's resident memory follows the highest queue depth ever reached,
 * not the current one, and climbs for a long time as new peaks come
 * (tests/bench/README.md, "soak").  im_heap_trim returns those free pages
 * (malloc_trim(0) releases whole free pages anywhere in every arena, not
 * just at the top), so resident memory follows what is in use.
 *
 * When malloc is not glibc's (another libc, or a sanitizer's allocator,
 * which glibc's figures know nothing of) both are no-ops, the figures read
 * zero and IM_HEAP_GLIBC is 0. */
#ifndef IM_LEARNER_HEAP_H
#define IM_LEARNER_HEAP_H

#include <stddef.h>
#include <stdint.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer)
#define IM_HEAP_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define IM_HEAP_SANITIZED 1
#endif
#if defined(__GLIBC__) && !defined(IM_HEAP_SANITIZED) && \
	(__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#define IM_HEAP_GLIBC 1
#else
#define IM_HEAP_GLIBC 0
#endif

typedef struct im_heap_stats {
	uint64_t system_bytes; /* taken from the system: arenas + mmapped */
	uint64_t in_use_bytes; /* handed out by malloc and not yet freed */
	uint64_t free_bytes;   /* free chunks kept in the arenas */
} im_heap_stats;

/* Pins glibc's mmap threshold at bytes: every block of that size or more
 * is its own mapping, returned to the system by its free(); smaller ones
 * come from the arenas.  0 leaves glibc's dynamic threshold alone.  Call
 * it once, first thing in main (it is process-wide).
 *
 * Why: the blocks that come and go in bursts are libzmq's receive
 * buffers (about 18 KiB in 4.3.4: 8 KiB of data and the reference counts
 * of the messages cut from it) and its pipes' chunks (about 16 KiB),
 * allocated on its I/O thread and freed on the receiver's when the last
 * message in them is consumed.  In an arena, a burst that deepens the
 * queues grows the arena, and the small long-lived blocks placed in it
 * during the burst (a new connection's objects) pin some of its pages
 * after the trim: the soak's RSS rose by steps with each new peak
 * (tests/bench/README.md, "What grew").  Mapped, they leave nothing
 * behind.  Pinning also stops glibc from raising the threshold to the
 * largest mapped block ever freed (up to 32 MiB), which would move every
 * later block of that size, such as image unrolls, into the arenas.
 * Returns IM_OK, or IM_EINVAL above IM_HEAP_MMAP_THRESHOLD_MAX (glibc's
 * own ceiling for its dynamic threshold: past it, arenas' 64 MiB heaps
 * could not hold such a block anyway), below IM_HEAP_MMAP_THRESHOLD_MIN
 * (other than 0) or when malloc refuses; a no-op returning IM_OK without
 * glibc's malloc.
 *
 * The floor: below a page every small block would be a mapping of its
 * own, a page at least and a system call each, and past glibc's limit of
 * 65,536 mappings malloc silently falls back to the arenas. */
#define IM_HEAP_MMAP_THRESHOLD_MAX (32u << 20)
#define IM_HEAP_MMAP_THRESHOLD_MIN 4096u
int im_heap_pin_mmap_threshold(size_t bytes);

/* Fills *out (all arenas; it walks their free lists, under each arena's
 * lock, so call it at most a few times a second).  Zeros without glibc. */
void im_heap_stats_read(im_heap_stats *out);

/* Returns the free pages of every arena to the system; 1 when some were
 * returned.  Takes each arena's lock in turn for the time of its walk
 * (about 1 ms for a heap of tens of MB): call it on an idle path. */
int im_heap_trim(void);

#endif
