// SPDX-License-Identifier: Apache-2.0
/* TensorBoard event files: Events encoded by protobuf-c, framed as
 * TFRecords. */
#include "tfevents.h"

#include "err.h"
#include "tb_event.pb-c.h"
#include "tfrecord.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

struct im_tfevents {
	FILE *f;
	int failed; /* a write failed: the file may end in a partial record */
	char path[PATH_MAX];
};

/* Encodes ev and appends it as one record. */
static int write_event(FILE *f, const Impala__Tb__Event *ev)
{
	size_t n = impala__tb__event__get_packed_size(ev);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return IM_ENOMEM;
	impala__tb__event__pack(ev, buf);
	int rc = im_tfrecord_write(f, buf, n);
	free(buf);
	return rc;
}

static int write_file_version(FILE *f, double wall_time)
{
	Impala__Tb__Event ev = IMPALA__TB__EVENT__INIT;
	ev.wall_time = wall_time;
	ev.what_case = IMPALA__TB__EVENT__WHAT_FILE_VERSION;
	ev.file_version = (char *)IM_TFEVENTS_FILE_VERSION;
	return write_event(f, &ev);
}

static int write_start(FILE *f, double wall_time, int64_t step)
{
	Impala__Tb__SessionLog sl = IMPALA__TB__SESSION_LOG__INIT;
	sl.status = IMPALA__TB__SESSION_LOG__SESSION_STATUS__START;
	Impala__Tb__Event ev = IMPALA__TB__EVENT__INIT;
	ev.wall_time = wall_time;
	ev.step = step;
	ev.what_case = IMPALA__TB__EVENT__WHAT_SESSION_LOG;
	ev.session_log = &sl;
	return write_event(f, &ev);
}

/* The newest event file of dir (greatest name: the names start with the
 * creation time in seconds), or "" when there is none. */
static void newest_file(const char *dir, char *name, size_t len)
{
	name[0] = '\0';
	DIR *d = opendir(dir);
	if (!d)
		return;
	size_t plen = strlen(IM_TFEVENTS_PREFIX);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, IM_TFEVENTS_PREFIX, plen) == 0 &&
		    strlen(e->d_name) < len && strcmp(e->d_name, name) > 0)
			snprintf(name, len, "%s", e->d_name);
	}
	closedir(d);
}

/* Cuts a torn record off the end of the file at path: 1 when the file
 * may be appended to, 0 when it is damaged (left as it is).  *records:
 * the complete records it keeps (0: it needs its file_version first). */
static int repair(const char *path, im_tfevents_info *info, char *err,
		  size_t errlen, int *rc, uint64_t *records)
{
	FILE *f = fopen(path, "r+b");
	if (!f) {
		*rc = im_errf(err, errlen, IM_ESYS, "%s: %s", path,
			      strerror(errno));
		return 0;
	}
	im_tfrecord_scan sc;
	*rc = im_tfrecord_scan_file(f, &sc);
	int ok = *rc == IM_OK && (sc.valid_len == sc.file_len || sc.torn);
	*records = sc.records;
	if (*rc == IM_OK && ok && sc.valid_len < sc.file_len) {
		if (ftruncate(fileno(f), (off_t)sc.valid_len) != 0)
			*rc = IM_ESYS;
		info->torn_bytes = sc.file_len - sc.valid_len;
	}
	if (*rc != IM_OK)
		im_errf(err, errlen, *rc, "%s: %s", path, strerror(errno));
	fclose(f);
	return ok && *rc == IM_OK;
}

static double now_s(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* A new file's name: events.out.tfevents.<seconds>.<host>. */
static void new_name(im_tfevents *w, const im_tfevents_opts *o, double t)
{
	char host[256] = "localhost";
	if (o->host)
		snprintf(host, sizeof host, "%s", o->host);
	else if (gethostname(host, sizeof host) != 0 || !host[0])
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	/* A host name has no '/', but a configured one is checked all the
	 * same: the name must stay inside the run directory. */
	for (char *p = host; *p; p++)
		if (*p == '/')
			*p = '_';
	snprintf(w->path, sizeof w->path, "%s/" IM_TFEVENTS_PREFIX "%lld.%s",
		 o->dir, (long long)t, host);
	/* Never the name of a file already there (a damaged one from the
	 * same second): TensorBoard reads any name containing "tfevents". */
	size_t n = strlen(w->path);
	for (int k = 1; k < 1000 && access(w->path, F_OK) == 0; k++)
		snprintf(w->path + n, sizeof w->path - n, ".%d", k);
}

/* Picks the file (existing, or a new name); *fresh when it holds no
 * record yet. */
static int pick_file(im_tfevents *w, const im_tfevents_opts *o, double t,
		     int *fresh, im_tfevents_info *info, char *err,
		     size_t errlen)
{
	char name[NAME_MAX + 1];
	newest_file(o->dir, name, sizeof name);
	*fresh = 1;
	if (name[0]) {
		int rc = IM_OK;
		uint64_t records = 0;
		snprintf(w->path, sizeof w->path, "%s/%s", o->dir, name);
		if (repair(w->path, info, err, errlen, &rc, &records)) {
			/* An empty file (a learner killed before its first
			 * record was whole) still gets file_version first. */
			*fresh = records == 0;
			info->appended = 1;
			return IM_OK;
		}
		if (rc != IM_OK)
			return rc;
		info->damaged_skipped = 1;
	}
	new_name(w, o, t);
	return IM_OK;
}

int im_tfevents_open(im_tfevents **out, const im_tfevents_opts *o,
		     im_tfevents_info *info, char *err, size_t errlen)
{
	im_tfevents_info scratch;
	info = info ? info : &scratch;
	memset(info, 0, sizeof *info);
	im_tfevents *w = calloc(1, sizeof *w);
	if (!w)
		return im_errf(err, errlen, IM_ENOMEM, "out of memory");
	double t = o->wall_time > 0 ? o->wall_time : now_s();
	int fresh;
	int rc = pick_file(w, o, t, &fresh, info, err, errlen);
	if (rc == IM_OK && !(w->f = fopen(w->path, "ab")))
		rc = im_errf(err, errlen, IM_ESYS, "cannot open %s: %s",
			     w->path, strerror(errno));
	if (rc == IM_OK && fresh)
		rc = write_file_version(w->f, t);
	if (rc == IM_OK)
		rc = write_start(w->f, t, o->start_step);
	if (rc == IM_OK && fflush(w->f) != 0)
		rc = IM_EIO;
	if (rc != IM_OK) {
		if (w->f && !err[0])
			im_errf(err, errlen, rc, "cannot write %s: %s", w->path,
				strerror(errno));
		if (w->f)
			fclose(w->f);
		free(w);
		return rc;
	}
	*out = w;
	return IM_OK;
}

const char *im_tfevents_path(const im_tfevents *w)
{
	return w->path;
}

int im_tfevents_write_row(im_tfevents *w, double wall_time, int64_t step,
			  const double row[IM_SC_COUNT])
{
	Impala__Tb__Summary__Value values[IM_SC_COUNT];
	Impala__Tb__Summary__Value *ptrs[IM_SC_COUNT];
	size_t n = 0;
	for (int i = 0; i < IM_SC_COUNT; i++) {
		if (!isfinite(row[i]) ||
		    (i >= IM_SC_DROPPED_FIRST && row[i] == 0))
			continue;
		impala__tb__summary__value__init(&values[n]);
		values[n].tag = (char *)im_scalar_tag(i);
		values[n].value_case =
			IMPALA__TB__SUMMARY__VALUE__VALUE_SIMPLE_VALUE;
		values[n].simple_value = (float)row[i];
		ptrs[n] = &values[n];
		n++;
	}
	Impala__Tb__Summary sum = IMPALA__TB__SUMMARY__INIT;
	sum.n_value = n;
	sum.value = ptrs;
	Impala__Tb__Event ev = IMPALA__TB__EVENT__INIT;
	ev.wall_time = wall_time;
	ev.step = step;
	ev.what_case = IMPALA__TB__EVENT__WHAT_SUMMARY;
	ev.summary = &sum;
	if (w->failed)
		return IM_EIO;
	int rc = write_event(w->f, &ev);
	if (rc == IM_OK && fflush(w->f) != 0)
		rc = IM_EIO;
	/* Nothing more after a failed write: a record after a partial one
	 * would be unreadable anyway; the next start cuts the torn tail. */
	w->failed = rc != IM_OK;
	return rc;
}

int im_tfevents_close(im_tfevents *w)
{
	if (!w)
		return IM_OK;
	int rc = fclose(w->f) == 0 ? IM_OK : IM_EIO;
	free(w);
	return rc;
}
