// SPDX-License-Identifier: Apache-2.0
/* A broken plugin for the loader's tests: right ABI version, but its
 * table says its uint8 frames have scale -1.  Refused with IM_EPLUGIN. */
#include <stddef.h>

#include "impala_env_plugin.h"
#include "plugin_stub.h"

static const impala_env_plugin table = {
	.abi_version = IMPALA_ENV_ABI_VERSION,
	.struct_size = sizeof(impala_env_plugin),
	.name = "BadScale-v0",
	.obs_ndim = 1,
	.obs_shape = {1},
	.obs_dtype = IMPALA_ENV_OBS_U8,
	.act_kind = IMPALA_ENV_ACT_DISCRETE,
	.act_n = 2,
	.max_episode_steps = 10,
	.create = stub_create,
	.destroy = stub_destroy,
	.reset = stub_reset,
	.step = stub_step,
	.obs_scale = -1.0f,
};

uint32_t impala_env_abi_version(void)
{
	return IMPALA_ENV_ABI_VERSION;
}

const impala_env_plugin *impala_env_plugin_entry(void)
{
	return &table;
}
