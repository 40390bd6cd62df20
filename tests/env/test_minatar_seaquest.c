// SPDX-License-Identifier: Apache-2.0
/* MinAtar Seaquest frame by frame: hand-built scenarios with the exact next
 * observation (runner and conventions: minatar_scenario.h). */
#include "minatar_scenario.h"

/* ---- Seaquest ----------------------------------------------------------
 * 0 sub front, 1 sub back, 2 torpedo, 3 trail, 4 enemy bullet, 5 fish,
 * 6 enemy sub, 7 oxygen gauge, 8 diver gauge, 9 diver. */

static void sq_base(void *st, int x, int y)
{
	im_ma_seaquest *s = st;
	s->x = (int8_t)x;
	s->y = (int8_t)y;
	s->facing_right = 1;
	s->surfaced = y == 0;
	s->e_spawn_timer = 50;
	s->d_spawn_timer = 50;
}

static void sq_add(im_ma_ent_list *l, int x, int y, int right, int timer,
		   int shot)
{
	im_ma_ent e = {.x = (int8_t)x, .y = (int8_t)y, .right = (uint8_t)right, .timer = (int8_t)timer, .shot = (int8_t)shot};
	l->e[l->n++] = e;
}

static void sq_oxygen(uint8_t *g, int cells)
{
	for (int x = 0; x < cells; x++)
		lit(g, 9, x, 7);
}

/* One unit of oxygen left: the next frame uses it, the one after ends
 * the episode. */
static void sq_oxy_setup(void *st)
{
	sq_base(st, 5, 3);
	((im_ma_seaquest *)st)->oxygen = 1;
}

static void sq_sub_at_3_5(uint8_t *g)
{
	lit(g, 3, 5, 0);
	lit(g, 3, 4, 1);
}

static void sq_oxy_check(const void *st)
{
	assert_int_equal(((const im_ma_seaquest *)st)->oxygen, -1);
}

static void sq_oxy_one_frame_check(const void *st)
{
	assert_int_equal(((const im_ma_seaquest *)st)->oxygen, 0);
}

/* The sub at (3, 5) facing right fires at a fish on (3, 6). */
static void sq_torpedo_setup(void *st)
{
	im_ma_seaquest *s = st;
	sq_base(st, 5, 3);
	s->oxygen = 100;
	sq_add(&s->fish, 6, 3, 0, 3, 0);
	sq_add(&s->subs, 2, 7, 1, 3, 4);
}

static void sq_torpedo_expect(uint8_t *g)
{
	sq_sub_at_3_5(g);
	sq_oxygen(g, 4); /* 99 * 10 / 200 */
	lit(g, 7, 2, 6);
	lit(g, 7, 1, 3);
}

/* A fish moves into the sub: the episode ends. */
static void sq_fish_setup(void *st)
{
	im_ma_seaquest *s = st;
	sq_base(st, 5, 3);
	sq_add(&s->fish, 6, 3, 0, 0, 0);
}

static void sq_fish_expect(uint8_t *g)
{
	sq_sub_at_3_5(g);
	sq_oxygen(g, 9); /* 199 */
	lit(g, 3, 5, 5);
	lit(g, 3, 6, 3);
}

/* An enemy sub due to shoot: its bullet starts on its cell and moves. */
static void sq_shoot_setup(void *st)
{
	im_ma_seaquest *s = st;
	sq_base(st, 5, 3);
	sq_add(&s->subs, 2, 6, 1, 3, 0);
}

static void sq_shoot_expect(uint8_t *g)
{
	sq_sub_at_3_5(g);
	sq_oxygen(g, 9);
	lit(g, 6, 2, 6);
	lit(g, 6, 1, 3);
	lit(g, 6, 3, 4);
}

/* The sub steps left onto a diver at (3, 4) and takes it aboard. */
static void sq_diver_setup(void *st)
{
	im_ma_seaquest *s = st;
	sq_base(st, 5, 3);
	sq_add(&s->divers, 4, 3, 1, 3, 0);
}

static void sq_diver_expect(uint8_t *g)
{
	lit(g, 3, 4, 0);
	lit(g, 3, 5, 1); /* now facing left */
	sq_oxygen(g, 9);
	lit(g, 9, 8, 8);
}

/* Surfacing with no diver ends the episode. */
static void sq_surface_empty_setup(void *st)
{
	sq_base(st, 5, 1);
}

static void sq_at_surface(uint8_t *g)
{
	lit(g, 0, 5, 0);
	lit(g, 0, 4, 1);
}

static void sq_surface_empty_expect(uint8_t *g)
{
	sq_at_surface(g);
	sq_oxygen(g, 10);
}

/* Surfacing with 2 divers: oxygen refilled, one diver out, harder. */
static void sq_surface_two_setup(void *st)
{
	im_ma_seaquest *s = st;
	sq_base(st, 5, 1);
	s->oxygen = 50;
	s->divers_aboard = 2;
}

static void sq_surface_two_expect(uint8_t *g)
{
	sq_at_surface(g);
	sq_oxygen(g, 10);
	lit(g, 9, 8, 8);
}

static void sq_surface_two_check(const void *st)
{
	const im_ma_seaquest *s = st;
	assert_int_equal(s->oxygen, 200);
	assert_int_equal(s->divers_aboard, 1);
	assert_int_equal(s->e_spawn_speed, 19);
	assert_int_equal(s->move_speed, 5); /* ramp 0 is even */
	assert_int_equal(s->ramp_index, 1);
}

static void sq_surface_noramp_check(const void *st)
{
	const im_ma_seaquest *s = st;
	assert_int_equal(s->e_spawn_speed, 20);
	assert_int_equal(s->ramp_index, 0);
}

/* Surfacing with 6 divers scores oxygen * 10 / 200 and empties the sub
 * (MinAtar leaves the count at -1). */
static void sq_surface_six_setup(void *st)
{
	im_ma_seaquest *s = st;
	sq_base(st, 5, 1);
	s->oxygen = 101;
	s->divers_aboard = 6;
}

static void sq_surface_six_check(const void *st)
{
	assert_int_equal(((const im_ma_seaquest *)st)->divers_aboard, -1);
}

#define SQ0 "MinAtar/Seaquest-v0"

static const scenario scenarios[] = {
	{"seaquest_oxygen_runs_out", SQ0, sq_oxy_setup, NOOP, 2, 0, 1,
	 sq_sub_at_3_5, 0, sq_oxy_check},
	{"seaquest_last_oxygen_frame_survives", SQ0, sq_oxy_setup, NOOP, 1, 0,
	 0, sq_sub_at_3_5, 0, sq_oxy_one_frame_check},
	{"seaquest_torpedo_hits_fish", SQ0, sq_torpedo_setup, FIRE, 1, 1, 0,
	 sq_torpedo_expect, 0, NULL},
	{"seaquest_fish_hits_sub", SQ0, sq_fish_setup, NOOP, 1, 0, 1,
	 sq_fish_expect, 0, NULL},
	{"seaquest_enemy_sub_shoots", SQ0, sq_shoot_setup, NOOP, 1, 0, 0,
	 sq_shoot_expect, 0, NULL},
	{"seaquest_diver_picked_up", SQ0, sq_diver_setup, LEFT, 1, 0, 0,
	 sq_diver_expect, 0, NULL},
	{"seaquest_surfacing_without_divers_ends", SQ0,
	 sq_surface_empty_setup, UP, 1, 0, 1, sq_surface_empty_expect, 0,
	 NULL},
	{"seaquest_surfacing_refills_and_ramps", SQ0, sq_surface_two_setup,
	 UP, 1, 0, 0, sq_surface_two_expect, 0, sq_surface_two_check},
	{"seaquest_ramping_off_by_option", SQ0 "?ramping=0&sticky=0.5",
	 sq_surface_two_setup, UP, 1, 0, 0, sq_surface_two_expect, 0,
	 sq_surface_noramp_check},
	{"seaquest_surfacing_with_six_divers_scores", SQ0,
	 sq_surface_six_setup, UP, 1, 5, 0, sq_surface_empty_expect, 0,
	 sq_surface_six_check},

};

int main(void)
{
	return run_scenarios(scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
