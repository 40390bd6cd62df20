// SPDX-License-Identifier: Apache-2.0
/* Human log lines on stderr, one per event, journald-friendly:
 *   2026-11-21T13:30:00.123Z impala-learner[1234] WARN  message
 * Only programs' main paths log; library code returns IM_E* codes. */
#ifndef IM_LOG_H
#define IM_LOG_H

#include <stdint.h>
#include <time.h>

typedef enum im_log_level {
	IM_LOG_DEBUG = 0,
	IM_LOG_INFO = 1,
	IM_LOG_WARN = 2,
	IM_LOG_ERROR = 3,
	IM_LOG_OFF = 4,
} im_log_level;

/* prog is borrowed and must outlive logging (argv[0] or a literal). */
void im_log_init(const char *prog, im_log_level level);
void im_log_set_level(im_log_level level);
im_log_level im_log_get_level(void);
/* Parses "debug", "info", "warn", "error", "off"; returns IM_EINVAL otherwise. */
int im_log_parse_level(const char *s, im_log_level *out);

void im_log(im_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define im_debug(...) im_log(IM_LOG_DEBUG, __VA_ARGS__)
#define im_info(...) im_log(IM_LOG_INFO, __VA_ARGS__)
#define im_warn(...) im_log(IM_LOG_WARN, __VA_ARGS__)
#define im_error(...) im_log(IM_LOG_ERROR, __VA_ARGS__)

/* A rate limiter for warnings about hostile or repeated input: at most
 * `burst` messages per `interval_ms`; the rest are counted in `suppressed`
 * and reported with the next message that passes.  Zero-initialise, then set
 * interval_ms and burst.  Not thread-safe: keep one per thread or lock. */
typedef struct im_log_ratelimit {
	uint32_t interval_ms;
	uint32_t burst;
	uint64_t window_start_ms;
	uint32_t in_window;
	uint64_t suppressed;
} im_log_ratelimit;

/* Returns 1 when a message may be logged now (and writes the number of
 * messages suppressed since the last one to *suppressed), else 0. */
int im_log_ratelimit_ok(im_log_ratelimit *rl, uint64_t *suppressed);

/* Milliseconds on the monotonic clock. */
uint64_t im_now_ms(void);
/* Nanoseconds on the monotonic clock. */
uint64_t im_now_ns(void);
/* The monotonic time ms (>= 0) milliseconds from now: the deadline for
 * pthread_cond_timedwait on a condition variable whose clock was set to
 * CLOCK_MONOTONIC (a wall-clock step must not stretch or cut a wait). */
struct timespec im_deadline_ms(int ms);

#endif
