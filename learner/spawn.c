// SPDX-License-Identifier: Apache-2.0
#include "spawn.h"

#include "err.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int executable(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

int im_spawn_find_actor(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, len, "%s/impala-actor", self);
			if (executable(buf))
				return IM_OK;
			snprintf(buf, len, "%s/../actor/impala-actor", self);
			if (executable(buf))
				return IM_OK;
		}
	}
	const char *path = getenv("PATH");
	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t l = end ? (size_t)(end - path) : strlen(path);
		snprintf(buf, len, "%.*s/impala-actor", (int)l, path);
		if (l && executable(buf))
			return IM_OK;
		path = end ? end + 1 : NULL;
	}
	return IM_ENOENT;
}

int im_spawn_resolve(const char *actor_bin, char *buf, size_t len)
{
	if (!actor_bin)
		return im_spawn_find_actor(buf, len);
	snprintf(buf, len, "%s", actor_bin);
	return executable(buf) ? IM_OK : IM_ENOENT;
}

int im_spawn_actor(pid_t *pid, int i, const im_spawn_opts *o)
{
	char bin[PATH_MAX], id[32], envs[32];
	if (im_spawn_resolve(o->actor_bin, bin, sizeof bin))
		return IM_ENOENT;
	snprintf(id, sizeof id, "%d", i + 1);
	snprintf(envs, sizeof envs, "%d", o->num_envs);
	pid_t parent = getpid();
	pid_t p = fork();
	if (p < 0)
		return IM_ESYS;
	if (p == 0) {
		/* Die with the learner, even if it is killed. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		char *argv[] = {bin, "--learner", (char *)o->learner,
				"--num-envs", envs, "--actor-id", id,
				"--env", (char *)(o->env ? o->env : ""),
				"--log-level", (char *)(o->log_level ? o->log_level : "warn"),
				NULL};
		execv(bin, argv);
		fprintf(stderr, "impala-learner: cannot run %s: %s\n", bin,
			strerror(errno));
		_exit(127);
	}
	*pid = p;
	return IM_OK;
}

int im_spawn_reap(pid_t *pids, int n)
{
	int exited = 0;
	for (int i = 0; i < n; i++) {
		if (pids[i] <= 0)
			continue;
		int st;
		if (waitpid(pids[i], &st, WNOHANG) == pids[i]) {
			pids[i] = 0;
			exited++;
		}
	}
	return exited;
}

void im_spawn_stop(pid_t *pids, int n, int grace_ms)
{
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (int waited = 0; waited < grace_ms; waited += 20) {
		im_spawn_reap(pids, n);
		int alive = 0;
		for (int i = 0; i < n; i++)
			alive += pids[i] > 0;
		if (!alive)
			return;
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < n; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
			pids[i] = 0;
		}
}
