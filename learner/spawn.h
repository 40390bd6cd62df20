// SPDX-License-Identifier: Apache-2.0
/* Local actor processes for --spawn-actors: started on loopback, tied to
 * the learner's life (they get SIGTERM if the learner dies), stopped with
 * SIGTERM then SIGKILL after a grace period. */
#ifndef IM_LEARNER_SPAWN_H
#define IM_LEARNER_SPAWN_H

#include <sys/types.h>

typedef struct im_spawn_opts {
	const char *actor_bin; /* path, or NULL: found beside the learner */
	const char *learner;   /* base address the actors connect to */
	const char *env;       /* expected environment */
	int num_envs;          /* per actor */
	/* The actors inherit the learner's environment, OPENBLAS_CORETYPE
	 * (set by its restart, common/blas.h) among it, so they run the same
	 * OpenBLAS core. */
	const char *log_level;
} im_spawn_opts;

/* Finds impala-actor: beside this executable, then in ../actor/ (the build
 * tree), then on PATH.  Writes it into buf; IM_ENOENT when not found. */
int im_spawn_find_actor(char *buf, size_t len);

/* Resolves the actor binary (actor_bin, or found as above) into buf and
 * checks that it is an executable file; IM_ENOENT otherwise. */
int im_spawn_resolve(const char *actor_bin, char *buf, size_t len);

/* Starts actor i (0-based) with --actor-id i+1.  *pid is set on success. */
int im_spawn_actor(pid_t *pid, int i, const im_spawn_opts *o);

/* SIGTERM to every live pid, waits up to grace_ms, then SIGKILL; reaps
 * all.  pids[i] <= 0 are skipped. */
void im_spawn_stop(pid_t *pids, int n, int grace_ms);

/* Reaps exited children without blocking; sets their pids[i] to 0 and
 * returns how many exited. */
int im_spawn_reap(pid_t *pids, int n);

#endif
