// SPDX-License-Identifier: Apache-2.0
/* The learner's checkpoint: the model's parameters under their PyTorch
 * names, the optimiser's moments as "optim.<name>.<moment>", and in the
 * metadata the counters, the run id, the optimiser and the run spec (a JSON
 * text).  One safetensors file, written atomically (learn/ckpt.h), that
 * PyTorch and NumPy read directly. */
#ifndef IM_LEARNER_CHECKPOINT_H
#define IM_LEARNER_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "learn/optim.h"
#include "nn/model.h"

typedef struct im_ckpt_counters {
	uint64_t run_id;
	uint64_t frames; /* environment frames consumed */
	uint64_t updates;
	uint64_t param_version;
	char env[256]; /* the environment the run trained */
} im_ckpt_counters;

/* Writes path.  params and the optimiser state must be a consistent
 * snapshot (the caller copies them under its lock).  run_spec_json is
 * stored as it is.  Errors from learn/ckpt.h with a reason in err. */
int im_checkpoint_save(const char *path, const im_model *m,
		       const float *params, const im_optim *opt,
		       const im_ckpt_counters *c, const char *run_spec_json,
		       char *err, size_t errlen);

/* Reads path into params (this model's layout).  With opt non-NULL also
 * the optimiser's moments and step (a full resume: the file must have
 * been written with the same optimiser) and the counters into *c; with
 * opt NULL only the weights (optimiser tensors in the file are ignored)
 * and *c still receives what the file says.  A file for another
 * architecture is IM_EARCH naming the first mismatching tensor; a damaged
 * one IM_ECORRUPT.  Nothing is written on failure. */
int im_checkpoint_load(const char *path, const im_model *m, float *params,
		       im_optim *opt, im_ckpt_counters *c, char *err,
		       size_t errlen);

#endif
