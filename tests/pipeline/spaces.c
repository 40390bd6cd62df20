// SPDX-License-Identifier: Apache-2.0
#include "env/env.h"
#include "nn/model.h"

#include <string.h>

int pipeline_spaces(const char *env, im_model_spec *ms);

/* The spaces of a registered environment, as the learner reads them. */
int pipeline_spaces(const char *env, im_model_spec *ms)
{
	im_env *e = NULL;
	int rc = im_env_make(&e, env, NULL, 0);
	if (rc)
		return rc;
	ms->obs = *im_env_obs_space(e);
	ms->obs.low = ms->obs.high = NULL;
	ms->act = *im_env_act_space(e);
	im_env_free(e);
	return 0;
}
