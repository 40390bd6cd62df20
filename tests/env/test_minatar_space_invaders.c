// SPDX-License-Identifier: Apache-2.0
/* MinAtar Space Invaders frame by frame: hand-built scenarios with the exact next
 * observation (runner and conventions: minatar_scenario.h). */
#include "minatar_scenario.h"

/* ---- Space Invaders ----------------------------------------------------
 * 0 cannon, 1 alien, 2 alien moving left, 3 moving right, 4 friendly
 * bullet, 5 enemy bullet. */

static void si_base(void *st, int pos)
{
	im_ma_space_invaders *s = st;
	s->cannon = (int8_t)pos;
	memset(s->aliens, 0, sizeof(s->aliens));
	s->march_wait = 5;
	s->volley_wait = 5;
}

static void si_alien(void *st, int y, int x)
{
	((im_ma_space_invaders *)st)->aliens[x] |= (uint16_t)(1u << y);
}

static void si_alien_cell(uint8_t *g, int y, int x, int right)
{
	lit(g, y, x, 1);
	lit(g, y, x, right ? 3 : 2);
}

/* The block touches the left side on the bottom row and must step down:
 * the game ends (MinAtar's final frame shows the alien wrapped to row 0,
 * now heading right). */
static void si_bottom_setup(void *st)
{
	si_base(st, 5);
	si_alien(st, 9, 0);
	si_alien(st, 4, 3);
	((im_ma_space_invaders *)st)->march_wait = 0;
}

static void si_bottom_expect(uint8_t *g)
{
	lit(g, 9, 5, 0);
	si_alien_cell(g, 0, 0, 1);
	si_alien_cell(g, 5, 3, 1);
}

/* An alien marching along the bottom row onto the cannon. */
static void si_land_setup(void *st)
{
	im_ma_space_invaders *s = st;
	si_base(st, 5);
	si_alien(st, 9, 4);
	si_alien(st, 2, 4);
	s->march = 1;
	s->march_wait = 0;
}

static void si_land_expect(uint8_t *g)
{
	lit(g, 9, 5, 0);
	si_alien_cell(g, 9, 5, 1);
	si_alien_cell(g, 2, 5, 1);
}

static void si_land_check(const void *st)
{
	/* Restarted at min(2 aliens, 12), minus the frame's tick. */
	assert_int_equal(((const im_ma_space_invaders *)st)->march_wait, 1);
}

/* A bullet at (3, 5) moves onto the alien at (2, 5). */
static void si_shot_setup(void *st)
{
	si_base(st, 5);
	si_alien(st, 2, 5);
	si_alien(st, 0, 0);
	((im_ma_space_invaders *)st)->shots[5] = 1u << 3;
}

static void si_shot_expect(uint8_t *g)
{
	lit(g, 9, 5, 0);
	si_alien_cell(g, 0, 0, 0);
}

/* Firing puts a bullet one row above the cannon at once. */
static void si_fire_setup(void *st)
{
	si_base(st, 3);
	si_alien(st, 0, 0);
}

static void si_fire_expect(uint8_t *g)
{
	lit(g, 9, 3, 0);
	lit(g, 8, 3, 4);
	si_alien_cell(g, 0, 0, 0);
}

static void si_fire_check(const void *st)
{
	assert_int_equal(((const im_ma_space_invaders *)st)->reload, 4);
}

/* An enemy bullet reaches the cannon. */
static void si_hit_setup(void *st)
{
	si_base(st, 5);
	si_alien(st, 0, 0);
	((im_ma_space_invaders *)st)->bombs[5] = 1u << 8;
}

static void si_hit_expect(uint8_t *g)
{
	lit(g, 9, 5, 0);
	lit(g, 9, 5, 5);
	si_alien_cell(g, 0, 0, 0);
}

/* The nearest column shoots: columns 2 and 8 are both 3 from the cannon
 * at 5; the left one wins, and its lowest alien (row 3) fires. */
static void si_aim_setup(void *st)
{
	si_base(st, 5);
	si_alien(st, 1, 2);
	si_alien(st, 3, 2);
	si_alien(st, 2, 8);
	((im_ma_space_invaders *)st)->volley_wait = 0;
}

static void si_aim_expect(uint8_t *g)
{
	lit(g, 9, 5, 0);
	si_alien_cell(g, 1, 2, 0);
	si_alien_cell(g, 3, 2, 0);
	si_alien_cell(g, 2, 8, 0);
	lit(g, 3, 2, 5);
}

static void si_aim_check(const void *st)
{
	/* Restarted at 10, minus the frame's tick. */
	assert_int_equal(((const im_ma_space_invaders *)st)->volley_wait, 9);
}

/* A column nearer on the right (7, two away) beats one on the left. */
static void si_aim_right_setup(void *st)
{
	si_base(st, 5);
	si_alien(st, 0, 2);
	si_alien(st, 1, 7);
	si_alien(st, 0, 7);
	((im_ma_space_invaders *)st)->volley_wait = 0;
}

static void si_aim_right_expect(uint8_t *g)
{
	lit(g, 9, 5, 0);
	si_alien_cell(g, 0, 2, 0);
	si_alien_cell(g, 1, 7, 0);
	si_alien_cell(g, 0, 7, 0);
	lit(g, 1, 7, 5);
}

/* Shooting the last alien brings a new wave that marches faster. */
static void si_wave_setup(void *st)
{
	si_base(st, 5);
	si_alien(st, 2, 5);
	((im_ma_space_invaders *)st)->shots[5] = 1u << 3;
}

static void si_wave_expect(uint8_t *g)
{
	lit(g, 9, 5, 0);
	for (int y = 0; y < 4; y++)
		for (int x = 2; x < 8; x++)
			si_alien_cell(g, y, x, 0);
}

static void si_wave_check(const void *st)
{
	const im_ma_space_invaders *s = st;
	assert_int_equal(s->march_period, 11);
	assert_int_equal(s->speedups, 1);
}

static void si_wave_noramp_check(const void *st)
{
	const im_ma_space_invaders *s = st;
	assert_int_equal(s->march_period, 12);
	assert_int_equal(s->speedups, 0);
}

/* At the fastest period (6) a new wave is no faster, and the speed-ups
 * (MinAtar's ramp_index) stop counting. */
static void si_floor_setup(void *st)
{
	im_ma_space_invaders *s = st;
	si_wave_setup(st);
	s->march_period = 6;
	s->speedups = 6;
}

static void si_floor_check(const void *st)
{
	const im_ma_space_invaders *s = st;
	assert_int_equal(s->march_period, 6);
	assert_int_equal(s->speedups, 6);
}

/* A block heading left with an alien in column 9 slides left: it turns
 * only at the side it is heading for. */
static void si_turn_setup(void *st)
{
	si_base(st, 5);
	si_alien(st, 2, 9);
	si_alien(st, 2, 5);
	((im_ma_space_invaders *)st)->march_wait = 0;
}

static void si_turn_expect(uint8_t *g)
{
	lit(g, 9, 5, 0);
	si_alien_cell(g, 2, 8, 0);
	si_alien_cell(g, 2, 4, 0);
}

#define SI0 "MinAtar/SpaceInvaders-v0"

static const scenario scenarios[] = {
	{"space_invaders_alien_reaches_bottom", SI0, si_bottom_setup, NOOP, 1,
	 0, 1, si_bottom_expect, 0, NULL},
	{"space_invaders_alien_lands_on_cannon", SI0, si_land_setup, NOOP, 1,
	 0, 1, si_land_expect, 0, si_land_check},
	{"space_invaders_alien_shot", SI0, si_shot_setup, NOOP, 1, 1, 0,
	 si_shot_expect, 0, NULL},
	{"space_invaders_fire", SI0, si_fire_setup, FIRE, 1, 0, 0,
	 si_fire_expect, 0, si_fire_check},
	{"space_invaders_enemy_bullet_hits_cannon", SI0, si_hit_setup, NOOP,
	 1, 0, 1, si_hit_expect, 0, NULL},
	{"space_invaders_nearest_alien_shoots", SI0, si_aim_setup, NOOP, 1, 0,
	 0, si_aim_expect, 0, si_aim_check},
	{"space_invaders_nearer_right_column_shoots", SI0, si_aim_right_setup,
	 NOOP, 1, 0, 0, si_aim_right_expect, 0, NULL},
	{"space_invaders_new_wave_marches_faster", SI0, si_wave_setup, NOOP,
	 1, 1, 0, si_wave_expect, 0, si_wave_check},
	{"space_invaders_ramping_off_by_option", SI0 "?ramping=false",
	 si_wave_setup, NOOP, 1, 1, 0, si_wave_expect, 0,
	 si_wave_noramp_check},
	{"space_invaders_fastest_wave_stops_speeding_up", SI0,
	 si_floor_setup, NOOP, 1, 1, 0, si_wave_expect, 0, si_floor_check},
	{"space_invaders_block_turns_only_at_its_leading_side", SI0,
	 si_turn_setup, NOOP, 1, 0, 0, si_turn_expect, 0, NULL},
	{"space_invaders_v1_action_3_is_fire", "MinAtar/SpaceInvaders-v1",
	 si_fire_setup, 3, 1, 0, 0, si_fire_expect, 0, si_fire_check},

};

int main(void)
{
	return run_scenarios(scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
