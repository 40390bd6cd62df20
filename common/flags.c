// SPDX-License-Identifier: Apache-2.0
#include "flags.h"

#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void im_flags_env_name(const char *flag, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "IMPALA_");
	for (const char *p = flag; *p && n + 1 < len; p++, n++)
		buf[n] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	if (n < len)
		buf[n] = '\0';
}

static int parse_bool_word(const char *v, int *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int check_bounds(const im_flag *f, double x, const char *src,
			const char *v, char *err, size_t errlen)
{
	if (f->lo <= f->hi && (x < f->lo || x > f->hi))
		return im_errf(err, errlen, IM_EINVAL,
			       "%s: %s is out of range [%g, %g]", src, v,
			       f->lo, f->hi);
	return IM_OK;
}

static int set_integer(const im_flag *f, const char *v, const char *src,
		       char *err, size_t errlen)
{
	char *end;
	errno = 0;
	/* Base 10 only: with base 0, "010" would silently mean 8. */
	long long x = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0')
		return im_errf(err, errlen, IM_EINVAL, "%s: '%s' is not an integer",
			       src, v);
	if (errno == ERANGE || (f->type == IM_FLAG_INT &&
				(x > 2147483647LL || x < -2147483647LL - 1)))
		return im_errf(err, errlen, IM_EINVAL, "%s: %s does not fit the type",
			       src, v);
	int rc = check_bounds(f, (double)x, src, v, err, errlen);
	if (rc)
		return rc;
	if (f->type == IM_FLAG_INT)
		*(int *)f->dst = (int)x;
	else
		*(int64_t *)f->dst = (int64_t)x;
	return IM_OK;
}

static int set_double(const im_flag *f, const char *v, const char *src,
		      char *err, size_t errlen)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (*v == '\0' || *end != '\0')
		return im_errf(err, errlen, IM_EINVAL, "%s: '%s' is not a number", src,
			       v);
	if (!isfinite(x))
		return im_errf(err, errlen, IM_EINVAL, "%s: '%s' is not finite", src,
			       v);
	int rc = check_bounds(f, x, src, v, err, errlen);
	if (rc)
		return rc;
	*(double *)f->dst = x;
	return IM_OK;
}

static int set_enum(const im_flag *f, const char *v, const char *src,
		    char *err, size_t errlen)
{
	char why[256];
	if (f->en->parse(v, f->dst, why, sizeof why))
		return im_errf(err, errlen, IM_EINVAL, "%s: %s", src, why);
	return IM_OK;
}

static int set_value(const im_flag *f, const char *v, const char *src,
		     char *err, size_t errlen)
{
	int b;
	switch (f->type) {
	case IM_FLAG_INT:
	case IM_FLAG_I64:
		return set_integer(f, v, src, err, errlen);
	case IM_FLAG_DOUBLE:
		return set_double(f, v, src, err, errlen);
	case IM_FLAG_BOOL:
		if (parse_bool_word(v, &b))
			return im_errf(err, errlen, IM_EINVAL,
				       "%s: '%s' is not a boolean (use 1/0, "
				       "true/false, yes/no, on/off)",
				       src, v);
		*(int *)f->dst = b;
		return IM_OK;
	case IM_FLAG_STR:
		*(const char **)f->dst = v;
		return IM_OK;
	case IM_FLAG_ENUM:
		return set_enum(f, v, src, err, errlen);
	}
	return IM_EINVAL;
}

/* Sets f and records in given (when not NULL) that a source gave it a
 * value. */
static int flag_set(const im_flag *f, const char *v, const char *src,
		    unsigned char *given, char *err, size_t errlen)
{
	int rc = set_value(f, v, src, err, errlen);
	if (rc == IM_OK && given)
		*given = 1;
	return rc;
}

/* Where to record that flags' f was given: res->given[f - flags]. */
static unsigned char *given_of(im_flags_result *res, const im_flag *flags,
			       const im_flag *f)
{
	return res ? &res->given[f - flags] : NULL;
}

static int parse_env(const im_flag *flags, size_t nflags,
		     im_flags_result *res, char *err, size_t errlen)
{
	for (size_t i = 0; i < nflags; i++) {
		char name[96];
		im_flags_env_name(flags[i].name, name, sizeof name);
		const char *v = getenv(name);
		if (!v)
			continue;
		int rc = flag_set(&flags[i], v, name,
				  given_of(res, flags, &flags[i]), err, errlen);
		if (rc)
			return rc;
	}
	return IM_OK;
}

static const im_flag *find_flag(const im_flag *flags, size_t nflags,
				const char *name, size_t len)
{
	for (size_t i = 0; i < nflags; i++)
		if (strlen(flags[i].name) == len &&
		    strncmp(flags[i].name, name, len) == 0)
			return &flags[i];
	return NULL;
}

/* Handles argv[*i], a "--name[=value]" word; may consume argv[*i + 1]. */
static int parse_one(const im_flag *flags, size_t nflags, int argc,
		     char *const *argv, int *i, im_flags_result *res,
		     char *err, size_t errlen)
{
	const char *word = argv[*i] + 2;
	const char *eq = strchr(word, '=');
	size_t len = eq ? (size_t)(eq - word) : strlen(word);
	const im_flag *f = find_flag(flags, nflags, word, len);
	char src[112];
	if (!f && strncmp(word, "no-", 3) == 0 && !eq) {
		f = find_flag(flags, nflags, word + 3, len - 3);
		if (f && f->type == IM_FLAG_BOOL)
			return flag_set(f, "0", word, given_of(res, flags, f),
					err, errlen);
		f = NULL;
	}
	if (!f)
		return im_errf(err, errlen, IM_EINVAL,
			       "unknown flag '--%.*s' (see --help)",
			       (int)len, word);
	snprintf(src, sizeof src, "--%s", f->name);
	unsigned char *given = given_of(res, flags, f);
	if (f->type == IM_FLAG_BOOL && !eq)
		return flag_set(f, "1", src, given, err, errlen);
	if (eq)
		return flag_set(f, eq + 1, src, given, err, errlen);
	if (*i + 1 >= argc)
		return im_errf(err, errlen, IM_EINVAL, "%s: missing value", src);
	*i += 1;
	return flag_set(f, argv[*i], src, given, err, errlen);
}

int im_flags_parse(const im_flag *flags, size_t nflags, int argc,
		   char *const *argv, im_flags_result *res, char *err,
		   size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (nflags > IM_FLAGS_MAX)
		return im_errf(err, errlen, IM_EINVAL, "%zu flags: at most %d",
			       nflags, IM_FLAGS_MAX);
	if (res)
		*res = (im_flags_result){0};
	int rc = parse_env(flags, nflags, res, err, errlen);
	if (rc)
		return rc;
	int only_positional = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!only_positional && (strcmp(a, "--help") == 0 ||
					 strcmp(a, "-h") == 0))
			return IM_EHELP;
		if (!only_positional && strcmp(a, "--") == 0) {
			only_positional = 1;
			continue;
		}
		if (!only_positional && a[0] == '-' && a[1] == '-') {
			rc = parse_one(flags, nflags, argc, argv, &i, res,
				       err, errlen);
			if (rc)
				return rc;
			continue;
		}
		if (!only_positional && a[0] == '-' && a[1] != '\0')
			return im_errf(err, errlen, IM_EINVAL,
				       "unknown option '%s' (flags are "
				       "spelled --name; see --help)",
				       a);
		if (!res || res->npositional >= 8)
			return im_errf(err, errlen, IM_EINVAL,
				       "unexpected argument '%s'", a);
		res->positional[res->npositional++] = a;
	}
	return IM_OK;
}

static void value_text(const im_flag *f, char *buf, size_t len)
{
	switch (f->type) {
	case IM_FLAG_INT:
		snprintf(buf, len, "%d", *(const int *)f->dst);
		break;
	case IM_FLAG_I64:
		snprintf(buf, len, "%lld", (long long)*(const int64_t *)f->dst);
		break;
	case IM_FLAG_DOUBLE:
		snprintf(buf, len, "%g", *(const double *)f->dst);
		break;
	case IM_FLAG_BOOL:
		snprintf(buf, len, "%s", *(const int *)f->dst ? "on" : "off");
		break;
	case IM_FLAG_STR: {
		const char *s = *(const char *const *)f->dst;
		snprintf(buf, len, "%s", s ? s : "(unset)");
		break;
	}
	case IM_FLAG_ENUM:
		snprintf(buf, len, "%s", f->en->name(f->dst));
		break;
	}
}

void im_flags_usage(FILE *out, const char *usage_line, const im_flag *flags,
		    size_t nflags)
{
	fprintf(out, "Usage: %s\n\nFlags (environment variable, default):\n",
		usage_line);
	for (size_t i = 0; i < nflags; i++) {
		char env[96], val[128];
		im_flags_env_name(flags[i].name, env, sizeof env);
		value_text(&flags[i], val, sizeof val);
		fprintf(out, "  --%-24s %s (%s, %s)\n", flags[i].name,
			flags[i].help, env, val);
	}
	fprintf(out, "  --%-24s %s\n", "help", "print this help and exit");
}
