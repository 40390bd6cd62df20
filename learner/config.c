// SPDX-License-Identifier: Apache-2.0
#include "config.h"

#include "config_file.h"
#include "env/env.h"
#include "err.h"
#include "flags.h"
#include "heap.h"
#include "runspec.h"
#include "status.h"

#include <stdio.h>
#include <string.h>

const char *const im_learner_verbs[] = {"train", "eval", "describe", NULL};

/* The enum flags: adapters over each module's own parse and name (the
 * modules hold the names; see flags.h, im_flag_enum). */
#define ENUM_FLAG(var, type, parse_fn, name_fn) \
	static int parse_##var(const char *s, void *dst, char *err, \
			       size_t errlen) \
	{ \
		return parse_fn(s, (type *)dst, err, errlen); \
	} \
	static const char *name_##var(const void *dst) \
	{ \
		return name_fn(*(const type *)dst); \
	} \
	static const im_flag_enum var = {parse_##var, name_##var};

ENUM_FLAG(activation_flag, im_nn_activation, im_nn_activation_parse,
	  im_nn_activation_name)
ENUM_FLAG(encoder_flag, im_nn_encoder_kind, im_nn_encoder_parse,
	  im_nn_encoder_name)
ENUM_FLAG(optimizer_flag, im_optim_kind, im_optim_kind_parse,
	  im_optim_kind_name)
ENUM_FLAG(init_flag, im_nn_init, im_nn_init_parse, im_nn_init_name)

/* --publish-min-ms's default (README, "Parameter broadcasts"). */
#define PUBLISH_MIN_MS 5

void im_learner_config_defaults(im_learner_config *c)
{
	memset(c, 0, sizeof *c);
	c->verb = IM_VERB_TRAIN;
	c->env = "CartPole-v1";
	c->tag = "default";
	c->seed = 1;
	c->num_steps = 80;
	c->num_actors = 45;
	c->num_learners = 4;
	c->learner_overlap = 0;
	c->num_storages = 60;
	c->batch_size = 4;
	c->feature_dim = 512;
	c->hidden_dim = 512;
	c->num_hidden_layers = 1;
	c->activation = IM_NN_ACT_RELU;
	c->encoder = IM_NN_ENCODER_AUTO;
	c->optimizer = IM_OPTIM_RMSPROP;
	c->network_init_method = IM_NN_INIT_IDENTITY;
	c->lr = 0.0004;
	c->eps = 0.01;
	c->alpha = 0.99;
	c->ent_coef = 0.01;
	c->baseline_coef = 0.5;
	c->max_grad_norm = 40;
	c->discount = 0.99;
	c->rho_bar = c->c_bar = c->pg_rho_bar = c->lambda = 1.0;
	c->popart = 1;
	c->popart_beta = 3e-4;
	c->explore_hold = 20;
	c->num_train_steps = 30000000;
	c->log_interval = 1.0;
	c->eval_interval = 5000;
	c->save_interval = 5000;
	c->num_eval_episodes = 10;
	c->target_return = 0; /* unset: train for num_train_steps */
	c->logdir = "runs";
	c->tensorboard = 1;
	c->bind = "tcp://127.0.0.1:5555";
	c->status_addr = IM_STATUS_DEFAULT_ADDR;
	c->actor_bin = NULL;
	c->publish_every = 1;
	c->publish_interval_ms = 100;
	c->publish_min_ms = PUBLISH_MIN_MS;
	c->actor_timeout = 10.0;
	c->heap_trim_s = 10.0;
	c->heap_mmap_threshold = 16384; /* learner/heap.h */
	c->log_level = "info";
	c->blas_threads = 1;
}

#define BIG 1e18

size_t im_learner_config_table(im_learner_config *c, im_flag *f)
{
	const im_flag t[] = {
		{"env", IM_FLAG_STR, &c->env, "environment: a built-in name, plugin:/path/lib.so[?args], py:package.module:factory[?k=v&...] or gym:ID", 1, 0, NULL},
		{"tag", IM_FLAG_STR, &c->tag, "experiment tag; the run directory is <logdir>/<tag>/seed<seed>", 1, 0, NULL},
		{"seed", IM_FLAG_I64, &c->seed, "random seed", 0, BIG, NULL},
		{"config", IM_FLAG_STR, &c->config, "file of IMPALA_*=value lines (a preset: presets/*.env); the environment and the command line override it", 1, 0, NULL},
		{"num-steps", IM_FLAG_INT, &c->num_steps, "steps per unroll (T); 20 for vector observations", 1, 100000, NULL},
		{"num-actors", IM_FLAG_INT, &c->num_actors, "environments acting in parallel on the spawned actors; 16 for vector observations", 1, 100000, NULL},
		{"num-learners", IM_FLAG_INT, &c->num_learners, "learner threads", 1, 256, NULL},
		{"learner-overlap", IM_FLAG_BOOL, &c->learner_overlap, "learner threads compute their gradients outside the lock, each on its own copy of the parameters, and apply them in the order of the copies: a gradient is at most num-learners - 1 updates stale; off: the whole update under the lock, as monobeast (off by default: on a quiet 2-core machine it ran MinAtar's presets 25-30% faster but learnt less on Space Invaders; tests/bench/README.md)", 1, 0, NULL},
		{"num-storages", IM_FLAG_INT, &c->num_storages, "unrolls the store holds", 1, 1000000, NULL},
		{"batch-size", IM_FLAG_INT, &c->batch_size, "unrolls per update (B); 8 for vector observations", 1, 100000, NULL},
		{"feature-dim", IM_FLAG_INT, &c->feature_dim, "encoder output width; 64 for vector observations", 1, 65536, NULL},
		{"hidden-dim", IM_FLAG_INT, &c->hidden_dim, "encoder hidden layer width; 64 for vector observations", 1, 65536, NULL},
		{"num-hidden-layers", IM_FLAG_INT, &c->num_hidden_layers, "encoder hidden layers", 1, 64, NULL},
		{"encoder", IM_FLAG_ENUM, &c->encoder, "observation encoder: mlp (vectors), minatar, nature or impala (images [H, W, C]); auto: mlp for vectors, minatar for images under 36 pixels a side, nature for larger ones", 1, 0, &encoder_flag},
		{"activation", IM_FLAG_ENUM, &c->activation, "encoder activation: relu or tanh", 1, 0, &activation_flag},
		{"use-lstm", IM_FLAG_BOOL, &c->use_lstm, "LSTM core", 1, 0, NULL},
		{"lstm-hidden", IM_FLAG_INT, &c->lstm_hidden, "LSTM width (0: feature-dim)", 0, 65536, NULL},
		{"lr", IM_FLAG_DOUBLE, &c->lr, "learning rate (decays linearly to 0); for vector observations 0.0005 with Discrete actions, 0.001 with Box actions", 0, 10, NULL},
		{"eps", IM_FLAG_DOUBLE, &c->eps, "optimiser epsilon (> 0: a zero gradient over eps 0 is NaN)", 1e-12, 10, NULL},
		{"alpha", IM_FLAG_DOUBLE, &c->alpha, "RMSprop smoothing constant", 0, 1, NULL},
		{"optimizer", IM_FLAG_ENUM, &c->optimizer, "optimiser: rmsprop or adam", 1, 0, &optimizer_flag},
		{"ent-coef", IM_FLAG_DOUBLE, &c->ent_coef, "entropy bonus weight; 0.003 for vector observations", 0, 1e6, NULL},
		{"baseline-coef", IM_FLAG_DOUBLE, &c->baseline_coef, "baseline loss weight", 0, 1e6, NULL},
		{"max-grad-norm", IM_FLAG_DOUBLE, &c->max_grad_norm, "global gradient-norm clip", 0, 1e12, NULL},
		{"discount", IM_FLAG_DOUBLE, &c->discount, "discount factor gamma", 0, 1, NULL},
		{"rho-bar", IM_FLAG_DOUBLE, &c->rho_bar, "V-trace rho clip", 0, 1e6, NULL},
		{"c-bar", IM_FLAG_DOUBLE, &c->c_bar, "V-trace c clip", 0, 1e6, NULL},
		{"pg-rho-bar", IM_FLAG_DOUBLE, &c->pg_rho_bar, "policy-gradient rho clip", 0, 1e6, NULL},
		{"lambda", IM_FLAG_DOUBLE, &c->lambda, "V-trace lambda", 0, 1, NULL},
		{"clip-rewards", IM_FLAG_BOOL, &c->clip_rewards, "clip rewards to [-1, 1] in the loss", 1, 0, NULL},
		{"popart", IM_FLAG_BOOL, &c->popart, "PopArt value normalisation: baseline loss and policy-gradient advantage on the scale of running statistics of the V-trace targets (--no-popart: off)", 1, 0, NULL},
		{"popart-beta", IM_FLAG_DOUBLE, &c->popart_beta, "step size of PopArt's running statistics", 1e-9, 1, NULL},
		{"obs-norm", IM_FLAG_BOOL, &c->obs_norm, "observation normalisation: each float observation element minus its running mean over the trained batches, divided by its running standard deviation, clipped to [-5, 5]; statistics updated by the learner, sent to actors in Params, saved in checkpoints; refused for uint8 images. On by default for vector observations with Box actions, off otherwise: measured, it halves Pendulum's frames and makes its default runs reliable, but Acrobot (Discrete) never learns with it (README)", 1, 0, NULL},
		{"explore-eps", IM_FLAG_DOUBLE, &c->explore_eps, "actors' temporally extended exploration (Discrete actions): at a step not already holding one, the chance of taking a uniformly random action for a hold of --explore-hold steps on average (geometric); V-trace corrects for it with the behaviour's exact probabilities; 0: off", 0, 1, NULL},
		{"explore-hold", IM_FLAG_DOUBLE, &c->explore_hold, "mean length in steps of an exploratory hold (--explore-eps)", 1, 1e6, NULL},
		{"network-init-method", IM_FLAG_ENUM, &c->network_init_method, "weight initialisation: identity, orthogonal, xavier_uniform or xavier_normal", 1, 0, &init_flag},
		{"num-train-steps", IM_FLAG_I64, &c->num_train_steps, "environment frames to train for", 1, BIG, NULL},
		{"init-model-path", IM_FLAG_STR, &c->init_model_path, "checkpoint to start from", 1, 0, NULL},
		{"resume", IM_FLAG_BOOL, &c->resume, "with --init-model-path: also restore optimiser and counters", 1, 0, NULL},
		{"auto-resume", IM_FLAG_BOOL, &c->auto_resume, "resume from the run directory's checkpoint when it exists (for services that restart)", 1, 0, NULL},
		{"log-interval", IM_FLAG_DOUBLE, &c->log_interval, "seconds between progress lines", 0.01, 86400, NULL},
		{"eval-interval", IM_FLAG_I64, &c->eval_interval, "updates between evaluations (0: never)", 0, BIG, NULL},
		{"save-interval", IM_FLAG_I64, &c->save_interval, "updates between checkpoints (0: final only)", 0, BIG, NULL},
		{"num-eval-episodes", IM_FLAG_INT, &c->num_eval_episodes, "episodes per evaluation", 1, 1000000, NULL},
		{"target-return", IM_FLAG_DOUBLE, &c->target_return, "stop when the mean return of the last 100 episodes reaches it, checked at every finished episode (0: off)", -1e12, 1e12, NULL},
		{"logdir", IM_FLAG_STR, &c->logdir, "directory of run directories", 1, 0, NULL},
		{"tensorboard", IM_FLAG_BOOL, &c->tensorboard, "write the logged scalars as a TensorBoard event file in the run directory (--no-tensorboard: off)", 1, 0, NULL},
		{"bind", IM_FLAG_STR, &c->bind, "tcp://host:port: handshake; +1 trajectories; +2 parameters", 1, 0, NULL},
		{"status-addr", IM_FLAG_STR, &c->status_addr, "host:port of the HTTP status port (port 0: any)", 1, 0, NULL},
		{"spawn-actors", IM_FLAG_INT, &c->spawn_actors, "local actor processes to start", 0, 1024, NULL},
		{"actor-bin", IM_FLAG_STR, &c->actor_bin, "impala-actor binary for --spawn-actors", 1, 0, NULL},
		{"envs-per-actor", IM_FLAG_INT, &c->envs_per_actor, "environments per spawned actor (0: num-actors / spawn-actors)", 0, 100000, NULL},
		{"max-policy-lag", IM_FLAG_I64, &c->max_policy_lag, "drop unrolls older than this many updates (0: keep all); 20 for vector observations", 0, BIG, NULL},
		{"publish-every", IM_FLAG_INT, &c->publish_every, "updates between parameter broadcasts", 1, 1000000, NULL},
		{"publish-interval-ms", IM_FLAG_INT, &c->publish_interval_ms, "broadcast parameters at least this often", 1, 3600000, NULL},
		{"publish-min-ms", IM_FLAG_INT, &c->publish_min_ms, "milliseconds at least between parameter broadcasts, each of the newest parameters; sooner once the learner is half of --max-policy-lag past the last (0: after every --publish-every updates)", 0, 3600000, NULL},
		{"actor-timeout", IM_FLAG_DOUBLE, &c->actor_timeout, "seconds of silence before an actor is dropped", 0.1, 86400, NULL},
		{"heap-mmap-threshold", IM_FLAG_INT, &c->heap_mmap_threshold, "bytes from which a heap block is its own mapping, returned to the system when freed (0: glibc's dynamic threshold)", 0, IM_HEAP_MMAP_THRESHOLD_MAX, NULL},
		{"heap-trim-interval", IM_FLAG_DOUBLE, &c->heap_trim_s, "seconds between returning the heap's free pages to the system (0: never)", 0, 86400, NULL},
		{"insecure", IM_FLAG_BOOL, &c->insecure, "allow binding a non-loopback address without CURVE keys", 1, 0, NULL},
		{"curve-secret-key", IM_FLAG_STR, &c->curve_secret_key, "file with the learner's CURVE secret key (Z85); enables CURVE on all three sockets", 1, 0, NULL},
		{"authorized-keys", IM_FLAG_STR, &c->authorized_keys, "directory whose *.pub files are the actors' CURVE public keys allowed in (reread every second)", 1, 0, NULL},
		{"log-level", IM_FLAG_STR, &c->log_level, "debug, info, warn or error", 1, 0, NULL},
		{"blas-threads", IM_FLAG_INT, &c->blas_threads, "OpenBLAS threads of the learner", 1, 256, NULL},
	};
	_Static_assert(sizeof t / sizeof t[0] <= IM_LEARNER_MAX_FLAGS,
		       "raise IM_LEARNER_MAX_FLAGS");
	memcpy(f, t, sizeof t);
	return sizeof t / sizeof t[0];
}

int im_learner_config_given(const im_learner_config *c, const char *name)
{
	im_learner_config tmp = *c; /* the table wants writable fields */
	im_flag f[IM_LEARNER_MAX_FLAGS];
	size_t n = im_learner_config_table(&tmp, f);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i].name, name))
			return c->given[i];
	return 0;
}

static int config_fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return IM_EINVAL;
}

/* The run directory is <logdir>/<tag>/seed<seed>: a tag is one path
 * component, so that "../../x" or "/etc" cannot put a run (and its
 * checkpoint writes) outside --logdir. */
static int tag_ok(const char *tag)
{
	size_t n = strlen(tag);
	return n > 0 && n < IM_LEARNER_TAG_MAX && tag[0] != '.' &&
	       strspn(tag, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			   "0123456789._+=,@-") == n;
}

/* The port of --status-addr, checked here so that a bad one stops the
 * program before anything starts. */
static int status_port_ok(const char *addr)
{
	const char *colon = strrchr(addr, ':');
	return colon && im_status_port_ok(colon + 1);
}

static int config_check(const im_learner_config *c, char *err, size_t errlen)
{
	if (!tag_ok(c->tag)) {
		snprintf(err, errlen, "--tag '%.200s': a tag is one directory name "
				      "of letters, digits and . _ + = , @ - (not starting with "
				      "'.', at most %d characters), so the run stays inside "
				      "--logdir",
			 c->tag, IM_LEARNER_TAG_MAX - 1);
		return IM_EINVAL;
	}
	/* The spec travels to the actors in the run spec: a longer one would
	 * reach them (and evaluation) cut, with other factory arguments. */
	if (c->env && strlen(c->env) >= IM_RUNSPEC_NAME_MAX) {
		snprintf(err, errlen, "--env '%.60s...' has %zu characters; at "
				      "most %d fit the run spec the actors receive",
			 c->env,
			 strlen(c->env), IM_RUNSPEC_NAME_MAX - 1);
		return IM_EINVAL;
	}
	if (!status_port_ok(c->status_addr)) {
		snprintf(err, errlen, "--status-addr '%.200s': not host:port with "
				      "a port from 0 to 65535",
			 c->status_addr);
		return IM_EINVAL;
	}
	if (c->batch_size > c->num_storages)
		return config_fail(err, errlen,
				   "--batch-size must not exceed --num-storages "
				   "(the store could never fill a batch)");
	if (c->heap_mmap_threshold != 0 &&
	    c->heap_mmap_threshold < (int)IM_HEAP_MMAP_THRESHOLD_MIN)
		return config_fail(err, errlen,
				   "--heap-mmap-threshold must be 0 (glibc's own "
				   "threshold) or at least 4096 bytes (below a "
				   "page every small block would be a mapping of "
				   "its own)");
	if (c->publish_min_ms > c->publish_interval_ms)
		return config_fail(err, errlen,
				   "--publish-min-ms must not exceed "
				   "--publish-interval-ms (broadcasts carry the "
				   "actors' flow-control advice at least that often)");
	if (c->resume && !c->init_model_path)
		return config_fail(err, errlen,
				   "--resume needs --init-model-path");
	if (c->verb == IM_VERB_EVAL && !c->init_model_path)
		return config_fail(err, errlen,
				   "eval needs --init-model-path <checkpoint>");
	if (strncmp(c->bind, "tcp://", 6) != 0)
		return config_fail(err, errlen,
				   "--bind must be tcp://host:port");
	if (!c->curve_secret_key != !c->authorized_keys)
		return config_fail(err, errlen,
				   "CURVE needs both --curve-secret-key and "
				   "--authorized-keys (or neither)");
	if (c->curve_secret_key && c->spawn_actors > 0)
		return config_fail(err, errlen,
				   "--spawn-actors cannot be combined with CURVE "
				   "keys: spawned actors have no keys of their own");
	if (c->spawn_actors > 0 && c->envs_per_actor == 0 &&
	    c->num_actors < c->spawn_actors)
		return config_fail(err, errlen,
				   "--num-actors must be at least --spawn-actors "
				   "(each actor runs one environment or more)");
	return IM_OK;
}

/* The fields whose default depends on the observation; UNSET marks them
 * while flags are parsed. */
#define UNSET (-1)

static void mark_unset(im_learner_config *c)
{
	c->num_steps = c->num_actors = c->batch_size = UNSET;
	c->hidden_dim = c->feature_dim = UNSET;
	c->lr = c->ent_coef = UNSET;
	c->max_policy_lag = UNSET;
}

static void restore_unset(im_learner_config *c, const im_learner_config *d)
{
	if (c->num_steps == UNSET)
		c->num_steps = d->num_steps;
	if (c->num_actors == UNSET)
		c->num_actors = d->num_actors;
	if (c->batch_size == UNSET)
		c->batch_size = d->batch_size;
	if (c->hidden_dim == UNSET)
		c->hidden_dim = d->hidden_dim;
	if (c->feature_dim == UNSET)
		c->feature_dim = d->feature_dim;
	if (c->lr == UNSET)
		c->lr = d->lr;
	if (c->ent_coef == UNSET)
		c->ent_coef = d->ent_coef;
	if (c->max_policy_lag == UNSET)
		c->max_policy_lag = d->max_policy_lag;
}

/* What the defaults depend on: 0 when env does not name an environment
 * with rank-1 observations, else VEC_DISCRETE or VEC_BOX by its actions.
 * An environment that cannot be made keeps rllte's values: the learner
 * reports the reason when it makes it itself.  Python environments (py:,
 * gym:) are not made here: that would start the interpreter and run the
 * user's code while flags are still being read; they keep rllte's values
 * unless given sizes or a --config preset. */
enum { VEC_DISCRETE = 1,
       VEC_BOX = 2 };
static int vector_obs(const char *env)
{
	im_env *e = NULL;
	char err[256];
	if (!strncmp(env, "py:", 3) || !strncmp(env, "gym:", 4))
		return 0;
	if (im_env_make(&e, env, err, sizeof err))
		return 0;
	int kind = 0;
	if (im_env_obs_space(e)->ndim == 1)
		kind = im_env_act_space(e)->kind == IM_ACT_BOX ? VEC_BOX : VEC_DISCRETE;
	im_env_free(e);
	return kind;
}

static void obs_defaults(im_learner_config *c, const im_learner_config *d)
{
	im_learner_config v = *d;
	int kind = vector_obs(c->env);
	if (kind) {
		v.num_steps = 20;
		v.num_actors = 16;
		v.batch_size = 8;
		v.hidden_dim = v.feature_dim = 64;
		/* Discrete: 0.001 reached CartPole's bar fast, but then the
		 * policy's entropy collapsed and its return with it, again and
		 * again; 0.0005 holds it (README, "Learning out of the box").
		 * Box: 0.0005 tripled Pendulum's frames to its bar. */
		v.lr = kind == VEC_BOX ? 0.001 : 0.0005;
		v.ent_coef = 0.003;
		v.max_policy_lag = 20;
	}
	restore_unset(c, &v);
	/* Vector observations with Box actions: observation normalisation
	 * unless a flag says otherwise (measured: Pendulum-v1 at default
	 * flags reached -200 in 9/9 runs with it and 13/20 without; Acrobot,
	 * a Discrete task, never learns with it, so Discrete keeps it off). */
	if (kind == VEC_BOX && !im_learner_config_given(c, "obs-norm"))
		c->obs_norm = 1;
}

static int verb_of(im_learner_config *c, const im_flags_result *res,
		   char *err, size_t errlen)
{
	if (res->npositional > 1)
		return config_fail(err, errlen,
				   "give at most one verb: train, eval or describe");
	if (res->npositional == 0)
		return IM_OK;
	for (int i = 0; im_learner_verbs[i]; i++)
		if (strcmp(res->positional[0], im_learner_verbs[i]) == 0) {
			c->verb = (im_verb)i;
			return IM_OK;
		}
	snprintf(err, errlen, "unknown verb '%s' (use train, eval or describe)",
		 res->positional[0]);
	return IM_EINVAL;
}

int im_learner_config_parse(im_learner_config *c, int argc, char *const *argv,
			    char *err, size_t errlen)
{
	im_flag f[IM_LEARNER_MAX_FLAGS];
	size_t n = im_learner_config_table(c, f);
	im_flags_result res;
	const char *file = im_config_file_find(argc, argv);
	int rc = file ? im_config_file_load(file, f, n, err, errlen) : IM_OK;
	if (rc)
		return rc;
	im_learner_config d = *c;
	mark_unset(c);
	rc = im_flags_parse(f, n, argc, argv, &res, err, errlen);
	if (rc == IM_EHELP) {
		restore_unset(c, &d);
		im_flags_usage(stdout,
			       "impala-learner [train|eval|describe] [flags]",
			       f, n);
		return rc;
	}
	if (rc)
		return rc;
	_Static_assert(IM_LEARNER_MAX_FLAGS <= IM_FLAGS_MAX,
		       "the flags module records fewer flags");
	memcpy(c->given, res.given, n);
	obs_defaults(c, &d);
	rc = verb_of(c, &res, err, errlen);
	if (rc)
		return rc;
	if (c->lstm_hidden == 0)
		c->lstm_hidden = c->feature_dim;
	/* An empty value (IMPALA_CURVE_SECRET_KEY= in an environment file)
	 * means unset, so a drop-in can turn CURVE off. */
	if (c->curve_secret_key && !c->curve_secret_key[0])
		c->curve_secret_key = NULL;
	if (c->authorized_keys && !c->authorized_keys[0])
		c->authorized_keys = NULL;
	/* Left at its default, --publish-min-ms follows a shorter
	 * --publish-interval-ms down, so that an interval valid before the
	 * flag existed stays valid; given, a conflict is an error. */
	if (!im_learner_config_given(c, "publish-min-ms") &&
	    c->publish_min_ms == PUBLISH_MIN_MS &&
	    c->publish_interval_ms < PUBLISH_MIN_MS)
		c->publish_min_ms = c->publish_interval_ms;
	return config_check(c, err, errlen);
}
