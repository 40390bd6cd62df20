// SPDX-License-Identifier: Apache-2.0
/* The functions of the broken test plugins (plugin_badtable.c,
 * plugin_hugeact.c, plugin_badscale.c).  The loader refuses those
 * libraries on reading their tables, so none of these runs; they exist
 * so that each table is complete but for the one fault it is about
 * (inline: a table that leaves one out draws no unused warning). */
#ifndef PLUGIN_STUB_H
#define PLUGIN_STUB_H

#include <stdint.h>

static inline void *stub_create(const char *args)
{
	(void)args;
	static int dummy;
	return &dummy;
}

static inline void stub_destroy(void *env)
{
	(void)env;
}

static inline void stub_reset(void *env, uint64_t seed, void *obs)
{
	(void)env;
	(void)seed;
	(void)obs;
}

static inline int stub_step(void *env, const void *action, void *obs,
			    float *reward, int32_t *terminated)
{
	(void)env;
	(void)action;
	(void)obs;
	*reward = 0;
	*terminated = 0;
	return 0;
}

#endif
