// SPDX-License-Identifier: Apache-2.0
/* Internal: the state of each MinAtar game, so that tests can set a chosen
 * state (after the class's init and reset) and call step() on it.  Each
 * struct starts with its im_ma_core; coordinates are (row y, column x) on
 * the 10 x 10 grid, row 0 at the top.  The rules live in minatar_*.c. */
#ifndef IM_ENV_MINATAR_GAMES_H
#define IM_ENV_MINATAR_GAMES_H

#include <stdint.h>

#include "minatar.h"

/* Breakout.  The ball moves one cell along each axis every frame. */
typedef struct im_ma_ball {
	int8_t y, x;   /* its cell */
	int8_t vy, vx; /* its velocity: -1 or +1 along each axis */
	int8_t ty, tx; /* the cell it left on the last frame (the trail) */
} im_ma_ball;

typedef struct im_ma_breakout {
	im_ma_core core;
	im_ma_ball ball;
	int8_t paddle;            /* the paddle's column (it sits on row 9) */
	uint8_t tunnel;           /* bricks do not break: the ball broke one on an
				   * earlier frame and has entered only bricks since */
	uint16_t bricks[IM_MA_N]; /* bit x of row y: a brick at (y, x) */
} im_ma_breakout;

/* Freeway: lane i is row i + 1; the chicken walks up column 4. */
#define IM_MA_FREEWAY_LANES 8
typedef struct im_ma_car {
	int8_t x;     /* its column */
	int8_t dx;    /* its direction: -1 left, +1 right */
	int8_t pause; /* 1..5: frames it rests between two moves */
	int8_t wait;  /* frames it still rests before the next move */
} im_ma_car;

typedef struct im_ma_freeway {
	im_ma_core core;
	int8_t row;      /* the chicken's row */
	int8_t cooldown; /* frames before the chicken may move again */
	int16_t elapsed; /* frames played in this episode */
	im_ma_car car[IM_MA_FREEWAY_LANES];
} im_ma_freeway;

/* Asterix: one lane per row the player can reach (rows 1..8); a lane
 * holds at most one entity crossing it (minatar_asterix.c).  The three
 * countdowns fire on the frame that finds them at 0 and then restart at
 * their period minus 1. */
#define IM_MA_AX_LANES 8
enum { IM_MA_AX_EMPTY = 0,
       IM_MA_AX_ENEMY = 1,
       IM_MA_AX_GOLD = 2 };
typedef struct im_ma_ax_lane {
	uint8_t what; /* IM_MA_AX_EMPTY, _ENEMY or _GOLD */
	int8_t x;     /* the entity's column (0 when empty) */
	int8_t dx;    /* its heading: +1 right, -1 left (0 when empty) */
} im_ma_ax_lane;

typedef struct im_ma_asterix {
	im_ma_core core;
	int8_t py, px;                      /* the player's row and column */
	im_ma_ax_lane lane[IM_MA_AX_LANES]; /* lane i is row i + 1 */
	int16_t spawn_every, spawn_in;      /* spawn period; frames until a spawn */
	int16_t move_every, move_in;        /* the entities' step period; countdown */
	int16_t ramp_in;                    /* frames until the next speed-up (period 102) */
	int16_t speedups;                   /* speed-ups so far (MinAtar's ramp_index) */
} im_ma_asterix;

/* Space Invaders: the grid column by column, bit y of column x being the
 * cell (y, x), so that bullets fly by shifts (minatar_space_invaders.c). */
typedef struct im_ma_space_invaders {
	im_ma_core core;
	int8_t cannon;            /* the cannon's column (it sits on row 9) */
	int8_t march;             /* the block's heading: -1 left, +1 right */
	int16_t march_period;     /* frames between steps of a full block */
	int16_t march_wait;       /* frames to wait before the block's next step */
	int16_t reload;           /* frames to wait before the cannon may fire */
	int16_t volley_wait;      /* frames to wait before the aliens' next shot */
	int16_t speedups;         /* waves that began faster (MinAtar's ramp_index) */
	uint16_t aliens[IM_MA_N]; /* [column] */
	uint16_t shots[IM_MA_N];  /* [column] the cannon's bullets, flying up */
	uint16_t bombs[IM_MA_N];  /* [column] the aliens' bullets, falling */
} im_ma_space_invaders;

/* Seaquest: lists keep MinAtar's order (oldest first); a spawn that
 * finds its list full is dropped.  Enemies live at most 10 * 3 frames once
 * move_speed is 2 and spawn at most once a frame, so the lists never fill;
 * bullets likewise. */
#define IM_MA_SEAQUEST_LIST 48
typedef struct im_ma_ent {
	int8_t x, y;
	uint8_t right;
	int8_t timer; /* frames until the next move */
	int8_t shot;  /* subs: frames until the next shot */
} im_ma_ent;

typedef struct im_ma_ent_list {
	int n;
	im_ma_ent e[IM_MA_SEAQUEST_LIST];
} im_ma_ent_list;

typedef struct im_ma_seaquest {
	im_ma_core core;
	int8_t x, y;
	uint8_t facing_right, surfaced;
	int16_t oxygen, divers_aboard;
	int16_t e_spawn_speed, e_spawn_timer, d_spawn_timer, move_speed;
	int16_t ramp_index, shot_timer;
	im_ma_ent_list torpedoes, bullets, fish, subs, divers;
} im_ma_seaquest;

#endif
