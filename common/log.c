// SPDX-License-Identifier: Apache-2.0
#include "log.h"

#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "impala";
static im_log_level log_level = IM_LOG_INFO;
static const char *const log_names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

void im_log_init(const char *prog, im_log_level level)
{
	if (prog) {
		const char *slash = strrchr(prog, '/');
		log_prog = slash ? slash + 1 : prog;
	}
	log_level = level;
}

void im_log_set_level(im_log_level level)
{
	log_level = level;
}

im_log_level im_log_get_level(void)
{
	return log_level;
}

int im_log_parse_level(const char *s, im_log_level *out)
{
	static const char *const names[] = {"debug", "info", "warn", "error", "off"};
	for (int i = 0; i < 5; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (im_log_level)i;
			return IM_OK;
		}
	}
	return IM_EINVAL;
}

void im_log(im_log_level level, const char *fmt, ...)
{
	if (level < log_level || level >= IM_LOG_OFF)
		return;
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

	/* Format into one buffer and write it with one call, so that lines
	 * from several threads or processes do not interleave. */
	char line[2048];
	int n = snprintf(line, sizeof line, "%s.%03ldZ %s[%d] %s ", stamp,
			 ts.tv_nsec / 1000000, log_prog, (int)getpid(),
			 log_names[level]);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof line)
		n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line - 1)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}

int im_log_ratelimit_ok(im_log_ratelimit *rl, uint64_t *suppressed)
{
	uint64_t now = im_now_ms();
	if (rl->window_start_ms == 0 ||
	    now - rl->window_start_ms >= rl->interval_ms) {
		rl->window_start_ms = now;
		rl->in_window = 0;
	}
	if (rl->in_window >= rl->burst) {
		rl->suppressed++;
		return 0;
	}
	rl->in_window++;
	if (suppressed)
		*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return 1;
}

uint64_t im_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t im_now_ms(void)
{
	return im_now_ns() / 1000000ULL;
}

struct timespec im_deadline_ms(int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}
