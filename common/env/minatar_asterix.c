/* MinAtar Asterix (MinAtar 1.0.15 rules).
 *
 * The player moves in the four directions inside rows 1-8.  Enemies and
 * gold enter from the left or right edge of a free row and cross it; +1
 * for picking up gold, and touching an enemy ends the episode.  Ramping
 * makes entities move and spawn faster over time.  Channels: 0 player,
 * 1 enemy, 2 trail (the cell behind each entity), 3 gold.  Minimal
 * actions: no-op, left, up, right, down.  No time limit.
 *
 * Points the description leaves open, settled by running MinAtar:
 * - Start: player at (row 5, column 5), no entities; one spawn every
 *   spawn_speed frames (first at frame 11: the countdown starts at 10
 *   and a spawn happens at the start of the frame on which it is 0), one
 *   move of all entities every move_speed frames (first at frame 6).
 * - A spawn draws a side (fair coin) and gold with probability 1/3, then
 *   a uniformly random free row; with no free row nothing spawns.  An
 *   entity owns its row until it leaves the grid.
 * - Order within a frame: spawn; player moves; every entity on the
 *   player's cell is collected (gold) or ends the game (enemy); on a
 *   move frame every entity steps one cell, leaving at the edge, and the
 *   same contact check runs again.  Rewards of the frame still count
 *   after a contact with an enemy.
 * - Ramping: a countdown from 100 ticks every frame; once it has passed
 *   below 0 (102 frames after the start or the last ramp) spawn_speed
 *   drops by 1 and, on every second ramp (odd ramp index before it is
 *   increased), move_speed too; both stop at 1. */
#include <string.h>

#include "minatar_games.h"

enum { CH_PLAYER, CH_ENEMY, CH_TRAIL, CH_GOLD, NCH };
#define RAMP_INTERVAL 100
#define INIT_SPAWN_SPEED 10
#define INIT_MOVE_INTERVAL 5


static void ax_start(void *st)
{
	im_ma_asterix *s = st;
	s->px = 5;
	s->py = 5;
	memset(s->live, 0, sizeof(s->live));
	s->spawn_speed = INIT_SPAWN_SPEED;
	s->spawn_timer = INIT_SPAWN_SPEED;
	s->move_speed = INIT_MOVE_INTERVAL;
	s->move_timer = INIT_MOVE_INTERVAL;
	s->ramp_timer = RAMP_INTERVAL;
	s->ramp_index = 0;
}

static void spawn(im_ma_asterix *s)
{
	im_rng *rng = &s->core.rng;
	int right = im_rng_double(rng) < 0.5;
	int gold = im_rng_double(rng) < 1.0 / 3.0;
	int free_slots[IM_MA_ASTERIX_SLOTS], n = 0;
	for (int i = 0; i < IM_MA_ASTERIX_SLOTS; i++)
		if (!s->live[i])
			free_slots[n++] = i;
	if (n == 0)
		return;
	int i = free_slots[im_rng_below(rng, (uint64_t)n)];
	s->live[i] = 1;
	s->right[i] = (uint8_t)right;
	s->gold[i] = (uint8_t)gold;
	s->ex[i] = right ? 0 : 9;
}

/* Entity i on the player's cell: gold is collected, an enemy ends it. */
static int contact(im_ma_asterix *s, int i, uint8_t *terminal)
{
	if (!s->live[i] || s->ex[i] != s->px || i + 1 != s->py)
		return 0;
	if (!s->gold[i]) {
		*terminal = 1;
		return 0;
	}
	s->live[i] = 0;
	return 1;
}

static void move_player(im_ma_asterix *s, int a)
{
	if (a == IM_MA_LEFT && s->px > 0)
		s->px--;
	else if (a == IM_MA_RIGHT && s->px < 9)
		s->px++;
	else if (a == IM_MA_UP && s->py > 1)
		s->py--;
	else if (a == IM_MA_DOWN && s->py < 8)
		s->py++;
}

static void ramp(im_ma_asterix *s)
{
	if (!s->core.ramping || (s->spawn_speed <= 1 && s->move_speed <= 1))
		return;
	if (s->ramp_timer >= 0) {
		s->ramp_timer--;
		return;
	}
	if (s->move_speed > 1 && (s->ramp_index & 1))
		s->move_speed--;
	if (s->spawn_speed > 1)
		s->spawn_speed--;
	s->ramp_index++;
	s->ramp_timer = RAMP_INTERVAL;
}

static int ax_act(void *st, int a, uint8_t *terminal)
{
	im_ma_asterix *s = st;
	int r = 0;
	if (s->spawn_timer == 0) {
		spawn(s);
		s->spawn_timer = s->spawn_speed;
	}
	move_player(s, a);
	for (int i = 0; i < IM_MA_ASTERIX_SLOTS; i++)
		r += contact(s, i, terminal);
	if (s->move_timer == 0) {
		s->move_timer = s->move_speed;
		for (int i = 0; i < IM_MA_ASTERIX_SLOTS; i++) {
			if (!s->live[i])
				continue;
			s->ex[i] = (int8_t)(s->ex[i] + (s->right[i] ? 1 : -1));
			if (s->ex[i] < 0 || s->ex[i] > 9)
				s->live[i] = 0;
			r += contact(s, i, terminal);
		}
	}
	s->spawn_timer--;
	s->move_timer--;
	ramp(s);
	return r;
}

static void ax_render(const void *st, uint8_t *cells)
{
	const im_ma_asterix *s = st;
	memset(cells, 0, IM_MA_N * IM_MA_N * NCH);
	cells[im_ma_cell(s->py, s->px, CH_PLAYER, NCH)] = 1;
	for (int i = 0; i < IM_MA_ASTERIX_SLOTS; i++) {
		if (!s->live[i])
			continue;
		int y = i + 1, x = s->ex[i];
		int back = x + (s->right[i] ? -1 : 1);
		cells[im_ma_cell(y, x, s->gold[i] ? CH_GOLD : CH_ENEMY, NCH)] = 1;
		if (back >= 0 && back <= 9)
			cells[im_ma_cell(y, back, CH_TRAIL, NCH)] = 1;
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
