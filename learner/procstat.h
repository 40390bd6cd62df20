// SPDX-License-Identifier: Apache-2.0
/* The learner process's own resource use, read from /proc/self (Linux), for
 * the status port: resident memory and open file descriptors, of which
 * sockets (ZeroMQ peers and listeners, status clients).  These are what a
 * hostile peer or a leak would make grow, so monitoring can alert on them.
 *
 * Nothing here allocates; the numbers are read anew on every call. */
#ifndef IM_LEARNER_PROCSTAT_H
#define IM_LEARNER_PROCSTAT_H

#include <stdint.h>

typedef struct im_procstat {
	uint64_t rss_bytes;    /* resident set size */
	uint64_t vm_bytes;     /* virtual memory size */
	uint32_t open_fds;     /* entries of /proc/self/fd */
	uint32_t open_sockets; /* of which sockets */
	uint64_t max_fds;      /* RLIMIT_NOFILE soft limit */
} im_procstat;

/* Fills *out.  IM_ESYS (errno set) when /proc cannot be read; *out is then
 * zeroed, so a caller that renders it anyway shows zeros, never garbage. */
int im_procstat_read(im_procstat *out);

#endif
