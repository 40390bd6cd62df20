// SPDX-License-Identifier: Apache-2.0
/* Checkpoints: a bit-exact round trip with metadata; atomic replacement
 * leaves no temporary files; a file of another architecture is refused
 * naming the first mismatch and leaves the arenas untouched; every
 * truncation and every single-bit flip is refused, never a crash; hand-made
 * malformed headers are refused; and an independent Python reader sees the
 * same tensors, shapes, sums and metadata. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "learn/ckpt.h"
#include "rng.h"

/* A small model table: (name, dims...), offsets filled by make_table. */
static void set_desc(im_tensor_desc *d, const char *name, int ndim,
		     const int64_t *shape, size_t *off)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->ndim = ndim;
	d->numel = 1;
	for (int i = 0; i < ndim; i++) {
		d->shape[i] = shape[i];
		d->numel *= (size_t)shape[i];
	}
	d->offset = *off;
	*off += d->numel;
}

/* Table A: what the run writes.  w_rows changes one shape. */
static size_t table_a(im_tensor_desc *d, int64_t w_rows)
{
	size_t off = 0;
	set_desc(&d[0], "encoder.0.weight", 2, (int64_t[]){w_rows, 3}, &off);
	set_desc(&d[1], "encoder.0.bias", 1, (int64_t[]){w_rows}, &off);
	set_desc(&d[2], "policy.log_std", 1, (int64_t[]){2}, &off);
	set_desc(&d[3], "baseline.bias", 0, NULL, &off); /* a scalar */
	return off;
}

typedef struct fixture {
	char dir[64];
	char path[128];
	im_tensor_desc desc[4];
	size_t n;
	float params[64], sq[64];
} fixture;

static const im_ckpt_kv meta_kv[] = {
	{"frames", "123456789012"},
	{"updates", "42"},
	{"param_version", "43"},
	{"optimizer", "rmsprop"},
	{"run_spec", "{\"env\": \"CartPole\", \"note\": \"tab\\there\n\xc3\xa9\"}"},
};

static void groups_of(fixture *f, im_ckpt_group g[2], float *p, float *s)
{
	g[0] = (im_ckpt_group){"", f->desc, 4, p, ""};
	g[1] = (im_ckpt_group){"optim.", f->desc, 4, s, ".square_avg"};
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/im_ckpt_XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/ckpt.safetensors", f->dir);
	f->n = table_a(f->desc, 4);
	im_rng r;
	im_rng_init(&r, 9);
	for (size_t i = 0; i < f->n; i++) {
		f->params[i] = (float)im_rng_normal(&r);
		f->sq[i] = im_rng_float(&r);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *e;
	char p[512];
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
			unlink(p);
		}
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_ok(fixture *f)
{
	im_ckpt_group g[2];
	groups_of(f, g, f->params, f->sq);
	char err[256] = "";
	int rc = im_ckpt_write(f->path, g, 2, meta_kv, 5, err, sizeof(err));
	if (rc)
		fail_msg("write: %s", err);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	*len = (size_t)ftell(fp);
	fseek(fp, 0, SEEK_SET);
	unsigned char *b = malloc(*len);
	assert_int_equal(fread(b, 1, *len, fp), *len);
	fclose(fp);
	return b;
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_round_trip_bit_exact(void **state)
{
	fixture *f = *state;
	/* Values whose bits a careless path would change. */
	uint32_t nan_bits = 0x7fc01234u, denorm = 0x00000001u;
	memcpy(&f->params[0], &nan_bits, 4);
	memcpy(&f->params[1], &denorm, 4);
	f->params[2] = -0.0f;
	f->params[3] = INFINITY;
	write_ok(f);
	write_ok(f);                              /* replacing an existing file */
	assert_int_equal(count_files(f->dir), 1); /* no temporary left */
	float p[64], s[64];
	memset(p, 0, sizeof(p));
	memset(s, 0, sizeof(s));
	im_ckpt_group g[2];
	groups_of(f, g, p, s);
	im_ckpt *c;
	char err[256] = "";
	if (im_ckpt_open(&c, f->path, err, sizeof(err)))
		fail_msg("open: %s", err);
	assert_int_equal(im_ckpt_load(c, g, 2, 0, err, sizeof(err)), 0);
	assert_memory_equal(p, f->params, f->n * sizeof(float));
	assert_memory_equal(s, f->sq, f->n * sizeof(float));
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(im_ckpt_meta(c, meta_kv[i].key),
				    meta_kv[i].value);
	uint64_t v;
	assert_int_equal(im_ckpt_meta_u64(c, "frames", &v), 0);
	assert_true(v == 123456789012ull);
	assert_int_equal(im_ckpt_verified(c), 1);
	assert_int_equal(im_ckpt_meta_u64(c, "optimizer", &v), IM_ECORRUPT);
	assert_int_equal(im_ckpt_meta_u64(c, "nope", &v), IM_ENOENT);
	assert_int_equal(im_ckpt_count(c), 8);
	const im_ckpt_tensor *t = im_ckpt_find(c, "optim.encoder.0.weight.square_avg");
	assert_non_null(t);
	assert_int_equal(t->ndim, 2);
	assert_true(t->shape[0] == 4 && t->shape[1] == 3);
	t = im_ckpt_find(c, "baseline.bias");
	assert_true(t && t->ndim == 0 && t->numel == 1);
	im_ckpt_close(c);
	/* The header is padded so that the data are 8-byte aligned. */
	size_t len;
	unsigned char *b = slurp(f->path, &len);
	assert_int_equal(b[0] % 8, 0);
	free(b);
}

/* Loads with table `other`; expects IM_EARCH, `needle` in the message and
 * the arenas untouched. */
static void expect_arch(fixture *f, const im_tensor_desc *other, size_t nd,
			unsigned flags, const char *needle)
{
	float p[64], s[64];
	memset(p, 0x5a, sizeof(p));
	memset(s, 0x5a, sizeof(s));
	im_ckpt_group g[2] = {{"", other, nd, p, ""},
			      {"optim.", other, nd, s, ".square_avg"}};
	im_ckpt *c;
	char err[256] = "";
	assert_int_equal(im_ckpt_open(&c, f->path, err, sizeof(err)), 0);
	int rc = im_ckpt_load(c, g, 2, flags, err, sizeof(err));
	im_ckpt_close(c);
	if (rc != IM_EARCH || !strstr(err, needle))
		fail_msg("rc %d, message \"%s\", wanted \"%s\"", rc, err, needle);
	for (size_t i = 0; i < 64; i++) {
		uint32_t bits;
		memcpy(&bits, &p[i], 4);
		assert_int_equal(bits, 0x5a5a5a5au);
	}
}

static void test_other_architecture_refused(void **state)
{
	fixture *f = *state;
	write_ok(f);
	im_tensor_desc d[5];
	table_a(d, 5); /* encoder.0 with 5 rows, not 4 */
	expect_arch(f, d, 4, 0,
		    "\"encoder.0.weight\" has shape [4, 3] in the file, "
		    "[5, 3] expected");
	table_a(d, 4);
	size_t off = d[3].offset + 1;
	set_desc(&d[4], "encoder.2.weight", 2, (int64_t[]){2, 2}, &off);
	expect_arch(f, d, 5, 0, "\"encoder.2.weight\" is missing");
	/* Without log_std the file has extra tensors: the first in header
	 * order is named. */
	d[2] = d[3];
	expect_arch(f, d, 3, 0, "\"policy.log_std\" in the file is not part");
	/* Ignoring extras, the model alone loads from a full checkpoint. */
	table_a(d, 4);
	float p[64];
	im_ckpt_group g = {"", d, 4, p, ""};
	im_ckpt *c;
	assert_int_equal(im_ckpt_open(&c, f->path, NULL, 0), 0);
	assert_int_equal(im_ckpt_load(c, &g, 1, 0, NULL, 0), IM_EARCH);
	assert_int_equal(im_ckpt_load(c, &g, 1, IM_CKPT_IGNORE_EXTRA, NULL, 0), 0);
	assert_memory_equal(p, f->params, f->n * sizeof(float));
	im_ckpt_close(c);
}

static void test_every_truncation_refused(void **state)
{
	fixture *f = *state;
	write_ok(f);
	size_t len;
	unsigned char *b = slurp(f->path, &len);
	for (size_t n = 0; n < len; n++) {
		im_ckpt *c = NULL;
		char err[256] = "";
		int rc = im_ckpt_open_mem(&c, b, n, err, sizeof(err));
		if (rc != IM_ECORRUPT)
			fail_msg("length %zu of %zu: rc %d", n, len, rc);
		assert_null(c);
		assert_true(err[0] != '\0');
	}
	/* Also from disk, where the size comes from the file system. */
	assert_int_equal(truncate(f->path, (off_t)len - 3), 0);
	im_ckpt *c;
	char err[256] = "";
	assert_int_equal(im_ckpt_open(&c, f->path, err, sizeof(err)),
			 IM_ECORRUPT);
	assert_non_null(strstr(err, f->path));
	free(b);
}

/* Every single-bit flip, header and data alike, is refused: the structure
 * checks catch most header flips and the content hash the rest. */
static void test_every_bit_flip_refused(void **state)
{
	fixture *f = *state;
	write_ok(f);
	size_t len;
	unsigned char *b = slurp(f->path, &len);
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (unsigned char)(1u << bit);
			im_ckpt *c = NULL;
			int rc = im_ckpt_open_mem(&c, b, len, NULL, 0);
			b[i] ^= (unsigned char)(1u << bit);
			if (rc != IM_ECORRUPT)
				fail_msg("flip of bit %d of byte %zu (of %zu): "
					 "rc %d",
					 bit, i, len, rc);
		}
	im_ckpt *c;
	assert_int_equal(im_ckpt_open_mem(&c, b, len, NULL, 0), 0);
	im_ckpt_close(c);
	free(b);
}

/* Random multi-byte damage: never a crash; refused, unless the damage
 * destroyed the hash key itself, and then the file no longer claims to be
 * verified. */
static void test_random_damage(void **state)
{
	fixture *f = *state;
	write_ok(f);
	size_t len;
	unsigned char *b = slurp(f->path, &len), *m = malloc(len);
	im_rng r;
	im_rng_init(&r, 77);
	int unverified = 0;
	for (int it = 0; it < 3000; it++) {
		memcpy(m, b, len);
		int k = 1 + (int)im_rng_below(&r, 6);
		for (int j = 0; j < k; j++)
			m[im_rng_below(&r, len)] = (unsigned char)im_rng_u64(&r);
		im_ckpt *c = NULL;
		int rc = im_ckpt_open_mem(&c, m, len, NULL, 0);
		assert_true(rc == IM_ECORRUPT || rc == 0);
		if (rc == 0) {
			assert_int_equal(im_ckpt_verified(c),
					 !memcmp(m, b, len));
			unverified += !im_ckpt_verified(c);
		}
		im_ckpt_close(c);
	}
	assert_true(unverified < 30); /* the key is 19 of ~1000 bytes */
	free(m);
	free(b);
}

/* A file from a header text (no hash: as other writers make them) and
 * data_len zero bytes. */
static int open_handmade(const char *header, size_t data_len, char *err,
			 size_t errlen)
{
	size_t hl = strlen(header), len = 8 + hl + data_len;
	unsigned char *b = calloc(1, len);
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
	memcpy(b + 8, header, hl);
	im_ckpt *c = NULL;
	int rc = im_ckpt_open_mem(&c, b, len, err, errlen);
	im_ckpt_close(c);
	free(b);
	return rc;
}

static void test_handmade_headers(void **state)
{
	(void)state;
	char err[256];
	const char *ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
			 "\"data_offsets\":[0,8]},\"__metadata__\":{\"k\":\"v\"}}";
	assert_int_equal(open_handmade(ok, 8, err, sizeof(err)), 0);
	struct {
		const char *h;
		size_t data;
		const char *why;
	} bad[] = {
		{ok, 12, "data section is 12 bytes"},
		{ok, 4, "outside"},
		{"{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
		 4, "dtype F16"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
		 8, "bytes for"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		 "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
		 8, "overlap"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
		 8, "gap"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],"
		 "\"data_offsets\":[0,0]}}",
		 0, "too large"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],"
		 "\"x\":1}}",
		 4, "unknown field"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
		 4, "bad shape"},
		{"{\"__metadata__\":{\"k\":1}}", 0, "not a string"},
		{"[1]", 0, "not a JSON object"},
		{"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
		 "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
		 8, "duplicate key"},
		{"{\"__metadata__\":{\"impala.content_hash\":\"0000000000000000\"}}",
		 0, "content hash"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		int rc = open_handmade(bad[i].h, bad[i].data, err, sizeof(err));
		if (rc != IM_ECORRUPT || !strstr(err, bad[i].why))
			fail_msg("case %zu: rc %d \"%s\", wanted \"%s\"", i, rc,
				 err, bad[i].why);
	}
	/* A header length pointing past the end of the file. */
	unsigned char b[16] = {200, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
	im_ckpt *c;
	assert_int_equal(im_ckpt_open_mem(&c, b, 16, err, sizeof(err)),
			 IM_ECORRUPT);
	assert_non_null(strstr(err, "header length 200"));
}

static void test_write_errors(void **state)
{
	fixture *f = *state;
	im_ckpt_group g[2];
	groups_of(f, g, f->params, f->sq);
	char err[256];
	assert_int_equal(im_ckpt_write("/nonexistent-dir/x.safetensors", g, 2,
				       NULL, 0, err, sizeof(err)),
			 IM_ESYS);
	g[1].prefix = "";
	g[1].suffix = "";
	assert_int_equal(im_ckpt_write(f->path, g, 2, NULL, 0, err,
				       sizeof(err)),
			 IM_EINVAL);
	assert_non_null(strstr(err, "named twice"));
	im_ckpt_kv kv = {IM_CKPT_HASH_KEY, "x"};
	assert_int_equal(im_ckpt_write(f->path, g, 1, &kv, 1, err, sizeof(err)),
			 IM_EINVAL);
	im_tensor_desc d = f->desc[0];
	d.numel = 11;
	im_ckpt_group bad = {"", &d, 1, f->params, ""};
	assert_int_equal(im_ckpt_write(f->path, &bad, 1, NULL, 0, err,
				       sizeof(err)),
			 IM_EINVAL);
	assert_int_equal(count_files(f->dir), 0); /* nothing was written */
	im_ckpt *c;
	assert_int_equal(im_ckpt_open(&c, f->path, err, sizeof(err)), IM_ENOENT);
}

/* The Python reader (json + struct only) must list the same tensors with
 * the same shapes and sums, and the same metadata. */
static void test_python_reader_agrees(void **state)
{
	fixture *f = *state;
	const char *py = getenv("IMPALA_PYTHON");
	const char *script = getenv("IMPALA_CKPT_READER");
	if (!py || !*py || !script || access(script, R_OK))
		skip();
	write_ok(f);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "'%s' '%s' '%s'", py, script, f->path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	im_ckpt *c;
	assert_int_equal(im_ckpt_open(&c, f->path, NULL, 0), 0);
	char line[1024];
	size_t seen = 0, metas = 0;
	while (fgets(line, sizeof(line), p)) {
		char name[256], shape[128], rest[512];
		assert_int_equal(sscanf(line, "%255s %127s %511[^\n]", name, shape,
					rest),
				 3);
		if (!strcmp(name, "meta")) {
			if (!strcmp(shape, "frames"))
				assert_string_equal(rest, "\"123456789012\"");
			metas++;
			continue;
		}
		const im_ckpt_tensor *t = im_ckpt_at(c, seen++);
		assert_non_null(t);
		assert_string_equal(name, t->name);
		char want[128];
		size_t k = (size_t)snprintf(want, sizeof(want), "[");
		for (int i = 0; i < t->ndim; i++)
			k += (size_t)snprintf(want + k, sizeof(want) - k,
					      i ? ",%lld" : "%lld",
					      (long long)t->shape[i]);
		snprintf(want + k, sizeof(want) - k, "]");
		assert_string_equal(shape, want);
		float v[64];
		im_ckpt_copy(c, t, v);
		double sum = 0.0;
		for (size_t i = 0; i < t->numel; i++)
			sum += v[i];
		if (strtod(rest, NULL) != sum)
			fail_msg("%s: python sum %s, C %.17g", name, rest, sum);
	}
	assert_int_equal(pclose(p), 0);
	assert_int_equal(seen, im_ckpt_count(c));
	assert_int_equal(metas, 6); /* ours plus the content hash */
	im_ckpt_close(c);
}

static void touch(const fixture *f, const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", f->dir, name);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fputs("x", fp);
	fclose(fp);
}

static int exists(const fixture *f, const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", f->dir, name);
	return access(p, F_OK) == 0;
}

/* Issue 14, defect 6: a SIGKILL during a write leaves path.tmp.XXXXXX
 * behind; the next start removes exactly those, never the checkpoint or
 * a file that only looks alike. */
static void test_stale_temps_removed(void **state)
{
	fixture *f = *state;
	write_ok(f);
	const char *stale[] = {"ckpt.safetensors.tmp.AbC123",
			       "ckpt.safetensors.tmp.zzzzzz"};
	const char *kept[] = {"ckpt.safetensors", "ckpt.safetensors.tmp.",
			      "ckpt.safetensors.tmp.abc", "ckpt.safetensors.tmp.abcdefg",
			      "ckpt.safetensors.tmp.ab/cde", "other.tmp.AbC123",
			      "xckpt.safetensors.tmp.AbC123", "metrics.csv"};
	for (size_t i = 0; i < 2; i++)
		touch(f, stale[i]);
	for (size_t i = 1; i < sizeof kept / sizeof kept[0]; i++)
		if (!strchr(kept[i], '/'))
			touch(f, kept[i]);
	int removed = -1;
	assert_int_equal(im_ckpt_remove_stale_temps(f->path, &removed), IM_OK);
	assert_int_equal(removed, 2);
	for (size_t i = 0; i < 2; i++)
		assert_false(exists(f, stale[i]));
	for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
		if (!strchr(kept[i], '/'))
			assert_true(exists(f, kept[i]));
	/* The checkpoint still loads. */
	char err[256];
	im_ckpt *c = NULL;
	assert_int_equal(im_ckpt_open(&c, f->path, err, sizeof(err)), IM_OK);
	im_ckpt_close(c);
	assert_int_equal(im_ckpt_remove_stale_temps(f->path, &removed), IM_OK);
	assert_int_equal(removed, 0);
	assert_int_equal(im_ckpt_remove_stale_temps("/nonexistent-dir/x", NULL),
			 IM_ESYS);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_round_trip_bit_exact),
		T(test_other_architecture_refused),
		T(test_every_truncation_refused),
		T(test_every_bit_flip_refused),
		T(test_random_damage),
		T(test_handmade_headers),
		T(test_write_errors),
		T(test_python_reader_agrees),
		T(test_stale_temps_removed),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
