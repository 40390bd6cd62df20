// SPDX-License-Identifier: Apache-2.0
/* A broken plugin for the loader's tests: it answers the ABI version but
 * lacks the entry symbol, so it must be refused with IM_EPLUGIN. */
#include "impala_env_plugin.h"

uint32_t impala_env_abi_version(void)
{
	return IMPALA_ENV_ABI_VERSION;
}
