// SPDX-License-Identifier: Apache-2.0
/* The learner service: receives unrolls, validates and stores them, runs
 * V-trace updates on num_learners threads (each computed on its own copy
 * of the parameters and applied under one lock, learn.c), publishes parameters, answers handshakes,
 * serves the status port, writes checkpoints, a metrics CSV and progress
 * lines, runs evaluations, and supervises local actors.
 *
 * Threads: receiver (PULL), handshake (ROUTER), publisher (PUB), learners,
 * the status server's own, and the caller's, which runs im_learner_run():
 * progress, evaluation, checkpoints, actor timeouts, shutdown. */
#ifndef IM_LEARNER_LEARNER_H
#define IM_LEARNER_LEARNER_H

#include <signal.h>
#include <stddef.h>

#include "config.h"

typedef struct im_learner im_learner;

/* Builds everything that can fail before training starts: environment,
 * model (from --init-model-path if given), optimiser, sockets (bound),
 * status port, run directory.  IM_E* with a reason in err.  cfg is
 * borrowed and must outlive the learner. */
int im_learner_new(im_learner **out, const im_learner_config *cfg, char *err,
		   size_t errlen);

/* Trains until num_train_steps frames, the target return, or *stop (set by
 * a signal handler).  Then stops taking unrolls, writes the final
 * checkpoint, stops spawned actors and prints a summary.  Returns 0, or a
 * non-zero exit status with the reason logged. */
int im_learner_run(im_learner *l, volatile sig_atomic_t *stop);

/* The status port's bound number (useful with --status-addr host:0). */
int im_learner_status_port(const im_learner *l);

/* Verbs that do not train. */
int im_learner_describe(const im_learner_config *cfg);
int im_learner_eval(const im_learner_config *cfg);

void im_learner_free(im_learner *l);

#endif
