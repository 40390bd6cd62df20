// SPDX-License-Identifier: Apache-2.0
/* Table-driven command-line flags with IMPALA_* environment defaults.
 *
 * Each flag "--num-steps" takes its default from the storage it points to,
 * then from the environment variable IMPALA_NUM_STEPS if set, then from the
 * command line ("--num-steps 80" or "--num-steps=80").  Boolean flags take
 * no value ("--use-lstm", "--no-use-lstm"); in the environment they accept
 * 1/0, true/false, yes/no, on/off.  Every rejected value produces a message
 * that names the flag (or variable), the value and the reason. */
#ifndef IM_FLAGS_H
#define IM_FLAGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum im_flag_type {
	IM_FLAG_INT,    /* int */
	IM_FLAG_I64,    /* int64_t */
	IM_FLAG_DOUBLE, /* double */
	IM_FLAG_BOOL,   /* int, 0 or 1 */
	IM_FLAG_STR,    /* const char *, borrowed from argv or environ */
	IM_FLAG_ENUM,   /* a module's enum, through en */
} im_flag_type;

/* How an IM_FLAG_ENUM flag reads and shows the enum its dst points to:
 * two adapters over the module's own im_<x>_parse and im_<x>_name, so that
 * a configuration stores the module's enum and keeps no names of its own. */
typedef struct im_flag_enum {
	/* IM_OK, or IM_EINVAL with the accepted names in err (names.h). */
	int (*parse)(const char *s, void *dst, char *err, size_t errlen);
	/* The name of the value at dst. */
	const char *(*name)(const void *dst);
} im_flag_enum;

typedef struct im_flag {
	const char *name; /* without dashes: "num-steps" */
	im_flag_type type;
	void *dst;
	const char *help;
	/* Inclusive bounds for numbers; ignored when lo > hi. */
	double lo, hi;
	/* IM_FLAG_ENUM only. */
	const im_flag_enum *en;
} im_flag;

/* Most flags one table may have. */
#define IM_FLAGS_MAX 128

typedef struct im_flags_result {
	/* Positional arguments in order (borrowed from argv). */
	const char *positional[8];
	int npositional;
	/* given[i]: flags[i] got a value from the environment or the command
	 * line (a caller tells a value asked for from a default). */
	unsigned char given[IM_FLAGS_MAX];
} im_flags_result;

/* Parses environment defaults, then argv[1..argc).  On failure writes a
 * one-line reason to err (NUL-terminated, truncated to errlen) and returns
 * IM_EINVAL; "--help" or "-h" returns IM_EHELP with nothing written.
 * "--" ends flag parsing.  More than IM_FLAGS_MAX flags is IM_EINVAL. */
int im_flags_parse(const im_flag *flags, size_t nflags, int argc,
		   char *const *argv, im_flags_result *res, char *err,
		   size_t errlen);

/* Prints "Usage: ..." and one line per flag with its variable, current
 * value (the default when called before parsing) and help text. */
void im_flags_usage(FILE *out, const char *usage_line, const im_flag *flags,
		    size_t nflags);

/* Writes the environment variable name of a flag ("IMPALA_NUM_STEPS"). */
void im_flags_env_name(const char *flag, char *buf, size_t len);

#endif
