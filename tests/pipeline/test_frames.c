// SPDX-License-Identifier: Apache-2.0
/* uint8 frames end to end, without sockets: every byte of every frame the
 * environment wrote arrives in the learner's batch unchanged, beside the
 * reward and flags of the step that made it.
 *
 * The actor's rollout acts on each environment of a table (the example
 * grid plugin, [8, 8, 2] uint8 frames; MinAtar Breakout, [10, 10, 4], with
 * a time limit and without); each unroll is encoded, decoded, validated,
 * stored and batched as the learner does.  Then a twin environment, reset
 * from the same stream as the actor's environment b and stepped with the
 * actions the batch recorded, replays every frame: each batch row (t, b)
 * must equal, byte for byte, what the twin wrote (so the learner trains
 * on the frame the actor acted on: channel order, Breakout's trail
 * channel and all); each bootstrap row the true last frame of its
 * truncated episode (some grid unrolls hold two or more, so rows past the
 * first of final_obs are checked); rewards and flags at (t, b) the twin's
 * for the step from frame t with action t (no off-by-one between a reward
 * and the action that earned it).  The batch holds the frames as bytes:
 * 128 per grid row, not 512.
 *
 * And an actor whose environment's frames differ from the run spec in
 * scale, dtype or layout refuses to act.
 *
 * Usage: test_pipeline_frames GRID.so */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/env.h"
#include "err.h"
#include "rollout.h"
#include "runspec.h"
#include "store.h"
#include "validate.h"
#include "wire.h"

int pipeline_spaces(const char *env, im_model_spec *ms);

/* T is more than twice the grid's time limit (50), so that some unroll
 * holds two truncated episodes and its second final frame is row 1 of
 * final_obs: a row found at the wrong stride shows. */
enum { K = 4,
       T = 120,
       ROUNDS = 4,
       MAX_FRAME = 10 * 10 * 10 };
#define SEED 9
#define ACTOR 3
#define RUN 77

static char grid_spec[1024];
/* The environment of the current case and its frame's size in bytes. */
static const char *spec_name;
static size_t FRAME;

/* What the rollout, the wire and the store turned the unrolls into. */
typedef struct rig {
	im_runspec_store rs;
	im_model *model;
	im_rollout *ro;
	im_run_dims dims;
	im_store *store;
	im_batch *batch;
} rig;

static void rig_up(rig *g)
{
	im_model_spec ms;
	memset(&ms, 0, sizeof ms);
	assert_int_equal(pipeline_spaces(spec_name, &ms), 0);
	assert_int_equal(ms.obs.dtype, IM_DTYPE_U8);
	ms.hidden_dim = ms.feature_dim = 16;
	ms.num_hidden_layers = 1;
	ms.seed = 5;
	assert_int_equal(im_model_new(&g->model, &ms), IM_OK);
	assert_int_equal(im_runspec_build(&g->rs, RUN, spec_name, T, SEED, &ms,
					  im_model_num_params(g->model)),
			 IM_OK);
	char err[256] = "";
	int rc = im_rollout_new(&g->ro, &g->rs.spec, K, ACTOR, err, sizeof err);
	if (rc)
		fail_msg("rollout: %s", err);
	assert_int_equal(im_validate_dims(&g->dims, &g->rs.spec), IM_OK);
	assert_int_equal(g->dims.obs_elem, 1);
	im_store_opts so = {.dims = g->dims, .capacity = K, .batch_size = K};
	assert_int_equal(im_store_new(&g->store, &so), IM_OK);
	assert_int_equal(im_batch_new(&g->batch, &g->dims, K), IM_OK);
}

static void rig_down(rig *g)
{
	im_batch_free(g->batch);
	im_store_free(g->store);
	im_rollout_free(g->ro);
	im_model_free(g->model);
}

/* One round of acting, through the wire and the store into the batch. */
static void act_round(rig *g, int round)
{
	assert_int_equal(im_rollout_run(g->ro, 0), IM_OK);
	for (int e = 0; e < K; e++) {
		Impala__Trajectory *t, *d = NULL;
		im_rollout_trajectory(g->ro, e, RUN, ACTOR, (uint64_t)round, &t);
		assert_int_equal(t->obs->dtype, IMPALA__DTYPE__DTYPE_UINT8);
		assert_int_equal(t->obs->data.len, (T + 1) * FRAME);
		uint8_t *buf;
		size_t len;
		assert_int_equal(im_wire_encode(&t->base, &buf, &len), IM_OK);
		assert_int_equal(im_wire_decode_trajectory(buf, len,
							   IM_WIRE_MAX_TRAJECTORY, &d),
				 IM_OK);
		im_validate_state vs = {.run_id = RUN};
		char why[200] = "";
		if (im_validate_trajectory(d, &g->dims, &vs, why, sizeof why))
			fail_msg("round %d env %d rejected: %s", round, e, why);
		assert_int_equal(im_store_put(g->store, d, 0), IM_OK);
		impala__trajectory__free_unpacked(d, NULL);
		free(buf);
	}
	/* Poisoned first, so a byte the take leaves unwritten shows (the
	 * frames are mostly zeros). */
	memset(g->batch->obs, 0xA5, (size_t)(T + 1) * K * FRAME);
	memset(g->batch->extra_obs, 0xA5, (size_t)T * K * FRAME);
	assert_int_equal(im_store_take(g->store, g->batch, 0), IM_OK);
}

/* The bootstrap row of truncated step (t, b), or NULL. */
static const uint8_t *extra_row(const im_batch *b, size_t t, size_t bi)
{
	for (uint32_t j = 0; j < b->n_extra; j++)
		if ((size_t)b->extra_index[j] == t * b->B + bi)
			return (const uint8_t *)b->extra_obs + (size_t)j * FRAME;
	return NULL;
}

typedef struct counts {
	int frames, terminated, truncated, rewarded;
	int most_truncated; /* truncated steps in one unroll, at most */
} counts;

/* Replays env bi's unroll on its twin; frame holds the twin's current
 * frame, which must be batch row (0, bi). */
static void replay(const im_batch *b, size_t bi, im_env *twin,
		   uint8_t *frame, counts *n, int round)
{
	const uint8_t *obs = b->obs;
	im_env_result r;
	int truncated = 0;
	for (size_t t = 0; t <= b->T; t++) {
		const uint8_t *row = obs + (t * b->B + bi) * FRAME;
		if (memcmp(row, frame, FRAME))
			fail_msg("round %d env %zu step %zu: the batch's frame "
				 "differs from the environment's",
				 round, bi, t);
		n->frames++;
		if (t == b->T)
			break;
		size_t at = t * b->B + bi;
		assert_int_equal(im_env_step(twin, &b->actions[at], frame, &r),
				 IM_OK);
		assert_true(b->rewards[at] == r.reward);
		assert_int_equal(b->terminated[at], r.terminated);
		assert_int_equal(b->truncated[at], r.truncated && !r.terminated);
		const uint8_t *x = extra_row(b, t, bi);
		if (b->truncated[at]) {
			/* The true last frame, not the reset one. */
			assert_non_null(x);
			assert_memory_equal(x, frame, FRAME);
		} else {
			assert_null(x);
		}
		n->terminated += r.terminated;
		n->rewarded += r.reward != 0.0f;
		n->truncated += r.truncated && !r.terminated;
		truncated += r.truncated && !r.terminated;
		if (r.terminated || r.truncated)
			assert_int_equal(im_env_reset_next(twin, frame), IM_OK);
	}
	if (truncated > n->most_truncated)
		n->most_truncated = truncated;
}

/* An environment of the table and what its unrolls must have shown, so
 * that every check above ran: terminations, rewards, truncations, and
 * unrolls with at least most_truncated of them. */
typedef struct frames_case {
	const char *name;
	const char *spec; /* NULL: the grid plugin given on the command line */
	size_t frame;     /* bytes per frame */
	int rewarded, truncated, most_truncated;
} frames_case;

static void run_frames_case(const frames_case *c)
{
	spec_name = c->spec ? c->spec : grid_spec;
	FRAME = c->frame;
	rig g;
	rig_up(&g);
	/* Twin b starts on the stream the actor's environment b starts on:
	 * split(split(run seed, actor id), b). */
	im_env *twin[K];
	uint8_t frame[K][MAX_FRAME];
	im_rng run, actor, s;
	im_rng_init(&run, SEED);
	im_rng_split(&actor, &run, ACTOR);
	for (int e = 0; e < K; e++) {
		assert_int_equal(im_env_make(&twin[e], spec_name, NULL, 0), IM_OK);
		im_rng_split(&s, &actor, (uint64_t)e);
		assert_int_equal(im_env_reset_stream(twin[e], &s, frame[e]), IM_OK);
	}
	counts n = {0};
	for (int round = 0; round < ROUNDS; round++) {
		act_round(&g, round);
		assert_int_equal(g.batch->obs_elem, 1);
		for (int e = 0; e < K; e++)
			replay(g.batch, (size_t)e, twin[e], frame[e], &n, round);
	}
	print_message("%s: %d frames byte-identical; %d episodes terminated, "
		      "%d truncated, up to %d in one unroll; %d rewarded steps\n",
		      c->name, n.frames, n.terminated, n.truncated,
		      n.most_truncated, n.rewarded);
	/* Both ends of an episode were seen, so final frames were checked,
	 * beyond the first row of an unroll's final_obs too. */
	assert_true(n.terminated > 0);
	assert_true(n.rewarded >= c->rewarded);
	assert_true(n.truncated >= c->truncated);
	assert_true(n.most_truncated >= c->most_truncated);
	for (int e = 0; e < K; e++)
		im_env_free(twin[e]);
	rig_down(&g);
}

static void test_frames_arrive_unchanged(void **state)
{
	(void)state;
	/* Breakout with a time limit of 30 steps: a random paddle returns
	 * the ball now and then (a brick scores about 12 steps in), and an
	 * episode that does is cut at 30. */
	static const frames_case cases[] = {
		{"grid", NULL, 8 * 8 * 2, 0, 1, 2},
		{"breakout", "MinAtar/Breakout-v0", 10 * 10 * 4, 1, 0, 0},
		{"breakout_time_limit", "MinAtar/Breakout-v0?max_steps=30",
		 10 * 10 * 4, 1, 1, 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (!cases[i].spec && !grid_spec[0])
			continue;
		run_frames_case(&cases[i]);
	}
}

/* A run spec the actor's environment does not match, changed from the
 * grid's own ([8, 8, 2] uint8, scale 1/255); NULL fix: accepted. */
typedef struct spec_case {
	const char *name;
	void (*fix)(Impala__RunSpec *s);
} spec_case;

static void sc_scale_one(Impala__RunSpec *s) { s->obs_scale = 1.0f; }
static void sc_scale_absent(Impala__RunSpec *s) { s->obs_scale = 0.0f; }
static void sc_float32(Impala__RunSpec *s)
{
	s->obs_dtype = IMPALA__DTYPE__DTYPE_FLOAT32;
	s->obs_scale = 0.0f;
}
static void sc_chw(Impala__RunSpec *s)
{
	s->obs_shape[0] = 2, s->obs_shape[1] = 8, s->obs_shape[2] = 8;
}

/* An actor refuses to act when its environment's frames differ from the
 * learner's run spec in scale, dtype or layout (the model would read
 * other values, or other bytes, than the learner's); the parameter count
 * is the same in every case, so only the space check can refuse. */
static void test_actor_refuses_other_frames(void **state)
{
	(void)state;
	if (!grid_spec[0])
		skip();
	spec_name = grid_spec;
	static const spec_case cases[] = {
		{"same", NULL},
		{"scale_one", sc_scale_one},
		{"scale_absent", sc_scale_absent},
		{"float32", sc_float32},
		{"chw", sc_chw},
	};
	im_model_spec ms;
	memset(&ms, 0, sizeof ms);
	assert_int_equal(pipeline_spaces(spec_name, &ms), 0);
	ms.hidden_dim = ms.feature_dim = 16;
	ms.num_hidden_layers = 1;
	im_model *model;
	assert_int_equal(im_model_new(&model, &ms), IM_OK);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const spec_case *c = &cases[i];
		im_runspec_store rs;
		assert_int_equal(im_runspec_build(&rs, RUN, spec_name, T, SEED,
						  &ms, im_model_num_params(model)),
				 IM_OK);
		if (c->fix)
			c->fix(&rs.spec);
		im_rollout *ro = NULL;
		char err[256] = "";
		int rc = im_rollout_new(&ro, &rs.spec, 1, ACTOR, err, sizeof err);
		im_rollout_free(ro);
		if (!c->fix && rc != IM_OK)
			fail_msg("%s: refused: %s", c->name, err);
		if (c->fix && (rc != IM_ESHAPE || !strstr(err, "other spaces")))
			fail_msg("%s: rc %d, '%s'", c->name, rc, err);
	}
	im_model_free(model);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		snprintf(grid_spec, sizeof grid_spec, "plugin:%s", argv[1]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_arrive_unchanged),
		cmocka_unit_test(test_actor_refuses_other_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
