// SPDX-License-Identifier: Apache-2.0
#include "learn/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

typedef struct parser {
	const char *s;
	size_t len, pos;
	int depth;
	int rc; /* first error, 0 while none */
	char *err;
	size_t errlen;
} parser;

static im_json *parse_value(parser *p);

static void fail(parser *p, int rc, const char *fmt, ...)
{
	if (p->rc)
		return; /* keep the first, most precise message */
	p->rc = rc;
	if (!p->err || !p->errlen)
		return;
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "JSON at byte %zu: %s", p->pos, msg);
}

static void skip_ws(parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static int peek(parser *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static im_json *node(parser *p, im_json_type t)
{
	im_json *v = calloc(1, sizeof(*v));
	if (!v)
		fail(p, IM_ENOMEM, "out of memory");
	else
		v->type = t;
	return v;
}

static int hex4(parser *p, unsigned *out)
{
	if (p->len - p->pos < 4) {
		fail(p, IM_EPROTO, "short \\u escape");
		return -1;
	}
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int c = p->s[p->pos++];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else {
			fail(p, IM_EPROTO, "bad hex digit in \\u escape");
			return -1;
		}
	}
	*out = v;
	return 0;
}

/* Writes code point cp as UTF-8 to o; returns the bytes written. */
static size_t utf8_put(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A \u escape (the backslash and 'u' already consumed), with surrogate
 * pairs joined.  Returns the code point or -1. */
static long unicode_escape(parser *p)
{
	unsigned hi, lo;
	if (hex4(p, &hi))
		return -1;
	if (hi < 0xd800 || hi > 0xdfff)
		return hi;
	if (hi > 0xdbff || p->len - p->pos < 2 || p->s[p->pos] != '\\' ||
	    p->s[p->pos + 1] != 'u') {
		fail(p, IM_EPROTO, "unpaired surrogate");
		return -1;
	}
	p->pos += 2;
	if (hex4(p, &lo))
		return -1;
	if (lo < 0xdc00 || lo > 0xdfff) {
		fail(p, IM_EPROTO, "unpaired surrogate");
		return -1;
	}
	return 0x10000 + (((long)hi - 0xd800) << 10) + ((long)lo - 0xdc00);
}

static int simple_escape(int c)
{
	switch (c) {
	case '"': return '"';
	case '\\': return '\\';
	case '/': return '/';
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	default: return -1;
	}
}

/* Bytes of escaped source from p->pos to the closing quote (or the end of
 * the text), skipping escaped characters as parse_string does.  Sizing each
 * string by the rest of the text instead let a header of many short
 * strings hold memory quadratic in its length. */
static size_t escaped_len(const parser *p)
{
	size_t i = p->pos;
	while (i < p->len && p->s[i] != '"')
		i += p->s[i] == '\\' ? 2 : 1;
	return (i < p->len ? i : p->len) - p->pos;
}

/* A string starting at the opening quote; *n receives its byte length.
 * Decoded text is never longer than its escaped source. */
static char *parse_string(parser *p, size_t *n)
{
	p->pos++; /* opening quote */
	char *o = malloc(escaped_len(p) + 1);
	size_t k = 0;
	if (!o) {
		fail(p, IM_ENOMEM, "out of memory");
		return NULL;
	}
	for (;;) {
		int c = peek(p);
		if (c < 0) {
			fail(p, IM_EPROTO, "unterminated string");
			break;
		}
		p->pos++;
		if (c == '"') {
			o[k] = '\0';
			*n = k;
			return o;
		}
		if (c < 0x20) {
			fail(p, IM_EPROTO, "control character in string");
			break;
		}
		if (c != '\\') {
			o[k++] = (char)c;
			continue;
		}
		int e = peek(p);
		p->pos++;
		long cp = e == 'u' ? unicode_escape(p) : simple_escape(e);
		if (cp <= 0) {
			fail(p, IM_EPROTO, cp == 0 ? "NUL in string" : "bad escape");
			break;
		}
		k += utf8_put(o + k, (unsigned)cp);
	}
	free(o);
	return NULL;
}

static size_t scan_digits(parser *p)
{
	size_t start = p->pos;
	while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
		p->pos++;
	return p->pos - start;
}

/* RFC 8259 number syntax, checked by hand because strtod accepts more
 * (hex, inf, nan, leading '+'). */
static im_json *parse_number(parser *p)
{
	size_t start = p->pos;
	int neg = peek(p) == '-', frac = 0;
	if (neg)
		p->pos++;
	size_t nd = scan_digits(p);
	if (nd == 0 || (nd > 1 && p->s[p->pos - nd] == '0')) {
		fail(p, IM_EPROTO, "bad number");
		return NULL;
	}
	if (peek(p) == '.') {
		p->pos++;
		frac = 1;
		if (!scan_digits(p)) {
			fail(p, IM_EPROTO, "bad fraction");
			return NULL;
		}
	}
	if (peek(p) == 'e' || peek(p) == 'E') {
		p->pos++;
		frac = 1;
		if (peek(p) == '+' || peek(p) == '-')
			p->pos++;
		if (!scan_digits(p)) {
			fail(p, IM_EPROTO, "bad exponent");
			return NULL;
		}
	}
	im_json *v = node(p, IM_JSON_NUMBER);
	if (!v)
		return NULL;
	char buf[64];
	size_t n = p->pos - start;
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1; /* only the double loses digits */
	memcpy(buf, p->s + start, n);
	buf[n] = '\0';
	v->number = strtod(buf, NULL);
	if (!neg && !frac && nd <= 20) {
		uint64_t u = 0;
		int ok = 1;
		for (size_t i = start; i < p->pos; i++) {
			uint64_t d = (uint64_t)(p->s[i] - '0');
			ok &= u <= (UINT64_MAX - d) / 10;
			u = u * 10 + d;
		}
		v->is_uint = ok;
		v->uint = ok ? u : 0;
	}
	return v;
}

static int literal(parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n)) {
		fail(p, IM_EPROTO, "unexpected character");
		return 0;
	}
	p->pos += n;
	return 1;
}

/* Appends item (and key) to an array or object node. */
static int push(parser *p, im_json *c, im_json *item, char *key)
{
	if ((c->len & (c->len - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
		size_t cap = c->len ? c->len * 2 : 1;
		im_json **it = realloc(c->items, cap * sizeof(*it));
		if (it)
			c->items = it;
		char **ks = key ? realloc(c->keys, cap * sizeof(*ks)) : NULL;
		if (ks)
			c->keys = ks;
		if (!it || (key && !ks)) {
			fail(p, IM_ENOMEM, "out of memory");
			return -1;
		}
	}
	c->items[c->len] = item;
	if (key)
		c->keys[c->len] = key;
	c->len++;
	return 0;
}

static int expect_sep(parser *p, int close)
{
	skip_ws(p);
	int c = peek(p);
	if (c == ',' || c == close) {
		p->pos++;
		return c == close;
	}
	fail(p, IM_EPROTO, "expected ',' or '%c'", close);
	return -1;
}

static im_json *parse_array(parser *p)
{
	im_json *a = node(p, IM_JSON_ARRAY);
	p->pos++;
	skip_ws(p);
	if (a && peek(p) == ']') {
		p->pos++;
		return a;
	}
	while (a && !p->rc) {
		im_json *item = parse_value(p);
		if (!item || push(p, a, item, NULL)) {
			im_json_free(item);
			break;
		}
		int r = expect_sep(p, ']');
		if (r)
			return r > 0 ? a : (im_json_free(a), NULL);
	}
	im_json_free(a);
	return NULL;
}

static int member(parser *p, im_json *o)
{
	skip_ws(p);
	if (peek(p) != '"') {
		fail(p, IM_EPROTO, "expected a key");
		return -1;
	}
	size_t kl;
	char *key = parse_string(p, &kl);
	if (!key)
		return -1;
	skip_ws(p);
	if (peek(p) != ':') {
		fail(p, IM_EPROTO, "expected ':'");
		free(key);
		return -1;
	}
	p->pos++;
	im_json *v = parse_value(p);
	if (!v || push(p, o, v, key)) {
		im_json_free(v);
		free(key);
		return -1;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Refuses duplicate keys: sorting a copy of the key pointers keeps this
 * O(n log n), so a hostile header with many keys cannot stall the reader. */
static int check_unique(parser *p, const im_json *o)
{
	if (o->len < 2)
		return 0;
	char **k = malloc(o->len * sizeof(*k));
	if (!k) {
		fail(p, IM_ENOMEM, "out of memory");
		return -1;
	}
	memcpy(k, o->keys, o->len * sizeof(*k));
	qsort(k, o->len, sizeof(*k), cmp_str);
	int rc = 0;
	for (size_t i = 1; i < o->len && !rc; i++)
		if (!strcmp(k[i - 1], k[i])) {
			fail(p, IM_EPROTO, "duplicate key \"%.60s\"", k[i]);
			rc = -1;
		}
	free(k);
	return rc;
}

static im_json *parse_object(parser *p)
{
	im_json *o = node(p, IM_JSON_OBJECT);
	p->pos++;
	skip_ws(p);
	if (o && peek(p) == '}') {
		p->pos++;
		return o;
	}
	while (o && !member(p, o)) {
		int r = expect_sep(p, '}');
		if (r > 0 && !check_unique(p, o))
			return o;
		if (r)
			break;
	}
	im_json_free(o);
	return NULL;
}

static im_json *parse_value(parser *p)
{
	skip_ws(p);
	if (++p->depth > IM_JSON_MAX_DEPTH) {
		fail(p, IM_EPROTO, "nested too deeply");
		return NULL;
	}
	im_json *v = NULL;
	int c = peek(p);
	if (c == '{')
		v = parse_object(p);
	else if (c == '[')
		v = parse_array(p);
	else if (c == '"') {
		size_t n;
		char *s = parse_string(p, &n);
		if (s && !(v = node(p, IM_JSON_STRING)))
			free(s);
		if (v) {
			v->str = s;
			v->len = n;
		}
	} else if (c == '-' || (c >= '0' && c <= '9'))
		v = parse_number(p);
	else if (c == 't' || c == 'f') {
		if (literal(p, c == 't' ? "true" : "false") &&
		    (v = node(p, IM_JSON_BOOL)))
			v->boolean = c == 't';
	} else if (c == 'n') {
		if (literal(p, "null"))
			v = node(p, IM_JSON_NULL);
	} else
		fail(p, IM_EPROTO, c < 0 ? "unexpected end" : "unexpected character");
	p->depth--;
	return v;
}

int im_json_parse(im_json **out, const char *text, size_t len, char *err,
		  size_t errlen)
{
	parser p = {text, len, 0, 0, 0, err, errlen};
	im_json *v = parse_value(&p);
	skip_ws(&p);
	if (v && p.pos != len)
		fail(&p, IM_EPROTO, "trailing characters");
	if (p.rc || !v) {
		if (!p.rc)
			fail(&p, IM_EPROTO, "no value");
		im_json_free(v);
		return p.rc;
	}
	*out = v;
	return IM_OK;
}

void im_json_free(im_json *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->len && v->items; i++) {
		im_json_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

const im_json *im_json_get(const im_json *obj, const char *key)
{
	if (!obj || obj->type != IM_JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->len; i++)
		if (!strcmp(obj->keys[i], key))
			return obj->items[i];
	return NULL;
}

void im_json_buf_raw(im_json_buf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->err = IM_ENOMEM;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void im_json_buf_cstr(im_json_buf *b, const char *s)
{
	im_json_buf_raw(b, s, strlen(s));
}

void im_json_buf_str(im_json_buf *b, const char *s)
{
	im_json_buf_raw(b, "\"", 1);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		char esc[8];
		if (*c == '"' || *c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*c;
			im_json_buf_raw(b, esc, 2);
		} else if (*c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", *c);
			im_json_buf_raw(b, esc, 6);
		} else
			im_json_buf_raw(b, (const char *)c, 1);
	}
	im_json_buf_raw(b, "\"", 1);
}

void im_json_buf_u64(im_json_buf *b, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	im_json_buf_raw(b, num, (size_t)n);
}
