// SPDX-License-Identifier: Apache-2.0
/* Internal: what the five MinAtar games (Young and Tian 2019,
 * arXiv:1903.03176; rules of MinAtar 1.0.15) share.  Not part of the
 * public API.
 *
 * Each game (minatar_breakout.c, minatar_freeway.c, minatar_asterix.c,
 * minatar_seaquest.c, minatar_space_invaders.c) is a state struct whose
 * first member is an im_ma_core, plus three functions collected in an
 * im_ma_game: start a new game, advance one frame with one of MinAtar's six
 * actions, and draw the state as a [10, 10, C] grid of 0/1 bytes (HWC,
 * MinAtar's channel order).  This file turns a game into environment
 * classes: the -v0 class takes all six actions, the -v1 class the game's
 * minimal action set, mapped onto the six before the sticky-action rule.
 *
 * Options ("MinAtar/Breakout-v0?sticky=0&ramping=0&max_steps=1000"):
 *   sticky=P      probability in [0, 1] that the previous action is
 *                 repeated instead of the chosen one (default 0.1);
 *   ramping=0|1   difficulty ramping (default 1);
 *   max_steps=N   a time limit of N steps (truncation), 0 = none (the
 *                 default: MinAtar has none; Freeway ends itself).
 *
 * Randomness: each state keeps its own im_rng, seeded at every reset from
 * the environment's reset stream, so step() needs no stream and an episode
 * is a function of its reset stream and its actions. */
#ifndef IM_ENV_MINATAR_H
#define IM_ENV_MINATAR_H

#include <stddef.h>
#include <stdint.h>

#include "env_class.h"
#include "rng.h"

#define IM_MA_N 10      /* the grid is IM_MA_N x IM_MA_N */
#define IM_MA_MAX_CH 10 /* Seaquest has the most channels */
#define IM_MA_MAX_CELLS (IM_MA_N * IM_MA_N * IM_MA_MAX_CH)

/* MinAtar's six actions, in its order. */
enum {
	IM_MA_NOOP = 0,
	IM_MA_LEFT = 1,
	IM_MA_UP = 2,
	IM_MA_RIGHT = 3,
	IM_MA_DOWN = 4,
	IM_MA_FIRE = 5,
	IM_MA_NUM_ACTIONS = 6,
};

/* First member of every game's state. */
typedef struct im_ma_core {
	im_rng rng;                            /* the game's own stream (spawns, sticky) */
	double sticky;                         /* probability of repeating last_action */
	uint8_t ramping;                       /* 1: difficulty ramps */
	uint8_t last_action;                   /* MinAtar action taken on the previous frame */
	uint8_t action_set[IM_MA_NUM_ACTIONS]; /* agent action -> MinAtar */
	const struct im_ma_game *game;
} im_ma_core;

/* One game's rules. */
typedef struct im_ma_game {
	int channels;
	size_t state_size; /* bytes of the game's state struct */
	/* Starts a game; core (rng, options) is already set. */
	void (*start)(void *st);
	/* One frame with MinAtar action a (sticky rule already applied);
	 * returns the reward and sets *terminal. */
	int (*act)(void *st, int a, uint8_t *terminal);
	/* Writes all IM_MA_N * IM_MA_N * channels cells (0 or 1), HWC. */
	void (*render)(const void *st, uint8_t *cells);
} im_ma_game;

/* A class's options: class->cfg of a MinAtar class points to one. */
typedef struct im_ma_config {
	const im_ma_game *game;
	double sticky;
	int ramping;
	int n_actions; /* 6 for -v0, the minimal set's size for -v1 */
	uint8_t action_set[IM_MA_NUM_ACTIONS];
} im_ma_config;

/* The class callbacks shared by the ten classes (minatar.c). */
int im_ma_init(const im_env_class *c, void *st);
void im_ma_reset(const im_env_class *c, void *st, im_rng *rng, void *obs);
int im_ma_step(const im_env_class *c, void *st, const void *action, void *obs,
	       float *reward, uint8_t *terminated);
void im_ma_step_batch(void *states, int k, const void *actions, void *obs,
		      float *reward, uint8_t *terminated);
/* One frame of agent action `action` (in the class's action set): the
 * sticky rule, the game's rules, and the observation written as bytes
 * into cells (IM_MA_N * IM_MA_N * channels).  The class's step(). */
void im_ma_step_u8(void *st, int32_t action, uint8_t *cells, float *reward,
		   uint8_t *terminated);
/* Parses "key=value&..." into a copy of a MinAtar class (see top); on a
 * bad key or value, or a key given twice, returns IM_EINVAL with the reason in err and leaves
 * *copy as it was. */
int im_ma_configure(im_env_class *copy, void *cfg, const char *args,
		    char *err, size_t errlen);

/* Observation bounds: IM_MA_MAX_CELLS zeros and ones. */
extern const float im_ma_zeros[IM_MA_MAX_CELLS];
extern const float im_ma_ones[IM_MA_MAX_CELLS];

/* The fields every MinAtar class shares: CH channels, NACT actions, CFG
 * its static im_ma_config, STATE the game's state type (C wants literals
 * for a static initialiser). */
#define IM_MA_CLASS(NAME, CH, NACT, CFG, STATE) \
	{ \
		.name = NAME, .max_episode_steps = 0, \
		.obs = {.ndim = 3, \
			.shape = {IM_MA_N, IM_MA_N, CH}, \
			.dtype = IM_DTYPE_U8, \
			.scale = 1.0f, \
			.low = im_ma_zeros, \
			.high = im_ma_ones}, \
		.act = {.kind = IM_ACT_DISCRETE, .n = NACT}, \
		.state_size = sizeof(STATE), \
		.init = im_ma_init, .reset = im_ma_reset, \
		.step = im_ma_step, .step_batch = im_ma_step_batch, \
		.cfg = &(CFG), .cfg_size = sizeof(im_ma_config), \
		.configure = im_ma_configure, \
	}

/* Grid helpers for the games' render functions. */
static inline size_t im_ma_cell(int y, int x, int c, int channels)
{
	return ((size_t)y * IM_MA_N + (size_t)x) * (size_t)channels +
	       (size_t)c;
}

/* Sets channel c of every cell of row y whose bit (1 << x) is in mask. */
static inline void im_ma_render_row(uint8_t *cells, int y, unsigned mask,
				    int c, int channels)
{
	for (; mask; mask &= mask - 1) /* visits only the set bits */
		cells[im_ma_cell(y, __builtin_ctz(mask), c, channels)] = 1;
}

static inline int im_ma_popcount(unsigned m)
{
	return __builtin_popcount(m);
}

#endif
