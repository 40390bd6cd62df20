// SPDX-License-Identifier: Apache-2.0
/* The dashboard's history (learner/history.h) at full size: what a row
 * costs the learner's main thread (im_history_push, the mean over 200000
 * rows, halvings included), how long a page view
 * holds the history's lock (the copy, im_history_copy of every row) and
 * what it costs the status thread outside the lock (the JSON of the whole
 * history, im_history_render_json), the copy and the render timed
 * alternately so that load from other processes falls on both alike.
 *
 * Usage: bench_history [--seconds S] [--rows N]   (defaults 1, 2048)
 * The last line of stdout is one JSON object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "err.h"
#include "history.h"

typedef struct ctx {
	im_history *h;
	uint32_t rows;
	uint64_t *seqs;
	double *buf;
	double row[IM_SC_COUNT];
	size_t doc_len;
} ctx;

static void do_push(void *p)
{
	ctx *c = p;
	c->row[IM_SC_FRAMES] += 1000;
	im_history_push(c->h, c->row);
}

static void do_copy(void *p)
{
	ctx *c = p;
	im_history_copy(c->h, 0, c->seqs, c->buf, c->rows);
}

static void do_render(void *p)
{
	ctx *c = p;
	char *doc;
	if (im_history_render_json(c->h, 0, &doc, &c->doc_len) == IM_OK)
		free(doc);
}

int main(int argc, char **argv)
{
	double seconds = 1;
	uint32_t rows = IM_HISTORY_DEFAULT_CAPACITY;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--rows") == 0)
			rows = (uint32_t)atoi(argv[i + 1]);
	}
	ctx c = {.rows = rows};
	if (im_history_new(&c.h, rows) != IM_OK)
		return 1;
	c.seqs = malloc(rows * sizeof *c.seqs);
	c.buf = malloc((size_t)rows * IM_SC_COUNT * sizeof *c.buf);
	unsigned seed = 1;
	float *r = bench_frand(IM_SC_COUNT, &seed);
	for (int j = 0; j < IM_SC_COUNT; j++)
		c.row[j] = r[j] * 1000;
	free(r);
	for (uint32_t i = 0; i < rows; i++)
		do_push(&c);
	/* A full history, stride 1: the most a page view copies and renders. */
	im_history_info info;
	im_history_get_info(c.h, &info);
	double copy, render;
	int reps;
	bench_median_time2(do_copy, &c, do_render, &c, seconds, 2, 10, &copy,
			   &render, NULL, &reps);
	/* A long run's pushes, halvings included: the mean over many. */
	int n = 200000;
	double t0 = bench_now();
	for (int i = 0; i < n; i++)
		do_push(&c);
	double push = (bench_now() - t0) / n;
	printf(
		"history of %u rows (capacity %u, stride %llu), %d scalars a row\n",
		info.rows, info.capacity, (unsigned long long)info.stride,
		IM_SC_COUNT);
	printf("push (learner, per log row, mean): %8.3f us\n", push * 1e6);
	printf("copy under the lock (page view):  %8.3f us\n", copy * 1e6);
	printf("render outside the lock:          %8.3f ms, %.0f KB of JSON\n",
	       render * 1e3, c.doc_len / 1024.0);
	printf("{\"bench\":\"history\",\"rows\":%u,\"scalars\":%d,\"push_us\":%"
	       ".3f,"
	       "\"lock_copy_us\":%.3f,\"render_ms\":%.3f,\"json_kb\":%.0f,"
	       "\"render_over_copy\":%.1f,\"pairs\":%d}\n",
	       info.rows, IM_SC_COUNT, push * 1e6, copy * 1e6, render * 1e3,
	       c.doc_len / 1024.0, render / copy, reps);
	free(c.seqs);
	free(c.buf);
	im_history_free(c.h);
	return 0;
}
