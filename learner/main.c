// SPDX-License-Identifier: Apache-2.0
/* impala-learner: the IMPALA learner service.  See learner/learner.h. */
#include "blas.h"
#include "config.h"
#include "config_ckpt.h"
#include "err.h"
#include "heap.h"
#include "learner.h"
#include "log.h"
#include "signals.h"
#include "spawn.h"

#include <limits.h>

#include <cblas.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	im_log_init(argv[0], IM_LOG_INFO);
	im_learner_config cfg;
	char err[512];
	im_learner_config_defaults(&cfg);
	int rc = im_learner_config_parse(&cfg, argc, argv, err, sizeof err);
	if (rc == IM_EHELP)
		return 0;
	im_log_level lvl = IM_LOG_INFO;
	if (rc == IM_OK && im_log_parse_level(cfg.log_level, &lvl)) {
		snprintf(err, sizeof err, "--log-level: '%s' is not one of debug, "
					  "info, warn, error",
			 cfg.log_level);
		rc = IM_EINVAL;
	}
	if (rc) {
		fprintf(stderr, "impala-learner: %s\n", err);
		return 2;
	}
	im_log_set_level(lvl);
	/* Before any thread allocates (learner/heap.h). */
	if (im_heap_pin_mmap_threshold((size_t)cfg.heap_mmap_threshold)) {
		fprintf(stderr, "impala-learner: --heap-mmap-threshold %d refused "
				"by malloc\n",
			cfg.heap_mmap_threshold);
		return 2;
	}
	openblas_set_num_threads(cfg.blas_threads);
	/* May start this program again with OPENBLAS_CORETYPE set: before
	 * any thread, socket or file exists. */
	char why[400];
	int warn = 0;
	rc = im_blas_setup(argv, why, sizeof why, &warn, err, sizeof err);
	if (rc) {
		fprintf(stderr, "impala-learner: %s\n", err);
		return 2;
	}
	im_log(warn ? IM_LOG_WARN : IM_LOG_INFO, "OpenBLAS core %s", why);
	/* The network a checkpoint was trained with is the one to build:
	 * flags left at their defaults take its values (config_ckpt.h). */
	if (cfg.init_model_path) {
		char note[400];
		rc = im_config_ckpt_adopt(&cfg, cfg.init_model_path,
					  cfg.verb != IM_VERB_TRAIN, note,
					  sizeof note, err, sizeof err);
		if (rc) {
			fprintf(stderr, "impala-learner: %s\n", err);
			return 2;
		}
		if (note[0])
			im_info("from the run spec of %s: %s",
				cfg.init_model_path, note);
	}
	if (cfg.verb == IM_VERB_DESCRIBE)
		return im_learner_describe(&cfg);
	if (cfg.verb == IM_VERB_EVAL)
		return im_learner_eval(&cfg);

	volatile sig_atomic_t *stop_flag = im_signals_install();

	char bin[PATH_MAX];
	if (cfg.spawn_actors > 0 && im_spawn_resolve(cfg.actor_bin, bin, sizeof bin)) {
		fprintf(stderr, "impala-learner: --spawn-actors: %s\n",
			cfg.actor_bin ? "--actor-bin is not an executable file"
				      : "no impala-actor found beside impala-learner, "
					"in ../actor/ or on PATH (set --actor-bin)");
		return 2;
	}
	im_learner *l = NULL;
	rc = im_learner_new(&l, &cfg, err, sizeof err);
	if (rc) {
		im_error("%s", err);
		/* 2 means "fix the configuration" (the systemd unit does not
		 * restart on it); a port still in use or an exception in a
		 * Python environment's factory may pass: 1, and systemd tries
		 * again.  A store or model too large for the memory is the
		 * configuration's fault (retrying only repeats it): 2. */
		return rc == IM_EAGAIN || rc == IM_EENVFAIL ? 1 : 2;
	}
	int code = im_learner_run(l, stop_flag);
	im_learner_free(l);
	return code;
}
