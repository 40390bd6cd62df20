// SPDX-License-Identifier: Apache-2.0
/* MinAtar Freeway frame by frame: hand-built scenarios with the exact next
 * observation (runner and conventions: minatar_scenario.h). */
#include "minatar_scenario.h"

/* ---- Freeway: 0 chicken, 1 car, 2..6 trail of speed 1..5 --------------- */

/* Chicken in row `row`, free to move, 100 frames before the end; car i
 * (row i + 1) parked at x 0 heading left with pause 5 (the slowest) and
 * resting all of it, except those a scenario moves. */
static void fw_base(void *st, int row)
{
	im_ma_freeway *s = st;
	s->row = (int8_t)row;
	s->cooldown = 0;
	s->elapsed = 2500 - 100;
	for (int i = 0; i < IM_MA_FREEWAY_LANES; i++) {
		im_ma_car c = {.x = 0, .dx = -1, .pause = 5, .wait = 5};
		s->car[i] = c;
	}
}

/* Car in lane i at column x heading dx, pause `pause`, due to move. */
static void fw_car_due(void *st, int i, int x, int dx, int pause)
{
	im_ma_car c = {.x = (int8_t)x, .dx = (int8_t)dx, .pause = (int8_t)pause, .wait = 0};
	((im_ma_freeway *)st)->car[i] = c;
}

static void fw_parked(uint8_t *g, int except_row)
{
	for (int y = 1; y <= 8; y++) {
		if (y == except_row)
			continue;
		lit(g, y, 0, 1);
		lit(g, y, 1, 6); /* heading left: the trail is on the right */
	}
}

/* Car in row 3 at x 3, pause 1 heading right and due to move, into the
 * chicken at (3, 4). */
static void fw_hit_setup(void *st)
{
	fw_base(st, 3);
	fw_car_due(st, 2, 3, 1, 1);
}

static void fw_hit_expect(uint8_t *g)
{
	lit(g, 9, 4, 0); /* sent back to the bottom */
	fw_parked(g, 3);
	lit(g, 3, 4, 1);
	lit(g, 3, 3, 2);
}

static void fw_hit_check(const void *st)
{
	/* It rests its pause again. */
	assert_int_equal(((const im_ma_freeway *)st)->car[2].wait, 1);
}

/* A car of pause 2 heading right at x 9 wraps to x 0; its trail wraps to
 * x 9. */
static void fw_wrap_setup(void *st)
{
	fw_base(st, 9);
	fw_car_due(st, 5, 9, 1, 2);
}

static void fw_wrap_expect(uint8_t *g)
{
	lit(g, 9, 4, 0);
	fw_parked(g, 6);
	lit(g, 6, 0, 1);
	lit(g, 6, 9, 3);
}

/* The chicken may not move while its countdown runs. */
static void fw_wait_setup(void *st)
{
	fw_base(st, 5);
	((im_ma_freeway *)st)->cooldown = 2;
}

static void fw_stay_expect(uint8_t *g)
{
	lit(g, 5, 4, 0);
	fw_parked(g, 0);
}

static void fw_up_setup(void *st)
{
	fw_base(st, 6);
}

static void fw_up_expect(uint8_t *g)
{
	lit(g, 5, 4, 0);
	fw_parked(g, 0);
}

static void fw_up_check(const void *st)
{
	/* 3 set on the move, minus the frame's tick. */
	assert_int_equal(((const im_ma_freeway *)st)->cooldown, 2);
}

/* Down on the bottom row: the chicken stays, but the cooldown starts. */
static void fw_bottom_setup(void *st)
{
	fw_base(st, 9);
}

static void fw_bottom_expect(uint8_t *g)
{
	lit(g, 9, 4, 0);
	fw_parked(g, 0);
}

/* Reaching row 0 scores, puts the chicken back at the bottom and draws
 * new pauses and directions; the cars stay where they are. */
static void fw_cross_setup(void *st)
{
	fw_base(st, 1);
}

static void fw_cross_expect(uint8_t *g)
{
	lit(g, 9, 4, 0);
	for (int y = 1; y <= 8; y++)
		lit(g, y, 0, 1);
}

static void fw_cross_check(const void *st)
{
	const im_ma_freeway *s = st;
	int changed = 0;
	for (int i = 0; i < IM_MA_FREEWAY_LANES; i++) {
		const im_ma_car *c = &s->car[i];
		assert_true(c->pause >= 1 && c->pause <= 5);
		assert_true(c->dx == 1 || c->dx == -1);
		/* The new pause, less this frame's rest. */
		assert_int_equal(c->wait, c->pause - 1);
		assert_int_equal(c->x, 0);
		changed += c->pause != 5 || c->dx != -1;
	}
	assert_true(changed > 0);
}

/* Frame 2501 ends the game. */
static void fw_limit_setup(void *st)
{
	fw_base(st, 9);
	((im_ma_freeway *)st)->elapsed = 2500;
}

static void fw_limit_expect(uint8_t *g)
{
	lit(g, 9, 4, 0);
	fw_parked(g, 0);
}

#define FW0 "MinAtar/Freeway-v0"

static const scenario scenarios[] = {
	{"freeway_car_hits_chicken", FW0, fw_hit_setup, NOOP, 1, 0, 0,
	 fw_hit_expect, 0, fw_hit_check},
	{"freeway_car_wraps_around", FW0, fw_wrap_setup, NOOP, 1, 0, 0,
	 fw_wrap_expect, 0, NULL},
	{"freeway_chicken_moves_up", FW0, fw_up_setup, UP, 1, 0, 0,
	 fw_up_expect, 0, fw_up_check},
	{"freeway_down_on_bottom_row_starts_cooldown", FW0, fw_bottom_setup,
	 DOWN, 1, 0, 0, fw_bottom_expect, 0, fw_up_check},
	{"freeway_chicken_waits_between_moves", FW0, fw_wait_setup, UP, 1, 0,
	 0, fw_stay_expect, 0, NULL},
	{"freeway_crossing_scores_and_redraws_speeds", FW0, fw_cross_setup,
	 UP, 1, 1, 0, fw_cross_expect, 0x7cu, fw_cross_check},
	{"freeway_v1_action_1_is_up", "MinAtar/Freeway-v1", fw_up_setup, 1, 1,
	 0, 0, fw_up_expect, 0, NULL},
	{"freeway_ends_after_2501_frames", FW0, fw_limit_setup, NOOP, 1, 0, 1,
	 fw_limit_expect, 0, NULL},
};

int main(void)
{
	return run_scenarios(scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
