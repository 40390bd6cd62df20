// SPDX-License-Identifier: Apache-2.0
/* The vecenv contract the actor and learner rely on: env i runs on stream
 * i of the parent rng; after each step reward and flags are those of the
 * step, a finished env hands back its TRUE final observation, return and
 * length, and obs already holds the next episode's reset observation.
 * Checked against k independent single environments driven alike, byte
 * for byte in the space's dtype: the built-ins' floats, and the example
 * grid plugin's uint8 [8, 8, 2] frames (argv[1]), whose final_obs rows are
 * 128 bytes.  The batched kernels give the same bits as the per-env path;
 * a bad action is refused before anything moves. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "env/env.h"
#include "err.h"

enum { K = 6,
       MAXB = 1000 }; /* MAXB: Seaquest's 10 x 10 x 10 bytes */

/* "plugin:PATH" of the example grid plugin (argv[1]), or "" to skip. */
static char grid_spec[1024];

static im_vecenv *make_vec(const char *spec, int k, uint64_t seed)
{
	im_rng parent;
	im_rng_init(&parent, seed);
	char err[256] = "";
	im_vecenv_opts o = {.spec = spec, .num_envs = k, .rng = &parent, .err = err, .errlen = sizeof(err)};
	im_vecenv *v = NULL;
	int rc = im_vecenv_new(&v, &o);
	if (rc)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	return v;
}

/* Random actions for k envs: (k) int32 or (k, 1) float. */
static void random_actions(const im_act_space *a, im_rng *r, int k,
			   int32_t *da, float *fa)
{
	for (int i = 0; i < k; i++) {
		da[i] = (int32_t)im_rng_below(r, (uint64_t)a->n);
		fa[i] = im_rng_uniform(r, a->low[0], a->high[0]);
	}
}

/* Row i of an observation buffer whose rows are `row` bytes. */
static const unsigned char *row_at(const void *buf, int i, size_t row)
{
	return (const unsigned char *)buf + (size_t)i * row;
}

/* The vecenv against K single environments driven alike, compared byte
 * for byte in the space's dtype (floats, or uint8 frames for a plugin). */
static void matches_single_envs(const char *name)
{
	enum { T = 1500 };
	im_vecenv *v = make_vec(name, K, 77);
	const im_vecenv_bufs *b = im_vecenv_buffers(v);
	const im_act_space *as = im_vecenv_act_space(v);
	size_t row = im_obs_bytes(im_vecenv_obs_space(v));
	assert_true(row <= MAXB);
	im_env *single[K];
	double ret[K] = {0};
	int len[K] = {0}, ended_trunc = 0, ended_term = 0;
	_Alignas(float) unsigned char obs[MAXB];
	im_rng parent, pol;
	im_rng_init(&parent, 77);
	im_rng_init(&pol, 1234);
	for (int i = 0; i < K; i++) {
		im_rng s;
		im_rng_split(&s, &parent, (uint64_t)i);
		assert_int_equal(im_env_make(&single[i], name, NULL, 0), 0);
		assert_int_equal(im_env_reset_stream(single[i], &s, obs), 0);
		/* env i starts on stream i */
		assert_memory_equal(obs, row_at(b->obs, i, row), row);
	}
	int32_t da[K];
	float fa[K];
	int boxed = as->kind == IM_ACT_BOX;
	for (int t = 0; t < T; t++) {
		random_actions(as, &pol, K, da, fa);
		assert_int_equal(im_vecenv_step(v, boxed ? (void *)fa : (void *)da,
						NULL),
				 0);
		for (int i = 0; i < K; i++) {
			im_env_result r;
			assert_int_equal(
				im_env_step(single[i],
					    boxed ? (void *)&fa[i]
						  : (void *)&da[i],
					    obs, &r),
				0);
			ret[i] += r.reward;
			len[i]++;
			assert_true(b->reward[i] == r.reward);
			assert_int_equal(b->terminated[i], r.terminated);
			assert_int_equal(b->truncated[i], r.truncated);
			if (!r.terminated && !r.truncated) {
				assert_memory_equal(row_at(b->obs, i, row), obs,
						    row);
				continue;
			}
			/* The true last observation, not the reset. */
			assert_memory_equal(row_at(b->final_obs, i, row), obs,
					    row);
			assert_true(b->ep_return[i] == (float)ret[i]);
			assert_int_equal(b->ep_length[i], len[i]);
			ended_trunc += r.truncated;
			ended_term += r.terminated;
			ret[i] = 0;
			len[i] = 0;
			assert_int_equal(im_env_reset_next(single[i], obs), 0);
			assert_memory_equal(row_at(b->obs, i, row), obs, row);
		}
	}
	/* Every kind saw episodes end (but Freeway, whose episodes last
	 * 2501 frames > T); truncation for all but CartPole, where random
	 * play topples the pole first, and the MinAtar games, which have no
	 * time limit and only terminate.  The grid plugin ends both ways
	 * (goal reached, time limit). */
	if (!strstr(name, "Freeway"))
		assert_true(ended_trunc + ended_term >= K);
	if (strncmp(name, "MinAtar/", 8) == 0)
		assert_int_equal(ended_trunc, 0);
	else if (strcmp(name, "CartPole-v1") == 0)
		assert_true(ended_term > 50);
	else
		assert_true(ended_trunc >= K);
	if (strncmp(name, "plugin:", 7) == 0)
		assert_true(ended_term >= K);
	for (int i = 0; i < K; i++)
		im_env_free(single[i]);
	im_vecenv_free(v);
}

static void test_matches_single_envs(void **state)
{
	(void)state;
	for (int e = 0; e < im_env_builtin_count(); e++)
		matches_single_envs(im_env_builtin_name(e));
}

/* uint8 frames: the example grid plugin's [8, 8, 2] frames travel as
 * bytes, and final_obs rows of truncated and terminated episodes are the
 * true last frames (128 bytes a row, not 512). */
static void test_uint8_matches_single_envs(void **state)
{
	(void)state;
	if (!grid_spec[0])
		skip();
	im_vecenv *v = make_vec(grid_spec, 2, 1);
	const im_obs_space *o = im_vecenv_obs_space(v);
	assert_int_equal(o->dtype, IM_DTYPE_U8);
	assert_int_equal(im_obs_bytes(o), 8 * 8 * 2);
	im_vecenv_free(v);
	matches_single_envs(grid_spec);
}

static void test_truncation_hands_back_final_obs(void **state)
{
	(void)state;
	/* No push for 200 steps: every MountainCar episode is truncated. */
	im_vecenv *v = make_vec("MountainCar-v0", 3, 9);
	const im_vecenv_bufs *b = im_vecenv_buffers(v);
	int32_t a[3] = {1, 1, 1};
	float before[6];
	for (int t = 1; t <= 200; t++) {
		memcpy(before, b->obs, sizeof(before));
		assert_int_equal(im_vecenv_step(v, a, NULL), 0);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(b->truncated[i], t == 200);
			assert_int_equal(b->terminated[i], 0);
		}
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(b->ep_length[i], 200);
		assert_true(b->ep_return[i] == -200.0f);
		/* Final obs: the car still rolls (velocity != 0), and it
		 * follows from the obs before the last step; the new obs is a
		 * reset one (velocity exactly 0, position in [-0.6, -0.4)). */
		const float *f = (const float *)b->final_obs + 2 * i;
		const float *o = (const float *)b->obs + 2 * i;
		assert_true(f[1] != 0.0f);
		double v1 = before[2 * i + 1] -
			    0.0025 * cos(3 * (double)before[2 * i]);
		assert_true(fabs(f[1] - v1) < 1e-6);
		assert_true(fabs(f[0] - (before[2 * i] + v1)) < 1e-6);
		assert_true(o[1] == 0.0f && o[0] >= -0.6f && o[0] < -0.4f);
	}
	im_vecenv_free(v);
}

static void test_batched_equals_naive(void **state)
{
	(void)state;
	enum { T = 1200,
	       KB = 13 };
	for (int e = 0; e < im_env_builtin_count(); e++) {
		const char *name = im_env_builtin_name(e);
		im_vecenv *x = make_vec(name, KB, 5), *y = make_vec(name, KB, 5);
		const im_vecenv_bufs *bx = im_vecenv_buffers(x);
		const im_vecenv_bufs *by = im_vecenv_buffers(y);
		const im_act_space *as = im_vecenv_act_space(x);
		size_t n = im_obs_bytes(im_vecenv_obs_space(x)); /* a row */
		im_rng pol;
		im_rng_init(&pol, 8);
		int32_t da[KB];
		float fa[KB];
		const void *act = as->kind == IM_ACT_BOX ? (void *)fa : (void *)da;
		for (int t = 0; t < T; t++) {
			random_actions(as, &pol, KB, da, fa);
			assert_int_equal(im_vecenv_step(x, act, NULL), 0);
			assert_int_equal(im_vecenv_step_naive(y, act, NULL), 0);
			assert_memory_equal(bx->obs, by->obs, KB * n);
			assert_memory_equal(bx->reward, by->reward, KB * 4);
			assert_memory_equal(bx->terminated, by->terminated, KB);
			assert_memory_equal(bx->truncated, by->truncated, KB);
			for (int i = 0; i < KB; i++) {
				if (!bx->terminated[i] && !bx->truncated[i])
					continue;
				assert_memory_equal(row_at(bx->final_obs, i, n),
						    row_at(by->final_obs, i, n), n);
				assert_true(bx->ep_return[i] == by->ep_return[i]);
				assert_int_equal(bx->ep_length[i],
						 by->ep_length[i]);
			}
		}
		im_vecenv_free(x);
		im_vecenv_free(y);
	}
}

/* Copies of every output buffer, to show a refused step wrote nothing. */
static void snapshot(const im_vecenv_bufs *b, int k, size_t n, float *obs,
		     float *rew, uint8_t *flags)
{
	memcpy(obs, b->obs, k * n * sizeof(float));
	memcpy(rew, b->reward, k * sizeof(float));
	memcpy(flags, b->terminated, k);
	memcpy(flags + k, b->truncated, k);
}

static void check_refused(im_vecenv *v, im_vecenv *twin, const void *bad,
			  int bad_at, const void *good)
{
	const im_vecenv_bufs *b = im_vecenv_buffers(v);
	int k = im_vecenv_num_envs(v);
	size_t n = im_obs_numel(im_vecenv_obs_space(v));
	float o1[64], r1[8], o2[64], r2[8];
	uint8_t f1[16], f2[16];
	assert_int_equal(im_vecenv_step(v, good, NULL), 0);
	assert_int_equal(im_vecenv_step(twin, good, NULL), 0);
	snapshot(b, k, n, o1, r1, f1);
	int idx = -1;
	assert_int_equal(im_vecenv_step(v, bad, &idx), IM_EACTION);
	assert_int_equal(idx, bad_at);
	assert_int_equal(im_vecenv_step_naive(v, bad, NULL), IM_EACTION);
	snapshot(b, k, n, o2, r2, f2);
	assert_memory_equal(o1, o2, k * n * sizeof(float));
	assert_memory_equal(r1, r2, k * sizeof(float));
	assert_memory_equal(f1, f2, 2 * (size_t)k);
	/* No env moved: v and its twin stay in lockstep. */
	for (int t = 0; t < 5; t++) {
		assert_int_equal(im_vecenv_step(v, good, NULL), 0);
		assert_int_equal(im_vecenv_step(twin, good, NULL), 0);
		assert_memory_equal(b->obs, im_vecenv_buffers(twin)->obs,
				    k * n * sizeof(float));
	}
}

static void test_bad_actions_refused(void **state)
{
	(void)state;
	im_vecenv *v = make_vec("CartPole-v1", 4, 3);
	im_vecenv *w = make_vec("CartPole-v1", 4, 3);
	int32_t good[4] = {1, 0, 1, 0}, bad[4] = {1, 0, 2, -1};
	check_refused(v, w, bad, 2, good);
	im_vecenv_free(v);
	im_vecenv_free(w);

	v = make_vec("Pendulum-v1", 3, 3);
	w = make_vec("Pendulum-v1", 3, 3);
	float fgood[3] = {0.5f, -2.0f, 2.0f}, fbad[3] = {0.5f, NAN, 9.0f};
	check_refused(v, w, fbad, 1, fgood);
	float finf[3] = {0.0f, 0.0f, INFINITY};
	check_refused(v, w, finf, 2, fgood);
	im_vecenv_free(v);
	im_vecenv_free(w);
}

static void test_reset_and_errors(void **state)
{
	(void)state;
	im_rng parent;
	im_rng_init(&parent, 1);
	char err[512];
	im_vecenv *v = NULL;
	im_vecenv_opts o = {.spec = "Nope-v3", .num_envs = 2, .rng = &parent, .err = err, .errlen = sizeof(err)};
	assert_int_equal(im_vecenv_new(&v, &o), IM_ENOENT);
	assert_non_null(strstr(err, "unknown environment 'Nope-v3'; known: "));
	assert_null(v);
	o.spec = "CartPole-v1";
	o.num_envs = 0;
	assert_int_equal(im_vecenv_new(&v, &o), IM_EINVAL);
	o.num_envs = 2;
	o.rng = NULL;
	assert_int_equal(im_vecenv_new(&v, &o), IM_EINVAL);
	im_vecenv_free(NULL);

	/* reset() starts new episodes from the continuing streams. */
	v = make_vec("CartPole-v1", 2, 4);
	const im_vecenv_bufs *b = im_vecenv_buffers(v);
	float first[8];
	memcpy(first, b->obs, sizeof(first));
	int32_t a[2] = {0, 1};
	assert_int_equal(im_vecenv_step(v, a, NULL), 0);
	assert_int_equal(im_vecenv_reset(v), 0);
	assert_true(memcmp(first, b->obs, sizeof(first)) != 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(b->terminated[i] | b->truncated[i], 0);
		for (int j = 0; j < 4; j++)
			assert_true(fabsf(((const float *)b->obs)[4 * i + j]) <
				    0.05f);
	}
	im_vecenv_free(v);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		snprintf(grid_spec, sizeof grid_spec, "plugin:%s", argv[1]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_single_envs),
		cmocka_unit_test(test_uint8_matches_single_envs),
		cmocka_unit_test(test_truncation_hands_back_final_obs),
		cmocka_unit_test(test_batched_equals_naive),
		cmocka_unit_test(test_bad_actions_refused),
		cmocka_unit_test(test_reset_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
