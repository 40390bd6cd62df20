// SPDX-License-Identifier: Apache-2.0
/* The learner service (learner/learner.c) at its edges, the defects of
 * issue 14 that need no peer: the status port's first answer is a real
 * snapshot, the final summary is JSON even when no episode finished and
 * --logdir holds quotes, and the temporary files of an interrupted
 * checkpoint write are removed at the next start (and nothing else). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "learn/json.h"

#include "../fixture/live_learner.h"

/* Defect 11: between start-up and the first publish /status served an
 * all-zero snapshot (run_id 0, env ""). */
static void test_status_real_from_the_start(void **state)
{
	(void)state;
	fx_learner f = {.dir = "/tmp/im_harden_XXXXXX"};
	fx_learner_small(&f);
	fx_learner_start(&f);
	char *buf = malloc(1 << 16);
	fx_http_get(im_learner_status_port(f.l), "/status", buf, 1 << 16);
	assert_non_null(strstr(buf, "HTTP/1.1 200"));
	assert_non_null(strstr(buf, "\"env\":\"CartPole-v1\""));
	assert_null(strstr(buf, "\"run_id\":\"0000000000000000\""));
	free(buf);
	fx_learner_finish(&f);
}

/* Defect 8: the summary said "mean_return":nan when no episode had
 * finished, which is not JSON.  Its checkpoint path holds --logdir, the
 * user's text, which it printed unescaped: a quote or a backslash there
 * made the line unparsable too. */
static void test_summary_is_json_without_episodes(void **state)
{
	(void)state;
	fx_learner f = {.dir = "/tmp/im_harden_XXXXXX"};
	fx_learner_small(&f);
	char logdir[128];
	snprintf(logdir, sizeof logdir, "%s/q\"b\\s", f.dir);
	f.cfg.logdir = logdir;
	fx_learner_start(&f);
	char out[1024];
	assert_int_equal(fx_run_captured(&f, out, sizeof out), 0);
	assert_non_null(strstr(out, "\"mean_return\":null,"));
	assert_null(strstr(out, "nan"));
	im_json *j = NULL;
	char why[128];
	if (im_json_parse(&j, out, strlen(out), why, sizeof why))
		fail_msg("summary is not JSON (%s): %s", why, out);
	const im_json *ck = im_json_get(j, "checkpoint");
	assert_non_null(ck);
	assert_true(strncmp(ck->str, logdir, strlen(logdir)) == 0);
	im_json_free(j);
	fx_learner_finish(&f);
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "partial", 7), 7);
	close(fd);
}

/* Defect 6: a SIGKILL during a checkpoint write left
 * checkpoint.safetensors.tmp.* behind forever; the next start removes
 * them, and nothing else. */
static void test_stale_checkpoint_temps_removed(void **state)
{
	(void)state;
	fx_learner f = {.dir = "/tmp/im_harden_XXXXXX"};
	fx_learner_small(&f);
	char run[128], p[256];
	snprintf(run, sizeof run, "%s/default", f.dir);
	assert_int_equal(mkdir(run, 0755), 0);
	snprintf(run, sizeof run, "%s/default/seed1", f.dir);
	assert_int_equal(mkdir(run, 0755), 0);
	const char *stale[] = {"checkpoint.safetensors.tmp.Ab12Cd",
			       "checkpoint.safetensors.tmp.xYz789"};
	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", run, stale[i]);
		touch(p);
	}
	snprintf(p, sizeof p, "%s/notes.tmp.Ab12Cd", run);
	touch(p);
	fx_learner_start(&f);
	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", run, stale[i]);
		assert_int_not_equal(access(p, F_OK), 0);
	}
	snprintf(p, sizeof p, "%s/notes.tmp.Ab12Cd", run);
	assert_int_equal(access(p, F_OK), 0);
	fx_learner_finish(&f);
}

int main(void)
{
	im_log_set_level(IM_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_real_from_the_start),
		cmocka_unit_test(test_summary_is_json_without_episodes),
		cmocka_unit_test(test_stale_checkpoint_temps_removed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
