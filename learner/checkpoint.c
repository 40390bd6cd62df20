// SPDX-License-Identifier: Apache-2.0
#include "checkpoint.h"

#include "err.h"
#include "learn/ckpt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GROUPS 3

/* Groups: the model, then one per optimiser moment. */
static size_t groups(const im_model *m, float *params, const im_optim *opt,
		     im_ckpt_group *g, char sfx[][32])
{
	int nt;
	const im_tensor_desc *d = im_model_tensors(m, &nt);
	g[0] = (im_ckpt_group){"", d, (size_t)nt, params, ""};
	size_t n = 1;
	for (int i = 0; opt && i < im_optim_state_count(opt); i++) {
		snprintf(sfx[i], 32, ".%s", im_optim_state_name(opt, i));
		g[n++] = (im_ckpt_group){"optim.", d, (size_t)nt,
					 im_optim_state((im_optim *)opt, i), sfx[i]};
	}
	return n;
}

int im_checkpoint_save(const char *path, const im_model *m,
		       const float *params, const im_optim *opt,
		       const im_ckpt_counters *c, const char *run_spec_json,
		       char *err, size_t errlen)
{
	im_ckpt_group g[MAX_GROUPS];
	char sfx[2][32];
	size_t ng = groups(m, (float *)params, opt, g, sfx);
	char run_id[32], frames[32], updates[32], version[32], step[32];
	snprintf(run_id, sizeof run_id, "%016" PRIx64, c->run_id);
	snprintf(frames, sizeof frames, "%" PRIu64, c->frames);
	snprintf(updates, sizeof updates, "%" PRIu64, c->updates);
	snprintf(version, sizeof version, "%" PRIu64, c->param_version);
	snprintf(step, sizeof step, "%" PRId64, opt ? opt->step : 0);
	im_ckpt_kv meta[] = {
		{"format", "impala-checkpoint-1"},
		{"run_id", run_id},
		{"frames", frames},
		{"updates", updates},
		{"param_version", version},
		{"optim.step", step},
		{"optimizer", opt ? im_optim_kind_name(opt->opts.kind) : "none"},
		{"env", c->env},
		{"run_spec", run_spec_json ? run_spec_json : "{}"},
	};
	return im_ckpt_write(path, g, ng, meta, sizeof meta / sizeof meta[0],
			     err, errlen);
}

static int read_counters(const im_ckpt *f, im_ckpt_counters *c, char *err,
			 size_t errlen)
{
	memset(c, 0, sizeof *c);
	const char *rid = im_ckpt_meta(f, "run_id");
	const char *env = im_ckpt_meta(f, "env");
	if (rid)
		c->run_id = strtoull(rid, NULL, 16);
	if (env)
		snprintf(c->env, sizeof c->env, "%s", env);
	int rc = 0;
	if (im_ckpt_meta(f, "frames"))
		rc |= im_ckpt_meta_u64(f, "frames", &c->frames);
	if (im_ckpt_meta(f, "updates"))
		rc |= im_ckpt_meta_u64(f, "updates", &c->updates);
	if (im_ckpt_meta(f, "param_version"))
		rc |= im_ckpt_meta_u64(f, "param_version", &c->param_version);
	if (rc) {
		snprintf(err, errlen, "checkpoint counters are not numbers");
		return IM_ECORRUPT;
	}
	return IM_OK;
}

/* A full resume needs the same optimiser and its step count. */
static int check_optimizer(const im_ckpt *f, const im_optim *opt,
			   uint64_t *step, char *err, size_t errlen)
{
	const char *kind = im_ckpt_meta(f, "optimizer");
	const char *want = im_optim_kind_name(opt->opts.kind);
	if (!kind || strcmp(kind, want) != 0) {
		snprintf(err, errlen,
			 "cannot resume: checkpoint optimiser is '%s', this run "
			 "uses '%s' (start from the weights without --resume)",
			 kind ? kind : "none", want);
		return IM_EARCH;
	}
	if (im_ckpt_meta_u64(f, "optim.step", step)) {
		snprintf(err, errlen, "checkpoint has no valid optim.step");
		return IM_ECORRUPT;
	}
	return IM_OK;
}

/* A weights-only load ignores the optimiser's tensors, but a model tensor
 * this model lacks (obs_norm.*, baseline.mu: a run with --obs-norm or
 * --popart) means the weights expect a different input or output stage. */
static int check_extra_model_tensors(const im_ckpt *f, const im_model *m,
				     char *err, size_t errlen)
{
	for (size_t i = 0; i < im_ckpt_count(f); i++) {
		const char *name = im_ckpt_at(f, i)->name;
		if (strncmp(name, "optim.", 6) == 0 || im_model_find(m, name))
			continue;
		snprintf(err, errlen, "checkpoint has tensor '%s' that this "
				      "model lacks (was it trained with --obs-norm or "
				      "--popart, and this run without?)",
			 name);
		return IM_EARCH;
	}
	return IM_OK;
}

int im_checkpoint_load(const char *path, const im_model *m, float *params,
		       im_optim *opt, im_ckpt_counters *c, char *err,
		       size_t errlen)
{
	im_ckpt *f = NULL;
	int rc = im_ckpt_open(&f, path, err, errlen);
	if (rc)
		return rc;
	uint64_t step = 0;
	im_ckpt_counters cc;
	if ((rc = read_counters(f, &cc, err, errlen)))
		goto done;
	if (opt && (rc = check_optimizer(f, opt, &step, err, errlen)))
		goto done;
	if (!opt && (rc = check_extra_model_tensors(f, m, err, errlen)))
		goto done;
	im_ckpt_group g[MAX_GROUPS];
	char sfx[2][32];
	size_t ng = groups(m, params, opt, g, sfx);
	rc = im_ckpt_load(f, g, ng, opt ? 0 : IM_CKPT_IGNORE_EXTRA, err, errlen);
	if (rc)
		goto done;
	if (opt)
		opt->step = (int64_t)step;
	*c = cc;
done:
	im_ckpt_close(f);
	return rc;
}
