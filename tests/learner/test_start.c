// SPDX-License-Identifier: Apache-2.0
/* The learner when one of its threads cannot be created: im_learner_run()
 * must fail, and every thread it did start (receiver, handshake,
 * publisher, learners) must have ended by the time it returns, so that
 * im_learner_free() does not close sockets and free the store under
 * threads still using them (the parameter port's fan-out among them).
 *
 * pthread_create is wrapped (-Wl,--wrap=pthread_create, which reaches the
 * calls in the learner's static library, not those inside libzmq or
 * libuv) so that the n-th creation of an armed run fails with EAGAIN.
 *
 * And when a learner thread cannot set itself up (im_update_new, wrapped
 * the same way, runs out of memory), the run ends with a non-zero status
 * instead of reporting "num_train_steps reached" and exiting 0, which a
 * service manager takes for a finished run and does not restart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "learn/update.h"
#include "err.h"
#include "learner.h"
#include "log.h"
#include "transport.h"

int __real_pthread_create(pthread_t *t, const pthread_attr_t *a,
			  void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a,
			  void *(*fn)(void *), void *arg);

static int fail_at; /* 0: never; n: the n-th call fails */
static int calls;

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a,
			  void *(*fn)(void *), void *arg)
{
	if (fail_at && ++calls == fail_at)
		return EAGAIN;
	return __real_pthread_create(t, a, fn, arg);
}

int __real_im_update_new(im_update **out, const im_model *m, int T, int B);
int __wrap_im_update_new(im_update **out, const im_model *m, int T, int B);

static int update_fails;

int __wrap_im_update_new(im_update **out, const im_model *m, int T, int B)
{
	if (update_fails)
		return IM_ENOMEM;
	return __real_im_update_new(out, m, T, B);
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Builds a small CartPole learner on free loopback ports, makes creation
 * number nth of im_learner_run's threads fail, and checks that run fails
 * and leaves no thread of its own behind. */
static im_learner *small_learner(im_learner_config *cfg, char *dir,
				 char *bind, size_t bindlen)
{
	assert_non_null(mkdtemp(dir));
	int port = 0;
	assert_int_equal(im_transport_free_ports(3, &port), IM_OK);
	snprintf(bind, bindlen, "tcp://127.0.0.1:%d", port);
	im_learner_config_defaults(cfg);
	cfg->hidden_dim = cfg->feature_dim = 16;
	cfg->num_learners = 2;
	cfg->num_storages = 8;
	cfg->batch_size = 2;
	cfg->num_steps = 5;
	cfg->eval_interval = cfg->save_interval = 0;
	cfg->logdir = dir;
	cfg->bind = bind;
	cfg->status_addr = "127.0.0.1:0";
	char err[512] = "";
	im_learner *l = NULL;
	int rc = im_learner_new(&l, cfg, err, sizeof err);
	if (rc)
		fail_msg("im_learner_new: %s (%s)", err, im_strerror(rc));
	return l;
}

static void remove_dir(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void run_failing_at(int nth)
{
	char dir[] = "/tmp/im_learner_start_XXXXXX", bind[64];
	im_learner_config cfg;
	im_learner *l = small_learner(&cfg, dir, bind, sizeof bind);
	int before = count_threads();
	assert_true(before > 0);
	volatile sig_atomic_t stop = 0;
	calls = 0;
	fail_at = nth;
	int code = im_learner_run(l, &stop);
	fail_at = 0;
	assert_int_not_equal(code, 0);
	/* Threads end asynchronously only in ZeroMQ's and libuv's own pools,
	 * which existed before; the learner's must all be joined. */
	int after = count_threads();
	im_learner_free(l);
	assert_int_equal(after, before);
	remove_dir(dir);
}

static void learner_setup_fails(void **st)
{
	(void)st;
	char dir[] = "/tmp/im_learner_start_XXXXXX", bind[64];
	im_learner_config cfg;
	im_learner *l = small_learner(&cfg, dir, bind, sizeof bind);
	volatile sig_atomic_t stop = 0;
	update_fails = 1;
	int code = im_learner_run(l, &stop);
	update_fails = 0;
	im_learner_free(l);
	assert_int_not_equal(code, 0);
	remove_dir(dir);
}

/* Creation order in im_learner_start_threads: receiver, handshake,
 * the parameter port's fan-out (no CURVE here), publisher, then the
 * learner threads. */
static void handshake_fails(void **st)
{
	(void)st;
	run_failing_at(2);
}

static void fanout_fails(void **st)
{
	(void)st;
	run_failing_at(3);
}

static void publisher_fails(void **st)
{
	(void)st;
	run_failing_at(4);
}

static void second_learner_fails(void **st)
{
	(void)st;
	run_failing_at(6);
}

static void receiver_fails(void **st)
{
	(void)st;
	run_failing_at(1);
}

int main(void)
{
	im_log_set_level(IM_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(receiver_fails),
		cmocka_unit_test(handshake_fails),
		cmocka_unit_test(fanout_fails),
		cmocka_unit_test(publisher_fails),
		cmocka_unit_test(second_learner_fails),
		cmocka_unit_test(learner_setup_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
