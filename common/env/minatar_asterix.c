// SPDX-License-Identifier: Apache-2.0
/* MinAtar Asterix (MinAtar 1.0.15 rules).
 *
 * The player moves in the four directions inside rows 1-8.  Enemies and
 * gold enter from the left or right edge of a free row and cross it; +1
 * for picking up gold, and touching an enemy ends the episode.  Ramping
 * makes entities move and spawn faster over time.  Channels: 0 player,
 * 1 enemy, 2 trail (the cell behind each entity), 3 gold.  Minimal
 * actions: no-op, left, up, right, down.  No time limit.
 *
 * Written from MinAtar's README, docstrings and black-box runs
 * (tests/env/minatar_replay); not from its source.
 *
 * Points the description leaves open, settled by running MinAtar:
 * - Start: player at (row 5, column 5), no entities; a reset draws no
 *   random number.  Spawns come every 10 frames, the first on frame 11;
 *   the entities step every 5 frames, the first step on frame 6.
 * - A spawn draws a side (u < 1/2: the left edge, heading right; else the
 *   right edge, heading left), then gold (u < 1/3), then one of the free
 *   rows (rows 1-8 without an entity), uniformly by its rank from the
 *   top; with no free row it places nothing (the two first draws are
 *   still made).  An entity owns its row until it leaves the grid or is
 *   picked up.
 * - The player stops at the grid's edges (rows 1 and 8, columns 0 and 9);
 *   fire and no-op do nothing.
 * - Order within a frame: spawn (on its frame); the player moves; the
 *   player meets what is on its cell (gold is picked up, an enemy ends the
 *   game); on the entities' frame every entity steps one cell (leaving the
 *   grid past its edge) and the player meets what stepped onto its cell;
 *   then ramping.  A frame that ends the game is still played to its end.
 *   So an entity spawned on the player's cell is met at once, and the
 *   player stepping onto an entity meets it before the entity steps: the
 *   two never swap cells unharmed.
 * - The trail is the cell behind an entity, if inside the grid (none
 *   while it stands on the edge it entered from).
 * - Ramping (on by default): 102 frames after the start, and after every
 *   speed-up, spawns come 1 frame sooner (down to every frame), and on
 *   every second speed-up (the 2nd, 4th, ...) the entities step 1 frame
 *   sooner (down to every frame).  When both are at every frame, ramping
 *   stops (MinAtar's ramp_timer and ramp_index freeze); with ramping off
 *   its countdown does not run.  Each speed-up acts from the next frame.
 *
 * Representation (im_ma_asterix, minatar_games.h): the player's cell, and
 * one lane record per row 1-8 saying what crosses it, where and which
 * way.  All three periodic events (spawn, step, speed-up) are one
 * countdown each, run by tick(); MinAtar's ramp_timer is our ramp_in - 1
 * (MinAtar speeds up on the frame that finds its timer below 0). */
#include <string.h>

#include "minatar_games.h"

enum { CH_PLAYER,
       CH_ENEMY,
       CH_TRAIL,
       CH_GOLD,
       NCH };

enum {
	TOP = 1, /* the player's and the entities' rows */
	BOTTOM = 8,
	SPAWN_EVERY0 = 10, /* the periods at the start */
	MOVE_EVERY0 = 5,
	RAMP_EVERY = 102, /* frames between speed-ups */
};

/* One frame of a countdown: fires (returns 1) on the frame that finds it
 * at 0, then waits `every` frames again (every - 1 more to count). */
static int tick(int16_t *left, int every)
{
	if (*left > 0) {
		(*left)--;
		return 0;
	}
	*left = (int16_t)(every - 1);
	return 1;
}

static void ax_start(void *st)
{
	im_ma_asterix *s = st;
	s->py = 5;
	s->px = 5;
	memset(s->lane, 0, sizeof(s->lane));
	s->spawn_every = SPAWN_EVERY0;
	s->spawn_in = SPAWN_EVERY0;
	s->move_every = MOVE_EVERY0;
	s->move_in = MOVE_EVERY0;
	s->ramp_in = RAMP_EVERY - 1;
	s->speedups = 0;
}

/* A new entity in a free lane, chosen uniformly; the side and kind are
 * drawn even when no lane is free, as MinAtar does. */
static void spawn(im_ma_asterix *s)
{
	int free_lanes[IM_MA_AX_LANES], n = 0;
	for (int i = 0; i < IM_MA_AX_LANES; i++)
		if (s->lane[i].what == IM_MA_AX_EMPTY)
			free_lanes[n++] = i;
	int from_left = im_rng_double(&s->core.rng) < 0.5;
	int gold = im_rng_double(&s->core.rng) < 1.0 / 3.0;
	if (n == 0)
		return;
	im_ma_ax_lane *l = &s->lane[free_lanes[im_rng_below(&s->core.rng,
							    (uint64_t)n)]];
	l->what = gold ? IM_MA_AX_GOLD : IM_MA_AX_ENEMY;
	l->x = from_left ? 0 : IM_MA_N - 1;
	l->dx = from_left ? 1 : -1;
}

static void move_player(im_ma_asterix *s, int a)
{
	if (a == IM_MA_LEFT && s->px > 0)
		s->px--;
	else if (a == IM_MA_RIGHT && s->px < IM_MA_N - 1)
		s->px++;
	else if (a == IM_MA_UP && s->py > TOP)
		s->py--;
	else if (a == IM_MA_DOWN && s->py < BOTTOM)
		s->py++;
}

/* The player meets what shares its cell: gold is taken (returns 1), an
 * enemy ends the game. */
static int meet(im_ma_asterix *s, uint8_t *terminal)
{
	im_ma_ax_lane *l = &s->lane[s->py - TOP];
	if (l->what == IM_MA_AX_EMPTY || l->x != s->px)
		return 0;
	if (l->what == IM_MA_AX_ENEMY) {
		*terminal = 1;
		return 0;
	}
	memset(l, 0, sizeof(*l));
	return 1;
}

/* Every entity one cell along its lane; past the edge it is gone. */
static void step_entities(im_ma_asterix *s)
{
	for (int i = 0; i < IM_MA_AX_LANES; i++) {
		im_ma_ax_lane *l = &s->lane[i];
		if (l->what == IM_MA_AX_EMPTY)
			continue;
		int x = l->x + l->dx;
		if (x < 0 || x >= IM_MA_N)
			memset(l, 0, sizeof(*l));
		else
			l->x = (int8_t)x;
	}
}

/* Difficulty ramping: one countdown, stopped once nothing can get faster. */
static void ramp(im_ma_asterix *s)
{
	if (s->spawn_every == 1 && s->move_every == 1)
		return;
	if (!tick(&s->ramp_in, RAMP_EVERY))
		return;
	s->speedups++;
	if (s->spawn_every > 1)
		s->spawn_every--;
	if (s->speedups % 2 == 0 && s->move_every > 1)
		s->move_every--;
}

static int ax_act(void *st, int a, uint8_t *terminal)
{
	im_ma_asterix *s = st;
	if (tick(&s->spawn_in, s->spawn_every))
		spawn(s);
	move_player(s, a);
	int reward = meet(s, terminal);
	if (tick(&s->move_in, s->move_every)) {
		step_entities(s);
		reward += meet(s, terminal);
	}
	if (s->core.ramping)
		ramp(s);
	return reward;
}

static void ax_render(const void *st, uint8_t *cells)
{
	const im_ma_asterix *s = st;
	memset(cells, 0, IM_MA_N * IM_MA_N * NCH);
	cells[im_ma_cell(s->py, s->px, CH_PLAYER, NCH)] = 1;
	for (int i = 0; i < IM_MA_AX_LANES; i++) {
		const im_ma_ax_lane *l = &s->lane[i];
		if (l->what == IM_MA_AX_EMPTY)
			continue;
		int y = i + TOP, behind = l->x - l->dx;
		int ch = l->what == IM_MA_AX_GOLD ? CH_GOLD : CH_ENEMY;
		cells[im_ma_cell(y, l->x, ch, NCH)] = 1;
		if (behind >= 0 && behind < IM_MA_N)
			cells[im_ma_cell(y, behind, CH_TRAIL, NCH)] = 1;
	}
}

static const im_ma_game game = {
	.channels = NCH,
	.state_size = sizeof(im_ma_asterix),
	.start = ax_start,
	.act = ax_act,
	.render = ax_render,
};

static const im_ma_config cfg_v0 = {
	.game = &game,
	.sticky = 0.1,
	.ramping = 1,
	.n_actions = 6,
	.action_set = {0, 1, 2, 3, 4, 5},
};
static const im_ma_config cfg_v1 = {
	.game = &game,
	.sticky = 0.1,
	.ramping = 1,
	.n_actions = 5,
	.action_set = {IM_MA_NOOP, IM_MA_LEFT, IM_MA_UP, IM_MA_RIGHT,
		       IM_MA_DOWN},
};

const im_env_class im_env_minatar_asterix_v0_class =
	IM_MA_CLASS("MinAtar/Asterix-v0", NCH, 6, cfg_v0, im_ma_asterix);
const im_env_class im_env_minatar_asterix_v1_class =
	IM_MA_CLASS("MinAtar/Asterix-v1", NCH, 5, cfg_v1, im_ma_asterix);
