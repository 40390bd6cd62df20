// SPDX-License-Identifier: Apache-2.0
/* Reading checkpoints: every length, offset and shape checked before use. */
#include "learn/ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "learn/ckpt_hash.h"
#include "err.h"
#include "learn/json.h"

struct im_ckpt {
	unsigned char *buf; /* the whole file */
	size_t len;
	const unsigned char *data; /* the data section, inside buf */
	size_t data_len;
	im_json *root;
	const im_json *meta; /* the "__metadata__" object, or NULL */
	im_ckpt_tensor *t;   /* n tensors, header order */
	size_t n;
	const im_ckpt_tensor **by_name; /* n, sorted by name for lookups */
	int verified;                   /* the content hash was present and matched */
};

#define CORRUPT(...) im_errf(err, errlen, IM_ECORRUPT, __VA_ARGS__)

static int parse_shape(im_ckpt_tensor *t, const im_json *s, char *err,
		       size_t errlen)
{
	if (!s || s->type != IM_JSON_ARRAY || s->len > IM_CKPT_MAX_DIMS)
		return CORRUPT("tensor \"%s\": bad shape", t->name);
	size_t numel = 1;
	int overflow = 0, zero = 0;
	for (size_t i = 0; i < s->len; i++) {
		const im_json *d = s->items[i];
		if (d->type != IM_JSON_NUMBER || !d->is_uint ||
		    d->uint > (uint64_t)INT64_MAX)
			return CORRUPT("tensor \"%s\": bad shape", t->name);
		t->shape[i] = (int64_t)d->uint;
		zero |= d->uint == 0;
		if (d->uint && numel > SIZE_MAX / sizeof(float) / d->uint)
			overflow = 1;
		numel *= (size_t)d->uint;
	}
	if (zero)
		numel = 0; /* the wrapped product of the others is meaningless */
	else if (overflow)
		return CORRUPT("tensor \"%s\": shape too large", t->name);
	t->ndim = (int)s->len;
	t->numel = numel;
	return IM_OK;
}

static int parse_offsets(im_ckpt_tensor *t, const im_json *o,
			 size_t data_len, char *err, size_t errlen)
{
	if (!o || o->type != IM_JSON_ARRAY || o->len != 2 ||
	    o->items[0]->type != IM_JSON_NUMBER || !o->items[0]->is_uint ||
	    o->items[1]->type != IM_JSON_NUMBER || !o->items[1]->is_uint)
		return CORRUPT("tensor \"%s\": bad data_offsets", t->name);
	uint64_t b = o->items[0]->uint, e = o->items[1]->uint;
	if (b > e || e > data_len)
		return CORRUPT("tensor \"%s\": data_offsets [%llu, %llu] outside "
			       "the %zu-byte data section",
			       t->name,
			       (unsigned long long)b, (unsigned long long)e,
			       data_len);
	t->begin = (size_t)b;
	t->end = (size_t)e;
	if (t->end - t->begin != t->numel * sizeof(float))
		return CORRUPT("tensor \"%s\": %zu bytes for %zu floats", t->name,
			       t->end - t->begin, t->numel);
	return IM_OK;
}

/* One header entry: exactly the fields dtype, shape and data_offsets. */
static int parse_entry(im_ckpt_tensor *t, const im_json *v, size_t data_len,
		       char *err, size_t errlen)
{
	if (v->type != IM_JSON_OBJECT)
		return CORRUPT("tensor \"%s\": entry is not an object", t->name);
	for (size_t i = 0; i < v->len; i++)
		if (strcmp(v->keys[i], "dtype") && strcmp(v->keys[i], "shape") &&
		    strcmp(v->keys[i], "data_offsets"))
			return CORRUPT("tensor \"%s\": unknown field \"%.40s\"",
				       t->name, v->keys[i]);
	const im_json *dt = im_json_get(v, "dtype");
	if (!dt || dt->type != IM_JSON_STRING)
		return CORRUPT("tensor \"%s\": no dtype", t->name);
	if (strcmp(dt->str, "F32"))
		return CORRUPT("tensor \"%s\": dtype %.16s (only F32 is read)",
			       t->name, dt->str);
	int rc = parse_shape(t, im_json_get(v, "shape"), err, errlen);
	if (rc)
		return rc;
	return parse_offsets(t, im_json_get(v, "data_offsets"), data_len, err,
			     errlen);
}

static int parse_meta(const im_json *m, char *err, size_t errlen)
{
	if (m->type != IM_JSON_OBJECT)
		return CORRUPT("__metadata__ is not an object");
	for (size_t i = 0; i < m->len; i++)
		if (m->items[i]->type != IM_JSON_STRING)
			return CORRUPT("metadata \"%.40s\" is not a string",
				       m->keys[i]);
	return IM_OK;
}

static int cmp_begin(const void *a, const void *b)
{
	const im_ckpt_tensor *x = *(const im_ckpt_tensor *const *)a;
	const im_ckpt_tensor *y = *(const im_ckpt_tensor *const *)b;
	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp((*(const im_ckpt_tensor *const *)a)->name,
		      (*(const im_ckpt_tensor *const *)b)->name);
}

/* Sorted by offset, the tensors must tile the data section exactly: no
 * overlap, no gap, nothing left over (as the safetensors library checks). */
static int check_tiling(im_ckpt *f, char *err, size_t errlen)
{
	const im_ckpt_tensor **s = f->by_name;
	for (size_t i = 0; i < f->n; i++)
		s[i] = &f->t[i];
	qsort(s, f->n, sizeof(*s), cmp_begin);
	size_t at = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (s[i]->begin != at)
			return CORRUPT("tensor \"%s\" starts at byte %zu, "
				       "expected %zu (overlap or gap)",
				       s[i]->name, s[i]->begin, at);
		at = s[i]->end;
	}
	if (at != f->data_len)
		return CORRUPT("data section is %zu bytes, tensors cover %zu",
			       f->data_len, at);
	qsort(s, f->n, sizeof(*s), cmp_name);
	return IM_OK;
}

/* The digits of the stored hash inside the raw header, or NULL when the
 * member is not in the writer's exact form. */
static const char *hash_digits(const char *hdr, size_t hl, const char *want)
{
	char needle[sizeof(CKPT_HASH_MEMBER) + CKPT_HASH_DIGITS + 2];
	if (strlen(want) != CKPT_HASH_DIGITS)
		return NULL;
	snprintf(needle, sizeof(needle), "%s%s\"", CKPT_HASH_MEMBER, want);
	const char *at = memmem(hdr, hl, needle, strlen(needle));
	return at ? at + strlen(CKPT_HASH_MEMBER) : NULL;
}

/* Whether key is the hash key with exactly one bit flipped: then the file
 * had a hash and lost it to damage, and must not pass as a file that never
 * had one (as PyTorch's do not). */
static int damaged_hash_key(const char *key)
{
	const char *h = IM_CKPT_HASH_KEY;
	if (strlen(key) != strlen(h))
		return 0;
	int bits = 0;
	for (; *h; h++, key++)
		bits += __builtin_popcount((unsigned char)(*h ^ *key));
	return bits == 1;
}

static int check_hash(im_ckpt *f, char *err, size_t errlen)
{
	const char *want = im_ckpt_meta(f, IM_CKPT_HASH_KEY);
	for (size_t i = 0; !want && f->meta && i < f->meta->len; i++)
		if (damaged_hash_key(f->meta->keys[i]))
			return CORRUPT("metadata key \"%s\" is a damaged "
				       "content hash key",
				       f->meta->keys[i]);
	if (!want)
		return IM_OK;
	const char *hdr = (const char *)f->buf + 8;
	size_t hl = (size_t)(f->data - f->buf) - 8;
	const char *digits = hash_digits(hdr, hl, want);
	if (!digits)
		return CORRUPT("content hash not in its canonical form");
	size_t at = (size_t)(digits - hdr);
	ckpt_hash h;
	ckpt_hash_init(&h);
	ckpt_hash_u64(&h, hl);
	ckpt_hash_bytes(&h, hdr, at);
	ckpt_hash_bytes(&h, "0000000000000000", CKPT_HASH_DIGITS);
	ckpt_hash_bytes(&h, hdr + at + CKPT_HASH_DIGITS,
			hl - at - CKPT_HASH_DIGITS);
	ckpt_hash_bytes(&h, f->data, f->data_len);
	char got[CKPT_HASH_DIGITS + 8];
	snprintf(got, sizeof(got), CKPT_HASH_FMT,
		 (unsigned long long)ckpt_hash_final(&h));
	if (strcmp(got, want))
		return CORRUPT("content hash %s does not match the stored %s",
			       got, want);
	f->verified = 1;
	return IM_OK;
}

static int parse_header(im_ckpt *f, char *err, size_t errlen)
{
	if (f->len < 8)
		return CORRUPT("file of %zu bytes is too short", f->len);
	uint64_t hl = ckpt_load64(f->buf);
	if (hl > f->len - 8 || hl > IM_CKPT_MAX_HEADER)
		return CORRUPT("header length %llu does not fit the %zu-byte "
			       "file",
			       (unsigned long long)hl, f->len);
	f->data = f->buf + 8 + hl;
	f->data_len = f->len - 8 - (size_t)hl;
	char jerr[128];
	int rc = im_json_parse(&f->root, (const char *)f->buf + 8, (size_t)hl,
			       jerr, sizeof(jerr));
	if (rc == IM_ENOMEM)
		return im_errf(err, errlen, rc, "out of memory");
	if (rc)
		return CORRUPT("header: %s", jerr);
	if (f->root->type != IM_JSON_OBJECT)
		return CORRUPT("header is not a JSON object");
	size_t cap = f->root->len ? f->root->len : 1;
	f->t = calloc(cap, sizeof(*f->t));
	f->by_name = calloc(cap, sizeof(*f->by_name));
	if (!f->t || !f->by_name)
		return im_errf(err, errlen, IM_ENOMEM, "out of memory");
	for (size_t i = 0; i < f->root->len; i++) {
		const im_json *v = f->root->items[i];
		if (!strcmp(f->root->keys[i], "__metadata__")) {
			if ((rc = parse_meta(v, err, errlen)))
				return rc;
			f->meta = v;
			continue;
		}
		im_ckpt_tensor *t = &f->t[f->n++];
		t->name = f->root->keys[i];
		if ((rc = parse_entry(t, v, f->data_len, err, errlen)))
			return rc;
	}
	if ((rc = check_tiling(f, err, errlen)))
		return rc;
	return check_hash(f, err, errlen);
}

/* Takes ownership of buf (malloc'd, len bytes) whatever the outcome. */
static int open_buf(im_ckpt **out, unsigned char *buf, size_t len, char *err,
		    size_t errlen)
{
	im_ckpt *f = calloc(1, sizeof(*f));
	if (!f) {
		free(buf);
		return im_errf(err, errlen, IM_ENOMEM, "out of memory");
	}
	f->buf = buf;
	f->len = len;
	int rc = parse_header(f, err, errlen);
	if (rc) {
		im_ckpt_close(f);
		return rc;
	}
	*out = f;
	return IM_OK;
}

int im_ckpt_open_mem(im_ckpt **out, const void *buf, size_t len, char *err,
		     size_t errlen)
{
	if (!out || (!buf && len))
		return im_errf(err, errlen, IM_EINVAL, "bad arguments");
	unsigned char *copy = malloc(len ? len : 1);
	if (!copy)
		return im_errf(err, errlen, IM_ENOMEM, "out of memory");
	if (len)
		memcpy(copy, buf, len);
	return open_buf(out, copy, len, err, errlen);
}

static int read_all(int fd, unsigned char *p, size_t n)
{
	while (n) {
		ssize_t k = read(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int im_ckpt_open(im_ckpt **out, const char *path, char *err, size_t errlen)
{
	if (!out || !path)
		return im_errf(err, errlen, IM_EINVAL, "bad arguments");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return im_errf(err, errlen, errno == ENOENT ? IM_ENOENT : IM_EIO,
			       "%s: %s", path, strerror(errno));
	struct stat st;
	unsigned char *buf = NULL;
	int rc = IM_OK;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		rc = im_errf(err, errlen, IM_EIO, "%s: not a readable file", path);
	else if (!(buf = malloc(st.st_size ? (size_t)st.st_size : 1)))
		rc = im_errf(err, errlen, IM_ENOMEM, "%s: out of memory", path);
	else if (read_all(fd, buf, (size_t)st.st_size))
		rc = im_errf(err, errlen, IM_EIO, "%s: read failed", path);
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	rc = open_buf(out, buf, (size_t)st.st_size, err, errlen);
	if (rc && err && errlen) {
		/* Prefix the path: the reason alone does not say which file. */
		char tmp[256];
		snprintf(tmp, sizeof(tmp), "%s", err);
		snprintf(err, errlen, "%s: %s", path, tmp);
	}
	return rc;
}

void im_ckpt_close(im_ckpt *f)
{
	if (!f)
		return;
	im_json_free(f->root);
	free(f->t);
	free(f->by_name);
	free(f->buf);
	free(f);
}

int im_ckpt_verified(const im_ckpt *f)
{
	return f->verified;
}

size_t im_ckpt_count(const im_ckpt *f)
{
	return f->n;
}

const im_ckpt_tensor *im_ckpt_at(const im_ckpt *f, size_t i)
{
	return i < f->n ? &f->t[i] : NULL;
}

const im_ckpt_tensor *im_ckpt_find(const im_ckpt *f, const char *name)
{
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(f->by_name[mid]->name, name);
		if (!c)
			return f->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void im_ckpt_copy(const im_ckpt *f, const im_ckpt_tensor *t, float *dst)
{
	/* memcpy: the data section need not be 4-byte aligned in memory. */
	memcpy(dst, f->data + t->begin, t->end - t->begin);
}

const char *im_ckpt_meta(const im_ckpt *f, const char *key)
{
	const im_json *v = im_json_get(f->meta, key);
	return v ? v->str : NULL;
}

int im_ckpt_meta_u64(const im_ckpt *f, const char *key, uint64_t *out)
{
	const char *s = im_ckpt_meta(f, key);
	if (!s)
		return IM_ENOENT;
	uint64_t v = 0;
	if (!*s || strlen(s) > 20)
		return IM_ECORRUPT;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return IM_ECORRUPT;
		uint64_t d = (uint64_t)(*c - '0');
		if (v > (UINT64_MAX - d) / 10)
			return IM_ECORRUPT;
		v = v * 10 + d;
	}
	*out = v;
	return IM_OK;
}

static void shape_str(char *o, size_t n, int ndim, const int64_t *shape)
{
	size_t k = (size_t)snprintf(o, n, "[");
	for (int i = 0; i < ndim && k < n; i++)
		k += (size_t)snprintf(o + k, n - k, i ? ", %lld" : "%lld",
				      (long long)shape[i]);
	if (k < n)
		snprintf(o + k, n - k, "]");
}

static int same_shape(const im_ckpt_tensor *t, const im_tensor_desc *d)
{
	if (t->ndim != d->ndim)
		return 0;
	for (int i = 0; i < d->ndim; i++)
		if (t->shape[i] != d->shape[i])
			return 0;
	return 1;
}

/* Finds the file tensor for desc d of group g; mark[] records matches. */
static int match_one(const im_ckpt *f, const im_ckpt_group *g,
		     const im_tensor_desc *d, unsigned char *mark, char *err,
		     size_t errlen)
{
	char name[3 * IM_TENSOR_NAME_MAX + 64];
	int k = snprintf(name, sizeof(name), "%s%s%s", g->prefix ? g->prefix : "",
			 d->name, g->suffix ? g->suffix : "");
	if (k < 0 || (size_t)k >= sizeof(name))
		return im_errf(err, errlen, IM_EINVAL, "tensor name too long");
	const im_ckpt_tensor *t = im_ckpt_find(f, name);
	if (!t)
		return im_errf(err, errlen, IM_EARCH,
			       "tensor \"%s\" is missing from the file", name);
	if (!same_shape(t, d)) {
		char a[96], b[96];
		shape_str(a, sizeof(a), t->ndim, t->shape);
		shape_str(b, sizeof(b), d->ndim, d->shape);
		return im_errf(err, errlen, IM_EARCH,
			       "tensor \"%s\" has shape %s in the file, %s "
			       "expected",
			       name, a, b);
	}
	mark[t - f->t] = 1;
	return IM_OK;
}

int im_ckpt_load(const im_ckpt *f, const im_ckpt_group *groups,
		 size_t ngroups, unsigned flags, char *err, size_t errlen)
{
	if (!f || (ngroups && !groups))
		return im_errf(err, errlen, IM_EINVAL, "bad arguments");
	unsigned char *mark = calloc(f->n ? f->n : 1, 1);
	if (!mark)
		return im_errf(err, errlen, IM_ENOMEM, "out of memory");
	int rc = IM_OK;
	for (size_t i = 0; i < ngroups && !rc; i++)
		for (size_t j = 0; j < groups[i].ndesc && !rc; j++)
			rc = match_one(f, &groups[i], &groups[i].desc[j], mark,
				       err, errlen);
	for (size_t i = 0; i < f->n && !rc; i++)
		if (!mark[i] && !(flags & IM_CKPT_IGNORE_EXTRA))
			rc = im_errf(err, errlen, IM_EARCH,
				     "tensor \"%s\" in the file is not part of "
				     "this model",
				     f->t[i].name);
	free(mark);
	if (rc)
		return rc;
	/* Only now, with everything matched, are the arenas written. */
	for (size_t i = 0; i < ngroups; i++)
		for (size_t j = 0; j < groups[i].ndesc; j++) {
			const im_tensor_desc *d = &groups[i].desc[j];
			char name[3 * IM_TENSOR_NAME_MAX + 64];
			snprintf(name, sizeof(name), "%s%s%s",
				 groups[i].prefix ? groups[i].prefix : "",
				 d->name,
				 groups[i].suffix ? groups[i].suffix : "");
			im_ckpt_copy(f, im_ckpt_find(f, name),
				     groups[i].arena + d->offset);
		}
	return IM_OK;
}
