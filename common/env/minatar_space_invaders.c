/* MinAtar Space Invaders (MinAtar 1.0.15 rules).
 *
 * A cannon on the bottom row shoots upward at a block of aliens (rows 0-3,
 * columns 2-7) that marches sideways, stepping down a row and turning
 * whenever it touches a side; the aliens shoot back.  +1 for each alien
 * shot; the episode ends when an alien or an alien's bullet reaches the
 * cannon, or an alien must step down from the bottom row.  A cleared wave
 * is replaced by a new one; with ramping each new wave marches faster.
 * Channels: 0 cannon, 1 alien, 2 alien moving left, 3 alien moving right,
 * 4 friendly bullet, 5 enemy bullet.  Minimal actions: no-op, left,
 * right, fire.  No time limit.
 *
 * Points the description leaves open, settled by running MinAtar:
 * - Firing (at most once every 5 frames) puts a bullet on the cannon's
 *   cell, which moves up one row in the same frame; friendly bullets move
 *   up and enemy bullets down one row every frame and vanish off the grid.
 *   A bullet and an alien meet only on the same cell after both moved.
 * - The block moves every move_interval frames (12 at the start), and
 *   faster when few aliens remain: after each move the countdown restarts
 *   at min(number of aliens, move_interval).  Stepping down from the
 *   bottom row ends the game (the block wraps to row 0 in the final
 *   observation, as MinAtar draws it).
 * - Every 10 frames the alien nearest to the cannon's column shoots: the
 *   lowest alien of the nearest non-empty column, the left column winning
 *   a tie; its bullet starts on the alien's own cell.
 * - Order within a frame: cannon acts; bullets move; enemy bullet and
 *   alien contact checks; the block moves and is checked again; aliens
 *   shoot; hits are scored; a cleared wave is replaced (move_interval
 *   drops by 1 per wave, down to 6, when ramping; the direction and the
 *   move countdown carry over). */
#include <string.h>

#include "minatar_games.h"

enum { CH_CANNON, CH_ALIEN, CH_LEFT, CH_RIGHT, CH_FBULLET, CH_EBULLET, NCH };
#define SHOT_COOL_DOWN 5
#define ENEMY_MOVE_INTERVAL 12
#define ENEMY_SHOT_INTERVAL 10
#define WAVE_COLS 0xfcu /* columns 2..7 */
#define COL0 0x1u
#define COL9 0x200u


static void new_wave(im_ma_space_invaders *s)
{
	for (int y = 0; y < 4; y++)
		s->alien[y] = WAVE_COLS;
}

static void si_start(void *st)
{
	im_ma_space_invaders *s = st;
	s->pos = 5;
	s->dir = -1;
	memset(s->alien, 0, sizeof(s->alien));
	memset(s->fbullet, 0, sizeof(s->fbullet));
	memset(s->ebullet, 0, sizeof(s->ebullet));
	new_wave(s);
	s->move_interval = ENEMY_MOVE_INTERVAL;
	s->move_timer = ENEMY_MOVE_INTERVAL;
	s->alien_shot_timer = ENEMY_SHOT_INTERVAL;
	s->shot_timer = 0;
	s->ramp_index = 0;
}

static int count_aliens(const im_ma_space_invaders *s, unsigned *any_cols)
{
	int n = 0;
	unsigned cols = 0;
	for (int y = 0; y < IM_MA_N; y++) {
		n += im_ma_popcount(s->alien[y]);
		cols |= s->alien[y];
	}
	if (any_cols)
		*any_cols = cols;
	return n;
}

static void move_bullets(im_ma_space_invaders *s)
{
	memmove(s->fbullet, s->fbullet + 1, (IM_MA_N - 1) * sizeof(uint16_t));
	s->fbullet[IM_MA_N - 1] = 0;
	memmove(s->ebullet + 1, s->ebullet, (IM_MA_N - 1) * sizeof(uint16_t));
	s->ebullet[0] = 0;
}

/* The block marches sideways, or turns and steps down at a side. */
static void move_block(im_ma_space_invaders *s, uint8_t *terminal)
{
	unsigned cols;
	int n = count_aliens(s, &cols);
	s->move_timer = (int16_t)(n < s->move_interval ? n : s->move_interval);
	if (((cols & COL0) && s->dir < 0) || ((cols & COL9) && s->dir > 0)) {
		s->dir = (int8_t)-s->dir;
		uint16_t last = s->alien[IM_MA_N - 1];
		if (last)
			*terminal = 1;
		memmove(s->alien + 1, s->alien,
			(IM_MA_N - 1) * sizeof(uint16_t));
		s->alien[0] = last;
		return;
	}
	for (int y = 0; y < IM_MA_N; y++)
		s->alien[y] = (uint16_t)(s->dir > 0 ? s->alien[y] << 1
						    : s->alien[y] >> 1);
}

static void alien_shoots(im_ma_space_invaders *s)
{
	unsigned cols;
	count_aliens(s, &cols);
	for (int d = 0; d < IM_MA_N; d++) {
		int cand[2] = {s->pos - d, s->pos + d};
		for (int j = 0; j < (d ? 2 : 1); j++) {
			int x = cand[j];
			if (x < 0 || x > 9 || !(cols & (1u << x)))
				continue;
			int y = IM_MA_N - 1;
			while (!(s->alien[y] & (1u << x)))
				y--;
			s->ebullet[y] |= (uint16_t)(1u << x);
			return;
		}
	}
}

static int si_act(void *st, int a, uint8_t *terminal)
{
	im_ma_space_invaders *s = st;
	unsigned cannon = 1u << s->pos;
	int r = 0;
	if (a == IM_MA_FIRE && s->shot_timer == 0) {
		s->fbullet[9] |= (uint16_t)cannon;
		s->shot_timer = SHOT_COOL_DOWN;
	} else if (a == IM_MA_LEFT && s->pos > 0) {
		s->pos--;
	} else if (a == IM_MA_RIGHT && s->pos < 9) {
		s->pos++;
	}
	cannon = 1u << s->pos;
	move_bullets(s);
	if (s->ebullet[9] & cannon)
		*terminal = 1;
	if (s->alien[9] & cannon)
		*terminal = 1;
	if (s->move_timer == 0) {
		move_block(s, terminal);
		if (s->alien[9] & cannon)
			*terminal = 1;
	}
	if (s->alien_shot_timer == 0) {
		s->alien_shot_timer = ENEMY_SHOT_INTERVAL;
		alien_shoots(s);
	}
	unsigned any = 0;
	for (int y = 0; y < IM_MA_N; y++) {
		uint16_t hit = s->alien[y] & s->fbullet[y];
		if (hit) {
			r += im_ma_popcount(hit);
			s->alien[y] &= (uint16_t)~hit;
			s->fbullet[y] &= (uint16_t)~hit;
		}
		any |= s->alien[y];
	}
	if (s->shot_timer > 0)
		s->shot_timer--;
	s->move_timer--;
	s->alien_shot_timer--;
	if (!any) {
		if (s->move_interval > 6 && s->core.ramping) {
			s->move_interval--;
			s->ramp_index++;
		}
		new_wave(s);
	}
	return r;
}

static void si_render(const void *st, uint8_t *cells)
{
	const im_ma_space_invaders *s = st;
	int dir_ch = s->dir < 0 ? CH_LEFT : CH_RIGHT;
	memset(cells, 0, IM_MA_N * IM_MA_N * NCH);
	cells[im_ma_cell(9, s->pos, CH_CANNON, NCH)] = 1;
	for (int y = 0; y < IM_MA_N; y++) {
		for (unsigned m = s->alien[y]; m; m &= m - 1) {
			size_t i = im_ma_cell(y, __builtin_ctz(m), 0, NCH);
			cells[i + CH_ALIEN] = 1;
			cells[i + dir_ch] = 1;
		}
		im_ma_render_row(cells, y, s->fbullet[y], CH_FBULLET, NCH);
		im_ma_render_row(cells, y, s->ebullet[y], CH_EBULLET, NCH);
	}
}

static const im_ma_game game = {
	.channels = NCH,
	.state_size = sizeof(im_ma_space_invaders),
	.start = si_start,
	.act = si_act,
	.render = si_render,
};

static const im_ma_config cfg_v0 = {
	.game = &game, .sticky = 0.1, .ramping = 1, .n_actions = 6,
	.action_set = {0, 1, 2, 3, 4, 5},
};
static const im_ma_config cfg_v1 = {
	.game = &game, .sticky = 0.1, .ramping = 1, .n_actions = 4,
	.action_set = {IM_MA_NOOP, IM_MA_LEFT, IM_MA_RIGHT, IM_MA_FIRE},
};

const im_env_class im_env_minatar_space_invaders_v0_class = IM_MA_CLASS(
	"MinAtar/SpaceInvaders-v0", NCH, 6, cfg_v0, im_ma_space_invaders);
const im_env_class im_env_minatar_space_invaders_v1_class = IM_MA_CLASS(
	"MinAtar/SpaceInvaders-v1", NCH, 4, cfg_v1, im_ma_space_invaders);
