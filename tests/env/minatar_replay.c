// SPDX-License-Identifier: Apache-2.0
/* Replays a MinAtar record (tests/env/minatar_replay.py) through our game:
 * for every frame, MinAtar's state before it is loaded into our state, the
 * frame is stepped with sticky actions off, and our observation, reward
 * and termination are compared with MinAtar's, and our whole state after
 * the frame with MinAtar's before the next one.  Frames that draw random
 * numbers (spawns in Asterix and Seaquest, Freeway's new speeds after a
 * crossing) are skipped: our generator is not numpy's.
 *
 * A development tool, not a test (it needs MinAtar):
 *   PYTHONPATH=<MinAtar> /usr/bin/python3 tests/env/minatar_replay.py \
 *       GAME FRAMES SEED [RAMPING] | build/tests/env/minatar_replay GAME
 * GAME: breakout, freeway, asterix, seaquest or space_invaders.  Prints a
 * summary line; exits 1 on any difference (listing the first ones). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/env_class.h"
#include "env/minatar_games.h"

#define MAXV 2048

static void bits(uint16_t *rows, const int *cells)
{
	for (int y = 0; y < IM_MA_N; y++) {
		rows[y] = 0;
		for (int x = 0; x < IM_MA_N; x++)
			if (cells[y * IM_MA_N + x])
				rows[y] |= (uint16_t)(1u << x);
	}
}

/* MinAtar's ball_dir: 0 up-left, 1 up-right, 2 down-right, 3 down-left. */
static int load_breakout(void *st, const int *s)
{
	im_ma_breakout *b = st;
	int dir = s[4];
	im_ma_ball ball = {.y = (int8_t)s[1], .x = (int8_t)s[0], .vy = (int8_t)(dir < 2 ? -1 : 1), .vx = (int8_t)(dir == 1 || dir == 2 ? 1 : -1), .ty = (int8_t)s[3], .tx = (int8_t)s[2]};
	b->ball = ball;
	b->paddle = (int8_t)s[5];
	b->tunnel = (uint8_t)s[6];
	bits(b->bricks, s + 7);
	return 1;
}

/* MinAtar's car: x, row, countdown, speed (signed: its direction). */
static int load_freeway(void *st, const int *s)
{
	im_ma_freeway *f = st;
	f->row = (int8_t)s[0];
	f->cooldown = (int8_t)s[1];
	f->elapsed = (int16_t)(2500 - s[2]);
	for (int i = 0; i < IM_MA_FREEWAY_LANES; i++) {
		const int *c = s + 3 + 4 * i;
		im_ma_car car = {.x = (int8_t)c[0], .dx = (int8_t)(c[3] < 0 ? -1 : 1), .pause = (int8_t)(c[3] < 0 ? -c[3] : c[3]), .wait = (int8_t)c[2]};
		f->car[i] = car;
	}
	return 1;
}

static int load_asterix(void *st, const int *s)
{
	im_ma_asterix *a = st;
	a->px = (int8_t)s[0];
	a->py = (int8_t)s[1];
	a->spawn_every = (int16_t)s[2];
	a->spawn_in = (int16_t)s[3];
	a->move_every = (int16_t)s[4];
	a->move_in = (int16_t)s[5];
	a->ramp_in = (int16_t)(s[6] + 1); /* see minatar_asterix.c */
	a->speedups = (int16_t)s[7];
	a->core.ramping = (uint8_t)s[8];
	memset(a->lane, 0, sizeof(a->lane));
	for (int i = 0; i < IM_MA_AX_LANES; i++) { /* MinAtar's slot per row */
		const int *e = s + 9 + 5 * i;      /* live, x, row, right, gold */
		if (!e[0])
			continue;
		im_ma_ax_lane *l = &a->lane[e[2] - 1];
		l->what = e[4] ? IM_MA_AX_GOLD : IM_MA_AX_ENEMY;
		l->x = (int8_t)e[1];
		l->dx = e[3] ? 1 : -1;
	}
	return a->spawn_in != 0;
}

/* MinAtar's row-major [10, 10] map into our columns (bit y of column x). */
static void columns(uint16_t *cols, const int *cells)
{
	for (int x = 0; x < IM_MA_N; x++) {
		cols[x] = 0;
		for (int y = 0; y < IM_MA_N; y++)
			if (cells[y * IM_MA_N + x])
				cols[x] |= (uint16_t)(1u << y);
	}
}

static int load_space_invaders(void *st, const int *s)
{
	im_ma_space_invaders *v = st;
	v->cannon = (int8_t)s[0];
	v->march = (int8_t)s[1];
	v->march_period = (int16_t)s[2];
	v->march_wait = (int16_t)s[3];
	v->volley_wait = (int16_t)s[4];
	v->speedups = (int16_t)s[5];
	v->reload = (int16_t)s[6];
	v->core.ramping = (uint8_t)s[7];
	columns(v->aliens, s + 8);
	columns(v->shots, s + 108);
	columns(v->bombs, s + 208);
	return 1;
}

static const int *load_list(im_ma_ent_list *l, const int *p, int width)
{
	l->n = *p++;
	for (int i = 0; i < l->n; i++, p += width) {
		im_ma_ent e = {.x = (int8_t)p[0], .y = (int8_t)p[1], .right = (uint8_t)p[2]};
		if (width > 3)
			e.timer = (int8_t)p[3];
		if (width > 4)
			e.shot = (int8_t)p[4];
		l->e[i] = e;
	}
	return p;
}

static int load_seaquest(void *st, const int *s)
{
	im_ma_seaquest *q = st;
	q->oxygen = (int16_t)s[0];
	q->divers_aboard = (int16_t)s[1];
	q->x = (int8_t)s[2];
	q->y = (int8_t)s[3];
	q->facing_right = (uint8_t)s[4];
	q->e_spawn_speed = (int16_t)s[5];
	q->e_spawn_timer = (int16_t)s[6];
	q->d_spawn_timer = (int16_t)s[7];
	q->move_speed = (int16_t)s[8];
	q->ramp_index = (int16_t)s[9];
	q->shot_timer = (int16_t)s[10];
	q->surfaced = (uint8_t)s[11];
	q->core.ramping = (uint8_t)s[12];
	const int *p = s + 13;
	p = load_list(&q->torpedoes, p, 3);
	p = load_list(&q->bullets, p, 3);
	p = load_list(&q->fish, p, 4);
	p = load_list(&q->subs, p, 5);
	load_list(&q->divers, p, 4);
	return q->e_spawn_timer != 0 && q->d_spawn_timer != 0;
}

static const struct game {
	const char *name;
	const im_env_class *cls;
	int (*load)(void *st, const int *s); /* 0: the frame is random */
} games[] = {
	{"breakout", &im_env_minatar_breakout_v0_class, load_breakout},
	{"freeway", &im_env_minatar_freeway_v0_class, load_freeway},
	{"asterix", &im_env_minatar_asterix_v0_class, load_asterix},
	{"seaquest", &im_env_minatar_seaquest_v0_class, load_seaquest},
	{"space_invaders", &im_env_minatar_space_invaders_v0_class,
	 load_space_invaders},
};

/* Reads one record line; returns 0 at the end of input. */
static int read_frame(int *a, int *r, int *t, int *s, int *ns, int *o,
		      int *no)
{
	if (scanf(" A %d R %d T %d S %d", a, r, t, ns) != 4)
		return 0;
	for (int i = 0; i < *ns && i < MAXV; i++)
		if (scanf("%d", &s[i]) != 1)
			return 0;
	if (scanf(" O %d", no) != 1)
		return 0;
	for (int i = 0; i < *no && i < MAXV; i++)
		if (scanf("%d", &o[i]) != 1)
			return 0;
	return *ns < MAXV && *no < MAXV;
}

static void print_diff(long frame, int a, float rew, int r, int term,
		       int t, const uint8_t *got, const uint8_t *want, int n,
		       int nch)
{
	printf("frame %ld: action %d reward %g (MinAtar %d) terminal %d "
	       "(MinAtar %d)\n",
	       frame, a, (double)rew, r, term, t);
	for (int i = 0; i < n; i++)
		if (got[i] != want[i])
			printf("  cell (%d, %d) channel %d: ours %d, MinAtar "
			       "%d\n",
			       i / nch / IM_MA_N, i / nch % IM_MA_N,
			       i % nch, got[i], want[i]);
}

int main(int argc, char **argv)
{
	const struct game *g = NULL;
	for (size_t i = 0; argc == 2 && i < sizeof(games) / sizeof(*games); i++)
		if (!strcmp(argv[1], games[i].name))
			g = &games[i];
	if (!g) {
		fprintf(stderr, "usage: minatar_replay GAME < record\n");
		return 2;
	}
	const im_env_class *c = g->cls;
	void *st = calloc(1, c->state_size);
	static int s[MAXV], o[MAXV];
	static uint8_t got[IM_MA_MAX_CELLS], want[IM_MA_MAX_CELLS];
	if (!st || c->init(c, st))
		return 1;
	im_rng rng;
	im_rng_init(&rng, 1);
	c->reset(c, st, &rng, got);
	((im_ma_core *)st)->sticky = 0;
	int nch = c->obs.shape[2], n = IM_MA_N * IM_MA_N * nch;
	long frames = 0, checked = 0, bad = 0;
	int a, r, t, ns, no;
	unsigned char *mine = malloc(c->state_size);
	int stepped = 0; /* st holds our state after a non-final frame */
	while (read_frame(&a, &r, &t, s, &ns, o, &no)) {
		frames++;
		/* The whole state, not only what the frame showed: MinAtar's
		 * state now over a copy of ours must change nothing. */
		if (stepped) {
			memcpy(mine, st, c->state_size);
			g->load(st, s);
			if (memcmp(mine, st, c->state_size)) {
				if (bad++ < 5)
					printf("frame %ld: our state after the "
					       "previous frame differs\n",
					       frames);
			}
		}
		stepped = 0;
		if (!g->load(st, s) || (c == games[1].cls && r))
			continue;
		float rew;
		uint8_t term = 0;
		int32_t act = a;
		c->step(c, st, &act, got, &rew, &term);
		memset(want, 0, sizeof(want));
		for (int i = 0; i < no; i++)
			want[o[i]] = 1;
		checked++;
		stepped = !t;
		if ((int)rew == r && term == t && !memcmp(got, want, (size_t)n))
			continue;
		if (bad++ < 5)
			print_diff(frames, a, rew, r, term, t, got, want, n, nch);
	}
	printf("%s: %ld frames, %ld checked, %ld differ\n", g->name, frames,
	       checked, bad);
	free(mine);
	free(st);
	return bad != 0;
}
