// SPDX-License-Identifier: Apache-2.0
/* The actor's acting core, without any networking: k environments stepped
 * together through the model's acting path, cut into unrolls of T steps,
 * each encodable as one Trajectory per environment.
 *
 * Unrolls overlap by one observation, as in IMPALA: observation T of one
 * unroll is observation 0 of the next.  Per environment it keeps the LSTM
 * state and the previous action and reward (the core's inputs); after an
 * episode ends, all three are zeroed before the next step, which is the
 * convention the learner's batcher reproduces (learner/store.h).
 *
 * Box actions: the Gaussian sample is what the unroll records (its
 * log-probability is the behaviour policy's); the environment receives the
 * sample clipped to the action bounds. */
#ifndef IM_ACTOR_ROLLOUT_H
#define IM_ACTOR_ROLLOUT_H

#include <stddef.h>
#include <stdint.h>

#include "impala.pb-c.h"

typedef struct im_rollout im_rollout;

/* Builds the model and the environments described by spec for num_envs
 * environments; environment i draws from stream i of the stream split from
 * the run seed by actor_id.  Parameters start as the spec's init (callers
 * overwrite them from the Welcome).  IM_EINVAL / IM_ENOENT / IM_EPLUGIN
 * with a reason in err; IM_EARCH when the spec's parameter count is not
 * this build's, IM_ESHAPE when the environments' spaces differ from the
 * spec's (shape, dtype, uint8 scale, actions).  spec is read during the
 * call only. */
int im_rollout_new(im_rollout **out, const Impala__RunSpec *spec,
		   int num_envs, uint64_t actor_id, char *err, size_t errlen);
void im_rollout_free(im_rollout *r);

/* The model's parameter arena (owned by r) and its length in floats. */
float *im_rollout_params(im_rollout *r);
size_t im_rollout_num_params(const im_rollout *r);
int im_rollout_num_envs(const im_rollout *r);

/* Acts T steps in every environment with the current parameters, recorded
 * as acted with param_version.  On IM_EACTION an environment refused an
 * action (NaN from non-finite parameters: nothing moved); on IM_EPLUGIN a
 * plugin failed and the environments were reset.  Either way the rollout
 * stays usable and the unroll is not to be sent. */
int im_rollout_run(im_rollout *r, uint64_t param_version);

/* Points *t (initialised here) at environment env's last unroll.  The
 * message borrows r's buffers: it is valid until the next
 * im_rollout_run() and must not be freed with free_unpacked. */
void im_rollout_trajectory(im_rollout *r, int env, uint64_t run_id,
			   uint64_t actor_id, uint64_t unroll_seq,
			   Impala__Trajectory **t);

/* Frames acted so far (k * T per run) and episodes finished. */
uint64_t im_rollout_frames(const im_rollout *r);
uint64_t im_rollout_episodes(const im_rollout *r);

#endif
