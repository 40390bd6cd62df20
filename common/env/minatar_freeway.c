/* MinAtar Freeway (MinAtar 1.0.15 rules).
 *
 * A chicken in column 4 crosses eight lanes of traffic (rows 1-8) from the
 * bottom row to the top.  +1 for each crossing, after which the chicken is
 * back at the bottom and every car gets a new random speed and direction;
 * a car that hits the chicken sends it back to the bottom.  The chicken
 * moves at most once every 3 frames.  Channels: 0 chicken, 1 car, 2-6 the
 * trail behind each car, in the channel of its speed (1 = fastest, 5 =
 * slowest).  Minimal actions: no-op, up, down.  No difficulty ramping.
 *
 * Points the description leaves open, settled by running MinAtar:
 * - Time limit: the game itself terminates (terminated, not truncated)
 *   on frame 2501 of the episode (a counter from 2500 that ends the game
 *   when it falls below 0).
 * - A car of speed s moves one cell every s + 1 frames; cars wrap around
 *   the sides, and the trail wraps with them.  Speeds are uniform in 1..5,
 *   directions a fair coin; at the start every car is in column 0 with its
 *   countdown set to its speed.
 * - The chicken cannot move during the first 3 frames of an episode.
 * - Order within a frame: the chicken moves; reaching row 0 scores and
 *   re-draws the speeds (positions stay); then each car in lane order
 *   checks for the chicken in its cell, moves if its countdown is 0 and
 *   checks again. */
#include <string.h>

#include "minatar_games.h"

enum { CH_CHICKEN, CH_CAR, CH_SPEED1, NCH = 7 };
#define PLAYER_SPEED 3
#define TIME_LIMIT 2500


static int abs8(int8_t v)
{
	return v < 0 ? -v : v;
}

static void randomize_cars(im_ma_freeway *s)
{
	for (int i = 0; i < IM_MA_FREEWAY_CARS; i++) {
		int speed = 1 + (int)im_rng_below(&s->core.rng, 5);
		int right = im_rng_double(&s->core.rng) >= 0.5;
		s->car_speed[i] = (int8_t)(right ? speed : -speed);
		s->car_timer[i] = (int8_t)speed;
	}
}

static void fw_start(void *st)
{
	im_ma_freeway *s = st;
	randomize_cars(s);
	memset(s->car_x, 0, sizeof(s->car_x));
	s->pos = 9;
	s->move_timer = PLAYER_SPEED;
	s->time_left = TIME_LIMIT;
}

static void move_car(im_ma_freeway *s, int i)
{
	int x = s->car_x[i] + (s->car_speed[i] > 0 ? 1 : -1);
	s->car_x[i] = (int8_t)(x < 0 ? 9 : x > 9 ? 0 : x);
}

static int fw_act(void *st, int a, uint8_t *terminal)
{
	im_ma_freeway *s = st;
	int r = 0;
	if (a == IM_MA_UP && s->move_timer == 0) {
		s->move_timer = PLAYER_SPEED;
		s->pos = (int8_t)(s->pos > 0 ? s->pos - 1 : 0);
	} else if (a == IM_MA_DOWN && s->move_timer == 0) {
		s->move_timer = PLAYER_SPEED;
		s->pos = (int8_t)(s->pos < 9 ? s->pos + 1 : 9);
	}
	if (s->pos == 0) {
		r = 1;
		randomize_cars(s);
		s->pos = 9;
	}
	for (int i = 0; i < IM_MA_FREEWAY_CARS; i++) {
		if (s->car_x[i] == 4 && i + 1 == s->pos)
			s->pos = 9;
		if (s->car_timer[i] == 0) {
			s->car_timer[i] = (int8_t)abs8(s->car_speed[i]);
			move_car(s, i);
			if (s->car_x[i] == 4 && i + 1 == s->pos)
				s->pos = 9;
		} else {
			s->car_timer[i]--;
		}
	}
	if (s->move_timer > 0)
		s->move_timer--;
	if (--s->time_left < 0)
		*terminal = 1;
	return r;
}

static void fw_render(const void *st, uint8_t *cells)
{
	const im_ma_freeway *s = st;
	memset(cells, 0, IM_MA_N * IM_MA_N * NCH);
	cells[im_ma_cell(s->pos, 4, CH_CHICKEN, NCH)] = 1;
	for (int i = 0; i < IM_MA_FREEWAY_CARS; i++) {
		int y = i + 1, x = s->car_x[i];
		int back = x + (s->car_speed[i] > 0 ? -1 : 1);
		back = back < 0 ? 9 : back > 9 ? 0 : back;
		int trail = CH_SPEED1 + abs8(s->car_speed[i]) - 1;
		cells[im_ma_cell(y, x, CH_CAR, NCH)] = 1;
		cells[im_ma_cell(y, back, trail, NCH)] = 1;
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
	.game = &game, .sticky = 0.1, .ramping = 1, .n_actions = 6,
	.action_set = {0, 1, 2, 3, 4, 5},
};
static const im_ma_config cfg_v1 = {
	.game = &game, .sticky = 0.1, .ramping = 1, .n_actions = 3,
	.action_set = {IM_MA_NOOP, IM_MA_UP, IM_MA_DOWN},
};

const im_env_class im_env_minatar_freeway_v0_class =
	IM_MA_CLASS("MinAtar/Freeway-v0", NCH, 6, cfg_v0, im_ma_freeway);
const im_env_class im_env_minatar_freeway_v1_class =
	IM_MA_CLASS("MinAtar/Freeway-v1", NCH, 3, cfg_v1, im_ma_freeway);
