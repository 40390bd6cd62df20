// SPDX-License-Identifier: Apache-2.0
/* Environments: one interface for the built-in classic-control tasks and
 * for users' plugins, a registry by name, and a vectorised form.
 *
 * Names ("specs") accepted by im_env_make() and im_vecenv_new():
 *   CartPole-v1, Acrobot-v1, MountainCar-v0, Pendulum-v1,
 *   MountainCarContinuous-v0   built in, with Gymnasium's dynamics,
 *                              constants, bounds, rewards and time limits;
 *   MinAtar/Breakout-v0, MinAtar/Freeway-v0, MinAtar/Asterix-v0,
 *   MinAtar/Seaquest-v0, MinAtar/SpaceInvaders-v0
 *                              built in, MinAtar 1.0.15's five games, all
 *                              six actions; -v1: each game's minimal
 *                              action set; uint8 [10, 10, C] grids;
 *   MinAtar/NAME?ARGS          with options, e.g. "?sticky=0&ramping=0"
 *                              (env/minatar.h lists them; a built-in
 *                              without options refuses ?ARGS, IM_EINVAL);
 *   plugin:/path/lib.so        a shared library implementing
 *   plugin:/path/lib.so?ARGS   env/impala_env_plugin.h (ARGS go to its
 *                              create()).
 *   py:package.module:factory[?k=v&...]  a Python object with Gymnasium's
 *   gym:ID[?k=v&...]           interface, from the factory or from
 *                              gymnasium.make(ID) (env/pyenv.h).
 *
 * Observations.  Every function here hands observations out in the dtype
 * of the environment's observation space (im_obs_space.dtype): numel
 * floats for IM_DTYPE_F32, numel bytes for IM_DTYPE_U8.  An image is
 * [H, W, C] (common/space.h).  Nothing here converts or scales: a uint8
 * frame stays one byte per value from the environment through the actor's
 * buffers, the wire, the learner's store and batch, up to the model's
 * first layer, which applies the space's scale (im_obs_scale) inside its
 * own loop.  Buffers passed as `void *obs` must hold
 * im_obs_bytes(space) bytes.  The built-in classic-control tasks are
 * float32.
 *
 * Actions.  A Discrete action is one int32_t in [0, n); a Box action is
 * `dim` floats, each finite and within [low, high] of the action space.
 * Anything else is IM_EACTION and changes nothing (the environment's state,
 * step count and episode return are as before the call).  Gaussian
 * policies must therefore clip their samples to the box before stepping.
 *
 * Episodes and time limits.  The interface, not the environment, counts
 * steps: a step that brings the episode to max_episode_steps reports
 * truncated = 1 (Gymnasium's TimeLimit rule, so built-ins and plugins
 * truncate alike).  terminated and truncated may both be 1 on the same
 * step; terminated wins for bootstrapping (no bootstrap), truncated alone
 * means bootstrap from the final observation.  After either, the episode
 * is over: a single environment refuses further steps with IM_ESTATE until
 * reset; a vecenv resets it itself (see below).
 *
 * Randomness.  Each environment owns one im_rng stream; resets draw their
 * initial state from it, so a run is reproducible from its seed.
 *
 * Threads: an environment or vecenv is used by one thread at a time. */
#ifndef IM_ENV_H
#define IM_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "space.h"

/* ---- registry ---------------------------------------------------------- */

/* Number of built-in environments, and the name of the i-th (static). */
int im_env_builtin_count(void);
const char *im_env_builtin_name(int i);
/* Writes "CartPole-v1, Acrobot-v1, ..." (NUL-terminated, truncated to len)
 * for error messages; returns buf. */
char *im_env_known_names(char *buf, size_t len);

/* ---- one environment --------------------------------------------------- */

typedef struct im_env im_env;

/* What one step produced. */
typedef struct im_env_result {
	float reward;
	uint8_t terminated; /* the task reached a terminal state */
	uint8_t truncated;  /* the time limit ended the episode */
} im_env_result;

/* Makes an environment from a spec (see top).  On failure returns
 * IM_ENOENT (unknown name; err says "unknown environment 'X'; known: ..."),
 * IM_EPLUGIN (a plugin refused; err says why), IM_EINVAL or IM_ENOMEM, and
 * writes a one-line reason into err when err is not NULL (NUL-terminated,
 * truncated to errlen).  The environment needs a reset before its first
 * step.  The caller owns *out and frees it with im_env_free(). */
int im_env_make(im_env **out, const char *spec, char *err, size_t errlen);
void im_env_free(im_env *e);

/* Borrowed; valid as long as e.  (A plugin's observation bounds live in
 * its library, which stays loaded while e exists.) */
const char *im_env_name(const im_env *e);
const im_obs_space *im_env_obs_space(const im_env *e);
const im_act_space *im_env_act_space(const im_env *e);
/* The time limit; 0 means none. */
int im_env_max_episode_steps(const im_env *e);
/* Steps taken in the current episode. */
int im_env_elapsed_steps(const im_env *e);

/* Starts an episode with the environment's stream restarted from seed
 * (im_rng_init(seed)), as Gymnasium's reset(seed=...).  Writes the first
 * observation into obs (one observation in the space's dtype, owned by the
 * caller). */
int im_env_reset(im_env *e, uint64_t seed, void *obs);
/* Starts an episode with the stream set to a copy of *stream (for
 * example one made with im_rng_split). */
int im_env_reset_stream(im_env *e, const im_rng *stream, void *obs);
/* Starts the next episode, continuing the current stream, as Gymnasium's
 * reset() without a seed. */
int im_env_reset_next(im_env *e, void *obs);

/* One step.  action points to one int32_t (Discrete) or dim floats (Box);
 * it is read only during the call.  Writes the next observation into obs
 * (in the space's dtype, owned by the caller) and reward and flags into
 * *res.
 * Returns IM_EACTION for a bad action (nothing changed), IM_ESTATE when no
 * episode is running (never reset, or it ended), IM_EPLUGIN when a plugin's
 * step failed (a reset is then required), IM_EENVFAIL when a Python
 * environment raised or broke its contract (it stays failed; the resets
 * above return IM_EENVFAIL too). */
int im_env_step(im_env *e, const void *action, void *obs, im_env_result *res);

/* 0 when action (as for im_env_step) is inside the space, else IM_EACTION. */
int im_env_check_action(const im_act_space *a, const void *action);

/* ---- k environments of one kind ---------------------------------------- */

typedef struct im_vecenv im_vecenv;

typedef struct im_vecenv_opts {
	const char *spec;  /* as for im_env_make */
	int num_envs;      /* k >= 1 */
	const im_rng *rng; /* parent stream; env i uses
			      im_rng_split(rng, i).  Borrowed for the call. */
	char *err;         /* optional: a one-line reason on failure */
	size_t errlen;
} im_vecenv_opts;

/* Buffers owned by the vecenv, rewritten by every im_vecenv_step() and
 * im_vecenv_reset(); valid until im_vecenv_free().  N = obs numel; obs
 * and final_obs hold elements of the space's dtype (float or uint8_t), so
 * row i starts at byte i * im_obs_bytes(space).
 *
 * The contract the actor and learner depend on, for env i after a step:
 *   reward[i], terminated[i], truncated[i] are those of the step just
 *     taken (im_vecenv_reset sets them to 0);
 *   if terminated[i] or truncated[i]:
 *     final_obs[i*N ..] is the TRUE last observation of the episode that
 *       just ended (the state after the step; bootstrap a truncated
 *       episode from it),
 *     ep_return[i] and ep_length[i] are that episode's undiscounted return
 *       and number of steps,
 *     obs[i*N ..] is already the first observation of the next episode,
 *       reset from env i's own stream;
 *   else obs[i*N ..] is the next observation, and final_obs, ep_return,
 *     ep_length of row i hold stale values from an earlier episode. */
typedef struct im_vecenv_bufs {
	void *obs;           /* (k, N) next observations, space dtype */
	float *reward;       /* (k) */
	uint8_t *terminated; /* (k) 0 or 1 */
	uint8_t *truncated;  /* (k) 0 or 1 */
	void *final_obs;     /* (k, N) space dtype; valid where
				terminated|truncated */
	float *ep_return;    /* (k) valid where terminated|truncated */
	int32_t *ep_length;  /* (k) valid where terminated|truncated */
} im_vecenv_bufs;

/* Makes k environments and resets each from its own stream, so obs holds
 * the first observations on return.  Errors as im_env_make, plus IM_EINVAL
 * for num_envs < 1 or a NULL rng.  The caller owns *out. */
int im_vecenv_new(im_vecenv **out, const im_vecenv_opts *o);
void im_vecenv_free(im_vecenv *v);

int im_vecenv_num_envs(const im_vecenv *v);
const im_obs_space *im_vecenv_obs_space(const im_vecenv *v);
const im_act_space *im_vecenv_act_space(const im_vecenv *v);
int im_vecenv_max_episode_steps(const im_vecenv *v);
const char *im_vecenv_name(const im_vecenv *v);
/* Borrowed pointers into the vecenv's buffers (see im_vecenv_bufs). */
const im_vecenv_bufs *im_vecenv_buffers(const im_vecenv *v);

/* Starts a new episode in every env (continuing each env's stream) and
 * writes the first observations into obs.  Unfinished episodes are
 * dropped without reporting. */
int im_vecenv_reset(im_vecenv *v);

/* Steps all k envs.  actions: (k) int32_t for Discrete, (k, dim) floats
 * for Box; read only during the call.  All actions are checked before any
 * env moves: one bad action gives IM_EACTION and nothing changes (its
 * index is written to *bad_index when bad_index is not NULL).  Returns
 * IM_EPLUGIN if a plugin's step failed (the vecenv is then reset), or
 * IM_EENVFAIL if a Python environment failed in its step or in the
 * auto-reset after it (the vecenv is then unusable: stop). */
int im_vecenv_step(im_vecenv *v, const void *actions, int *bad_index);

/* The same step through the per-environment path (one call per env, no
 * batched kernel).  It is the reference the batched path is tested
 * against, and the path plugins always take. */
int im_vecenv_step_naive(im_vecenv *v, const void *actions, int *bad_index);

#endif
