// SPDX-License-Identifier: Apache-2.0
#include "config_file.h"

#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VARS 128
#define MAX_LINE 4096

const char *im_config_file_find(int argc, char *const *argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			return argv[i + 1];
		if (!strncmp(argv[i], "--config=", 9))
			return argv[i] + 9;
	}
	const char *e = getenv("IMPALA_CONFIG");
	return e && e[0] ? e : NULL;
}

static int known(const char *name, const im_flag *flags, size_t n)
{
	char buf[128];
	for (size_t i = 0; i < n; i++) {
		im_flags_env_name(flags[i].name, buf, sizeof buf);
		if (!strcmp(buf, name))
			return 1;
	}
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}

/* Splits "NAME=value" in place, unquoting the value.  0 or IM_EINVAL. */
static int split(char *line, char **name, char **value)
{
	char *eq = strchr(line, '=');
	if (!eq)
		return IM_EINVAL;
	*eq = '\0';
	*name = trim(line);
	char *v = trim(eq + 1);
	size_t len = strlen(v);
	if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
		v[len - 1] = '\0';
		v++;
	}
	*value = v;
	for (const char *p = *name; *p; p++)
		if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p) &&
		    *p != '_')
			return IM_EINVAL;
	return strncmp(*name, "IMPALA_", 7) || !(*name)[7] ? IM_EINVAL : IM_OK;
}

typedef struct var {
	char *name, *value;
	int line;
} var;

enum { LINE_EOF = 0,
       LINE_OK = 1,
       LINE_LONG = -1,
       LINE_NUL = -2 };

/* One line without its newline into buf (cap bytes, NUL-terminated).
 * fgets() cannot tell a NUL byte from the end of the line, so a value
 * after one would be silently cut: read byte by byte and refuse it. */
static int read_line(FILE *f, char *buf, size_t cap)
{
	size_t len = 0;
	int ch;
	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (ch == '\0')
			return LINE_NUL;
		if (len + 1 == cap)
			return LINE_LONG;
		buf[len++] = (char)ch;
	}
	buf[len] = '\0';
	return ch == EOF && len == 0 ? LINE_EOF : LINE_OK;
}

/* The earlier line that set name, or 0. */
static int seen(const var *v, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return v[i].line;
	return 0;
}

static void free_vars(var *v, int n)
{
	for (int i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
}

/* Reads every line into v (*n of them); exports nothing. */
static int read_vars(FILE *f, const char *path, const im_flag *flags,
		     size_t nflags, var *v, int *n, char *err, size_t errlen)
{
	char line[MAX_LINE];
	int got;
	for (int lineno = 1; (got = read_line(f, line, sizeof line)); lineno++) {
		if (got == LINE_LONG)
			return im_errf(err, errlen, IM_EINVAL,
				       "%s:%d: line too long", path, lineno);
		if (got == LINE_NUL)
			return im_errf(err, errlen, IM_EINVAL,
				       "%s:%d: NUL byte", path, lineno);
		char *s = trim(line), *name, *value;
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (split(s, &name, &value))
			return im_errf(err, errlen, IM_EINVAL,
				       "%s:%d: not IMPALA_NAME=value", path,
				       lineno);
		if (!known(name, flags, nflags) || !strcmp(name, "IMPALA_CONFIG"))
			return im_errf(err, errlen, IM_EINVAL,
				       "%s:%d: %s is not a variable of this "
				       "program (see --help)",
				       path, lineno, name);
		int first = seen(v, *n, name);
		if (first)
			return im_errf(err, errlen, IM_EINVAL,
				       "%s:%d: %s already set on line %d", path,
				       lineno, name, first);
		if (*n == MAX_VARS)
			return im_errf(err, errlen, IM_EINVAL,
				       "%s: more than %d variables", path, MAX_VARS);
		v[*n].name = strdup(name);
		v[*n].value = strdup(value);
		v[*n].line = lineno;
		if (!v[(*n)++].name || !v[*n - 1].value)
			return im_errf(err, errlen, IM_ENOMEM, "%s: out of memory",
				       path);
	}
	return ferror(f) ? im_errf(err, errlen, IM_EIO, "%s: read error", path)
			 : IM_OK;
}

int im_config_file_load(const char *path, const im_flag *flags, size_t n,
			char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return im_errf(err, errlen, IM_EIO, "--config %s: %s", path,
			       strerror(errno));
	var v[MAX_VARS];
	int nv = 0;
	int rc = read_vars(f, path, flags, n, v, &nv, err, errlen);
	fclose(f);
	for (int i = 0; rc == IM_OK && i < nv; i++)
		if (setenv(v[i].name, v[i].value, 0))
			rc = im_errf(err, errlen, IM_ENOMEM, "%s: setenv failed",
				     path);
	free_vars(v, nv);
	return rc;
}
