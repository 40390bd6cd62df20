// SPDX-License-Identifier: Apache-2.0
/* The dashboard's text buffer. */
#include "text.h"

#include "err.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int reserve(im_text *t, size_t extra)
{
	if (t->failed)
		return 0;
	if (t->len + extra + 1 <= t->cap)
		return 1;
	size_t cap = t->cap ? t->cap : 4096;
	while (cap < t->len + extra + 1)
		cap *= 2;
	char *np = realloc(t->p, cap);
	if (!np) {
		t->failed = 1;
		return 0;
	}
	t->p = np;
	t->cap = cap;
	return 1;
}

/* Formats once into the room there is; only a longer text is formatted
 * a second time, after growing the buffer (a number is formatted once). */
void im_text_printf(im_text *t, const char *fmt, ...)
{
	if (!reserve(t, 64))
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= t->cap - t->len) {
		if (!reserve(t, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
	}
	t->len += (size_t)n;
}

void im_text_putc(im_text *t, char c)
{
	if (!reserve(t, 1))
		return;
	t->p[t->len++] = c;
	t->p[t->len] = '\0';
}

void im_text_json_str(im_text *t, const char *s)
{
	im_text_putc(t, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			im_text_printf(t, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			im_text_printf(t, "\\u%04x", c);
		else
			im_text_putc(t, c >= 0x80 ? '?' : (char)c);
	}
	im_text_putc(t, '"');
}

void im_text_json_num(im_text *t, double v)
{
	if (!isfinite(v))
		im_text_printf(t, "null");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		im_text_printf(t, "%.0f", v);
	else
		im_text_printf(t, "%.9g", v);
}

int im_text_finish(im_text *t, char **out, size_t *len)
{
	if (!reserve(t, 0) || t->failed) {
		free(t->p);
		*t = (im_text){0};
		return IM_ENOMEM;
	}
	*out = t->p;
	*len = t->len;
	*t = (im_text){0};
	return IM_OK;
}
