// SPDX-License-Identifier: Apache-2.0
/* MinAtar Breakout frame by frame: hand-built scenarios with the exact next
 * observation (runner and conventions: minatar_scenario.h). */
#include "minatar_scenario.h"

/* ---- Breakout: 0 paddle, 1 ball, 2 trail, 3 brick ---------------------- */

#define WALL 0x3ffu

/* Ball at (y, x) with velocity (vy, vx), having left (ty, tx); paddle at
 * column paddle. */
static void bo_place(void *st, int y, int x, int vy, int vx, int ty, int tx,
		     int paddle)
{
	im_ma_breakout *s = st;
	im_ma_ball b = {.y = (int8_t)y, .x = (int8_t)x, .vy = (int8_t)vy, .vx = (int8_t)vx, .ty = (int8_t)ty, .tx = (int8_t)tx};
	s->ball = b;
	s->paddle = (int8_t)paddle;
	s->tunnel = 0;
}

static void assert_velocity(const void *st, int vy, int vx)
{
	const im_ma_breakout *s = st;
	assert_int_equal(s->ball.vy, vy);
	assert_int_equal(s->ball.vx, vx);
}

static void bricks_full(uint8_t *g)
{
	for (int y = 1; y <= 3; y++)
		lit_row(g, y, WALL, 3);
}

/* Ball at (5, 0) heading down-left hits the left wall. */
static void bo_wall_setup(void *st)
{
	bo_place(st, 5, 0, 1, -1, 4, 1, 4);
}

static void bo_wall_expect(uint8_t *g)
{
	lit(g, 9, 4, 0);
	lit(g, 6, 0, 1); /* moved down only, now heading down-right */
	lit(g, 5, 0, 2);
	bricks_full(g);
}

static void bo_wall_check(const void *st)
{
	assert_velocity(st, 1, 1); /* down-right */
}

/* Ball at (4, 3) heading up-left breaks the brick at (3, 2). */
static void bo_brick_setup(void *st)
{
	bo_place(st, 4, 3, -1, -1, 5, 4, 4);
}

static void bo_brick_expect(uint8_t *g)
{
	lit(g, 9, 4, 0);
	lit(g, 4, 2, 1); /* new column, same row, now heading down-left */
	lit(g, 4, 3, 2);
	lit_row(g, 1, WALL, 3);
	lit_row(g, 2, WALL, 3);
	lit_row(g, 3, WALL & ~(1u << 2), 3);
}

/* The same while tunnelling after a break: the ball enters the brick. */
static void bo_tunnel_setup(void *st)
{
	bo_brick_setup(st);
	((im_ma_breakout *)st)->tunnel = 1;
}

static void bo_tunnel_expect(uint8_t *g)
{
	lit(g, 9, 4, 0);
	lit(g, 3, 2, 1);
	lit(g, 4, 3, 2);
	bricks_full(g);
}

/* Tunnelling on: the ball enters brick after brick without breaking
 * them, and tunnels until it enters an empty cell. */
static void bo_deep_setup(void *st)
{
	bo_place(st, 3, 2, -1, -1, 4, 3, 4);
	((im_ma_breakout *)st)->tunnel = 1;
}

static void bo_deep_expect(uint8_t *g)
{
	lit(g, 9, 4, 0);
	lit(g, 2, 1, 1);
	lit(g, 3, 2, 2);
	bricks_full(g);
}

static void tunnel_on(const void *st)
{
	assert_int_equal(((const im_ma_breakout *)st)->tunnel, 1);
}

static void bo_open_setup(void *st)
{
	bo_place(st, 6, 3, -1, -1, 7, 4, 4);
	((im_ma_breakout *)st)->tunnel = 1;
}

static void bo_open_expect(uint8_t *g)
{
	lit(g, 9, 4, 0);
	lit(g, 5, 2, 1);
	lit(g, 6, 3, 2);
	bricks_full(g);
}

static void tunnel_off(const void *st)
{
	assert_int_equal(((const im_ma_breakout *)st)->tunnel, 0);
}

/* Ball in the top-left corner heading up-left: stays, turns back along
 * both axes. */
static void bo_corner_top_setup(void *st)
{
	bo_place(st, 0, 0, -1, -1, 1, 1, 4);
}

static void bo_corner_top_expect(uint8_t *g)
{
	lit(g, 9, 4, 0);
	lit(g, 0, 0, 1);
	lit(g, 0, 0, 2);
	bricks_full(g);
}

static void bo_corner_top_check(const void *st)
{
	assert_velocity(st, 1, 1);
}

/* Ball at (8, 3) heading down-right over the paddle at 3: bounces up. */
static void bo_paddle_setup(void *st)
{
	bo_place(st, 8, 3, 1, 1, 7, 2, 3);
}

static void bo_paddle_expect(uint8_t *g)
{
	lit(g, 9, 3, 0);
	lit(g, 8, 4, 1);
	lit(g, 8, 3, 2);
	bricks_full(g);
}

static void bo_paddle_check(const void *st)
{
	assert_velocity(st, -1, 1); /* up-right */
}

/* Paddle at 4, where the ball is heading: sent back up-left. */
static void bo_corner_setup(void *st)
{
	bo_place(st, 8, 3, 1, 1, 7, 2, 4);
}

static void bo_corner_expect(uint8_t *g)
{
	lit(g, 9, 4, 0);
	lit(g, 8, 4, 1);
	lit(g, 8, 3, 2);
	bricks_full(g);
}

static void bo_corner_check(const void *st)
{
	assert_velocity(st, -1, -1); /* up-left */
}

/* Paddle far away: the ball is lost. */
static void bo_lost_setup(void *st)
{
	bo_place(st, 8, 3, 1, 1, 7, 2, 7);
}

static void bo_lost_expect(uint8_t *g)
{
	lit(g, 9, 7, 0);
	lit(g, 9, 4, 1);
	lit(g, 8, 3, 2);
	bricks_full(g);
}

/* All bricks gone: three fresh rows when the ball reaches the bottom. */
static void bo_refill_setup(void *st)
{
	bo_paddle_setup(st);
	memset(((im_ma_breakout *)st)->bricks, 0, sizeof(uint16_t) * 10);
}

/* Ball at (0, 5) heading up-right: stays in row 0, turns down. */
static void bo_top_setup(void *st)
{
	bo_place(st, 0, 5, -1, 1, 1, 4, 4);
}

static void bo_top_expect(uint8_t *g)
{
	lit(g, 9, 4, 0);
	lit(g, 0, 6, 1);
	lit(g, 0, 5, 2);
	bricks_full(g);
}

/* -v1 action 2 is "right": the paddle moves before the ball. */
static void bo_v1_right_expect(uint8_t *g)
{
	lit(g, 9, 5, 0);
	lit(g, 6, 0, 1);
	lit(g, 5, 0, 2);
	bricks_full(g);
}

#define BO0 "MinAtar/Breakout-v0"

static const scenario scenarios[] = {
	{"breakout_ball_bounces_off_wall", BO0, bo_wall_setup, NOOP, 1, 0, 0,
	 bo_wall_expect, 0, bo_wall_check},
	{"breakout_brick_broken_and_scored", BO0, bo_brick_setup, NOOP, 1, 1,
	 0, bo_brick_expect, 0, NULL},
	{"breakout_no_second_break_in_a_row", BO0, bo_tunnel_setup, NOOP, 1,
	 0, 0, bo_tunnel_expect, 0, NULL},
	{"breakout_tunnel_goes_on_through_bricks", BO0, bo_deep_setup, NOOP,
	 1, 0, 0, bo_deep_expect, 0, tunnel_on},
	{"breakout_tunnel_ends_in_empty_cell", BO0, bo_open_setup, NOOP, 1, 0,
	 0, bo_open_expect, 0, tunnel_off},
	{"breakout_ball_turns_back_in_top_corner", BO0, bo_corner_top_setup,
	 NOOP, 1, 0, 0, bo_corner_top_expect, 0, bo_corner_top_check},
	{"breakout_paddle_bounces_ball_up", BO0, bo_paddle_setup, NOOP, 1, 0,
	 0, bo_paddle_expect, 0, bo_paddle_check},
	{"breakout_paddle_corner_sends_ball_back", BO0, bo_corner_setup, NOOP,
	 1, 0, 0, bo_corner_expect, 0, bo_corner_check},
	{"breakout_ball_lost_ends_episode", BO0, bo_lost_setup, NOOP, 1, 0, 1,
	 bo_lost_expect, 0, NULL},
	{"breakout_bricks_refill_at_bottom", BO0, bo_refill_setup, NOOP, 1, 0,
	 0, bo_paddle_expect, 0, NULL},
	{"breakout_ball_bounces_off_top", BO0, bo_top_setup, NOOP, 1, 0, 0,
	 bo_top_expect, 0, NULL},
	{"breakout_v1_action_2_is_right", "MinAtar/Breakout-v1",
	 bo_wall_setup, 2, 1, 0, 0, bo_v1_right_expect, 0, NULL},
};

int main(void)
{
	return run_scenarios(scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
