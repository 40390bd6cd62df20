/* MinAtar Breakout (MinAtar 1.0.15 rules).
 *
 * A paddle on the bottom row bounces a ball that travels only along
 * diagonals; three rows of bricks (rows 1-3) sit near the top.  +1 for
 * each brick broken; the episode ends when the ball reaches the bottom row
 * past the paddle.  Channels: 0 paddle, 1 ball, 2 trail (the ball's
 * previous cell), 3 brick.  Minimal actions: no-op, left, right.  No
 * difficulty ramping, no time limit.
 *
 * Points the description leaves open, settled by running MinAtar:
 * - Start: ball in row 3, either at column 0 heading down-right or at
 *   column 9 heading down-left (one coin flip); paddle at column 4.
 * - The paddle moves first, then the ball.  A ball that would leave the
 *   side moves only vertically this frame and reverses its horizontal
 *   direction; one that would leave the top stays in row 0 and reverses
 *   its vertical direction.
 * - A brick hit removes the brick, scores 1 and reverses the vertical
 *   direction; the ball takes the new column but stays in its row.  Two
 *   frames in a row never both break a brick: on the frame after a break
 *   the ball passes into a brick cell without breaking it (and this
 *   repeats while it keeps entering bricks).
 * - Reaching row 9: when no bricks remain, three fresh rows appear first.
 *   If the paddle is under the ball's current column the ball reverses
 *   vertically; else if the paddle is at the column the ball is heading
 *   to, the ball reverses both directions; in both cases it stays in row
 *   8 and takes the new column.  Otherwise the ball enters row 9 and the
 *   episode ends. */
#include <string.h>

#include "minatar_games.h"

enum { CH_PADDLE, CH_BALL, CH_TRAIL, CH_BRICK, NCH };
#define BRICK_ROWS 0x3ffu /* all ten columns */

/* Directions: 0 up-left, 1 up-right, 2 down-right, 3 down-left. */
static const int8_t dir_dx[4] = {-1, 1, 1, -1};
static const int8_t dir_dy[4] = {-1, -1, 1, 1};
static const uint8_t flip_x[4] = {1, 0, 3, 2};
static const uint8_t flip_y[4] = {3, 2, 1, 0};
static const uint8_t flip_xy[4] = {2, 3, 0, 1};


static void fill_bricks(im_ma_breakout *s)
{
	for (int y = 1; y <= 3; y++)
		s->bricks[y] = BRICK_ROWS;
}

static void bo_start(void *st)
{
	im_ma_breakout *s = st;
	int right_side = (int)im_rng_below(&s->core.rng, 2);
	s->ball_y = 3;
	s->ball_x = right_side ? 9 : 0;
	s->dir = right_side ? 3 : 2;
	s->last_x = s->ball_x;
	s->last_y = s->ball_y;
	s->paddle = 4;
	s->strike = 0;
	memset(s->bricks, 0, sizeof(s->bricks));
	fill_bricks(s);
}

static int no_bricks(const im_ma_breakout *s)
{
	unsigned any = 0;
	for (int y = 0; y < IM_MA_N; y++)
		any |= s->bricks[y];
	return any == 0;
}

/* The ball entering row 9: bounced by the paddle or lost. */
static int8_t bottom(im_ma_breakout *s, int nx, uint8_t *terminal)
{
	if (no_bricks(s))
		fill_bricks(s);
	if (s->ball_x == s->paddle) {
		s->dir = flip_y[s->dir];
		return s->last_y;
	}
	if (nx == s->paddle) {
		s->dir = flip_xy[s->dir];
		return s->last_y;
	}
	*terminal = 1;
	return 9;
}

static int bo_act(void *st, int a, uint8_t *terminal)
{
	im_ma_breakout *s = st;
	int r = 0, hit_brick = 0;
	if (a == IM_MA_LEFT && s->paddle > 0)
		s->paddle--;
	else if (a == IM_MA_RIGHT && s->paddle < 9)
		s->paddle++;

	s->last_x = s->ball_x;
	s->last_y = s->ball_y;
	int nx = s->ball_x + dir_dx[s->dir];
	int ny = s->ball_y + dir_dy[s->dir];
	if (nx < 0 || nx > 9) {
		nx = nx < 0 ? 0 : 9;
		s->dir = flip_x[s->dir];
	}
	if (ny < 0) {
		ny = 0;
		s->dir = flip_y[s->dir];
	} else if (s->bricks[ny] & (1u << nx)) {
		hit_brick = 1;
		if (!s->strike) {
			r = 1;
			s->strike = 1;
			s->bricks[ny] &= (uint16_t)~(1u << nx);
			ny = s->last_y;
			s->dir = flip_y[s->dir];
		}
	} else if (ny == 9) {
		ny = bottom(s, nx, terminal);
	}
	if (!hit_brick)
		s->strike = 0;
	s->ball_x = (int8_t)nx;
	s->ball_y = (int8_t)ny;
	return r;
}

static void bo_render(const void *st, uint8_t *cells)
{
	const im_ma_breakout *s = st;
	memset(cells, 0, IM_MA_N * IM_MA_N * NCH);
	cells[im_ma_cell(9, s->paddle, CH_PADDLE, NCH)] = 1;
	cells[im_ma_cell(s->ball_y, s->ball_x, CH_BALL, NCH)] = 1;
	cells[im_ma_cell(s->last_y, s->last_x, CH_TRAIL, NCH)] = 1;
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
	.game = &game, .sticky = 0.1, .ramping = 1, .n_actions = 6,
	.action_set = {0, 1, 2, 3, 4, 5},
};
static const im_ma_config cfg_v1 = {
	.game = &game, .sticky = 0.1, .ramping = 1, .n_actions = 3,
	.action_set = {IM_MA_NOOP, IM_MA_LEFT, IM_MA_RIGHT},
};

const im_env_class im_env_minatar_breakout_v0_class =
	IM_MA_CLASS("MinAtar/Breakout-v0", NCH, 6, cfg_v0, im_ma_breakout);
const im_env_class im_env_minatar_breakout_v1_class =
	IM_MA_CLASS("MinAtar/Breakout-v1", NCH, 3, cfg_v1, im_ma_breakout);
