/* MinAtar Freeway frame by frame: hand-built scenarios with the exact next
 * observation (runner and conventions: minatar_scenario.h). */
#include "minatar_scenario.h"

/* ---- Freeway: 0 chicken, 1 car, 2..6 trail of speed 1..5 --------------- */

/* Chicken in row pos; car i (row i + 1) parked at x 0 heading left with
 * speed 5 and a long countdown, except those a scenario moves. */
static void fw_base(void *st, int pos)
{
	im_ma_freeway *s = st;
	s->pos = (int8_t)pos;
	s->move_timer = 0;
	s->time_left = 100;
	for (int i = 0; i < IM_MA_FREEWAY_CARS; i++) {
		s->car_x[i] = 0;
		s->car_speed[i] = -5;
		s->car_timer[i] = 5;
	}
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

/* Car in row 3 at x 3, speed +1 due to move, into the chicken at (3, 4). */
static void fw_hit_setup(void *st)
{
	im_ma_freeway *s = st;
	fw_base(st, 3);
	s->car_x[2] = 3;
	s->car_speed[2] = 1;
	s->car_timer[2] = 0;
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
	assert_int_equal(((const im_ma_freeway *)st)->car_timer[2], 1);
}

/* A car of speed +2 at x 9 wraps to x 0; its trail wraps to x 9. */
static void fw_wrap_setup(void *st)
{
	im_ma_freeway *s = st;
	fw_base(st, 9);
	s->car_x[5] = 9;
	s->car_speed[5] = 2;
	s->car_timer[5] = 0;
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
	((im_ma_freeway *)st)->move_timer = 2;
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
	assert_int_equal(((const im_ma_freeway *)st)->move_timer, 2);
}

/* Reaching row 0 scores, puts the chicken back at the bottom and draws
 * new speeds; the cars stay where they are. */
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
	for (int i = 0; i < IM_MA_FREEWAY_CARS; i++) {
		int v = s->car_speed[i] < 0 ? -s->car_speed[i] : s->car_speed[i];
		assert_true(v >= 1 && v <= 5);
		assert_int_equal(s->car_x[i], 0);
		changed += s->car_speed[i] != -5;
	}
	assert_true(changed > 0);
}

/* The frame that takes the counter below 0 ends the game. */
static void fw_limit_setup(void *st)
{
	fw_base(st, 9);
	((im_ma_freeway *)st)->time_left = 0;
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
