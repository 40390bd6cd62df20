// SPDX-License-Identifier: Apache-2.0
/* A growing text buffer for the learner's text documents: the status
 * port's JSON and Prometheus renderings (status_render.c) and the
 * dashboard's (history.h, dash.h).  A failed allocation sticks, so a renderer checks once, at
 * im_text_finish(). */
#ifndef IM_LEARNER_TEXT_H
#define IM_LEARNER_TEXT_H

#include <stddef.h>

typedef struct im_text {
	char *p;
	size_t len, cap;
	int failed;
} im_text;

void im_text_printf(im_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void im_text_putc(im_text *t, char c);
/* s (untrusted: an actor's host name, a flag value) as a JSON string:
 * quotes, backslashes and control characters escaped, bytes outside
 * ASCII replaced by '?', so the document is valid UTF-8 whatever s is. */
void im_text_json_str(im_text *t, const char *s);
/* A JSON number: null when v is not finite, an integer when v is one
 * (below 2^53), else 9 significant digits. */
void im_text_json_num(im_text *t, double v);
/* Hands the buffer over: *out (NUL-terminated; the caller frees) and *len.
 * IM_ENOMEM if any allocation failed, with nothing left allocated. */
int im_text_finish(im_text *t, char **out, size_t *len);

#endif
