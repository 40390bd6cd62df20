// SPDX-License-Identifier: Apache-2.0
/* learner/procstat: each figure moves by what the test does to this very
 * process: a pipe adds two descriptors and no socket, a socket pair adds
 * two of each, and touching 64 MiB adds about that much resident memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "procstat.h"

static im_procstat now(void)
{
	im_procstat p;
	assert_int_equal(im_procstat_read(&p), IM_OK);
	return p;
}

static void test_pipe_counts_fds_not_sockets(void **state)
{
	(void)state;
	im_procstat a = now();
	int fd[2];
	assert_int_equal(pipe(fd), 0);
	im_procstat b = now();
	assert_int_equal(b.open_fds, a.open_fds + 2);
	assert_int_equal(b.open_sockets, a.open_sockets);
	close(fd[0]);
	close(fd[1]);
	assert_int_equal(now().open_fds, a.open_fds);
	assert_true(a.max_fds >= a.open_fds);
}

static void test_socketpair_counts_sockets(void **state)
{
	(void)state;
	im_procstat a = now();
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	im_procstat b = now();
	assert_int_equal(b.open_fds, a.open_fds + 2);
	assert_int_equal(b.open_sockets, a.open_sockets + 2);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(now().open_sockets, a.open_sockets);
}

static void test_rss_follows_touched_memory(void **state)
{
	(void)state;
	const size_t n = 64u << 20;
	im_procstat a = now();
	char *p = malloc(n);
	assert_non_null(p);
	memset(p, 1, n);
	im_procstat b = now();
	assert_true(b.rss_bytes >= a.rss_bytes + n - (4u << 20));
	assert_true(b.vm_bytes >= b.rss_bytes);
	/* Keep the buffer alive past the reading. */
	assert_int_equal(p[n - 1], 1);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipe_counts_fds_not_sockets),
		cmocka_unit_test(test_socketpair_counts_sockets),
		cmocka_unit_test(test_rss_follows_touched_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
