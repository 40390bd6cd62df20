// SPDX-License-Identifier: Apache-2.0
/* TFRecord framing and TensorBoard event files: the framing byte for byte
 * (length, masked CRC-32C of it, data, masked CRC-32C of the data), a scan
 * that tells valid, torn and damaged files apart, and the event file's
 * life: a new file with file_version then SessionLog START, a row as one
 * Summary of every finite scalar under its tag, appending on reopen with a
 * new START, a torn tail cut off, a damaged file left alone for a new one.
 * Decoded here with our own protobuf-c messages; tests/dash/read_tfevents.py
 * is the independent reader. */
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
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "tb_event.pb-c.h"
#include "tfevents.h"
#include "tfrecord.h"
#include "wire.h"

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* TensorFlow's masking, written out: rotate right by 15, add a constant. */
static void test_mask(void **state)
{
	(void)state;
	assert_int_equal(im_wire_crc32c("123456789", 9), 0xe3069283u);
	assert_int_equal(im_tfrecord_mask(0), 0xa282ead8u);
	assert_int_equal(
		im_tfrecord_mask(0xe3069283u),
		(uint32_t)(((0xe3069283u >> 15) | (0xe3069283u << 17)) +
			   0xa282ead8u));
	assert_int_equal(im_tfrecord_mask(0x00008000u), 0xa282ead9u);
}

static void test_frame_layout(void **state)
{
	(void)state;
	uint8_t out[64];
	size_t n = im_tfrecord_frame(out, "abc", 3);
	assert_int_equal(n, 3 + IM_TFRECORD_OVERHEAD);
	const uint8_t len[8] = {3, 0, 0, 0, 0, 0, 0, 0};
	assert_memory_equal(out, len, 8);
	assert_int_equal(le32(out + 8),
			 im_tfrecord_mask(im_wire_crc32c(len, 8)));
	assert_memory_equal(out + 12, "abc", 3);
	assert_int_equal(le32(out + 15),
			 im_tfrecord_mask(im_wire_crc32c("abc", 3)));
}

/* ---- scans ---- */

static FILE *three_records(void)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(im_tfrecord_write(f, "first", 5), IM_OK);
	assert_int_equal(im_tfrecord_write(f, "", 0), IM_OK);
	assert_int_equal(im_tfrecord_write(f, "third record", 12), IM_OK);
	fflush(f);
	return f;
}

typedef struct scan_case {
	const char *name;
	long cut;     /* bytes cut off the end */
	long flip_at; /* byte flipped, or -1 */
	uint64_t records;
	int torn;
	int damaged;
} scan_case;

/* Records: 21 bytes at 0, 16 at 21, 28 at 37; 65 in all. */
static const scan_case scan_cases[] = {
	{"intact", 0, -1, 3, 0, 0},
	{"last byte missing", 1, -1, 2, 1, 0},
	{"only the last header", 28 - 12, -1, 2, 1, 0},
	{"half a header", 28 - 5, -1, 2, 1, 0},
	{"flipped data byte of the first", 0, 14, 0, 0, 1},
	{"flipped data byte of the last", 0, 50, 2, 0, 1},
	{"flipped length byte", 0, 21, 1, 0, 1},
	{"flipped length CRC", 0, 29, 1, 0, 1},
	{"flipped data CRC of the last", 0, 63, 2, 0, 1},
};

static void test_scan(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof scan_cases / sizeof scan_cases[0]; i++) {
		const scan_case *c = &scan_cases[i];
		FILE *f = three_records();
		if (c->cut)
			assert_int_equal(ftruncate(fileno(f), 65 - c->cut), 0);
		if (c->flip_at >= 0) {
			fseek(f, c->flip_at, SEEK_SET);
			int b = fgetc(f);
			fseek(f, c->flip_at, SEEK_SET);
			fputc(b ^ 0x10, f);
			fflush(f);
		}
		im_tfrecord_scan sc;
		assert_int_equal(im_tfrecord_scan_file(f, &sc), IM_OK);
		int damaged = sc.valid_len < sc.file_len && !sc.torn;
		if (sc.records != c->records || sc.torn != c->torn ||
		    damaged != c->damaged ||
		    sc.file_len != (uint64_t)(65 - c->cut))
			fail_msg("case '%s': %llu records, torn %d, valid %llu "
				 "of %llu",
				 c->name, (unsigned long long)sc.records,
				 sc.torn, (unsigned long long)sc.valid_len,
				 (unsigned long long)sc.file_len);
		fclose(f);
	}
}

/* A length far beyond any record of ours stops the scan as damage, and
 * nothing of that size is allocated. */
static void test_scan_huge_length(void **state)
{
	(void)state;
	FILE *f = tmpfile();
	uint8_t head[12] = {0, 0, 0, 0, 0, 0, 0, 0x40};
	uint32_t m = im_tfrecord_mask(im_wire_crc32c(head, 8));
	for (int i = 0; i < 4; i++)
		head[8 + i] = (uint8_t)(m >> (8 * i));
	fwrite(head, 1, sizeof head, f);
	fflush(f);
	im_tfrecord_scan sc;
	assert_int_equal(im_tfrecord_scan_file(f, &sc), IM_OK);
	assert_int_equal(sc.records, 0);
	assert_int_equal(sc.torn, 0);
	fclose(f);
}

/* A crafted length at the bound (64 MiB) in a file that holds a few
 * bytes is a torn tail, found without allocating 64 MiB: the scan runs in
 * a child whose address space has 16 MiB to spare.  Skipped under the
 * sanitizers, which reserve far more address space than that. */
static long vm_size_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void test_scan_length_beyond_file(void **state)
{
	(void)state;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	skip();
#endif
	FILE *f = tmpfile();
	uint8_t head[12];
	for (int i = 0; i < 8; i++)
		head[i] = (uint8_t)((uint64_t)IM_TFRECORD_MAX_LEN >> (8 * i));
	uint32_t m = im_tfrecord_mask(im_wire_crc32c(head, 8));
	for (int i = 0; i < 4; i++)
		head[8 + i] = (uint8_t)(m >> (8 * i));
	fwrite(head, 1, sizeof head, f);
	fwrite("some data", 1, 9, f);
	fflush(f);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		long kb = vm_size_kb();
		struct rlimit rl = {.rlim_cur = (rlim_t)(kb + 16 * 1024) * 1024,
				    .rlim_max = RLIM_INFINITY};
		if (kb < 0 || setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(2);
		im_tfrecord_scan sc;
		int rc = im_tfrecord_scan_file(f, &sc);
		_exit(rc == IM_OK && sc.torn && sc.records == 0 ? 0 : 1);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	fclose(f);
}

/* ---- event files ---- */

typedef struct dir_fixture {
	char dir[64];
} dir_fixture;

static int dir_setup(void **state)
{
	dir_fixture *d = calloc(1, sizeof *d);
	snprintf(d->dir, sizeof d->dir, "/tmp/impala-tfevents-XXXXXX");
	if (!mkdtemp(d->dir))
		return -1;
	*state = d;
	return 0;
}

static int dir_teardown(void **state)
{
	dir_fixture *d = *state;
	DIR *dd = opendir(d->dir);
	struct dirent *e;
	char p[512];
	while (dd && (e = readdir(dd)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof p, "%s/%s", d->dir, e->d_name);
			unlink(p);
		}
	if (dd)
		closedir(dd);
	rmdir(d->dir);
	free(d);
	return 0;
}

static int count_files(const char *dir)
{
	DIR *dd = opendir(dir);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(dd)))
		n += strncmp(e->d_name, IM_TFEVENTS_PREFIX,
			     strlen(IM_TFEVENTS_PREFIX)) == 0;
	closedir(dd);
	return n;
}

/* Every event of a file, decoded with our messages (freed by the caller
 * with free_events). */
static size_t read_events(const char *path, Impala__Tb__Event **ev, size_t max)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = 0;
	uint8_t head[12];
	while (n < max && fread(head, 1, 12, f) == 12) {
		uint64_t len = 0;
		for (int i = 0; i < 8; i++)
			len |= (uint64_t)head[i] << (8 * i);
		uint8_t *buf = malloc(len + 4);
		assert_int_equal(fread(buf, 1, len + 4, f), len + 4);
		ev[n] = impala__tb__event__unpack(NULL, len, buf);
		assert_non_null(ev[n]);
		free(buf);
		n++;
	}
	fclose(f);
	return n;
}

static void free_events(Impala__Tb__Event **ev, size_t n)
{
	for (size_t i = 0; i < n; i++)
		impala__tb__event__free_unpacked(ev[i], NULL);
}

static void assert_start(const Impala__Tb__Event *e, int64_t step)
{
	assert_int_equal(e->what_case, IMPALA__TB__EVENT__WHAT_SESSION_LOG);
	assert_int_equal(e->session_log->status,
			 IMPALA__TB__SESSION_LOG__SESSION_STATUS__START);
	assert_int_equal(e->step, step);
}

static im_tfevents *open_at(const char *dir, double t, int64_t step,
			    im_tfevents_info *info)
{
	im_tfevents_opts o = {
		.dir = dir, .host = "testhost", .wall_time = t, .start_step = step};
	im_tfevents *w = NULL;
	char err[256] = "";
	int rc = im_tfevents_open(&w, &o, info, err, sizeof err);
	if (rc)
		fail_msg("open: %s", err);
	return w;
}

static void test_new_file(void **state)
{
	dir_fixture *d = *state;
	im_tfevents_info info;
	im_tfevents *w = open_at(d->dir, 1700000000.25, 0, &info);
	char want[128];
	snprintf(want, sizeof want,
		 "%s/events.out.tfevents.1700000000.testhost", d->dir);
	assert_string_equal(im_tfevents_path(w), want);
	assert_int_equal(info.appended, 0);
	double row[IM_SC_COUNT];
	for (int i = 0; i < IM_SC_COUNT; i++)
		row[i] = i + 0.5;
	row[IM_SC_EVAL_RETURN] = NAN;
	row[IM_SC_LOSS_PG] = 0; /* a zero is still written */
	row[IM_SC_DROPPED_FIRST] =
		0; /* but not a reason that dropped nothing */
	assert_int_equal(im_tfevents_write_row(w, 1700000001.5, 1234, row),
			 IM_OK);
	assert_int_equal(im_tfevents_close(w), IM_OK);

	Impala__Tb__Event *ev[8];
	size_t n = read_events(want, ev, 8);
	assert_int_equal(n, 3);
	assert_int_equal(ev[0]->what_case,
			 IMPALA__TB__EVENT__WHAT_FILE_VERSION);
	assert_string_equal(ev[0]->file_version, "brain.Event:2");
	assert_true(ev[0]->wall_time == 1700000000.25);
	assert_start(ev[1], 0);
	const Impala__Tb__Event *e = ev[2];
	assert_int_equal(e->what_case, IMPALA__TB__EVENT__WHAT_SUMMARY);
	assert_int_equal(e->step, 1234);
	assert_true(e->wall_time == 1700000001.5);
	assert_int_equal(e->summary->n_value, IM_SC_COUNT - 2);
	for (size_t k = 0; k < e->summary->n_value; k++) {
		const Impala__Tb__Summary__Value *v = e->summary->value[k];
		int i = 0;
		while (i < IM_SC_COUNT && strcmp(im_scalar_tag(i), v->tag) != 0)
			i++;
		assert_true(i < IM_SC_COUNT && i != IM_SC_EVAL_RETURN &&
			    i != IM_SC_DROPPED_FIRST);
		assert_int_equal(
			v->value_case,
			IMPALA__TB__SUMMARY__VALUE__VALUE_SIMPLE_VALUE);
		assert_true(v->simple_value == (float)row[i]);
	}
	free_events(ev, n);
}

static void test_append_and_repair(void **state)
{
	dir_fixture *d = *state;
	double row[IM_SC_COUNT];
	for (int i = 0; i < IM_SC_COUNT; i++)
		row[i] = 1;
	im_tfevents *w = open_at(d->dir, 1700000000, 0, NULL);
	char path[256];
	snprintf(path, sizeof path, "%s", im_tfevents_path(w));
	assert_int_equal(im_tfevents_write_row(w, 1700000001, 100, row), IM_OK);
	im_tfevents_close(w);
	/* A learner killed mid-record leaves half a record. */
	FILE *f = fopen(path, "ab");
	fwrite("\x40\0\0\0\0\0\0\0\1\2", 1, 10, f);
	fclose(f);
	im_tfevents_info info;
	w = open_at(d->dir, 1700000100, 100, &info);
	assert_string_equal(im_tfevents_path(w), path);
	assert_int_equal(info.appended, 1);
	assert_int_equal(info.torn_bytes, 10);
	assert_int_equal(im_tfevents_write_row(w, 1700000101, 200, row), IM_OK);
	im_tfevents_close(w);
	assert_int_equal(count_files(d->dir), 1);

	Impala__Tb__Event *ev[8];
	size_t n = read_events(path, ev, 8);
	assert_int_equal(n, 5);
	assert_int_equal(ev[0]->what_case,
			 IMPALA__TB__EVENT__WHAT_FILE_VERSION);
	assert_start(ev[1], 0);
	assert_int_equal(ev[2]->step, 100);
	assert_start(ev[3], 100);
	assert_int_equal(ev[4]->step, 200);
	free_events(ev, n);
}

/* A file with no whole record (created, then the learner killed before
 * its first record was complete) is appended to, and still starts with
 * file_version, which TensorBoard expects first. */
static void test_recordless_file_gets_version(void **state)
{
	static const struct {
		const char *name;
		const char *bytes;
		size_t len;
	} cases[] = {
		{"empty", "", 0},
		{"half a first record", "\x40\0\0\0\0\0\0\0\1\2", 10},
	};
	dir_fixture *d = *state;
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		char path[256];
		snprintf(path, sizeof path,
			 "%s/events.out.tfevents.1700000000.testhost", d->dir);
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		fwrite(cases[c].bytes, 1, cases[c].len, f);
		fclose(f);
		im_tfevents_info info;
		im_tfevents *w = open_at(d->dir, 1700000050, 70, &info);
		assert_string_equal(im_tfevents_path(w), path);
		assert_int_equal(info.appended, 1);
		assert_int_equal(info.torn_bytes, cases[c].len);
		im_tfevents_close(w);
		Impala__Tb__Event *ev[8];
		size_t n = read_events(path, ev, 8);
		if (n != 2 ||
		    ev[0]->what_case != IMPALA__TB__EVENT__WHAT_FILE_VERSION)
			fail_msg("%s: %zu events, the first not file_version",
				 cases[c].name, n);
		assert_start(ev[1], 70);
		free_events(ev, n);
		unlink(path);
	}
}

static void test_damaged_left_alone(void **state)
{
	dir_fixture *d = *state;
	im_tfevents *w = open_at(d->dir, 1700000000, 0, NULL);
	char path[256];
	snprintf(path, sizeof path, "%s", im_tfevents_path(w));
	im_tfevents_close(w);
	FILE *f = fopen(path, "r+b");
	fseek(f, 14, SEEK_SET);
	fputc('X', f);
	fclose(f);
	im_tfevents_info info;
	/* The same second: the new file must not take the damaged one's name.
	 */
	w = open_at(d->dir, 1700000000, 0, &info);
	assert_int_equal(info.damaged_skipped, 1);
	assert_int_equal(info.appended, 0);
	assert_string_not_equal(im_tfevents_path(w), path);
	assert_non_null(strstr(im_tfevents_path(w), "tfevents"));
	im_tfevents_close(w);
	assert_int_equal(count_files(d->dir), 2);
	f = fopen(path, "rb");
	fseek(f, 14, SEEK_SET);
	assert_int_equal(fgetc(f), 'X');
	fclose(f);
}

static void test_missing_dir(void **state)
{
	(void)state;
	im_tfevents_opts o = {.dir = "/nonexistent/impala/run", .host = "h"};
	im_tfevents *w = (im_tfevents *)0x1;
	char err[256] = "";
	assert_int_equal(im_tfevents_open(&w, &o, NULL, err, sizeof err),
			 IM_ESYS);
	assert_ptr_equal(w, (im_tfevents *)0x1);
	assert_non_null(strstr(err, "/nonexistent/impala/run"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_frame_layout),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_scan_huge_length),
		cmocka_unit_test(test_scan_length_beyond_file),
		cmocka_unit_test_setup_teardown(test_new_file, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_append_and_repair, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_recordless_file_gets_version,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_left_alone, dir_setup,
						dir_teardown),
		cmocka_unit_test(test_missing_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
