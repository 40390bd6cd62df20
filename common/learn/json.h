// SPDX-License-Identifier: Apache-2.0
/* A small JSON reader and writer: what a safetensors header needs, and
 * strict about everything else (RFC 8259 syntax, nesting depth bounded,
 * duplicate object keys refused, no NUL inside strings).
 *
 * Reader: im_json_parse() builds a tree; every node and string belongs to
 * the tree and is freed by im_json_free() on the root.
 * Writer: an im_json_buf grows with realloc; a failed allocation is sticky
 * (buf->err), so a sequence of appends needs one check at the end. */
#ifndef IM_JSON_H
#define IM_JSON_H

#include <stddef.h>
#include <stdint.h>

#define IM_JSON_MAX_DEPTH 32

typedef enum im_json_type {
	IM_JSON_NULL,
	IM_JSON_BOOL,
	IM_JSON_NUMBER,
	IM_JSON_STRING,
	IM_JSON_ARRAY,
	IM_JSON_OBJECT,
} im_json_type;

typedef struct im_json im_json;
struct im_json {
	im_json_type type;
	int boolean;     /* BOOL */
	double number;   /* NUMBER */
	int is_uint;     /* NUMBER written as a plain integer that fits... */
	uint64_t uint;   /* ...in a uint64_t: its exact value */
	char *str;       /* STRING: decoded UTF-8, NUL-terminated */
	size_t len;      /* STRING: bytes; ARRAY / OBJECT: members */
	im_json **items; /* ARRAY / OBJECT: the members, in order */
	char **keys;     /* OBJECT: the keys, decoded, same order */
};

/* Parses exactly one value from text[0, len), allowing whitespace around
 * it.  On success *out is a tree owned by the caller.  On failure *out is
 * untouched, the return is IM_EPROTO (or IM_ENOMEM) and err (may be NULL)
 * receives a message with the byte offset of the problem. */
int im_json_parse(im_json **out, const char *text, size_t len, char *err,
		  size_t errlen);
void im_json_free(im_json *v);

/* The member of obj called key, or NULL (also when obj is not an object). */
const im_json *im_json_get(const im_json *obj, const char *key);

typedef struct im_json_buf {
	char *p; /* NUL-terminated after every append; the caller frees it */
	size_t len;
	size_t cap;
	int err; /* IM_ENOMEM once an append failed, else 0 */
} im_json_buf;

/* Appends raw bytes, a quoted and escaped string, or an unsigned integer. */
void im_json_buf_raw(im_json_buf *b, const char *s, size_t n);
void im_json_buf_cstr(im_json_buf *b, const char *s); /* raw, strlen(s) */
void im_json_buf_str(im_json_buf *b, const char *s);
void im_json_buf_u64(im_json_buf *b, uint64_t v);

#endif
