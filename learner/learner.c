// SPDX-License-Identifier: Apache-2.0
/* Building and tearing down the learner; the verbs that do not train. */
#include "learner.h"

#include "checkpoint.h"
#include "config_ckpt.h"
#include "env/env.h"
#include "err.h"
#include "eval.h"
#include "fanout.h"
#include "internal.h"
#include "learn/ckpt.h"
#include "learn/json.h"
#include "rng.h"
#include "stream.h"
#include "zap.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* The model spec the configuration describes for the environment. */
static int model_spec(const im_learner_config *c, im_model_spec *s, char *env,
		      size_t envlen, uint32_t *time_limit, char *err,
		      size_t errlen)
{
	im_env *e = NULL;
	int rc = im_env_make(&e, c->env, err, errlen);
	if (rc)
		return rc;
	int limit = im_env_max_episode_steps(e);
	*time_limit = limit > 0 ? (uint32_t)limit : 0;
	memset(s, 0, sizeof *s);
	s->obs = *im_env_obs_space(e);
	s->obs.low = s->obs.high = NULL;
	s->act = *im_env_act_space(e);
	snprintf(env, envlen, "%s", c->env);
	im_env_free(e);
	if (c->encoder == IM_NN_ENCODER_AUTO) {
		if (im_nn_encoder_auto(&s->obs, &s->encoder))
			return im_errf(err, errlen, IM_EINVAL,
				       "--encoder auto: no encoder for observations "
				       "of rank %d (vectors: rank 1; images: rank 3, "
				       "[H, W, C])",
				       s->obs.ndim);
	} else {
		s->encoder = c->encoder;
	}
	s->hidden_dim = c->hidden_dim;
	s->num_hidden_layers = c->num_hidden_layers;
	s->feature_dim = c->feature_dim;
	s->activation = c->activation;
	s->use_lstm = c->use_lstm;
	s->lstm_hidden = c->use_lstm ? c->lstm_hidden : 0;
	s->init_method = c->network_init_method;
	s->seed = (uint64_t)c->seed;
	s->popart = c->popart;
	s->obs_norm = c->obs_norm;
	if (c->obs_norm && s->obs.dtype != IM_DTYPE_F32)
		return im_errf(err, errlen, IM_EINVAL,
			       "--obs-norm: %s has uint8 image observations, which "
			       "their scale already maps to [0, 1]; observation "
			       "normalisation is for float observations "
			       "(use --no-obs-norm)",
			       env);
	if (c->explore_eps > 0 && s->act.kind != IM_ACT_DISCRETE)
		return im_errf(err, errlen, IM_EINVAL,
			       "--explore-eps: %s has Box actions; held random "
			       "actions are for Discrete ones (its Gaussian "
			       "policy explores by its own log_std)",
			       env);
	return IM_OK;
}

static int build_model(const im_learner_config *c, im_model **m, char *env,
		       size_t envlen, uint32_t *time_limit, char *err,
		       size_t errlen)
{
	im_model_spec s;
	int rc = model_spec(c, &s, env, envlen, time_limit, err, errlen);
	if (rc)
		return rc;
	rc = im_model_new(m, &s);
	if (rc && s.encoder != IM_NN_ENCODER_MLP) {
		char shape[64];
		if (s.obs.ndim == 3)
			snprintf(shape, sizeof shape, "[H, W, C] = [%d, %d, %d]",
				 s.obs.shape[0], s.obs.shape[1], s.obs.shape[2]);
		else
			snprintf(shape, sizeof shape, "of rank %d", s.obs.ndim);
		return im_errf(err, errlen, rc, "cannot build the model: "
						"encoder %s needs images [H, W, C] large enough "
						"for its layers (nature: 36 pixels a side, minatar: "
						"3) and --activation relu; %s has observations %s",
			       im_nn_encoder_name(s.encoder), env, shape);
	}
	if (rc)
		return im_errf(err, errlen, rc, "cannot build the model: %s",
			       im_strerror(rc));
	return IM_OK;
}

static int mkdirs(const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return IM_ESYS;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return IM_ESYS;
	return IM_OK;
}

/* The checkpoint to start from and whether to resume it: --auto-resume
 * picks the run directory's own checkpoint when there is one (a restarted
 * service continues its run), else --init-model-path as given. */
static const char *initial_path(const im_learner_config *c, char *buf,
				size_t len, int *resume)
{
	*resume = c->resume;
	if (c->auto_resume) {
		snprintf(buf, len, "%s/%s/seed%" PRId64 "/checkpoint.safetensors",
			 c->logdir, c->tag, c->seed);
		if (access(buf, F_OK) == 0) {
			*resume = 1;
			return buf;
		}
	}
	return c->init_model_path;
}

/* Starting weights: a checkpoint (weights, or a full resume). */
static int load_initial(im_learner *l, char *err, size_t errlen)
{
	char own[PATH_MAX];
	int resume;
	const char *path = initial_path(l->cfg, own, sizeof own, &resume);
	if (!path)
		return IM_OK;
	im_ckpt_counters cc;
	char why[512] = "";
	int rc = im_checkpoint_load(path, l->model, l->params,
				    resume ? l->opt : NULL, &cc, why, sizeof why);
	if (rc)
		return im_errf(err, errlen, rc, "%s %s: %s",
			       path == own ? "--auto-resume: checkpoint" : "--init-model-path",
			       path, why);
	if (resume) {
		if (strcmp(cc.env, l->env) != 0)
			return im_errf(err, errlen, IM_EARCH,
				       "cannot resume: checkpoint trained '%s', this run '%s'",
				       cc.env, l->env);
		l->run_id = cc.run_id;
		l->frames = l->start_frames = cc.frames;
		l->updates = cc.updates;
		l->version = cc.param_version;
		im_info("resumed run %016" PRIx64 " from %s at %" PRIu64
			" frames, %" PRIu64 " updates",
			l->run_id, path, l->frames, l->updates);
	} else {
		l->prev_run_id = cc.run_id != l->run_id ? cc.run_id : 0;
		im_info("starting from the weights of %s", path);
	}
	return IM_OK;
}

static int make_optimizer(im_learner *l)
{
	const im_learner_config *c = l->cfg;
	im_optim_opts oo = im_optim_defaults(c->optimizer);
	oo.eps = (float)c->eps;
	oo.alpha = (float)c->alpha;
	return im_optim_new(&l->opt, &oo, im_model_num_params(l->model));
}

static void loss_options(im_learner *l)
{
	const im_learner_config *c = l->cfg;
	l->loss = im_loss_defaults();
	l->loss.discount = (float)c->discount;
	l->loss.baseline_coef = (float)c->baseline_coef;
	l->loss.ent_coef = (float)c->ent_coef;
	l->loss.clip_rewards = c->clip_rewards;
	l->loss.vtrace.rho_bar = (float)c->rho_bar;
	l->loss.vtrace.c_bar = (float)c->c_bar;
	l->loss.vtrace.pg_rho_bar = (float)c->pg_rho_bar;
	l->loss.vtrace.lambda = (float)c->lambda;
}

static int open_run_dir(im_learner *l, char *err, size_t errlen)
{
	const im_learner_config *c = l->cfg;
	snprintf(l->dir, sizeof l->dir, "%s/%s/seed%" PRId64, c->logdir, c->tag, c->seed);
	if (mkdirs(l->dir))
		return im_errf(err, errlen, IM_ESYS, "cannot create %s: %s", l->dir,
			       strerror(errno));
	snprintf(l->ckpt_path, sizeof l->ckpt_path, "%s/checkpoint.safetensors", l->dir);
	/* A learner killed while writing a checkpoint left its temporary
	 * file; nothing else can be writing this run's checkpoint now. */
	int removed = 0;
	if (im_ckpt_remove_stale_temps(l->ckpt_path, &removed))
		im_warn("cannot clean temporary checkpoint files in %s: %s",
			l->dir, strerror(errno));
	if (removed)
		im_info("removed %d temporary checkpoint file(s) left in %s by an "
			"interrupted write",
			removed, l->dir);
	char csv[PATH_MAX + 16];
	snprintf(csv, sizeof csv, "%s/metrics.csv", l->dir);
	int fresh = access(csv, F_OK) != 0;
	l->csv = fopen(csv, "a");
	if (!l->csv)
		return im_errf(err, errlen, IM_ESYS, "cannot open %s: %s", csv,
			       strerror(errno));
	if (fresh)
		fprintf(l->csv, "time_s,frames,updates,frames_per_s,episodes,"
				"mean_return,mean_length,total_loss,pg_loss,"
				"baseline_loss,entropy_loss,grad_norm,lr,"
				"lag_mean,lag_max,store_depth,actors,dropped\n");
	return IM_OK;
}

static int build_store(im_learner *l, char *err, size_t errlen)
{
	int rc = im_validate_dims(&l->dims, &l->spec.spec);
	if (rc)
		return im_errf(err, errlen, rc, "run spec out of range: %s", im_strerror(rc));
	l->max_msg = im_validate_max_trajectory_bytes(&l->dims);
	im_store_opts so = {.dims = l->dims,
			    .capacity = (uint32_t)l->cfg->num_storages,
			    .batch_size = (uint32_t)l->cfg->batch_size};
	rc = im_store_new(&l->store, &so);
	if (rc == IM_ENOMEM) {
		size_t slot = im_store_slot_bytes(&l->dims);
		return im_errf(err, errlen, rc, "cannot create the store: "
						"--num-storages %u unrolls of %zu bytes (%.1f MiB) "
						"do not fit in the memory available; lower --num-storages "
						"or --num-steps",
			       so.capacity, slot,
			       (double)so.capacity * (double)slot / 1048576.0);
	}
	if (rc)
		return im_errf(err, errlen, rc, "cannot create the store: %s",
			       im_strerror(rc));
	return im_actors_new(&l->actors, (uint64_t)(l->cfg->actor_timeout * 1000));
}

/* The first request must already see the run (id, env, counters after a
 * resume), not zeros: the server starts with a real snapshot. */
static int start_status(im_learner *l, char *err, size_t errlen)
{
	im_status_snapshot *snap = malloc(sizeof *snap);
	if (!snap)
		return im_errf(err, errlen, IM_ENOMEM, "out of memory");
	im_learner_snapshot(l, snap);
	im_status_opts so = {.addr = l->cfg->status_addr, .initial = snap, .dash = l->dash};
	int rc = im_status_new(&l->status, &so);
	free(snap);
	if (rc)
		return im_errf(err, errlen, rc, "--status-addr %s: %s", l->cfg->status_addr,
			       rc == IM_ESYS     ? strerror(errno)
			       : rc == IM_EINVAL ? "not host:port (an IPv4 or [IPv6] address "
						   "and a port 0-65535)"
						 : im_strerror(rc));
	return IM_OK;
}

int im_learner_new(im_learner **out, const im_learner_config *cfg, char *err,
		   size_t errlen)
{
	im_learner *l = calloc(1, sizeof *l);
	if (!l)
		return IM_ENOMEM;
	l->cfg = cfg;
	pthread_mutex_init(&l->mu, NULL);
	/* The publisher's deadlines are monotonic, as the store's are: a
	 * wall-clock step back must not suspend its periodic broadcasts. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->updated, &ca);
	pthread_condattr_destroy(&ca);
	l->t0_ms = im_now_ms();
	l->run_id = im_rng_entropy();
	l->session = im_rng_entropy();
	loss_options(l);
	int rc = im_turns_init(&l->turns);
	if (rc == IM_OK)
		rc = im_progress_new(&l->progress);
	if (rc) {
		im_errf(err, errlen, rc, "out of memory");
		goto fail;
	}
	im_progress_set_target(l->progress, cfg->target_return);
	rc = build_model(cfg, &l->model, l->env, sizeof l->env,
			 &l->max_episode_steps, err, errlen);
	if (rc)
		goto fail;
	l->params = im_model_params(l->model);
	if ((rc = make_optimizer(l)))
		goto fail;
	if ((rc = load_initial(l, err, errlen)))
		goto fail;
	l->start_version = l->version;
	rc = im_runspec_build(&l->spec, l->run_id, l->env, (uint32_t)cfg->num_steps,
			      (uint64_t)cfg->seed, im_model_get_spec(l->model),
			      im_model_num_params(l->model));
	if (rc) {
		im_errf(err, errlen, rc, "run spec: environment name too long");
		goto fail;
	}
	l->spec.spec.explore_eps = (float)cfg->explore_eps;
	l->spec.spec.explore_hold = (float)cfg->explore_hold;
	/* The run's settings as JSON, stored in every checkpoint. */
	rc = im_config_ckpt_spec_json(cfg, l->env,
				      im_model_get_spec(l->model)->encoder,
				      &l->spec_json);
	if (rc) {
		im_errf(err, errlen, rc, "run spec: out of memory");
		goto fail;
	}
	/* The run directory comes last: a refused --bind or --status-addr
	 * must not leave an empty run (and a CSV header) behind. */
	if ((rc = build_store(l, err, errlen)) || (rc = im_learner_open_sockets(l, err, errlen)) ||
	    (rc = im_learner_observe_start(l, err, errlen)) ||
	    (rc = start_status(l, err, errlen)) || (rc = open_run_dir(l, err, errlen)) ||
	    (rc = im_learner_observe_files(l, err, errlen)))
		goto fail;
	*out = l;
	return IM_OK;
fail:
	im_learner_free(l);
	return rc;
}

void im_learner_free(im_learner *l)
{
	if (!l)
		return;
	im_learner_stop_threads(l);
	im_status_free(l->status);
	im_learner_observe_free(l);
	im_learner_close_sockets(l);
	if (l->zap)
		im_info("CURVE: %" PRIu64 " connection(s) authorised, %" PRIu64
			" refused",
			im_zap_accepted(l->zap), im_zap_refused(l->zap));
	/* The handler's socket must close before the context can end. */
	im_zap_stop(l->zap);
	if (l->zctx)
		zmq_ctx_term(l->zctx);
	/* After the context: libzmq frees the broadcasts it held into it. */
	im_fanout_free(l->fanout);
	im_stream_free(l->hs_stream);
	im_store_free(l->store);
	im_actors_free(l->actors);
	im_optim_free(l->opt);
	im_model_free(l->model);
	if (l->csv)
		fclose(l->csv);
	free(l->learn_thr);
	free(l->pids);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->updated);
	im_turns_destroy(&l->turns);
	im_progress_free(l->progress);
	free(l->spec_json);
	free(l);
}

int im_learner_status_port(const im_learner *l)
{
	return im_status_port(l->status);
}

int im_learner_describe(const im_learner_config *cfg)
{
	char err[512] = "", env[IM_RUNSPEC_NAME_MAX];
	im_model *m = NULL;
	uint32_t limit;
	int rc = build_model(cfg, &m, env, sizeof env, &limit, err, sizeof err);
	if (rc) {
		im_error("%s", err);
		return 2;
	}
	printf("environment: %s\n", env);
	im_model_describe(m, stdout);
	im_model_free(m);
	return 0;
}

int im_learner_eval(const im_learner_config *cfg)
{
	char err[512] = "", env[IM_RUNSPEC_NAME_MAX];
	im_model *m = NULL;
	uint32_t limit;
	int rc = build_model(cfg, &m, env, sizeof env, &limit, err, sizeof err);
	im_ckpt_counters cc;
	if (rc == IM_OK)
		rc = im_checkpoint_load(cfg->init_model_path, m, im_model_params(m),
					NULL, &cc, err, sizeof err);
	im_eval_result r;
	if (rc == IM_OK)
		rc = im_eval_run(m, im_model_params(m), env, cfg->num_eval_episodes,
				 (uint64_t)cfg->seed, &r, err, sizeof err);
	im_model_free(m);
	if (rc) {
		im_error("eval: %s", err[0] ? err : im_strerror(rc));
		return 2;
	}
	/* The env is the user's text (a py: spec may hold quotes): escaped. */
	im_json_buf name = {0};
	im_json_buf_str(&name, env);
	printf("{\"env\":%s,\"episodes\":%d,\"mean_return\":%.4f,"
	       "\"std_return\":%.4f,\"min_return\":%.4f,\"max_return\":%.4f,"
	       "\"mean_length\":%.2f}\n",
	       name.err ? "null" : name.p, r.episodes, r.mean_return, r.std_return, r.min_return,
	       r.max_return, r.mean_length);
	free(name.p);
	return 0;
}
