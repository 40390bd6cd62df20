// SPDX-License-Identifier: Apache-2.0
/* Error codes shared by every module.
 *
 * Library functions return 0 (IM_OK) on success and a negative IM_E* code on
 * failure.  Names and messages come from one X-macro list, so that
 * im_strerror() and im_err_name() always have a text for every code. */
#ifndef IM_ERR_H
#define IM_ERR_H

#define IM_ERRNO_MAP(XX) \
	XX(INVAL, "invalid argument") \
	XX(NOMEM, "out of memory") \
	XX(RANGE, "value out of range") \
	XX(NOENT, "no such entry") \
	XX(IO, "input/output error") \
	XX(SYS, "system call failed (see errno)") \
	XX(PROTO, "malformed message") \
	XX(TRUNC, "truncated input") \
	XX(TOOBIG, "input too large") \
	XX(VERSION, "unsupported version") \
	XX(SHAPE, "shape or length mismatch") \
	XX(NONFINITE, "non-finite value (NaN or infinity)") \
	XX(ACTION, "action outside the action space") \
	XX(CORRUPT, "corrupt or unreadable file") \
	XX(ARCH, "model architecture mismatch") \
	XX(PLUGIN, "environment plugin refused") \
	XX(RUNID, "stale or foreign run id") \
	XX(AUTH, "not authorised") \
	XX(AGAIN, "resource temporarily unavailable") \
	XX(TIMEDOUT, "timed out") \
	XX(CANCELED, "operation canceled") \
	XX(REFUSED, "refused by peer") \
	XX(STATE, "operation not valid in this state") \
	XX(HELP, "help requested") \
	XX(BLAS, "the BLAS library computed wrong results") \
	XX(ENVFAIL, "the environment failed (an exception or a broken " \
		    "contract; see the log)") \
	XX(SESSION, "the learner restarted (a new session)")

enum im_err_index_ {
	IM_ERR_INDEX_NONE_ = 0,
#define IM_XX_(name, msg) IM_ERR_INDEX_##name,
	IM_ERRNO_MAP(IM_XX_)
#undef IM_XX_
		IM_ERR_INDEX_COUNT_
};

enum im_err {
	IM_OK = 0,
#define IM_XX_(name, msg) IM_E##name = -IM_ERR_INDEX_##name,
	IM_ERRNO_MAP(IM_XX_)
#undef IM_XX_
};

/* A static message for rc; never NULL, also for unknown codes. */
const char *im_strerror(int rc);
/* The code's name, such as "IM_EPROTO"; never NULL. */
const char *im_err_name(int rc);

#include <stddef.h>

/* Writes a one-line reason, printf-style, into err (nothing when err is
 * NULL or errlen is 0; truncated and NUL-terminated otherwise) and returns
 * rc, so that a failure path reads
 *   return im_errf(err, errlen, IM_EINVAL, "--lr: %s is negative", v); */
int im_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
