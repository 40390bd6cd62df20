// SPDX-License-Identifier: Apache-2.0
/* Internal: what one kind of environment provides to env.c and vecenv.c.
 * Built-ins are static const classes; a loaded plugin is a heap class
 * that owns its library handle.  Not part of the public API. */
#ifndef IM_ENV_CLASS_H
#define IM_ENV_CLASS_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "space.h"

typedef struct im_env_class im_env_class;

struct im_env_class {
	const char *name;
	int max_episode_steps; /* 0: none */
	im_obs_space obs;
	im_act_space act;
	/* Bytes of per-environment state; vecenv keeps k of them in one
	 * array, so the batched kernel walks memory linearly. */
	size_t state_size;

	/* Optional: set up / tear down one state (plugins create their
	 * instance here).  init returns 0 or IM_E*. */
	int (*init)(const im_env_class *c, void *st);
	void (*fini)(const im_env_class *c, void *st);
	/* Observations are written in obs.dtype: numel floats for
	 * IM_DTYPE_F32, numel bytes for IM_DTYPE_U8 (images [H, W, C]).
	 *
	 * Draws a new episode from rng; writes one observation to obs. */
	void (*reset)(const im_env_class *c, void *st, im_rng *rng, void *obs);
	/* Optional: classes whose reset() can fail (Python environments)
	 * say here, right after it, whether it did: 0 or IM_E*.  A failed
	 * reset has written zeros to obs. */
	int (*reset_status)(const im_env_class *c, void *st);
	/* One step with a validated action; returns 0 or IM_EPLUGIN (or
	 * IM_EENVFAIL from a Python environment).  *terminated takes
	 * IM_ENV_STEP_TERMINATED, or'd with IM_ENV_STEP_TRUNCATED when the
	 * environment ended the episode by a time limit of its own. */
	int (*step)(const im_env_class *c, void *st, const void *action,
		    void *obs, float *reward, uint8_t *terminated);
	/* Optional: k steps over states laid out state_size apart, with
	 * actions (k) int32 or (k, dim) float, writing k observations to obs
	 * one after the other.  Must give bit-for-bit the results of k
	 * step() calls. */
	void (*step_batch)(void *states, int k, const void *actions,
			   void *obs, float *reward, uint8_t *terminated);

	/* Built-ins with options only: "NAME?ARGS" opens a heap copy of the
	 * class (owned = 1, freed by im_env_class_close) with a copy of its
	 * cfg_size bytes of cfg, which configure() rewrites from ARGS (it may
	 * also change the copy's max_episode_steps).  configure returns 0 or
	 * IM_EINVAL with a reason in err.  Classes without configure refuse
	 * ARGS. */
	const void *cfg;
	size_t cfg_size;
	int (*configure)(im_env_class *copy, void *cfg, const char *args,
			 char *err, size_t errlen);
	int owned;

	/* Plugins only. */
	void *dl;           /* dlopen handle, closed by class_close */
	const void *plugin; /* const impala_env_plugin * */
	char *args;         /* text after '?' in the spec */
	char name_buf[64];

	/* Python environments only (pyenv.c): the class itself. */
	void *py;
};

/* Bits of step()'s *terminated. */
#define IM_ENV_STEP_TERMINATED 1
#define IM_ENV_STEP_TRUNCATED 2

/* The most elements an environment class may declare for one observation
 * (plugin.c, pyenv.c): larger spaces are refused when the class opens. */
#define IM_ENV_MAX_OBS_NUMEL (1u << 26)

/* Built-in classes (cartpole.c, acrobot.c, mountain_car.c, pendulum.c).
 * Their states are plain arrays of doubles, so tests can set a chosen
 * state and call step() on it directly:
 *   CartPole (x, x_dot, theta, theta_dot); Acrobot (theta1, theta2,
 *   dtheta1, dtheta2); MountainCar and MountainCarContinuous (position,
 *   velocity); Pendulum (theta, theta_dot). */
extern const im_env_class im_env_cartpole_class;
extern const im_env_class im_env_acrobot_class;
extern const im_env_class im_env_mountain_car_class;
extern const im_env_class im_env_mountain_car_cont_class;
extern const im_env_class im_env_pendulum_class;

/* The MinAtar games (minatar_*.c; see minatar.h): -v0 with all six
 * actions, -v1 with the game's minimal action set. */
extern const im_env_class im_env_minatar_breakout_v0_class;
extern const im_env_class im_env_minatar_breakout_v1_class;
extern const im_env_class im_env_minatar_freeway_v0_class;
extern const im_env_class im_env_minatar_freeway_v1_class;
extern const im_env_class im_env_minatar_asterix_v0_class;
extern const im_env_class im_env_minatar_asterix_v1_class;
extern const im_env_class im_env_minatar_seaquest_v0_class;
extern const im_env_class im_env_minatar_seaquest_v1_class;
extern const im_env_class im_env_minatar_space_invaders_v0_class;
extern const im_env_class im_env_minatar_space_invaders_v1_class;

/* Finds a class by spec: a built-in name, "NAME?ARGS" for a built-in that
 * takes options, or "plugin:PATH[?ARGS]" which loads the library.  On failure writes a reason into err (may be NULL).
 * The caller releases the class with im_env_class_close(). */
int im_env_class_open(const im_env_class **out, const char *spec, char *err,
		      size_t errlen);
void im_env_class_close(const im_env_class *c);

/* plugin.c */
int im_env_plugin_open(const im_env_class **out, const char *path,
		       const char *args, char *err, size_t errlen);
void im_env_plugin_close(const im_env_class *c);

#endif
