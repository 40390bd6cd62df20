// SPDX-License-Identifier: Apache-2.0
/* MinAtar Space Invaders (MinAtar 1.0.15 rules).
 *
 * A cannon on the bottom row shoots upward at a block of aliens (rows 0-3,
 * columns 2-7) that marches sideways, stepping down a row and turning
 * whenever it touches the side it is heading for; the aliens shoot back.
 * +1 for each alien shot; the episode ends when an alien or an alien's
 * bullet reaches the cannon, or an alien must step down from the bottom
 * row.  A cleared wave is replaced by a new one; with ramping each new
 * wave marches faster.  Channels: 0 cannon, 1 alien, 2 alien moving left,
 * 3 alien moving right, 4 friendly bullet, 5 enemy bullet.  Minimal
 * actions: no-op, left, right, fire.  No time limit, no randomness (only
 * the sticky-action draw of minatar.c).
 *
 * Written from MinAtar's README, docstrings and black-box runs
 * (tests/env/minatar_replay); not from its source.
 *
 * Points the description leaves open, settled by running MinAtar:
 * - Start: cannon in column 5, the block heading left, 12 frames between
 *   its steps, first step on frame 13, first alien shot on frame 11, the
 *   cannon ready to fire.
 * - Firing works only when the cannon has rested 5 frames since its last
 *   shot (a fire action while reloading does nothing).  The new bullet
 *   starts on the cannon's cell and flies with the others in the same
 *   frame, so it appears one row above the cannon.  Cannon bullets fly up
 *   and alien bullets fall one row every frame; off the grid they vanish;
 *   they pass through each other.
 * - The block turns only at the side it is heading for (an alien in
 *   column 9 of a block heading left does not turn it): it steps down a
 *   row instead of sideways and heads the other way.  An alien stepping
 *   down from the bottom row ends the game; the block is then drawn as
 *   MinAtar draws it, that alien wrapped round to row 0 (and heading the
 *   new way).
 * - The wait between steps is min(aliens left, the wave's period), so a
 *   lone alien steps every frame.  The period starts at 12; each new wave
 *   with ramping on is 1 frame faster, down to 6 (MinAtar's ramp_index
 *   counts these speed-ups and stops with them).  The wait and the
 *   block's heading carry over into the next wave.
 * - Every 10 frames one alien shoots: the lowest alien of the non-empty
 *   column nearest to the cannon's column, the left one of two equally
 *   near.  Its bullet starts on the alien's own cell.
 * - A bullet hits an alien only when both are on the same cell after both
 *   moved (they can pass each other).
 * - Order within a frame, which MinAtar's results depend on: the cannon
 *   moves or fires; the bullets fly; the cannon is struck by an alien or
 *   an alien bullet on its cell; the block steps (on its frame) and the
 *   cannon is checked again; the aliens shoot (on their frame, before
 *   hits are removed, so an alien shot this frame may still fire); hits
 *   are scored and removed; a cleared block is replaced.  A frame that
 *   ends the game is still played to its end and drawn.
 *
 * Representation (im_ma_space_invaders, minatar_games.h): the grid column
 * by column, bit y of column x being the cell (y, x).  A bullet flies by
 * shifting its column, a hit is the AND of two columns, a column's lowest
 * alien is its highest bit and the block's step down rotates every
 * column.  Each countdown holds the frames still to wait before its event;
 * the event happens on a frame that finds it at 0. */
#include <string.h>

#include "minatar_games.h"

enum {
	CH_CANNON,
	CH_ALIEN,
	CH_ALIEN_LEFT,
	CH_ALIEN_RIGHT,
	CH_SHOT,
	CH_BOMB,
	NCH
};

#define BOTTOM (IM_MA_N - 1) /* the cannon's row */
#define BOTTOM_BIT (1u << BOTTOM)
#define FULL_COLUMN ((1u << IM_MA_N) - 1)
#define WAVE_ROWS 0x000Fu /* a new wave fills rows 0-3 ... */
#define WAVE_FIRST 2      /* ... of columns 2 to 7 */
#define WAVE_LAST 7
#define CANNON_START 5
#define PERIOD_START 12
#define PERIOD_FLOOR 6
#define RELOAD_FRAMES 5
#define VOLLEY_FRAMES 10

/* ---- the block --------------------------------------------------------- */

static void new_wave(im_ma_space_invaders *s)
{
	for (int x = 0; x < IM_MA_N; x++)
		s->aliens[x] = x >= WAVE_FIRST && x <= WAVE_LAST ? WAVE_ROWS : 0;
}

/* Set bits of a column, without a libgcc call when the target lacks a
 * popcount instruction (this runs on every step of a lone alien). */
static int count_bits(unsigned c)
{
	c = c - ((c >> 1) & 0x5555u);
	c = (c & 0x3333u) + ((c >> 2) & 0x3333u);
	c = (c + (c >> 4)) & 0x0F0Fu;
	return (int)((c + (c >> 8)) & 0x1Fu);
}

static int aliens_left(const im_ma_space_invaders *s)
{
	int n = 0;
	for (int x = 0; x < IM_MA_N; x++)
		n += count_bits(s->aliens[x]);
	return n;
}

/* The column at the side the block is heading for holds an alien. */
static int at_leading_side(const im_ma_space_invaders *s)
{
	return s->aliens[s->march < 0 ? 0 : IM_MA_N - 1] != 0;
}

/* Every alien one column in the block's heading. */
static void slide(im_ma_space_invaders *s)
{
	size_t keep = (IM_MA_N - 1) * sizeof(s->aliens[0]);
	if (s->march < 0) {
		memmove(&s->aliens[0], &s->aliens[1], keep);
		s->aliens[IM_MA_N - 1] = 0;
	} else {
		memmove(&s->aliens[1], &s->aliens[0], keep);
		s->aliens[0] = 0;
	}
}

/* Every alien one row down, the bottom row wrapping round to row 0 (only
 * ever seen in the final frame: stepping down from it ends the game);
 * returns 1 if an alien was on the bottom row. */
static int descend(im_ma_space_invaders *s)
{
	unsigned bottom = 0;
	for (int x = 0; x < IM_MA_N; x++) {
		unsigned c = s->aliens[x];
		bottom |= c & BOTTOM_BIT;
		s->aliens[x] = (uint16_t)(((c << 1) | (c >> BOTTOM)) &
					  FULL_COLUMN);
	}
	s->march = (int8_t)-s->march;
	return bottom != 0;
}

/* One step of the block; returns 1 if it ends the game. */
static int march(im_ma_space_invaders *s)
{
	if (at_leading_side(s))
		return descend(s);
	slide(s);
	return 0;
}

/* ---- the cannon and the bullets --------------------------------------- */

static void steer_cannon(im_ma_space_invaders *s, int a)
{
	if (a == IM_MA_LEFT && s->cannon > 0)
		s->cannon--;
	else if (a == IM_MA_RIGHT && s->cannon < IM_MA_N - 1)
		s->cannon++;
	if (s->reload > 0) {
		s->reload--;
	} else if (a == IM_MA_FIRE) {
		s->shots[s->cannon] |= BOTTOM_BIT;
		s->reload = RELOAD_FRAMES - 1;
	}
}

static void fly_bullets(im_ma_space_invaders *s)
{
	for (int x = 0; x < IM_MA_N; x++) {
		s->shots[x] = (uint16_t)(s->shots[x] >> 1);
		s->bombs[x] = (uint16_t)((s->bombs[x] << 1) & FULL_COLUMN);
	}
}

static int cannon_struck(const im_ma_space_invaders *s)
{
	return ((s->aliens[s->cannon] | s->bombs[s->cannon]) & BOTTOM_BIT) !=
	       0;
}

/* The non-empty column nearest to the cannon's, the left of two equally
 * near; -1 if there are no aliens. */
static int nearest_column(const im_ma_space_invaders *s)
{
	for (int d = 0; d < IM_MA_N; d++) {
		int left = s->cannon - d, right = s->cannon + d;
		if (left >= 0 && s->aliens[left])
			return left;
		if (right < IM_MA_N && s->aliens[right])
			return right;
	}
	return -1;
}

/* The lowest alien of the nearest column drops a bullet on its cell. */
static void alien_volley(im_ma_space_invaders *s)
{
	int x = nearest_column(s);
	if (x < 0)
		return;
	int lowest = 31 - __builtin_clz(s->aliens[x]);
	s->bombs[x] |= (uint16_t)(1u << lowest);
}

/* Removes every alien that shares a cell with a cannon bullet, and the
 * bullet; returns how many. */
static int score_hits(im_ma_space_invaders *s)
{
	int hits = 0;
	for (int x = 0; x < IM_MA_N; x++) {
		unsigned h = s->aliens[x] & s->shots[x];
		if (!h)
			continue;
		s->aliens[x] = (uint16_t)(s->aliens[x] & ~h);
		s->shots[x] = (uint16_t)(s->shots[x] & ~h);
		hits += count_bits(h);
	}
	return hits;
}

static void replace_cleared_wave(im_ma_space_invaders *s)
{
	for (int x = 0; x < IM_MA_N; x++)
		if (s->aliens[x])
			return;
	new_wave(s);
	if (s->core.ramping && s->march_period > PERIOD_FLOOR) {
		s->march_period--;
		s->speedups++;
	}
}

/* ---- the game ---------------------------------------------------------- */

static void si_start(void *st)
{
	im_ma_space_invaders *s = st;
	s->cannon = CANNON_START;
	s->march = -1;
	s->march_period = PERIOD_START;
	s->march_wait = PERIOD_START;
	s->reload = 0;
	s->volley_wait = VOLLEY_FRAMES;
	s->speedups = 0;
	new_wave(s);
	memset(s->shots, 0, sizeof(s->shots));
	memset(s->bombs, 0, sizeof(s->bombs));
}

/* The block's step, if this is its frame; returns 1 if the game ends. */
static int block_turn(im_ma_space_invaders *s)
{
	if (s->march_wait > 0) {
		s->march_wait--;
		return 0;
	}
	int over = march(s) | cannon_struck(s);
	int n = aliens_left(s);
	s->march_wait = (int16_t)((n < s->march_period ? n : s->march_period) -
				  1);
	return over;
}

static void volley_turn(im_ma_space_invaders *s)
{
	if (s->volley_wait > 0) {
		s->volley_wait--;
		return;
	}
	alien_volley(s);
	s->volley_wait = VOLLEY_FRAMES - 1;
}

static int si_act(void *st, int a, uint8_t *terminal)
{
	im_ma_space_invaders *s = st;
	steer_cannon(s, a);
	fly_bullets(s);
	int over = cannon_struck(s);
	over |= block_turn(s);
	volley_turn(s);
	int reward = score_hits(s);
	replace_cleared_wave(s);
	*terminal = (uint8_t)over;
	return reward;
}

/* Sets channels c and c2 of every cell (y, x) whose bit y is in column
 * x's mask (c2 == c for one channel). */
static void render_column(uint8_t *cells, int x, unsigned mask, int c, int c2)
{
	for (; mask; mask &= mask - 1) {
		uint8_t *cell = cells + im_ma_cell(__builtin_ctz(mask), x, 0, NCH);
		cell[c] = 1;
		cell[c2] = 1;
	}
}

static void si_render(const void *st, uint8_t *cells)
{
	const im_ma_space_invaders *s = st;
	int heading = s->march < 0 ? CH_ALIEN_LEFT : CH_ALIEN_RIGHT;
	memset(cells, 0, IM_MA_N * IM_MA_N * NCH);
	cells[im_ma_cell(BOTTOM, s->cannon, CH_CANNON, NCH)] = 1;
	for (int x = 0; x < IM_MA_N; x++) {
		render_column(cells, x, s->aliens[x], CH_ALIEN, heading);
		render_column(cells, x, s->shots[x], CH_SHOT, CH_SHOT);
		render_column(cells, x, s->bombs[x], CH_BOMB, CH_BOMB);
	}
}

static const im_ma_game game = {
	.channels = NCH,
	.state_size = sizeof(im_ma_space_invaders),
	.start = si_start,
	.act = si_act,
	.render = si_render,
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
	.n_actions = 4,
	.action_set = {IM_MA_NOOP, IM_MA_LEFT, IM_MA_RIGHT, IM_MA_FIRE},
};

const im_env_class im_env_minatar_space_invaders_v0_class =
	IM_MA_CLASS("MinAtar/SpaceInvaders-v0", NCH, 6, cfg_v0,
		    im_ma_space_invaders);
const im_env_class im_env_minatar_space_invaders_v1_class =
	IM_MA_CLASS("MinAtar/SpaceInvaders-v1", NCH, 4, cfg_v1,
		    im_ma_space_invaders);
