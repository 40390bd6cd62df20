/* A live learner (CartPole, a tiny MLP, free loopback ports) against the
 * defects of issue 14 that need the whole service: the status port's
 * first answer, the final summary, the temporary files of an interrupted
 * checkpoint write.  Each case names the defect it holds fixed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "learner.h"
#include "log.h"
#include "transport.h"

typedef struct fx {
	char dir[64];
	char bind[64];
	im_learner_config cfg;
	im_learner *l;
} fx;

static void config_small(fx *f)
{
	int port = 0;
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(im_transport_free_ports(3, &port), IM_OK);
	snprintf(f->bind, sizeof f->bind, "tcp://127.0.0.1:%d", port);
	im_learner_config_defaults(&f->cfg);
	f->cfg.hidden_dim = f->cfg.feature_dim = 16;
	f->cfg.num_learners = 1;
	f->cfg.num_storages = 8;
	f->cfg.batch_size = 2;
	f->cfg.num_steps = 5;
	f->cfg.eval_interval = f->cfg.save_interval = 0;
	f->cfg.logdir = f->dir;
	f->cfg.bind = f->bind;
	f->cfg.status_addr = "127.0.0.1:0";
}

static void start(fx *f)
{
	char err[512] = "";
	int rc = im_learner_new(&f->l, &f->cfg, err, sizeof err);
	if (rc)
		fail_msg("im_learner_new: %s (%s)", err, im_strerror(rc));
}

static void finish(fx *f)
{
	im_learner_free(f->l);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
}

/* GET path on the learner's status port; the whole response in buf. */
static void http_get(int port, const char *path, char *buf, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	char req[128];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n\r\n", path);
	assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	size_t got = 0;
	ssize_t r;
	while (got + 1 < cap && (r = recv(fd, buf + got, cap - 1 - got, 0)) > 0)
		got += (size_t)r;
	buf[got] = '\0';
	close(fd);
}

/* Defect 11: between start-up and the first publish /status served an
 * all-zero snapshot (run_id 0, env ""). */
static void test_status_real_from_the_start(void **state)
{
	(void)state;
	fx f = {.dir = "/tmp/im_harden_XXXXXX"};
	config_small(&f);
	start(&f);
	char *buf = malloc(1 << 16);
	http_get(im_learner_status_port(f.l), "/status", buf, 1 << 16);
	assert_non_null(strstr(buf, "HTTP/1.1 200"));
	assert_non_null(strstr(buf, "\"env\":\"CartPole-v1\""));
	assert_null(strstr(buf, "\"run_id\":\"0000000000000000\""));
	free(buf);
	finish(&f);
}

/* Runs the learner until stop (set before: it returns at once) with
 * stdout captured into out. */
static int run_captured(fx *f, char *out, size_t cap)
{
	char path[] = "/tmp/im_harden_out_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stdout);
	int saved = dup(1);
	dup2(fd, 1);
	volatile sig_atomic_t stop = 1;
	int code = im_learner_run(f->l, &stop);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	ssize_t n = pread(fd, out, cap - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return code;
}

/* Defect 8: the summary said "mean_return":nan when no episode had
 * finished, which is not JSON. */
static void test_summary_is_json_without_episodes(void **state)
{
	(void)state;
	fx f = {.dir = "/tmp/im_harden_XXXXXX"};
	config_small(&f);
	start(&f);
	char out[1024];
	assert_int_equal(run_captured(&f, out, sizeof out), 0);
	assert_non_null(strstr(out, "\"mean_return\":null,"));
	assert_null(strstr(out, "nan"));
	finish(&f);
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
	fx f = {.dir = "/tmp/im_harden_XXXXXX"};
	config_small(&f);
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
	start(&f);
	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", run, stale[i]);
		assert_int_not_equal(access(p, F_OK), 0);
	}
	snprintf(p, sizeof p, "%s/notes.tmp.Ab12Cd", run);
	assert_int_equal(access(p, F_OK), 0);
	finish(&f);
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
