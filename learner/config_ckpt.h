// SPDX-License-Identifier: Apache-2.0
/* The architecture a checkpoint records, adopted into the configuration.
 *
 * A checkpoint's metadata holds the run spec its run trained with (a JSON
 * text: learner.c, spec_json): the network's sizes, activation, encoder,
 * LSTM core and PopArt, and the environment.  Evaluating or fine-tuning a
 * checkpoint must build that network, whatever the defaults of this
 * program say, so the flags left at their defaults take the checkpoint's
 * values and a flag that was given a different value is refused. */
#ifndef IM_LEARNER_CONFIG_CKPT_H
#define IM_LEARNER_CONFIG_CKPT_H

#include <stddef.h>

#include "config.h"

/* Reads the run spec of the checkpoint at path into c: each architecture
 * flag (--hidden-dim, --num-hidden-layers, --feature-dim, --activation,
 * --encoder, --use-lstm, --lstm-hidden, --popart, --obs-norm) that
 * im_learner_config_given() says was not set takes the checkpoint's value;
 * with_env, so does --env (eval and describe: the checkpoint's task; a
 * training run keeps its own, which decides its other defaults).
 * --encoder auto matches any encoder.  A key the run spec lacks leaves its
 * flag as it is (the load then names any tensor that does not fit),
 * except the activation, which no tensor shows: without it in the run
 * spec (or without a run spec) only an explicit --activation is accepted.
 * Each size must lie in its flag's range (the flag table's) and each
 * switch be 0 or 1.
 *
 * IM_OK with what was adopted in note ("hidden-dim 64, feature-dim 64";
 * empty when nothing); IM_EINVAL with both values in err when a given flag
 * contradicts the checkpoint; IM_ECORRUPT naming the key, the value and
 * the range for a field out of range, or for a missing activation; the
 * checkpoint's own errors (IM_ESYS, IM_ECORRUPT, ...) with the reason in
 * err.  c is unchanged on failure. */
int im_config_ckpt_adopt(im_learner_config *c, const char *path,
			 int with_env, char *note, size_t notelen, char *err,
			 size_t errlen);

/* The run spec of a run with configuration c, its environment env (the
 * full spec, as --env gave it) and its model's encoder (auto resolved),
 * as the JSON text every checkpoint stores and im_config_ckpt_adopt()
 * reads.  Strings (env: a py: spec or a plugin path may hold quotes,
 * backslashes or control characters) are escaped, so the text is JSON
 * whatever they hold.  IM_OK with *out the caller's to free; IM_ENOMEM
 * with *out untouched. */
int im_config_ckpt_spec_json(const im_learner_config *c, const char *env,
			     im_nn_encoder_kind encoder, char **out);

#endif
