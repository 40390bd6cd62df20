// SPDX-License-Identifier: Apache-2.0
/* A Trajectory as the learner's receiver takes it from the PULL socket:
 * decoded under the run's size bound, then validated against three runs
 * (a vector observation with Discrete actions, a Box action space with an
 * LSTM core, and a uint8 image), with an actor table that knows odd ids
 * only and a policy-lag limit, so every branch of the validator is in
 * reach of one input. */
#include "fuzz.h"
#include "validate.h"
#include "wire.h"

/* Odd ids were welcomed, with 4 environments and parameters from
 * version 6 on. */
static int odd_known(void *ctx, uint64_t actor_id, im_validate_actor *out)
{
	(void)ctx;
	if (!(actor_id & 1))
		return 0;
	out->num_envs = 4;
	out->min_param_version = 6;
	return 1;
}

static const im_run_dims runs[] = {
	{.T = 5, .obs_ndim = 1, .obs_shape = {4}, .obs_numel = 4, .obs_dtype = IMPALA__DTYPE__DTYPE_FLOAT32, .obs_elem = 4, .action_kind = IMPALA__ACTION_KIND__ACTION_DISCRETE, .num_actions = 2, .action_dim = 1},
	{.T = 4, .obs_ndim = 1, .obs_shape = {3}, .obs_numel = 3, .obs_dtype = IMPALA__DTYPE__DTYPE_FLOAT32, .obs_elem = 4, .action_kind = IMPALA__ACTION_KIND__ACTION_BOX, .action_dim = 2, .lstm_hidden = 8},
	{.T = 3, .obs_ndim = 3, .obs_shape = {4, 4, 2}, .obs_numel = 32, .obs_dtype = IMPALA__DTYPE__DTYPE_UINT8, .obs_elem = 1, .action_kind = IMPALA__ACTION_KIND__ACTION_DISCRETE, .num_actions = 3, .action_dim = 1},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Impala__Trajectory *t = NULL;
	if (im_wire_decode_trajectory(data, size, 1u << 20, &t) != 0)
		return 0;
	const im_validate_state st = {
		.run_id = 0x1234, .prev_run_id = 0x99, .param_version = 10, .max_policy_lag = 5, .max_episode_steps = 500, .actor_lookup = odd_known};
	const im_validate_state open_st = {.run_id = 0x1234,
					   .param_version = 1u << 30};
	char msg[160];
	for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
		(void)im_validate_trajectory(t, &runs[i], &st, msg, sizeof msg);
		(void)im_validate_trajectory(t, &runs[i], &open_st, NULL, 0);
	}
	impala__trajectory__free_unpacked(t, NULL);
	return 0;
}
