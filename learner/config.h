// SPDX-License-Identifier: Apache-2.0
/* The learner's run configuration: rllte's IMPALA parameters with their
 * names and defaults, plus what a networked service needs.  Filled from
 * defaults, IMPALA_* environment variables and the command line. */
#ifndef IM_LEARNER_CONFIG_H
#define IM_LEARNER_CONFIG_H

/* Longest --tag plus its NUL (a tag is one directory name). */
#define IM_LEARNER_TAG_MAX 128

#include <stddef.h>
#include <stdint.h>

#include "learn/optim.h"
#include "nn/model.h"

/* Room for the flag table (im_learner_config_table). */
#define IM_LEARNER_MAX_FLAGS 96

typedef enum im_verb {
	IM_VERB_TRAIN = 0,
	IM_VERB_EVAL = 1,
	IM_VERB_DESCRIBE = 2,
} im_verb;

typedef struct im_learner_config {
	im_verb verb;
	/* rllte IMPALA / DistributedAgent parameters. */
	const char *env; /* environment name, or plugin:/path.so */
	const char *tag;
	int64_t seed;
	int num_steps;  /* T */
	int num_actors; /* environments acting in parallel (local) */
	int num_learners;
	int learner_overlap; /* compute outside the lock (learn.c), 0 */
	int num_storages;
	int batch_size;
	int feature_dim;
	int hidden_dim;
	int num_hidden_layers;
	im_nn_activation activation;
	im_nn_encoder_kind encoder; /* IM_NN_ENCODER_AUTO: from the obs space */
	int use_lstm;
	int lstm_hidden; /* 0: feature_dim */
	double lr;
	double eps;
	double alpha; /* RMSprop smoothing */
	im_optim_kind optimizer;
	double ent_coef;
	double baseline_coef;
	double max_grad_norm;
	double discount;
	double rho_bar, c_bar, pg_rho_bar, lambda;
	int clip_rewards;
	int popart;          /* PopArt value normalisation (learn/popart.h) */
	double popart_beta;  /* its statistics' step size */
	int obs_norm;        /* observation normalisation (learn/obsnorm.h) */
	double explore_eps;  /* actors' held random actions (actor/explore.h) */
	double explore_hold; /* their mean length in steps */
	im_nn_init network_init_method;
	/* train() arguments. */
	int64_t num_train_steps; /* environment frames */
	const char *init_model_path;
	int resume;
	int auto_resume;       /* resume the run directory's checkpoint if any */
	double log_interval;   /* seconds between progress lines */
	int64_t eval_interval; /* updates between evaluations; 0 = never */
	int64_t save_interval; /* updates between checkpoints; 0 = final only */
	int num_eval_episodes;
	double target_return; /* stop when the mean of the last 100 >= it */
	const char *logdir;
	int tensorboard; /* event files in the run directory */
	/* Service. */
	const char *bind;        /* tcp://host:port; port, +1, +2 */
	const char *status_addr; /* host:port */
	int spawn_actors;
	const char *actor_bin;
	int envs_per_actor;      /* 0: num_actors / spawn_actors */
	int64_t max_policy_lag;  /* 0 = unlimited */
	int publish_every;       /* updates between Params broadcasts */
	int publish_interval_ms; /* and at least this often */
	int publish_min_ms;      /* and at most this often (0: no bound) */
	double actor_timeout;    /* seconds without data before an actor leaves */
	double heap_trim_s;      /* seconds between heap trims (0: never) */
	int heap_mmap_threshold; /* bytes; malloc maps blocks this big (0: glibc's) */
	int insecure;
	const char *curve_secret_key; /* file: the learner's CURVE secret key */
	const char *authorized_keys;  /* directory of actors' *.pub keys */
	const char *log_level;
	int blas_threads;
	const char *config; /* --config FILE (config_file.h), or NULL */
	/* given[i]: flag i of im_learner_config_table was set by --config,
	 * the environment or the command line (im_learner_config_given). */
	unsigned char given[IM_LEARNER_MAX_FLAGS];
	/* Storage for env when it comes from a checkpoint (ckpt_spec.h). */
	char env_buf[256];
} im_learner_config;

/* The names of im_verb's values, NULL-terminated. */
extern const char *const im_learner_verbs[];

struct im_flag;
/* The flag table over c's fields, in --help order: f has room for
 * IM_LEARNER_MAX_FLAGS; returns the count.  The parser and the
 * dashboard's /config (every flag with its value) read it. */
size_t im_learner_config_table(im_learner_config *c, struct im_flag *f);

/* Whether the flag called name ("hidden-dim") was set by --config, the
 * environment or the command line, rather than left at its default.  0
 * for a name the table does not have. */
int im_learner_config_given(const im_learner_config *c, const char *name);

/* Sets every field to its default. */
void im_learner_config_defaults(im_learner_config *c);

/* Parses --config FILE, environment and argv into c (which holds the
 * defaults on entry), fills the defaults that depend on the kind of
 * observation (below) and checks cross-field constraints.
 *
 * Defaults by observation.  rllte's sizes (--num-steps 80 --num-actors 45
 * --batch-size 4 --hidden-dim 512 --feature-dim 512 --lr 0.0004) were
 * chosen for Atari frames; on vector observations (rank 1) they learn
 * slowly (CartPole-v1 308 and 197 after 1M frames, with and without
 * PopArt), so a vector task gets --num-steps 20 --num-actors 16
 * --batch-size 8 --hidden-dim 64 --feature-dim 64 --lr 0.001 --ent-coef
 * 0.003 --max-policy-lag 20 for each of these flags that neither the command line, the
 * environment nor the config file set (measured: tests/bench/README.md,
 * "Learning").  im_learner_config_defaults() holds rllte's values.   On IM_EINVAL err holds a one-line
 * reason naming the offending value; IM_EHELP after printing --help. */
int im_learner_config_parse(im_learner_config *c, int argc, char *const *argv,
			    char *err, size_t errlen);

#endif
