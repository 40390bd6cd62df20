// SPDX-License-Identifier: Apache-2.0
/* MinAtar Freeway (MinAtar 1.0.15 rules).
 *
 * A chicken in column 4 crosses eight lanes of traffic (rows 1-8) from the
 * bottom row to the top.  +1 for each crossing, after which the chicken is
 * back at the bottom and every car gets a new random speed and direction;
 * a car that hits the chicken sends it back to the bottom.  The chicken
 * moves at most once every 3 frames.  Channels: 0 chicken, 1 car, 2-6 the
 * trail behind each car, in the channel of its speed (2 = fastest, 6 =
 * slowest).  Minimal actions: no-op, up, down.  No difficulty ramping.
 *
 * Written from MinAtar's README, docstrings and black-box runs
 * (tests/env/minatar_replay); not from its source.
 *
 * Our model: a car is a column, a direction and a pause p in 1..5: it
 * rests p frames between two moves (it moves once every p + 1 frames) and
 * its trail is drawn in channel 1 + p.  Points the description leaves
 * open, settled by running MinAtar:
 * - Time limit: the game itself terminates (terminated, not truncated)
 *   on frame 2501 of the episode; that frame is played in full.
 * - Cars wrap around the sides, and the trail wraps with them.  Pauses
 *   are uniform in 1..5, directions a fair coin (drawn per lane, pause
 *   first, then the coin: left below 0.5); at the start every car is
 *   in column 0 and rests its full pause before its first move.
 * - The chicken's cooldown is 3 at the start and after every up or down
 *   taken while it is 0 (even one that the bottom edge stops), and counts
 *   down once at the end of every frame; a hit leaves it as it is.
 * - Order within a frame: the chicken moves; reaching row 0 scores,
 *   returns the chicken to row 9 and re-draws every car's pause and
 *   direction (columns stay, each rests its new pause); then each car in
 *   lane order checks for the chicken in its cell, moves or rests one
 *   frame, and checks again. */
#include <string.h>

#include "minatar.h"
#include "minatar_games.h"

#define NCH 7
#define LAST (IM_MA_N - 1)
#define CHICKEN_X 4
#define COOLDOWN 3
#define FRAMES 2500 /* the episode ends on the frame after these */

enum { CH_CHICKEN,
       CH_CAR,
       CH_TRAIL0 }; /* trail of pause p: CH_TRAIL0+p-1 */

/* Every car gets a new pause and direction and rests the new pause. */
static void draw_traffic(im_ma_freeway *s)
{
	for (int i = 0; i < IM_MA_FREEWAY_LANES; i++) {
		im_ma_car *c = &s->car[i];
		c->pause = (int8_t)(1 + im_rng_below(&s->core.rng, 5));
		c->dx = im_rng_double(&s->core.rng) < 0.5 ? -1 : 1;
		c->wait = c->pause;
	}
}

static void fw_start(void *st)
{
	im_ma_freeway *s = st;
	s->row = LAST;
	s->cooldown = COOLDOWN;
	s->elapsed = 0;
	for (int i = 0; i < IM_MA_FREEWAY_LANES; i++)
		s->car[i].x = 0;
	draw_traffic(s);
}

static void walk(im_ma_freeway *s, int a)
{
	if (s->cooldown > 0 || (a != IM_MA_UP && a != IM_MA_DOWN))
		return;
	if (a == IM_MA_UP)
		s->row--; /* never below 1 here: row 0 sends it back */
	else if (s->row < LAST)
		s->row++;
	s->cooldown = COOLDOWN;
}

static void hit_check(im_ma_freeway *s, int lane)
{
	if (s->row == lane + 1 && s->car[lane].x == CHICKEN_X)
		s->row = LAST;
}

/* One frame of the car in lane i: rest, or move one cell (wrapping). */
static void drive(im_ma_car *c)
{
	if (c->wait > 0) {
		c->wait--;
		return;
	}
	c->x = (int8_t)((c->x + c->dx + IM_MA_N) % IM_MA_N);
	c->wait = c->pause;
}

static int fw_act(void *st, int a, uint8_t *terminal)
{
	im_ma_freeway *s = st;
	int reward = 0;
	walk(s, a);
	if (s->row == 0) {
		reward = 1;
		s->row = LAST;
		draw_traffic(s);
	}
	for (int i = 0; i < IM_MA_FREEWAY_LANES; i++) {
		hit_check(s, i);
		drive(&s->car[i]);
		hit_check(s, i);
	}
	if (s->cooldown > 0)
		s->cooldown--;
	*terminal = (uint8_t)(++s->elapsed > FRAMES);
	return reward;
}

static void fw_render(const void *st, uint8_t *cells)
{
	const im_ma_freeway *s = st;
	memset(cells, 0, (size_t)IM_MA_N * IM_MA_N * NCH);
	cells[im_ma_cell(s->row, CHICKEN_X, CH_CHICKEN, NCH)] = 1;
	for (int i = 0; i < IM_MA_FREEWAY_LANES; i++) {
		const im_ma_car *c = &s->car[i];
		int behind = (c->x - c->dx + IM_MA_N) % IM_MA_N;
		cells[im_ma_cell(i + 1, c->x, CH_CAR, NCH)] = 1;
		cells[im_ma_cell(i + 1, behind, CH_TRAIL0 + c->pause - 1,
				 NCH)] = 1;
	}
}

static const im_ma_game game = {
	.channels = NCH,
	.state_size = sizeof(im_ma_freeway),
	.start = fw_start,
	.act = fw_act,
	.render = fw_render,
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
	.action_set = {IM_MA_NOOP, IM_MA_UP, IM_MA_DOWN},
};

const im_env_class im_env_minatar_freeway_v0_class =
	IM_MA_CLASS("MinAtar/Freeway-v0", NCH, 6, cfg_v0, im_ma_freeway);
const im_env_class im_env_minatar_freeway_v1_class =
	IM_MA_CLASS("MinAtar/Freeway-v1", NCH, 3, cfg_v1, im_ma_freeway);
