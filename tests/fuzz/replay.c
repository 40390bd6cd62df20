// SPDX-License-Identifier: Apache-2.0
/* replay: feeds each file of the given corpus directories (or files) to
 * the target's LLVMFuzzerTestOneInput, in name order, so that the corpus
 * runs as an ordinary test under gcc, plain or with ASan+UBSan.  A crash
 * or sanitizer report fails the test by itself; the driver fails when a
 * path cannot be read or holds no inputs at all (a corpus that went
 * missing must not pass quietly).  Prints the number of inputs run. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int read_whole(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
		fclose(f);
		return -1;
	}
	size_t n = (size_t)st.st_size;
	/* An exact-size copy, so ASan catches a read one byte past the end. */
	uint8_t *b = malloc(n ? n : 1);
	if (!b || fread(b, 1, n, f) != n) {
		free(b);
		fclose(f);
		return -1;
	}
	fclose(f);
	*buf = b;
	*len = n;
	return 0;
}

static int run_file(const char *path)
{
	uint8_t *buf;
	size_t len;
	if (read_whole(path, &buf, &len) != 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int skip_entry(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* Runs every regular file of dir; the count, or -1 on an error. */
static long run_dir(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, skip_entry, by_name);
	if (n < 0) {
		fprintf(stderr, "replay: cannot list %s\n", dir);
		return -1;
	}
	long count = 0;
	for (int i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		struct stat st;
		if (count >= 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			count = run_file(path) == 0 ? count + 1 : -1;
		free(names[i]);
	}
	free(names);
	return count;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	long total = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		long n = stat(argv[i], &st) != 0 ? -1
			 : S_ISDIR(st.st_mode)   ? run_dir(argv[i])
						 : (run_file(argv[i]) == 0 ? 1 : -1);
		if (n < 0) {
			fprintf(stderr, "replay: %s failed\n", argv[i]);
			return 1;
		}
		total += n;
	}
	printf("replayed %ld inputs\n", total);
	if (total == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	return 0;
}
