// SPDX-License-Identifier: Apache-2.0
/* CRC-32C over one parameter arena (common/crc32c.h): the SSE4.2 version
 * beside the table version, timed call by call in the same run, on the
 * calling thread's CPU clock.  The arena is the MinAtar network's (132,697
 * floats, 531 KB), which every actor checks in every Params it takes.
 * The last line of stdout is one JSON object.
 *
 * Usage: bench_crc32c [--seconds S] [--bytes N] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "crc32c.h"

typedef struct job {
	const uint8_t *buf;
	size_t len;
	uint32_t crc;
} job;

static void run_table(void *arg)
{
	job *j = arg;
	j->crc = im_crc32c_table(j->buf, j->len);
}

static void run_best(void *arg)
{
	job *j = arg;
	j->crc = im_crc32c(j->buf, j->len);
}

int main(int argc, char **argv)
{
	double seconds = 1.0;
	size_t bytes = 132697 * sizeof(float);
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--bytes"))
			bytes = (size_t)atol(argv[i + 1]);
		else {
			fprintf(stderr, "usage: bench_crc32c [--seconds S] [--bytes N]\n");
			return 2;
		}
	}
	uint8_t *buf = malloc(bytes ? bytes : 1);
	if (!buf)
		return 1;
	for (size_t i = 0; i < bytes; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 13);
	bench_use_cpu_clock(1);
	job t = {buf, bytes, 0}, b = {buf, bytes, 0};
	double med_t, med_b;
	bench_median_time2(run_table, &t, run_best, &b, seconds, 3, 5, &med_t,
			   &med_b, NULL, NULL);
	if (t.crc != b.crc) {
		fprintf(stderr, "bench_crc32c: the two disagree\n");
		return 1;
	}
	int hw = im_crc32c_hw_available();
	printf("crc32c over %zu bytes: table %.1f us (%.2f GB/s), %s %.1f us "
	       "(%.2f GB/s): %.1fx\n",
	       bytes, 1e6 * med_t, bytes / med_t / 1e9, hw ? "sse4.2" : "table",
	       1e6 * med_b, bytes / med_b / 1e9, med_t / med_b);
	printf("{\"bytes\": %zu, \"hw\": %d, \"table_us\": %.2f, \"best_us\": %.2f, "
	       "\"speedup\": %.2f}\n",
	       bytes, hw, 1e6 * med_t, 1e6 * med_b, med_t / med_b);
	free(buf);
	return 0;
}
