// SPDX-License-Identifier: Apache-2.0
/* MinAtar Asterix frame by frame: hand-built scenarios with the exact next
 * observation (runner and conventions: minatar_scenario.h). */
#include "minatar_scenario.h"

/* ---- Asterix: 0 player, 1 enemy, 2 trail, 3 gold ---------------------- */

static void ax_base(void *st)
{
	im_ma_asterix *s = st;
	s->py = 5;
	s->px = 5;
	s->spawn_in = 50;
	s->move_in = 3;
	memset(s->lane, 0, sizeof(s->lane));
}

static void ax_put(void *st, int row, int x, int right, int gold)
{
	im_ma_ax_lane *l = &((im_ma_asterix *)st)->lane[row - 1];
	l->what = gold ? IM_MA_AX_GOLD : IM_MA_AX_ENEMY;
	l->x = (int8_t)x;
	l->dx = right ? 1 : -1;
}

/* Gold at (5, 6) heading left moves onto the player at (5, 5). */
static void ax_gold_setup(void *st)
{
	ax_base(st);
	((im_ma_asterix *)st)->move_in = 0;
	ax_put(st, 5, 6, 0, 1);
	ax_put(st, 2, 3, 1, 0);
}

static void ax_gold_expect(uint8_t *g)
{
	lit(g, 5, 5, 0);
	lit(g, 2, 4, 1); /* the enemy moved too */
	lit(g, 2, 3, 2);
}

static void ax_enemy_setup(void *st)
{
	ax_base(st);
	((im_ma_asterix *)st)->move_in = 0;
	ax_put(st, 5, 6, 0, 0);
}

static void ax_enemy_expect(uint8_t *g)
{
	lit(g, 5, 5, 0);
	lit(g, 5, 5, 1);
	lit(g, 5, 6, 2);
}

/* The player steps left onto resting gold: collected before moves. */
static void ax_walk_setup(void *st)
{
	ax_base(st);
	ax_put(st, 5, 4, 1, 1);
}

static void ax_walk_expect(uint8_t *g)
{
	lit(g, 5, 4, 0);
}

/* An entity at the edge leaves the grid; the player cannot enter row 0. */
static void ax_leave_setup(void *st)
{
	ax_base(st);
	im_ma_asterix *s = st;
	s->py = 1;
	s->move_in = 0;
	ax_put(st, 7, 0, 0, 0);
	ax_put(st, 8, 8, 1, 1);
}

static void ax_leave_expect(uint8_t *g)
{
	lit(g, 1, 5, 0);
	lit(g, 8, 9, 3);
	lit(g, 8, 8, 2);
}

/* Ramping: 102 frames after the last ramp, spawns come 1 frame sooner
 * and (on every second speed-up) entities move 1 frame sooner. */
static void ax_ramp_setup(void *st)
{
	ax_base(st);
	im_ma_asterix *s = st;
	s->ramp_in = 0;
	s->speedups = 1;
}

static void ax_player_only(uint8_t *g)
{
	lit(g, 5, 5, 0);
}

static void ax_ramp_check(const void *st)
{
	const im_ma_asterix *s = st;
	assert_int_equal(s->spawn_every, 9);
	assert_int_equal(s->move_every, 4);
	assert_int_equal(s->speedups, 2);
	assert_int_equal(s->ramp_in, 101);
}

static void ax_noramp_check(const void *st)
{
	const im_ma_asterix *s = st;
	assert_int_equal(s->spawn_every, 10);
	assert_int_equal(s->move_every, 5);
	assert_int_equal(s->speedups, 1);
}

/* After a ramp to move_speed 4, an entity moves 4 frames after its last
 * move: 5 frames from a countdown of 4 bring it two cells. */
static void ax_fast_setup(void *st)
{
	ax_base(st);
	im_ma_asterix *s = st;
	s->move_every = 4;
	s->move_in = 0;
	ax_put(st, 3, 2, 1, 0);
}

static void ax_fast_expect(uint8_t *g)
{
	lit(g, 5, 5, 0);
	lit(g, 3, 4, 1);
	lit(g, 3, 3, 2);
}

/* With every row taken, a spawn frame places nothing. */
static void ax_full_setup(void *st)
{
	ax_base(st);
	((im_ma_asterix *)st)->spawn_in = 0;
	for (int row = 1; row <= 8; row++)
		ax_put(st, row, 2, 1, 0);
}

static void ax_full_expect(uint8_t *g)
{
	lit(g, 5, 5, 0);
	for (int row = 1; row <= 8; row++) {
		lit(g, row, 2, 1);
		lit(g, row, 1, 2);
	}
}

/* With one free row (3), the spawn enters it at the edge it heads away
 * from: column 0 heading right or column 9 heading left. */
static void ax_spawn_setup(void *st)
{
	ax_full_setup(st);
	im_ma_asterix *s = st;
	memset(&s->lane[3 - 1], 0, sizeof(s->lane[0]));
}

static void ax_spawn_check(const void *st)
{
	const im_ma_asterix *s = st;
	const im_ma_ax_lane *l = &s->lane[3 - 1];
	assert_true(l->what == IM_MA_AX_ENEMY || l->what == IM_MA_AX_GOLD);
	assert_true(l->dx == 1 || l->dx == -1);
	assert_int_equal(l->x, l->dx == 1 ? 0 : 9);
	for (int row = 1; row <= 8; row++)
		if (row != 3) {
			assert_int_equal(s->lane[row - 1].what, IM_MA_AX_ENEMY);
			assert_int_equal(s->lane[row - 1].x, 2);
		}
	assert_int_equal(s->spawn_in, 9);
}

/* Once spawns and steps come every frame, ramping stops: its countdown
 * and count freeze. */
static void ax_fastest_setup(void *st)
{
	ax_base(st);
	im_ma_asterix *s = st;
	s->spawn_every = 1;
	s->move_every = 1;
	s->ramp_in = 0;
	s->speedups = 17;
}

static void ax_fastest_check(const void *st)
{
	const im_ma_asterix *s = st;
	assert_int_equal(s->spawn_every, 1);
	assert_int_equal(s->move_every, 1);
	assert_int_equal(s->ramp_in, 0);
	assert_int_equal(s->speedups, 17);
}

#define AX0 "MinAtar/Asterix-v0"

static const scenario scenarios[] = {
	{"asterix_gold_collected", AX0, ax_gold_setup, NOOP, 1, 1, 0,
	 ax_gold_expect, 0, NULL},
	{"asterix_enemy_contact_ends_episode", AX0, ax_enemy_setup, NOOP, 1,
	 0, 1, ax_enemy_expect, 0, NULL},
	{"asterix_player_steps_onto_gold", AX0, ax_walk_setup, LEFT, 1, 1, 0,
	 ax_walk_expect, 0, NULL},
	{"asterix_entity_leaves_grid_player_stays_below_row_0", AX0,
	 ax_leave_setup, UP, 1, 0, 0, ax_leave_expect, 0, NULL},
	{"asterix_ramping_raises_speed", AX0, ax_ramp_setup, NOOP, 1, 0, 0,
	 ax_player_only, 0, ax_ramp_check},
	{"asterix_ramping_off_by_option", AX0 "?ramping=0", ax_ramp_setup,
	 NOOP, 1, 0, 0, ax_player_only, 0, ax_noramp_check},
	{"asterix_faster_entities_move_sooner", AX0, ax_fast_setup, NOOP, 5,
	 0, 0, ax_fast_expect, 0, NULL},
	{"asterix_no_spawn_without_a_free_row", AX0, ax_full_setup, NOOP, 1,
	 0, 0, ax_full_expect, 0, NULL},
	{"asterix_spawn_enters_the_free_row_at_an_edge", AX0, ax_spawn_setup,
	 NOOP, 1, 0, 0, ax_player_only, (1u << 1) | (1u << 2) | (1u << 3),
	 ax_spawn_check},
	{"asterix_ramping_stops_at_the_fastest", AX0, ax_fastest_setup, NOOP, 1,
	 0, 0, ax_player_only, 0, ax_fastest_check},
};

int main(void)
{
	return run_scenarios(scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
