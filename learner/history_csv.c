// SPDX-License-Identifier: Apache-2.0
/* Refilling the history of a resumed run from its metrics.csv. */
#include "history.h"

#include "err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_ 4096

/* Which scalar each CSV column is, by the header's names (-1: none), so
 * that columns added or reordered later still land in the right place. */
static int map_header(char *line, int *col, int max)
{
	int n = 0;
	for (char *tok = strtok(line, ",\r\n"); tok && n < max;
	     tok = strtok(NULL, ",\r\n")) {
		col[n] = -1;
		for (int i = 0; i < IM_SC_COUNT; i++)
			if (strcmp(tok, im_scalar_name(i)) == 0)
				col[n] = i;
		n++;
	}
	return n;
}

/* One data line into row (NaN where the CSV has no column); 0 when the
 * line is not a complete row of numbers (a torn last line). */
static int parse_row(const char *line, const int *col, int ncol,
		     double row[IM_SC_COUNT])
{
	for (int i = 0; i < IM_SC_COUNT; i++)
		row[i] = NAN;
	const char *p = line;
	for (int c = 0; c < ncol; c++) {
		char *end;
		double v = strtod(p, &end);
		if (end == p || (*end != ',' && *end != '\n' && *end != '\r'))
			return 0;
		if ((*end == ',') != (c + 1 < ncol))
			return 0;
		if (col[c] >= 0)
			row[col[c]] = v;
		p = end + 1;
	}
	return !isnan(row[IM_SC_FRAMES]);
}

/* Calls fn on every complete row of the file; the count of rows. */
static long each_row(FILE *f, const int *col, int ncol,
		     void (*fn)(void *, long, const double *), void *arg)
{
	char line[LINE_MAX_];
	double row[IM_SC_COUNT];
	long k = 0;
	while (fgets(line, sizeof line, f)) {
		if (!parse_row(line, col, ncol, row))
			continue;
		fn(arg, k++, row);
	}
	return k;
}

/* Pass one: the index of the first row of the last run segment, i.e.
 * after the last place where frames went back (the CSV of a run directory
 * reused by a new run), among rows at or below max_frames. */
typedef struct segment {
	uint64_t max_frames;
	double prev;
	long start;
} segment;

static void find_segment(void *arg, long k, const double *row)
{
	segment *s = arg;
	if (row[IM_SC_FRAMES] > (double)s->max_frames)
		return;
	if (row[IM_SC_FRAMES] < s->prev)
		s->start = k;
	s->prev = row[IM_SC_FRAMES];
}

typedef struct loader {
	im_history *h;
	uint64_t max_frames;
	long start;
	uint64_t loaded;
} loader;

static void load_row(void *arg, long k, const double *row)
{
	loader *l = arg;
	if (k < l->start || row[IM_SC_FRAMES] > (double)l->max_frames)
		return;
	im_history_push(l->h, row);
	l->loaded++;
}

int im_history_load_csv(im_history *h, const char *path, uint64_t max_frames,
			uint64_t *loaded)
{
	*loaded = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return IM_ESYS;
	char line[LINE_MAX_];
	int col[256];
	int ncol = fgets(line, sizeof line, f) ? map_header(line, col, 256) : 0;
	int rc = IM_OK;
	long body = ftell(f);
	if (ncol == 0 || body < 0) {
		rc = IM_ECORRUPT;
	} else {
		segment s = {.max_frames = max_frames, .prev = -1, .start = 0};
		each_row(f, col, ncol, find_segment, &s);
		loader l = {.h = h, .max_frames = max_frames, .start = s.start};
		if (fseek(f, body, SEEK_SET) == 0)
			each_row(f, col, ncol, load_row, &l);
		else
			rc = IM_EIO;
		*loaded = l.loaded;
	}
	fclose(f);
	return rc;
}
