// SPDX-License-Identifier: Apache-2.0
/* A broken plugin for the loader's tests: built for a future ABI version.
 * The loader must refuse it after asking the version, without reading the
 * table (whose layout it would not know). */
#include <stddef.h>

#include "impala_env_plugin.h"

uint32_t impala_env_abi_version(void)
{
	return IMPALA_ENV_ABI_VERSION + 1;
}

const impala_env_plugin *impala_env_plugin_entry(void)
{
	return NULL; /* never called by a correct loader */
}
