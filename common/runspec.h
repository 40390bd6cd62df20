// SPDX-License-Identifier: Apache-2.0
/* The RunSpec message <-> the model and environment it describes.
 *
 * The learner is the one source of truth for the architecture: it builds a
 * RunSpec from its configuration and sends it in every Welcome; actors build
 * their model and environments from it.  Both directions live here so they
 * cannot drift apart. */
#ifndef IM_RUNSPEC_H
#define IM_RUNSPEC_H

#include <stddef.h>
#include <stdint.h>

#include "impala.pb-c.h"
#include "nn/model.h"

#define IM_RUNSPEC_NAME_MAX 512
#define IM_RUNSPEC_MAX_LAYERS 64

/* A RunSpec together with the storage its pointers refer to.  Plain data;
 * copying the struct breaks the pointers (use im_runspec_build again). */
typedef struct im_runspec_store {
	Impala__RunSpec spec;
	Impala__ModelSpec model;
	uint32_t obs_shape[IM_SPACE_MAX_DIMS];
	uint32_t hidden[IM_RUNSPEC_MAX_LAYERS];
	float low[IM_SPACE_MAX_ACTION_DIM];
	float high[IM_SPACE_MAX_ACTION_DIM];
	char env_name[IM_RUNSPEC_NAME_MAX];
} im_runspec_store;

/* Fills s from the run's parameters and the model spec; param_count is the
 * model's arena size.  IM_EINVAL when a name is too long or the model spec
 * has more hidden layers than IM_RUNSPEC_MAX_LAYERS. */
int im_runspec_build(im_runspec_store *s, uint64_t run_id,
		     const char *env_name, uint32_t num_steps, uint64_t seed,
		     const im_model_spec *m, uint64_t param_count);

/* The model spec a RunSpec describes (the seed is the run's seed: actors
 * overwrite the parameters from the Welcome anyway).  IM_EINVAL with a
 * reason in err for anything this build cannot construct (unknown encoder,
 * activation or init method, unequal hidden widths, sizes out of range,
 * an observation dtype other than float32 and uint8, an obs_scale that is
 * negative or not finite, or other than 0 or 1 for float32). */
int im_runspec_model(im_model_spec *out, const Impala__RunSpec *spec,
		     char *err, size_t errlen);

#endif
