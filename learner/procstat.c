// SPDX-License-Identifier: Apache-2.0
/* Process statistics from /proc/self/statm and /proc/self/fd. */
#include "procstat.h"

#include "err.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* statm: "size resident shared text lib data dt", in pages. */
static int read_statm(im_procstat *out)
{
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return IM_ESYS;
	unsigned long long size = 0, resident = 0;
	int n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	if (n != 2) {
		errno = EIO;
		return IM_ESYS;
	}
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	out->vm_bytes = size * page;
	out->rss_bytes = resident * page;
	return IM_OK;
}

/* Counts the descriptors, and among them the links "socket:[inode]".  The
 * directory's own descriptor is left out of both counts. */
static int count_fds(im_procstat *out)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return IM_ESYS;
	int self = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (self >= 0 && strtol(e->d_name, NULL, 10) == self)
			continue;
		char path[300], link[32];
		snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
		out->open_fds++;
		ssize_t n = readlink(path, link, sizeof link - 1);
		if (n > 0) {
			link[n] = '\0';
			if (strncmp(link, "socket:", 7) == 0)
				out->open_sockets++;
		}
	}
	closedir(d);
	return IM_OK;
}

int im_procstat_read(im_procstat *out)
{
	memset(out, 0, sizeof *out);
	int rc = read_statm(out);
	if (rc == IM_OK)
		rc = count_fds(out);
	if (rc != IM_OK) {
		int e = errno;
		memset(out, 0, sizeof *out);
		errno = e;
		return rc;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		out->max_fds = (uint64_t)rl.rlim_cur;
	return IM_OK;
}
