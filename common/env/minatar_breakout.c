// SPDX-License-Identifier: Apache-2.0
/* MinAtar Breakout (MinAtar 1.0.15 rules).
 *
 * A paddle on the bottom row bounces a ball that travels only along
 * diagonals; three rows of bricks (rows 1-3) sit near the top.  +1 for
 * each brick broken; the episode ends when the ball reaches the bottom row
 * past the paddle.  Channels: 0 paddle, 1 ball, 2 trail (the ball's
 * previous cell), 3 brick.  Minimal actions: no-op, left, right.  No
 * difficulty ramping, no time limit.
 *
 * Written from MinAtar's README, docstrings and black-box runs
 * (tests/env/minatar_replay); not from its source.
 *
 * Our model: the ball is a cell and a velocity (vy, vx), each -1 or +1;
 * every frame it aims at the cell one step along both axes, and the
 * obstacle at that cell decides where it ends up.  Points the description
 * leaves open, settled by running MinAtar:
 * - Start: ball in row 3, either at column 0 heading down-right or at
 *   column 9 heading down-left (one fair coin: our generator's draw
 *   below 2 gives column 0 on 0); paddle at column 4; the trail is drawn
 *   under the ball.
 * - Order within a frame: the paddle moves, then the ball.
 * - Walls and ceiling: along an axis where the aimed cell is off the grid
 *   the velocity reverses and the ball keeps its coordinate (so a ball in
 *   a top corner stays put and turns back along both axes).
 * - A brick at the aimed cell is removed, scores 1 and reverses vy; the
 *   ball takes the aimed column but keeps its row.  After a break the
 *   ball tunnels: it enters brick cells without breaking them until it
 *   first enters a cell without a brick, so two frames in a row never
 *   both score.
 * - Aiming at row 9: when no bricks remain, three fresh rows appear first
 *   (even when the ball is then lost).  A paddle under the ball's current
 *   column reverses vy; else a paddle under the aimed column reverses both
 *   vy and vx; in both cases the ball stays in row 8 and takes the aimed
 *   column.  Otherwise the ball enters row 9 and the episode ends. */
#include <string.h>

#include "minatar.h"
#include "minatar_games.h"

#define NCH 4
#define LAST (IM_MA_N - 1) /* the last row and column */
#define FULL_ROW ((1u << IM_MA_N) - 1)

enum { CH_PADDLE,
       CH_BALL,
       CH_TRAIL,
       CH_BRICK };

static void lay_bricks(im_ma_breakout *s)
{
	memset(s->bricks, 0, sizeof(s->bricks));
	for (int y = 1; y <= 3; y++)
		s->bricks[y] = FULL_ROW;
}

static int bricks_left(const im_ma_breakout *s)
{
	unsigned any = 0;
	for (int y = 0; y < IM_MA_N; y++)
		any |= s->bricks[y];
	return any != 0;
}

static void bo_start(void *st)
{
	im_ma_breakout *s = st;
	int from_left = im_rng_below(&s->core.rng, 2) == 0;
	im_ma_ball b = {.y = 3, .x = from_left ? 0 : LAST, .vy = 1, .vx = from_left ? 1 : -1};
	b.ty = b.y;
	b.tx = b.x;
	s->ball = b;
	s->paddle = IM_MA_N / 2 - 1;
	s->tunnel = 0;
	lay_bricks(s);
}

static void move_paddle(im_ma_breakout *s, int a)
{
	if (a == IM_MA_LEFT && s->paddle > 0)
		s->paddle--;
	else if (a == IM_MA_RIGHT && s->paddle < LAST)
		s->paddle++;
}

/* The coordinate pos + *v, or pos with *v reversed when that leaves the
 * grid. */
static int8_t aim_axis(int8_t pos, int8_t *v)
{
	int next = pos + *v;
	if (next >= 0 && next <= LAST)
		return (int8_t)next;
	*v = (int8_t) - *v;
	return pos;
}

static int brick_at(const im_ma_breakout *s, int y, int x)
{
	return (s->bricks[y] >> x) & 1u;
}

/* The ball aims at row 9 (x is the aimed column): the paddle saves it or
 * the game is over.  Returns 1 when the ball is lost. */
static int reach_bottom(im_ma_breakout *s, int8_t x)
{
	im_ma_ball *b = &s->ball;
	if (!bricks_left(s))
		lay_bricks(s);
	if (s->paddle != b->x && s->paddle != x) {
		b->y = LAST;
		b->x = x;
		return 1;
	}
	if (s->paddle != b->x)
		b->vx = (int8_t)-b->vx;
	b->vy = (int8_t)-b->vy;
	b->x = x;
	return 0;
}

/* The ball aims at (y, x) above row 9; returns the reward. */
static int enter_cell(im_ma_breakout *s, int8_t y, int8_t x)
{
	im_ma_ball *b = &s->ball;
	b->x = x;
	if (!brick_at(s, y, x)) {
		b->y = y;
		s->tunnel = 0;
		return 0;
	}
	if (s->tunnel) {
		b->y = y;
		return 0;
	}
	s->bricks[y] &= (uint16_t) ~(1u << x);
	b->vy = (int8_t)-b->vy;
	s->tunnel = 1;
	return 1;
}

static int bo_act(void *st, int a, uint8_t *terminal)
{
	im_ma_breakout *s = st;
	im_ma_ball *b = &s->ball;
	move_paddle(s, a);
	b->ty = b->y;
	b->tx = b->x;
	int8_t x = aim_axis(b->x, &b->vx);
	int8_t y = aim_axis(b->y, &b->vy);
	if (y == LAST) {
		*terminal = (uint8_t)reach_bottom(s, x);
		return 0;
	}
	return enter_cell(s, y, x);
}

static void bo_render(const void *st, uint8_t *cells)
{
	const im_ma_breakout *s = st;
	memset(cells, 0, (size_t)IM_MA_N * IM_MA_N * NCH);
	cells[im_ma_cell(LAST, s->paddle, CH_PADDLE, NCH)] = 1;
	cells[im_ma_cell(s->ball.y, s->ball.x, CH_BALL, NCH)] = 1;
	cells[im_ma_cell(s->ball.ty, s->ball.tx, CH_TRAIL, NCH)] = 1;
	for (int y = 0; y < IM_MA_N; y++)
		im_ma_render_row(cells, y, s->bricks[y], CH_BRICK, NCH);
}

static const im_ma_game game = {
	.channels = NCH,
	.state_size = sizeof(im_ma_breakout),
	.start = bo_start,
	.act = bo_act,
	.render = bo_render,
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
	.n_actions = 3,
	.action_set = {IM_MA_NOOP, IM_MA_LEFT, IM_MA_RIGHT},
};

const im_env_class im_env_minatar_breakout_v0_class =
	IM_MA_CLASS("MinAtar/Breakout-v0", NCH, 6, cfg_v0, im_ma_breakout);
const im_env_class im_env_minatar_breakout_v1_class =
	IM_MA_CLASS("MinAtar/Breakout-v1", NCH, 3, cfg_v1, im_ma_breakout);
