// SPDX-License-Identifier: Apache-2.0
/* The C ABI of an impala environment plugin: a shared library that the
 * actor loads at run time (dlopen) when the environment is named
 * "plugin:/path/to/libmyenv.so" (optionally "plugin:/path/lib.so?ARGS").
 *
 * This header is self-contained (it needs only <stddef.h> and <stdint.h>)
 * so that a plugin builds without the rest of impala:
 *   cc -shared -fPIC -o libmyenv.so myenv.c -I<dir of this header>
 *
 * A plugin exports exactly two symbols, both with C linkage:
 *
 *   uint32_t impala_env_abi_version(void);
 *       Returns IMPALA_ENV_ABI_VERSION as the plugin saw it when compiled.
 *       The loader calls it first and refuses the library unless it is a
 *       version the loader knows (its own or an earlier one listed in the
 *       history below), so it never reads a table whose layout it does not
 *       know.
 *
 *   const impala_env_plugin *impala_env_plugin_entry(void);
 *       Returns the plugin's description and functions.  The table and
 *       everything it points to must stay valid until the library is
 *       unloaded (a static const table is the natural choice).
 *
 * A library lacking either symbol, answering another ABI version, or whose
 * table is malformed (NULL function, bad sizes, a bad obs_scale) is
 * refused with IM_EPLUGIN and a message that says which.
 *
 * What the plugin does NOT do, because impala does it for every
 * environment alike: validate actions (the plugin's step() only ever sees
 * in-range, finite actions), count steps and truncate at
 * max_episode_steps, refuse steps after the end of an episode, keep
 * episode returns, and auto-reset in vectorised use.
 *
 * Threading: one created instance is used by one thread at a time;
 * different instances may be used from different threads at once, so
 * keep no mutable global state.
 *
 * Observations of dtype uint8 stay bytes all the way to the network's
 * first layer, which multiplies each byte by obs_scale (version 2): a
 * plugin whose frames are 0..255 camera-like values says 1.0f / 255, one
 * whose cells are 0/1 says 1 (or leaves it 0, which means 1).
 *
 * Version history:
 *   1: first version.
 *   2: obs_scale appended to the table.  A version-2 loader still loads
 *      version-1 libraries: their table is the version-2 table without its
 *      last field (struct_size says which), and their uint8 observations
 *      get scale 1, which is what version 1 fed the network. */
#ifndef IMPALA_ENV_PLUGIN_H
#define IMPALA_ENV_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define IMPALA_ENV_ABI_VERSION 2u
#define IMPALA_ENV_ABI_VERSION_SYMBOL "impala_env_abi_version"
#define IMPALA_ENV_ENTRY_SYMBOL "impala_env_plugin_entry"

#define IMPALA_ENV_MAX_OBS_DIMS 4
#define IMPALA_ENV_MAX_ACTION_DIM 64
#define IMPALA_ENV_MAX_ACTIONS (1 << 20) /* Discrete act_n */

/* obs_dtype */
#define IMPALA_ENV_OBS_F32 0
#define IMPALA_ENV_OBS_U8 1
/* act_kind */
#define IMPALA_ENV_ACT_DISCRETE 0
#define IMPALA_ENV_ACT_BOX 1

typedef struct impala_env_plugin {
	uint32_t abi_version; /* IMPALA_ENV_ABI_VERSION, again */
	/* sizeof(impala_env_plugin) as the plugin was compiled.  The loader
	 * requires abi_version to equal what impala_env_abi_version() said
	 * and struct_size to be exactly that version's table size (version
	 * 1: IMPALA_ENV_PLUGIN_V1_SIZE), and reads nothing past it. */
	uint32_t struct_size;
	const char *name; /* short display name, such as "Corridor-v0" */

	/* Observation: a dense array of obs_shape[0] * ... * obs_shape[ndim-1]
	 * elements of obs_dtype (float or uint8_t), row-major.  An image is
	 * rank 3, [H, W, C] (height, width, channels; channels fastest), as
	 * Gymnasium and MinAtar give it; impala never transposes it. */
	int32_t obs_ndim; /* 1..IMPALA_ENV_MAX_OBS_DIMS */
	int32_t obs_shape[IMPALA_ENV_MAX_OBS_DIMS];
	int32_t obs_dtype;     /* IMPALA_ENV_OBS_F32 or IMPALA_ENV_OBS_U8 */
	const float *obs_low;  /* (numel) bounds, or NULL when unbounded */
	const float *obs_high; /* (numel) bounds, or NULL when unbounded */

	/* Action: Discrete(act_n): an int32_t in [0, act_n); or
	 * Box(act_n, act_low, act_high): act_n floats, each finite and within
	 * [act_low[j], act_high[j]]. */
	int32_t act_kind;      /* IMPALA_ENV_ACT_DISCRETE or _BOX */
	int32_t act_n;         /* Discrete: 1..IMPALA_ENV_MAX_ACTIONS;
				  Box: 1..IMPALA_ENV_MAX_ACTION_DIM */
	const float *act_low;  /* (act_n) Box only, else NULL */
	const float *act_high; /* (act_n) Box only, else NULL */

	/* Episodes are truncated after this many steps; 0 means never. */
	int32_t max_episode_steps;

	/* Creates one instance.  args is the text after '?' in the spec, or
	 * "" when there is none (borrowed for the call only).  Returns NULL on
	 * failure (bad args, no memory). */
	void *(*create)(const char *args);
	/* Frees an instance; accepts NULL. */
	void (*destroy)(void *env);
	/* Starts an episode.  The plugin draws all its randomness for the
	 * episode from seed (impala derives it from the environment's own
	 * PRNG stream, so runs are reproducible).  Writes the first
	 * observation into obs (numel elements of obs_dtype, owned by the
	 * caller). */
	void (*reset)(void *env, uint64_t seed, void *obs);
	/* Advances one step.  action points to one int32_t (Discrete) or to
	 * act_n floats (Box), already validated.  Writes the next
	 * observation into obs, the reward into *reward and 1 or 0 into
	 * *terminated (the task reached a terminal state).  Returns 0, or
	 * non-zero on an internal failure (impala reports IM_EPLUGIN and
	 * requires a reset). */
	int (*step)(void *env, const void *action, void *obs, float *reward,
		    int32_t *terminated);

	/* ---- version 2 ---- */

	/* uint8 observations only: the network's first layer uses
	 * v * obs_scale for a byte v.  Finite and > 0, or 0 meaning 1.  Float
	 * observations must leave it 0 (or 1): they are used as they are. */
	float obs_scale;
} impala_env_plugin;

/* struct_size of a version-1 table: the fields before obs_scale. */
#define IMPALA_ENV_PLUGIN_V1_SIZE offsetof(impala_env_plugin, obs_scale)

/* Prototypes of the two symbols, for the plugin to define. */
uint32_t impala_env_abi_version(void);
const impala_env_plugin *impala_env_plugin_entry(void);

#endif
