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
 * - Start: player at (row 5, column 5), no entities.  Spawns come every
 *   10 frames, the first on frame 11; the entities step every 5 frames,
 *   the first step on frame 6.
 * - A spawn draws a side (fair coin: the left edge, heading right, or the
 *   right edge, heading left), then gold with probability 1/3, then one
 *   of the free rows (rows 1-8 without an entity), uniformly; with no
 *   free row it places nothing (the two first draws are still made).  An
 *   entity owns its row until it leaves the grid or is picked up.
 * - The player stops at the grid's edges (rows 1 and 8, columns 0 and 9);
 *   fire and no-op do nothing.
 * - Order within a frame: spawn (on its frame); the player moves; the
 *   player meets what is on its cell (gold is picked up, an enemy ends the
 *   game); on the entities' frame every entity steps one cell (leaving the
 *   grid past its edge) and the player meets what stepped onto its cell;
 *   then ramping.  A frame that ends the game is still played to its end.
 *   The player stepping onto an entity meets it before the entity steps,
 *   so the two never swap cells unharmed.
 * - The trail is the cell behind an entity, if inside the grid (none
 *   while it stands on the edge it entered from).
 * - Ramping (on by default): 102 frames after the start, and after every
 *   speed-up, spawns come 1 frame sooner (down to every frame), and on
 *   every second speed-up (the 2nd, 4th, ...) the entities step 1 frame
 *   sooner (down to every frame).  When both are at every frame, ramping
 *   stops (MinAtar's ramp_timer and ramp_index freeze).  Each speed-up
 *   acts from the next frame.
 *
 * Representation (im_ma_asterix, minatar_games.h): a row mask per kind
 * (bit x of row y is the cell (y, x)) and one bit per row for the
 * heading, so a step is a shift of each occupied row and the only cell
 * that can meet the player is a bit of the player's row.  Each countdown
 * holds the frames still to wait before its event; the event happens on
 * a frame that finds it at 0 (MinAtar's ramp_timer is our ramp_wait - 1:
 * MinAtar speeds up on the frame after its timer passed 0). */
#include <string.h>

#include "minatar_games.h"

enum { CH_PLAYER, CH_ENEMY, CH_TRAIL, CH_GOLD, NCH };

#define TOP_ROW 1 /* the rows entities and the player may use */
#define BOTTOM_ROW 8
#define FULL_ROW ((1u << IM_MA_N) - 1)
#define START_ROW 5
#define START_COL 5
#define SPAWN_PERIOD_START 10
#define STEP_PERIOD_START 5
#define RAMP_GAP 101 /* frames between speed-ups, the speed-up's excluded */

/* ---- entities ---------------------------------------------------------- */

static unsigned occupied(const im_ma_asterix *s, int y)
{
	return (unsigned)s->enemy[y] | s->gold[y];
}

static void clear_row(im_ma_asterix *s, int y)
{
	s->enemy[y] = 0;
	s->gold[y] = 0;
	s->eastbound = (uint16_t)(s->eastbound & ~(1u << y));
}

/* The k-th (from 0) set bit of mask, which has more than k. */
static int kth_bit(unsigned mask, unsigned k)
{
	for (; k > 0; k--)
		mask &= mask - 1;
	return __builtin_ctz(mask);
}

static void spawn(im_ma_asterix *s)
{
	im_rng *rng = &s->core.rng;
	int heads_right = im_rng_double(rng) < 0.5;
	int is_gold = im_rng_double(rng) < 1.0 / 3.0;
	unsigned free_rows = 0, n = 0;
	for (int y = TOP_ROW; y <= BOTTOM_ROW; y++)
		if (!occupied(s, y)) {
			free_rows |= 1u << y;
			n++;
		}
	if (n == 0)
		return;
	int y = kth_bit(free_rows, (unsigned)im_rng_below(rng, n));
	uint16_t cell = (uint16_t)(heads_right ? 1u : 1u << (IM_MA_N - 1));
	if (is_gold)
		s->gold[y] = cell;
	else
		s->enemy[y] = cell;
	if (heads_right)
		s->eastbound = (uint16_t)(s->eastbound | 1u << y);
}

/* Every entity one cell along its row; past the edge it is gone. */
static void step_entities(im_ma_asterix *s)
{
	for (int y = TOP_ROW; y <= BOTTOM_ROW; y++) {
		if (!occupied(s, y))
			continue;
		if (s->eastbound >> y & 1u) {
			s->enemy[y] = (uint16_t)(s->enemy[y] << 1 & FULL_ROW);
			s->gold[y] = (uint16_t)(s->gold[y] << 1 & FULL_ROW);
		} else {
			s->enemy[y] = (uint16_t)(s->enemy[y] >> 1);
			s->gold[y] = (uint16_t)(s->gold[y] >> 1);
		}
		if (!occupied(s, y))
			clear_row(s, y);
	}
}

/* ---- the player -------------------------------------------------------- */

static void walk(im_ma_asterix *s, int a)
{
	if (a == IM_MA_LEFT && s->col > 0)
		s->col--;
	else if (a == IM_MA_RIGHT && s->col < IM_MA_N - 1)
		s->col++;
	else if (a == IM_MA_UP && s->row > TOP_ROW)
		s->row--;
	else if (a == IM_MA_DOWN && s->row < BOTTOM_ROW)
		s->row++;
}

/* What shares the player's cell: gold is picked up (returns 1), an enemy
 * ends the game. */
static int meet(im_ma_asterix *s, uint8_t *terminal)
{
	unsigned here = 1u << s->col;
	if (s->enemy[s->row] & here)
		*terminal = 1;
	if (!(s->gold[s->row] & here))
		return 0;
	clear_row(s, s->row);
	return 1;
}

/* ---- the clock ---------------------------------------------------------- */

static void speed_up(im_ma_asterix *s)
{
	if (s->spawn_period > 1)
		s->spawn_period--;
	s->ramps++;
	if (s->ramps % 2 == 0 && s->step_period > 1)
		s->step_period--;
}

static void ramp_turn(im_ma_asterix *s)
{
	int fastest = s->spawn_period <= 1 && s->step_period <= 1;
	if (!s->core.ramping || fastest)
		return;
	if (s->ramp_wait > 0) {
		s->ramp_wait--;
		return;
	}
	speed_up(s);
	s->ramp_wait = RAMP_GAP;
}

/* 1 on a frame of the event counted by *wait (then restarted at period),
 * else 0 and one frame less to wait. */
static int due(int16_t *wait, int16_t period)
{
	if (*wait > 0) {
		(*wait)--;
		return 0;
	}
	*wait = (int16_t)(period - 1);
	return 1;
}

/* ---- the game ---------------------------------------------------------- */

static void ax_start(void *st)
{
	im_ma_asterix *s = st;
	s->row = START_ROW;
	s->col = START_COL;
	memset(s->enemy, 0, sizeof(s->enemy));
	memset(s->gold, 0, sizeof(s->gold));
	s->eastbound = 0;
	s->spawn_period = SPAWN_PERIOD_START;
	s->spawn_wait = SPAWN_PERIOD_START;
	s->step_period = STEP_PERIOD_START;
	s->step_wait = STEP_PERIOD_START;
	s->ramp_wait = RAMP_GAP;
	s->ramps = 0;
}

static int ax_act(void *st, int a, uint8_t *terminal)
{
	im_ma_asterix *s = st;
	if (due(&s->spawn_wait, s->spawn_period))
		spawn(s);
	walk(s, a);
	int reward = meet(s, terminal);
	if (due(&s->step_wait, s->step_period)) {
		step_entities(s);
		reward += meet(s, terminal);
	}
	ramp_turn(s);
	return reward;
}

static void ax_render(const void *st, uint8_t *cells)
{
	const im_ma_asterix *s = st;
	memset(cells, 0, IM_MA_N * IM_MA_N * NCH);
	cells[im_ma_cell(s->row, s->col, CH_PLAYER, NCH)] = 1;
	for (int y = TOP_ROW; y <= BOTTOM_ROW; y++) {
		unsigned m = occupied(s, y);
		if (!m)
			continue;
		unsigned behind = s->eastbound >> y & 1u ? m >> 1
							 : m << 1 & FULL_ROW;
		im_ma_render_row(cells, y, s->enemy[y], CH_ENEMY, NCH);
		im_ma_render_row(cells, y, s->gold[y], CH_GOLD, NCH);
		im_ma_render_row(cells, y, behind, CH_TRAIL, NCH);
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
	.game = &game, .sticky = 0.1, .ramping = 1, .n_actions = 6,
	.action_set = {0, 1, 2, 3, 4, 5},
};
static const im_ma_config cfg_v1 = {
	.game = &game, .sticky = 0.1, .ramping = 1, .n_actions = 5,
	.action_set = {IM_MA_NOOP, IM_MA_LEFT, IM_MA_UP, IM_MA_RIGHT,
		       IM_MA_DOWN},
};

const im_env_class im_env_minatar_asterix_v0_class =
	IM_MA_CLASS("MinAtar/Asterix-v0", NCH, 6, cfg_v0, im_ma_asterix);
const im_env_class im_env_minatar_asterix_v1_class =
	IM_MA_CLASS("MinAtar/Asterix-v1", NCH, 5, cfg_v1, im_ma_asterix);
