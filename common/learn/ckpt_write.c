// SPDX-License-Identifier: Apache-2.0
/* Writing checkpoints: header, content hash, atomic replacement. */
#include "learn/ckpt.h"

#include <dirent.h>
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

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoints store little-endian floats; add byte swapping here"
#endif

/* One tensor to write, flattened out of the groups. */
typedef struct wtensor {
	char *name;
	const im_tensor_desc *d;
	const float *data;
} wtensor;

static char *join3(const char *a, const char *b, const char *c)
{
	a = a ? a : "";
	c = c ? c : "";
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);
	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb);
		memcpy(s + la + lb, c, lc + 1);
	}
	return s;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const wtensor *)a)->name, ((const wtensor *)b)->name);
}

static int desc_ok(const im_tensor_desc *d)
{
	if (d->ndim < 0 || d->ndim > IM_TENSOR_MAX_DIMS)
		return 0;
	size_t n = 1;
	for (int i = 0; i < d->ndim; i++) {
		if (d->shape[i] < 0)
			return 0;
		n *= (size_t)d->shape[i];
	}
	return n == d->numel;
}

/* Flattens the groups into *out (n entries), checking names and shapes. */
static int collect(wtensor **out, size_t *n, const im_ckpt_group *g,
		   size_t ng, char *err, size_t errlen)
{
	size_t total = 0;
	for (size_t i = 0; i < ng; i++)
		total += g[i].ndesc;
	wtensor *w = calloc(total ? total : 1, sizeof(*w));
	if (!w)
		return IM_ENOMEM;
	size_t k = 0;
	int rc = IM_OK;
	for (size_t i = 0; i < ng && !rc; i++)
		for (size_t j = 0; j < g[i].ndesc && !rc; j++, k++) {
			w[k].d = &g[i].desc[j];
			w[k].data = g[i].arena + g[i].desc[j].offset;
			w[k].name = join3(g[i].prefix, g[i].desc[j].name,
					  g[i].suffix);
			if (!w[k].name)
				rc = IM_ENOMEM;
			else if (!desc_ok(w[k].d))
				rc = im_errf(err, errlen, IM_EINVAL,
					     "tensor \"%s\": numel %zu is not the "
					     "product of its shape",
					     w[k].name,
					     w[k].d->numel);
		}
	*out = w;
	*n = k;
	if (rc)
		return rc;
	/* Duplicates would make the header invalid JSON for every reader. */
	wtensor *s = malloc((k ? k : 1) * sizeof(*s));
	if (!s)
		return IM_ENOMEM;
	memcpy(s, w, k * sizeof(*s));
	qsort(s, k, sizeof(*s), cmp_name);
	for (size_t i = 1; i < k && !rc; i++)
		if (!strcmp(s[i - 1].name, s[i].name))
			rc = im_errf(err, errlen, IM_EINVAL,
				     "tensor \"%s\" named twice", s[i].name);
	free(s);
	return rc;
}

static void free_tensors(wtensor *w, size_t n)
{
	for (size_t i = 0; w && i < n; i++)
		free(w[i].name);
	free(w);
}

/* Hashes the header (its digits still '0') and the data; see ckpt_hash.h. */
static uint64_t content_hash(const im_json_buf *h, const wtensor *w, size_t n)
{
	ckpt_hash s;
	ckpt_hash_init(&s);
	ckpt_hash_u64(&s, h->len);
	ckpt_hash_bytes(&s, h->p, h->len);
	for (size_t i = 0; i < n; i++)
		ckpt_hash_bytes(&s, w[i].data, w[i].d->numel * sizeof(float));
	return ckpt_hash_final(&s);
}

static void header_entry(im_json_buf *b, const wtensor *t, size_t off)
{
	im_json_buf_str(b, t->name);
	im_json_buf_cstr(b, ":{\"dtype\":\"F32\",\"shape\":[");
	for (int i = 0; i < t->d->ndim; i++) {
		if (i)
			im_json_buf_cstr(b, ",");
		im_json_buf_u64(b, (uint64_t)t->d->shape[i]);
	}
	im_json_buf_cstr(b, "],\"data_offsets\":[");
	im_json_buf_u64(b, off);
	im_json_buf_cstr(b, ",");
	im_json_buf_u64(b, off + t->d->numel * sizeof(float));
	im_json_buf_cstr(b, "]},");
}

/* The whole header, padded with spaces to a multiple of 8 bytes, then the
 * hash written into the place of its 16 digits. */
static int build_header(im_json_buf *b, const wtensor *w, size_t n,
			const im_ckpt_kv *meta, size_t nmeta)
{
	size_t off = 0;
	im_json_buf_cstr(b, "{");
	for (size_t i = 0; i < n; i++) {
		header_entry(b, &w[i], off);
		off += w[i].d->numel * sizeof(float);
	}
	im_json_buf_cstr(b, "\"__metadata__\":{");
	for (size_t i = 0; i < nmeta; i++) {
		im_json_buf_str(b, meta[i].key);
		im_json_buf_cstr(b, ":");
		im_json_buf_str(b, meta[i].value);
		im_json_buf_cstr(b, ",");
	}
	im_json_buf_cstr(b, CKPT_HASH_MEMBER);
	size_t digits = b->len;
	im_json_buf_cstr(b, "0000000000000000\"}}");
	while (!b->err && b->len % 8)
		im_json_buf_cstr(b, " ");
	if (b->err)
		return b->err;
	char hex[CKPT_HASH_DIGITS + 8];
	snprintf(hex, sizeof(hex), CKPT_HASH_FMT,
		 (unsigned long long)content_hash(b, w, n));
	memcpy(b->p + digits, hex, CKPT_HASH_DIGITS);
	return IM_OK;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t k = write(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static int write_body(int fd, const im_json_buf *h, const wtensor *w,
		      size_t n)
{
	unsigned char len8[8];
	for (int i = 0; i < 8; i++)
		len8[i] = (unsigned char)((uint64_t)h->len >> (8 * i));
	if (write_all(fd, len8, 8) || write_all(fd, h->p, h->len))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (write_all(fd, w[i].data, w[i].d->numel * sizeof(float)))
			return -1;
	return fsync(fd);
}

/* The directory holding path, so that the rename itself is made durable. */
static int fsync_dir(const char *path)
{
	char *dir = strdup(path);
	if (!dir)
		return -1;
	char *slash = strrchr(dir, '/');
	const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir))
			      : ".";
	int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd < 0 ? -1 : fsync(fd);
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

static int write_file(const char *path, const im_json_buf *h,
		      const wtensor *w, size_t n, char *err, size_t errlen)
{
	char *tmp = join3(path, ".tmp.XXXXXX", NULL);
	if (!tmp)
		return IM_ENOMEM;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		free(tmp);
		return im_errf(err, errlen, IM_ESYS, "%s: cannot create a "
						     "temporary file: %s",
			       path, strerror(e));
	}
	const char *step = "write";
	int ok = !write_body(fd, h, w, n);
	if (close(fd) && ok) {
		ok = 0;
		step = "close";
	}
	if (ok && rename(tmp, path)) {
		ok = 0;
		step = "rename";
	}
	if (ok && fsync_dir(path)) {
		ok = 0;
		step = "fsync of the directory";
	}
	int e = errno;
	if (!ok && strcmp(step, "fsync of the directory"))
		unlink(tmp);
	free(tmp);
	if (!ok)
		return im_errf(err, errlen, IM_EIO, "%s: %s failed: %s", path,
			       step, strerror(e));
	return IM_OK;
}

int im_ckpt_write(const char *path, const im_ckpt_group *groups,
		  size_t ngroups, const im_ckpt_kv *meta, size_t nmeta,
		  char *err, size_t errlen)
{
	if (!path || (ngroups && !groups) || (nmeta && !meta))
		return im_errf(err, errlen, IM_EINVAL, "bad arguments");
	for (size_t i = 0; i < nmeta; i++)
		if (!meta[i].key || !meta[i].value ||
		    !strcmp(meta[i].key, IM_CKPT_HASH_KEY))
			return im_errf(err, errlen, IM_EINVAL,
				       "bad metadata entry %zu", i);
	for (size_t i = 0; i < nmeta; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(meta[i].key, meta[j].key))
				return im_errf(err, errlen, IM_EINVAL,
					       "metadata key \"%s\" given twice",
					       meta[i].key);
	wtensor *w = NULL;
	size_t n = 0;
	im_json_buf h = {0};
	int rc = collect(&w, &n, groups, ngroups, err, errlen);
	if (!rc)
		rc = build_header(&h, w, n, meta, nmeta);
	if (rc == IM_ENOMEM)
		im_errf(err, errlen, rc, "out of memory");
	if (!rc)
		rc = write_file(path, &h, w, n, err, errlen);
	free(h.p);
	free_tensors(w, n);
	return rc;
}

/* name is base + ".tmp." + exactly the six characters mkostemp puts in. */
static int is_stale_temp(const char *name, const char *base)
{
	size_t n = strlen(base);
	if (strncmp(name, base, n) != 0 || strncmp(name + n, ".tmp.", 5) != 0)
		return 0;
	const char *x = name + n + 5;
	return strlen(x) == 6 &&
	       strspn(x, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789") == 6;
}

int im_ckpt_remove_stale_temps(const char *path, int *removed)
{
	int count = 0, rc = IM_OK;
	char *dir = strdup(path ? path : "");
	if (!dir)
		return IM_ENOMEM;
	char *slash = strrchr(dir, '/');
	const char *base = slash ? slash + 1 : dir;
	const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
	DIR *dp = *base ? opendir(d) : NULL;
	if (!dp) {
		/* base points into dir: decide before freeing it. */
		int e = errno;
		rc = *base ? IM_ESYS : IM_EINVAL;
		free(dir);
		errno = e;
		return rc;
	}
	struct dirent *ent;
	while ((ent = readdir(dp)) != NULL) {
		if (!is_stale_temp(ent->d_name, base))
			continue;
		if (unlinkat(dirfd(dp), ent->d_name, 0) == 0)
			count++;
		else if (errno != ENOENT)
			rc = IM_ESYS;
	}
	int e = errno;
	closedir(dp);
	free(dir);
	errno = e;
	if (removed)
		*removed = count;
	return rc;
}
