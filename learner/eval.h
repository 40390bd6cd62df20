// SPDX-License-Identifier: Apache-2.0
/* Evaluation episodes on a separate environment inside the learner, with
 * the policy's most likely action (argmax of the logits; the Gaussian mean
 * clipped to the bounds), as rllte's eval (training=False) does. */
#ifndef IM_LEARNER_EVAL_H
#define IM_LEARNER_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "nn/model.h"

typedef struct im_eval_result {
	int episodes;
	double mean_return, std_return, min_return, max_return;
	double mean_length;
} im_eval_result;

/* Runs `episodes` episodes of env_spec with m's architecture and params
 * (read only; the caller's snapshot), the first reset seeded with seed.
 * Errors from the environment registry with a reason in err. */
int im_eval_run(const im_model *m, const float *params, const char *env_spec,
		int episodes, uint64_t seed, im_eval_result *out, char *err,
		size_t errlen);

#endif
