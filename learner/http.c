// SPDX-License-Identifier: Apache-2.0
/* The status port's request-head parser (see http.h). */
#include "http.h"

#include <string.h>

static int is_tchar(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Splits the request line in place into method, target and version; 0
 * when it is not "TOKEN SP /target SP HTTP/1.x". */
static int parse_request_line(char *line, char **method, char **target)
{
	char *sp1 = strchr(line, ' ');
	if (!sp1 || sp1 == line)
		return 0;
	char *sp2 = strchr(sp1 + 1, ' ');
	if (!sp2 || sp2 == sp1 + 1 || strchr(sp2 + 1, ' '))
		return 0;
	*sp1 = *sp2 = '\0';
	for (char *p = line; *p; p++)
		if (!is_tchar(*p))
			return 0;
	if (sp1[1] != '/')
		return 0;
	for (char *p = sp1 + 1; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	if (strcmp(sp2 + 1, "HTTP/1.1") != 0 && strcmp(sp2 + 1, "HTTP/1.0") != 0)
		return 0;
	*method = line;
	*target = sp1 + 1;
	return 1;
}

/* Header lines "Name: value" up to the empty line; 0 on a malformed one. */
static int headers_ok(char *p)
{
	while (*p) {
		char *eol = strchr(p, '\n');
		if (!eol)
			return 0;
		*eol = '\0';
		if (eol > p && eol[-1] == '\r')
			eol[-1] = '\0';
		if (!*p)
			return 1;
		char *colon = strchr(p, ':');
		if (!colon || colon == p)
			return 0;
		for (char *q = p; q < colon; q++)
			if (!is_tchar(*q))
				return 0;
		p = eol + 1;
	}
	return 0;
}

int im_http_parse_request(char *head, char **method, char **target)
{
	char *eol = strchr(head, '\n');
	if (!eol)
		return 0;
	*eol = '\0';
	if (eol > head && eol[-1] == '\r')
		eol[-1] = '\0';
	char *m, *t;
	if (!parse_request_line(head, &m, &t) || !headers_ok(eol + 1))
		return 0;
	*method = m;
	*target = t;
	return 1;
}

/* Offset just past the blank line that ends the head, or 0. */
size_t im_http_head_end(const char *p, size_t len)
{
	for (size_t i = 1; i < len; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i - 1] == '\n')
			return i + 1;
		if (i >= 2 && p[i - 1] == '\r' && p[i - 2] == '\n')
			return i + 1;
	}
	return 0;
}
