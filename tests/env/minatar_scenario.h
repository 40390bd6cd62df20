// SPDX-License-Identifier: Apache-2.0
/* The runner of the MinAtar scenario tests (test_minatar_<game>.c): each
 * file is a table of hand-built scenarios with the exact next observation,
 * reward and termination worked out from MinAtar 1.0.15's rules (the
 * comment at the top of each game file), checked against MinAtar run
 * locally.  The classes' spaces, sticky actions and options are in
 * test_minatar_api.c.
 *
 * A scenario opens its class from a spec, resets a state (seed 3), turns
 * sticky actions off, sets the chosen positions, steps `frames` frames
 * with one agent action and compares the whole observation with the
 * expected grid (channels in skip_ch excepted: those drawn at random,
 * which check() then holds to their rules). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/env.h"
#include "env/env_class.h"
#include "env/minatar_games.h"
#include "err.h"

#ifndef IM_TEST_MINATAR_SCENARIO_H
#define IM_TEST_MINATAR_SCENARIO_H

#define MAXC (IM_MA_N * IM_MA_N * IM_MA_MAX_CH)

typedef struct scenario {
	const char *name;
	const char *spec;
	void (*setup)(void *st);
	int32_t action; /* the class's (agent) action */
	int frames;     /* frames stepped; the checks follow the last one */
	int reward;     /* reward of the last frame */
	int terminal;
	void (*expect)(uint8_t *grid); /* draws the expected observation */
	unsigned skip_ch;              /* channels not compared */
	void (*check)(const void *st); /* optional: asserts on the state */
} scenario;

static int g_nch; /* channels of the running scenario's class */

/* Marks cell (y, x) of channel c in the expected grid. */
static inline void lit(uint8_t *g, int y, int x, int c)
{
	g[im_ma_cell(y, x, c, g_nch)] = 1;
}

static inline void lit_row(uint8_t *g, int y, unsigned mask, int c)
{
	im_ma_render_row(g, y, mask, c, g_nch);
}

static const im_env_class *open_class(const char *spec)
{
	const im_env_class *c = NULL;
	char err[256] = "";
	int rc = im_env_class_open(&c, spec, err, sizeof(err));
	if (rc)
		print_error("%s: %s\n", spec, err);
	assert_int_equal(rc, 0);
	return c;
}

static void run_scenario(void **state)
{
	const scenario *sc = *state;
	const im_env_class *c = open_class(sc->spec);
	void *st = calloc(1, c->state_size);
	assert_non_null(st);
	assert_int_equal(c->init(c, st), 0);
	im_rng r;
	im_rng_init(&r, 3);
	static uint8_t obs[MAXC];
	c->reset(c, st, &r, obs);
	((im_ma_core *)st)->sticky = 0;
	if (sc->setup)
		sc->setup(st);
	float reward = 0;
	uint8_t term = 0;
	for (int f = 0; f < sc->frames; f++) {
		term = 0;
		assert_int_equal(c->step(c, st, &sc->action, obs, &reward, &term),
				 0);
	}
	g_nch = c->obs.shape[2];
	uint8_t want[MAXC] = {0};
	sc->expect(want);
	int bad = 0, n = IM_MA_N * IM_MA_N * g_nch;
	for (int i = 0; i < n; i++) {
		int ch = i % g_nch;
		if ((sc->skip_ch >> ch) & 1u || obs[i] == want[i])
			continue;
		print_error("cell (%d, %d) channel %d: got %d, want %d\n",
			    i / g_nch / IM_MA_N, i / g_nch % IM_MA_N, ch,
			    obs[i], want[i]);
		bad++;
	}
	assert_int_equal(bad, 0);
	assert_int_equal((int)reward, sc->reward);
	assert_true(reward == (float)sc->reward);
	assert_int_equal(term, sc->terminal);
	if (sc->check)
		sc->check(st);
	free(st);
	im_env_class_close(c);
}

enum { NOOP,
       LEFT,
       UP,
       RIGHT,
       DOWN,
       FIRE }; /* MinAtar's -v0 actions */

/* Runs a table of scenarios, one named cmocka test each. */
static int run_scenarios(const scenario *sc, size_t n)
{
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	if (!tests)
		return 1;
	for (size_t i = 0; i < n; i++) {
		struct CMUnitTest t = {sc[i].name, run_scenario, NULL, NULL,
				       (void *)&sc[i]};
		tests[i] = t;
	}
	int rc = _cmocka_run_group_tests("minatar", tests, n, NULL, NULL);
	free(tests);
	return rc;
}

#endif
