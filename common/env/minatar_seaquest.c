// SPDX-License-Identifier: Apache-2.0
/* MinAtar Seaquest (MinAtar 1.0.15 rules).
 *
 * The player's submarine (a front and a back cell, so its heading shows)
 * moves in rows 0-8 and fires torpedoes ahead.  Enemy fish and enemy
 * submarines (which shoot) cross rows 1-8; +1 for each one torpedoed.
 * Divers cross the rows too and are picked up by touching them (at most
 * 6 aboard).  Oxygen (200 frames) runs down below the surface; surfacing
 * with at least one diver refills it and drops one diver, surfacing with
 * 6 drops all and scores oxygen * 10 / 200.  The episode ends when an
 * enemy or an enemy bullet touches the sub, when oxygen runs out, or when
 * the sub surfaces with no diver.  Every surfacing raises the difficulty
 * (faster spawns and moves) when ramping.  Channels: 0 sub front, 1 sub
 * back, 2 friendly bullet, 3 trail (behind enemies and divers), 4 enemy
 * bullet, 5 enemy fish, 6 enemy sub, 7 oxygen gauge (row 9 from the left,
 * one cell per 20 oxygen), 8 diver gauge (row 9, ending at column 8),
 * 9 diver.  Minimal actions: all six.  No time limit.
 *
 * Points the description leaves open, settled by running MinAtar:
 * - Start: sub at (row 0, column 5) facing left, on the surface; enemy
 *   spawns every e_spawn_speed frames (20 at the start, first at frame
 *   21), divers every 30 frames (first at frame 31); entities move once
 *   every move_speed + 1 frames (move_speed 5 at the start; divers 6).
 * - An enemy spawn draws a side, a sub with probability 1/3 and a row in
 *   1..8; it is dropped if an enemy in that row heads the other way.
 * - Order within a frame: spawns; the sub fires (once every 5 frames; the
 *   torpedo starts on the sub's front cell) or moves; torpedoes move one
 *   cell and hit the first fish, else the first sub, on their cell;
 *   divers; enemy subs (a move onto a torpedo destroys both; a sub shoots
 *   every 11 frames, also in the frame it is destroyed or leaves, its
 *   bullet starting on its cell and moving at once); enemy bullets; fish;
 *   then oxygen and the surface.  Lists are walked newest first.
 * - Oxygen: the episode ends on the frame that starts with oxygen <= 0,
 *   i.e. 201 frames below the surface.
 * - Surfacing with 6 divers leaves the diver count at -1 (MinAtar
 *   empties the count and then still drops one diver): the gauge shows
 *   none, the next surfacing with no diver picked up does not end the
 *   game, and a pickup brings the count to 0.  We keep that.
 * - Python removes list entries by equality; we remove the entry being
 *   visited.  The two differ only when two entries agree in every field,
 *   which the spawn rules make (nearly) impossible. */
#include <string.h>

#include "minatar_games.h"

enum {
	CH_SUB_FRONT,
	CH_SUB_BACK,
	CH_FBULLET,
	CH_TRAIL,
	CH_EBULLET,
	CH_FISH,
	CH_ESUB,
	CH_OXYGEN,
	CH_DIVERS,
	CH_DIVER,
	NCH
};
#define MAX_OXYGEN 200
#define INIT_SPAWN_SPEED 20
#define DIVER_SPAWN_SPEED 30
#define INIT_MOVE_INTERVAL 5
#define SHOT_COOL_DOWN 5
#define ENEMY_SHOT_INTERVAL 10
#define DIVER_MOVE_INTERVAL 5
/* Capacities within IM_MA_SEAQUEST_LIST (see minatar_games.h). */
#define MAX_ENEMIES 40
#define MAX_BULLETS IM_MA_SEAQUEST_LIST
#define MAX_DIVERS 8

static void add(im_ma_ent_list *l, int cap, im_ma_ent e)
{
	if (l->n < cap)
		l->e[l->n++] = e;
}

static void drop(im_ma_ent_list *l, int i)
{
	memmove(&l->e[i], &l->e[i + 1], (size_t)(l->n - i - 1) * sizeof(im_ma_ent));
	l->n--;
}

static int find_at(const im_ma_ent_list *l, int x, int y)
{
	for (int i = 0; i < l->n; i++)
		if (l->e[i].x == x && l->e[i].y == y)
			return i;
	return -1;
}

static int on_sub(const im_ma_seaquest *s, const im_ma_ent *e)
{
	return e->x == s->x && e->y == s->y;
}

static int off_grid(const im_ma_ent *e)
{
	return e->x < 0 || e->x > 9;
}

static void step_x(im_ma_ent *e)
{
	e->x = (int8_t)(e->x + (e->right ? 1 : -1));
}

static void sq_start(void *st)
{
	im_ma_seaquest *s = st;
	memset((char *)s + sizeof(im_ma_core), 0,
	       sizeof(*s) - sizeof(im_ma_core));
	s->oxygen = MAX_OXYGEN;
	s->x = 5;
	s->surfaced = 1;
	s->e_spawn_speed = INIT_SPAWN_SPEED;
	s->e_spawn_timer = INIT_SPAWN_SPEED;
	s->d_spawn_timer = DIVER_SPAWN_SPEED;
	s->move_speed = INIT_MOVE_INTERVAL;
}

static int row_taken_other_way(const im_ma_ent_list *l, int y, int right)
{
	for (int i = 0; i < l->n; i++)
		if (l->e[i].y == y && l->e[i].right != right)
			return 1;
	return 0;
}

static void spawn_enemy(im_ma_seaquest *s)
{
	im_rng *rng = &s->core.rng;
	int right = im_rng_double(rng) < 0.5;
	int is_sub = im_rng_double(rng) < 1.0 / 3.0;
	int y = 1 + (int)im_rng_below(rng, 8);
	if (row_taken_other_way(&s->subs, y, right) ||
	    row_taken_other_way(&s->fish, y, right))
		return;
	im_ma_ent e = {.x = right ? 0 : 9, .y = (int8_t)y, .right = (uint8_t)right, .timer = (int8_t)s->move_speed, .shot = ENEMY_SHOT_INTERVAL};
	add(is_sub ? &s->subs : &s->fish, MAX_ENEMIES, e);
}

static void spawn_diver(im_ma_seaquest *s)
{
	im_rng *rng = &s->core.rng;
	int right = im_rng_double(rng) < 0.5;
	int y = 1 + (int)im_rng_below(rng, 8);
	im_ma_ent e = {.x = right ? 0 : 9, .y = (int8_t)y, .right = (uint8_t)right, .timer = DIVER_MOVE_INTERVAL};
	add(&s->divers, MAX_DIVERS, e);
}

static void act_player(im_ma_seaquest *s, int a)
{
	if (a == IM_MA_FIRE && s->shot_timer == 0) {
		im_ma_ent t = {.x = s->x, .y = s->y, .right = s->facing_right};
		add(&s->torpedoes, MAX_BULLETS, t);
		s->shot_timer = SHOT_COOL_DOWN;
	} else if (a == IM_MA_LEFT) {
		s->x = (int8_t)(s->x > 0 ? s->x - 1 : 0);
		s->facing_right = 0;
	} else if (a == IM_MA_RIGHT) {
		s->x = (int8_t)(s->x < 9 ? s->x + 1 : 9);
		s->facing_right = 1;
	} else if (a == IM_MA_UP) {
		s->y = (int8_t)(s->y > 0 ? s->y - 1 : 0);
	} else if (a == IM_MA_DOWN) {
		s->y = (int8_t)(s->y < 8 ? s->y + 1 : 8);
	}
}

static int move_torpedoes(im_ma_seaquest *s)
{
	int r = 0;
	for (int i = s->torpedoes.n - 1; i >= 0; i--) {
		im_ma_ent *t = &s->torpedoes.e[i];
		step_x(t);
		int j;
		if (off_grid(t)) {
			drop(&s->torpedoes, i);
		} else if ((j = find_at(&s->fish, t->x, t->y)) >= 0) {
			drop(&s->fish, j);
			drop(&s->torpedoes, i);
			r++;
		} else if ((j = find_at(&s->subs, t->x, t->y)) >= 0) {
			drop(&s->subs, j);
			drop(&s->torpedoes, i);
			r++;
		}
	}
	return r;
}

static int pick_up(im_ma_seaquest *s, im_ma_ent_list *l, int i)
{
	if (!on_sub(s, &l->e[i]) || s->divers_aboard >= 6)
		return 0;
	drop(l, i);
	s->divers_aboard++;
	return 1;
}

static void move_divers(im_ma_seaquest *s)
{
	im_ma_ent_list *l = &s->divers;
	for (int i = l->n - 1; i >= 0; i--) {
		if (pick_up(s, l, i))
			continue;
		im_ma_ent *d = &l->e[i];
		if (d->timer > 0) {
			d->timer--;
			continue;
		}
		d->timer = DIVER_MOVE_INTERVAL;
		step_x(d);
		if (off_grid(d))
			drop(l, i);
		else
			pick_up(s, l, i);
	}
}

/* Fish and enemy subs: contact, move, contact or torpedo.  Returns the
 * reward; *gone says whether e left the grid or was torpedoed. */
static int move_enemy(im_ma_seaquest *s, im_ma_ent *e, int *gone, uint8_t *terminal)
{
	*gone = 0;
	if (on_sub(s, e))
		*terminal = 1;
	if (e->timer > 0) {
		e->timer--;
		return 0;
	}
	e->timer = (int8_t)s->move_speed;
	step_x(e);
	int j;
	if (off_grid(e)) {
		*gone = 1;
	} else if (on_sub(s, e)) {
		*terminal = 1;
	} else if ((j = find_at(&s->torpedoes, e->x, e->y)) >= 0) {
		drop(&s->torpedoes, j);
		*gone = 1;
		return 1;
	}
	return 0;
}

static int move_subs(im_ma_seaquest *s, uint8_t *terminal)
{
	int r = 0, gone;
	for (int i = s->subs.n - 1; i >= 0; i--) {
		im_ma_ent e = s->subs.e[i];
		r += move_enemy(s, &e, &gone, terminal);
		if (e.shot > 0) {
			e.shot--;
		} else {
			e.shot = ENEMY_SHOT_INTERVAL;
			im_ma_ent b = {.x = e.x, .y = e.y, .right = e.right};
			add(&s->bullets, MAX_BULLETS, b);
		}
		if (gone)
			drop(&s->subs, i);
		else
			s->subs.e[i] = e;
	}
	return r;
}

static void move_bullets(im_ma_seaquest *s, uint8_t *terminal)
{
	for (int i = s->bullets.n - 1; i >= 0; i--) {
		im_ma_ent *b = &s->bullets.e[i];
		if (on_sub(s, b))
			*terminal = 1;
		step_x(b);
		if (off_grid(b))
			drop(&s->bullets, i);
		else if (on_sub(s, b))
			*terminal = 1;
	}
}

static int move_fish(im_ma_seaquest *s, uint8_t *terminal)
{
	int r = 0, gone;
	for (int i = s->fish.n - 1; i >= 0; i--) {
		r += move_enemy(s, &s->fish.e[i], &gone, terminal);
		if (gone)
			drop(&s->fish, i);
	}
	return r;
}

static int surface(im_ma_seaquest *s)
{
	int r = 0;
	s->surfaced = 1;
	if (s->divers_aboard == 6) {
		s->divers_aboard = 0;
		r = s->oxygen * 10 / MAX_OXYGEN;
	}
	s->oxygen = MAX_OXYGEN;
	s->divers_aboard--;
	if (s->core.ramping && (s->e_spawn_speed > 1 || s->move_speed > 2)) {
		if (s->move_speed > 2 && (s->ramp_index & 1))
			s->move_speed--;
		if (s->e_spawn_speed > 1)
			s->e_spawn_speed--;
		s->ramp_index++;
	}
	return r;
}

static int sq_act(void *st, int a, uint8_t *terminal)
{
	im_ma_seaquest *s = st;
	if (s->e_spawn_timer == 0) {
		spawn_enemy(s);
		s->e_spawn_timer = s->e_spawn_speed;
	}
	if (s->d_spawn_timer == 0) {
		spawn_diver(s);
		s->d_spawn_timer = DIVER_SPAWN_SPEED;
	}
	act_player(s, a);
	int r = move_torpedoes(s);
	move_divers(s);
	r += move_subs(s, terminal);
	move_bullets(s, terminal);
	r += move_fish(s, terminal);
	s->e_spawn_timer -= s->e_spawn_timer > 0;
	s->d_spawn_timer -= s->d_spawn_timer > 0;
	s->shot_timer -= s->shot_timer > 0;
	if (s->oxygen <= 0)
		*terminal = 1;
	if (s->y > 0) {
		s->oxygen--;
		s->surfaced = 0;
	} else if (!s->surfaced) {
		if (s->divers_aboard == 0)
			*terminal = 1;
		else
			r += surface(s);
	}
	return r;
}

static void render_list(uint8_t *cells, const im_ma_ent_list *l, int ch,
			int trail)
{
	for (int i = 0; i < l->n; i++) {
		const im_ma_ent *e = &l->e[i];
		cells[im_ma_cell(e->y, e->x, ch, NCH)] = 1;
		int back = e->x + (e->right ? -1 : 1);
		if (trail && back >= 0 && back <= 9)
			cells[im_ma_cell(e->y, back, CH_TRAIL, NCH)] = 1;
	}
}

static void sq_render(const void *st, uint8_t *cells)
{
	const im_ma_seaquest *s = st;
	memset(cells, 0, IM_MA_N * IM_MA_N * NCH);
	cells[im_ma_cell(s->y, s->x, CH_SUB_FRONT, NCH)] = 1;
	/* The sub cannot face the side it touches (turning moves it), so
	 * back stays on the grid; numpy would wrap -1 to 9, and so do we. */
	int back = s->x + (s->facing_right ? -1 : 1);
	back = back < 0 ? 9 : back > 9 ? 9
				       : back;
	cells[im_ma_cell(s->y, back, CH_SUB_BACK, NCH)] = 1;
	int oxy = (s->oxygen > 0 ? s->oxygen : 0) * 10 / MAX_OXYGEN;
	for (int x = 0; x < oxy; x++)
		cells[im_ma_cell(9, x, CH_OXYGEN, NCH)] = 1;
	for (int x = 9 - s->divers_aboard; x < 9; x++)
		cells[im_ma_cell(9, x, CH_DIVERS, NCH)] = 1;
	render_list(cells, &s->torpedoes, CH_FBULLET, 0);
	render_list(cells, &s->bullets, CH_EBULLET, 0);
	render_list(cells, &s->fish, CH_FISH, 1);
	render_list(cells, &s->subs, CH_ESUB, 1);
	render_list(cells, &s->divers, CH_DIVER, 1);
}

static const im_ma_game game = {
	.channels = NCH,
	.state_size = sizeof(im_ma_seaquest),
	.start = sq_start,
	.act = sq_act,
	.render = sq_render,
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
	.n_actions = 6,
	.action_set = {0, 1, 2, 3, 4, 5},
};

const im_env_class im_env_minatar_seaquest_v0_class =
	IM_MA_CLASS("MinAtar/Seaquest-v0", NCH, 6, cfg_v0, im_ma_seaquest);
const im_env_class im_env_minatar_seaquest_v1_class =
	IM_MA_CLASS("MinAtar/Seaquest-v1", NCH, 6, cfg_v1, im_ma_seaquest);
