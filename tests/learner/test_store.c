// SPDX-License-Identifier: Apache-2.0
/* The store and batcher: capacity bound, a full store evicting its oldest
 * unroll for a newcomer, reserve waiting only for a held slot, FIFO order, time-major batch layout with prev_action, prev_reward
 * and reset derived from the done flags, bootstrap rows for truncated
 * steps (all against hand-built examples), stale unrolls dropped, and
 * close waking every waiter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "store.h"
#include "validate.h"
#include "wire.h"

#include "../fixture/trajectory.h"

#define MAXT FX_MAXT
#define MAXN FX_MAXN

/* Wires up the message after the arrays have been filled for dims d: a
 * valid trajectory of run 1. */
static void tb_finish(fx_traj *b, const im_run_dims *d, uint64_t actor,
		      uint64_t version)
{
	fx_traj_wire(b, d, 1, actor, version);
	im_validate_state st = {.run_id = 1, .param_version = 1000};
	char msg[200];
	im_reject r = im_validate_trajectory(&b->t, d, &st, msg, sizeof msg);
	if (r != IM_REJECT_OK)
		fail_msg("fixture invalid: %s", msg);
}

/* T=3, obs (2,) float, Discrete(4), LSTM H=2. */
static im_run_dims dims_small(void)
{
	im_run_dims d;
	memset(&d, 0, sizeof d);
	d.T = 3;
	d.obs_ndim = 1;
	d.obs_shape[0] = 2;
	d.obs_numel = 2;
	d.obs_dtype = IMPALA__DTYPE__DTYPE_FLOAT32;
	d.obs_elem = 4;
	d.action_kind = IMPALA__ACTION_KIND__ACTION_DISCRETE;
	d.num_actions = 4;
	d.action_dim = 1;
	d.lstm_hidden = 2;
	return d;
}

/* Unroll A: actions 1 2 3, rewards .5 1 2, step 1 terminated,
 * prev_action 2, prev_reward .25; obs[t][i] = 100 + 10t + i. */
static void fill_a(fx_traj *b)
{
	memset(b, 0, sizeof *b);
	static const int32_t a[] = {1, 2, 3};
	static const float r[] = {0.5f, 1.0f, 2.0f};
	for (int t = 0; t < 3; t++) {
		b->act_i[t] = a[t];
		b->rew[t] = r[t];
		b->logp[t] = -0.1f * (float)(t + 1);
	}
	for (int t = 0; t <= 3; t++)
		for (int i = 0; i < 2; i++)
			b->obs_f[t * 2 + i] = 100.0f + 10.0f * (float)t + (float)i;
	b->term[1] = 1;
	b->pa_i = 2;
	b->h[0] = 1, b->h[1] = 2, b->c[0] = 3, b->c[1] = 4;
}

/* Unroll B: actions 3 0 1, rewards -1 -2 -3, steps 0 and 2 truncated with
 * final observations (900, 901) and (910, 911); obs[t][i] = 200 + 10t + i. */
static void fill_b(fx_traj *b)
{
	memset(b, 0, sizeof *b);
	static const int32_t a[] = {3, 0, 1};
	for (int t = 0; t < 3; t++) {
		b->act_i[t] = a[t];
		b->rew[t] = -1.0f - (float)t;
		b->logp[t] = -1.0f;
	}
	for (int t = 0; t <= 3; t++)
		for (int i = 0; i < 2; i++)
			b->obs_f[t * 2 + i] = 200.0f + 10.0f * (float)t + (float)i;
	b->trunc[0] = b->trunc[2] = 1;
	b->fin_f[0] = 900, b->fin_f[1] = 901, b->fin_f[2] = 910, b->fin_f[3] = 911;
	b->pa_i = 0;
	b->h[0] = 5, b->h[1] = 6, b->c[0] = 7, b->c[1] = 8;
}

static im_store *new_store(const im_run_dims *d, uint32_t cap, uint32_t B)
{
	im_store_opts o = {.dims = *d, .capacity = cap, .batch_size = B};
	im_store *s = NULL;
	assert_int_equal(im_store_new(&s, &o), IM_OK);
	return s;
}

static void assert_floats(const float *got, const float *want, size_t n,
			  const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (got[i] != want[i])
			fail_msg("%s[%zu] = %g, want %g", what, i, (double)got[i],
				 (double)want[i]);
}

static void assert_ints(const int32_t *got, const int32_t *want, size_t n,
			const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (got[i] != want[i])
			fail_msg("%s[%zu] = %d, want %d", what, i, got[i], want[i]);
}

/* The update's view points at the batch's own arrays; nothing is
 * copied between take and update. */
static void check_input_view(const im_batch *b)
{
	const im_update_batch *u = &b->input;
	assert_int_equal(u->in.T1, (int)b->T + 1);
	assert_int_equal(u->in.B, (int)b->B);
	assert_ptr_equal(u->in.obs, b->obs);
	assert_ptr_equal(u->in.reset, b->reset);
	assert_ptr_equal(u->in.prev_reward, b->prev_reward);
	assert_ptr_equal(u->extra.obs, b->extra_obs);
	assert_ptr_equal(u->extra.index, b->extra_index);
	assert_int_equal(u->extra.n, (int)b->n_extra);
	assert_ptr_equal(u->terminated, b->terminated);
	assert_ptr_equal(u->truncated, b->truncated);
	assert_ptr_equal(u->rewards, b->rewards);
	assert_ptr_equal(u->behaviour_logp, b->behaviour_logp);
	assert_ptr_equal(u->h0, b->h0);
	assert_ptr_equal(u->act_discrete, b->actions);
	assert_ptr_equal(u->act_box, b->actions_box);
}

static void check_small_batch(const im_batch *b)
{
	/* (t, b) at t*2 + b; values worked out by hand from fill_a/fill_b. */
	static const int32_t actions[] = {1, 3, 2, 0, 3, 1};
	static const float rewards[] = {0.5f, -1, 1, -2, 2, -3};
	static const uint8_t term[] = {0, 0, 1, 0, 0, 0};
	static const uint8_t trunc[] = {0, 1, 0, 0, 0, 1};
	static const int32_t prev_action[] = {2, 0, 1, 0, 0, 0, 3, 0};
	static const float prev_reward[] = {0.25f, 0, 0.5f, 0, 0, -2, 2, 0};
	static const uint8_t reset[] = {0, 0, 0, 1, 1, 0, 0, 1};
	static const float h0[] = {1, 2, 5, 6}, c0[] = {3, 4, 7, 8};
	static const int32_t extra_index[] = {1, 5};
	static const float extra_obs[] = {900, 901, 910, 911};
	static const int32_t extra_pa[] = {3, 1};
	static const float extra_pr[] = {-1, -3};
	static const float obs_t2[] = {120, 121, 220, 221};
	static const float obs_t3[] = {130, 131, 230, 231};
	assert_ints(b->actions, actions, 6, "actions");
	assert_floats(b->rewards, rewards, 6, "rewards");
	assert_memory_equal(b->terminated, term, 6);
	assert_memory_equal(b->truncated, trunc, 6);
	assert_ints(b->prev_action, prev_action, 8, "prev_action");
	assert_floats(b->prev_reward, prev_reward, 8, "prev_reward");
	assert_memory_equal(b->reset, reset, 8);
	assert_floats(b->h0, h0, 4, "h0");
	assert_floats(b->c0, c0, 4, "c0");
	assert_floats((const float *)b->obs + 2 * 2 * 2, obs_t2, 4, "obs[2]");
	assert_floats((const float *)b->obs + 3 * 2 * 2, obs_t3, 4, "obs[3]");
	assert_int_equal(b->n_extra, 2);
	assert_ints(b->extra_index, extra_index, 2, "extra_index");
	assert_floats(b->extra_obs, extra_obs, 4, "extra_obs");
	assert_int_equal(b->obs_elem, 4);
	assert_ints(b->extra_prev_action, extra_pa, 2, "extra_prev_action");
	assert_floats(b->extra_prev_reward, extra_pr, 2, "extra_prev_reward");
	assert_true(b->behaviour_logp[2] == -0.2f && b->behaviour_logp[3] == -1.0f);
	check_input_view(b);
}

static void test_batch_layout(void **state)
{
	(void)state;
	im_run_dims d = dims_small();
	im_store *s = new_store(&d, 4, 2);
	fx_traj *a = malloc(sizeof *a), *bb = malloc(sizeof *bb);
	fill_a(a);
	tb_finish(a, &d, 11, 7);
	a->t.prev_reward = 0.25f; /* after tb_finish, which inits the message */
	fill_b(bb);
	tb_finish(bb, &d, 22, 9);
	assert_int_equal(im_store_put(s, &a->t, 0), IM_OK);
	assert_int_equal(im_store_put(s, &bb->t, 0), IM_OK);
	/* The store copied everything: scribbling on the sources is harmless. */
	memset(a, 0x7f, sizeof *a);
	memset(bb, 0x7f, sizeof *bb);
	im_batch *b = NULL;
	assert_int_equal(im_batch_new(&b, &d, 2), IM_OK);
	assert_int_equal(im_store_take(s, b, 1000), IM_OK);
	check_small_batch(b);
	assert_true(b->meta[0].actor_id == 11 && b->meta[0].param_version == 7);
	assert_true(b->meta[1].actor_id == 22 && b->meta[1].param_version == 9);
	assert_int_equal(b->meta[0].n_episodes, 1);
	assert_int_equal(b->meta[1].n_episodes, 2);
	assert_true(b->meta[1].episode_return[1] == 11.0f);
	assert_int_equal(b->meta[1].episode_length[1], 21);
	im_store_stats st;
	im_store_get_stats(s, &st);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.put, 2);
	assert_int_equal(st.taken, 2);
	im_batch_free(b);
	im_store_free(s);
	free(a);
	free(bb);
}

/* uint8 observations stay the bytes that came (one byte each, no float
 * copy); Box actions are zeroed after an episode end; extra rows carry
 * the Box action. */
static void test_batch_u8_box(void **state)
{
	(void)state;
	im_run_dims d = dims_small();
	d.obs_dtype = IMPALA__DTYPE__DTYPE_UINT8;
	d.obs_elem = 1;
	d.action_kind = IMPALA__ACTION_KIND__ACTION_BOX;
	d.num_actions = 0;
	d.action_dim = 2;
	d.lstm_hidden = 0;
	d.T = 2;
	im_store *s = new_store(&d, 1, 1);
	fx_traj *u = calloc(1, sizeof *u);
	for (int i = 0; i < 6; i++)
		u->obs_u8[i] = (uint8_t)(250 + i % 6);
	u->fin_u8[0] = 7, u->fin_u8[1] = 255;
	u->act_f[0] = 0.5f, u->act_f[1] = -0.5f, u->act_f[2] = 3, u->act_f[3] = 4;
	u->rew[0] = 1, u->rew[1] = 2;
	u->trunc[0] = 1;
	u->pa_f[0] = 9, u->pa_f[1] = 8;
	u->logp[0] = 2.0f; /* a density may exceed 1 */
	tb_finish(u, &d, 3, 0);
	assert_int_equal(im_store_put(s, &u->t, 0), IM_OK);
	im_batch *b = NULL;
	assert_int_equal(im_batch_new(&b, &d, 1), IM_OK);
	assert_int_equal(im_store_take(s, b, 1000), IM_OK);
	static const float actions[] = {0.5f, -0.5f, 3, 4};
	static const float prev_action[] = {9, 8, 0, 0, 3, 4};
	static const float extra_pa[] = {0.5f, -0.5f};
	assert_null(b->actions);
	assert_null(b->h0);
	assert_floats(b->actions_box, actions, 4, "actions_box");
	assert_floats(b->prev_action_box, prev_action, 6, "prev_action_box");
	assert_int_equal(b->n_extra, 1);
	assert_int_equal(b->extra_index[0], 0);
	assert_floats(b->extra_prev_action_box, extra_pa, 2, "extra_pa");
	static const uint8_t obs_u8[] = {250, 251, 252, 253, 254, 255};
	static const uint8_t extra_u8[] = {7, 255};
	static const uint8_t reset_u8[] = {0, 1, 0};
	assert_int_equal(b->obs_elem, 1);
	assert_memory_equal(b->obs, obs_u8, 6);
	assert_memory_equal(b->extra_obs, extra_u8, 2);
	assert_memory_equal(b->reset, reset_u8, 3);
	assert_int_equal(b->truncated[0], 1);
	assert_int_equal(b->truncated[1], 0);
	check_input_view(b);
	im_batch_free(b);
	im_store_free(s);
	free(u);
}

/* ---- capacity, blocking, order ---- */

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* A full store never makes its writer wait for the learner: the newcomer
 * evicts the oldest queued unroll (the stalest), counted as evicted_full,
 * and the queue keeps its order. */
static void test_full_store_evicts_oldest(void **state)
{
	(void)state;
	im_run_dims d = dims_small();
	im_store *s = new_store(&d, 2, 1);
	fx_traj *a = malloc(sizeof *a);
	for (int i = 0; i < 5; i++) {
		fill_a(a);
		tb_finish(a, &d, 1, 0);
		a->t.unroll_seq = (uint64_t)i;
		assert_int_equal(im_store_put(s, &a->t, 0), IM_OK);
	}
	im_store_stats st;
	im_store_get_stats(s, &st);
	assert_int_equal(st.depth, 2);
	assert_int_equal(st.capacity, 2);
	assert_int_equal(st.put, 5);
	assert_int_equal(st.evicted_full, 3);
	assert_int_equal(st.put_waits, 0);
	im_batch *b = NULL;
	assert_int_equal(im_batch_new(&b, &d, 1), IM_OK);
	assert_int_equal(im_store_take(s, b, 0), IM_OK);
	assert_int_equal(b->meta[0].unroll_seq, 3);
	assert_int_equal(im_store_take(s, b, 0), IM_OK);
	assert_int_equal(b->meta[0].unroll_seq, 4);
	im_store_get_stats(s, &st);
	assert_int_equal(st.taken + st.evicted_full + st.depth, st.put);
	im_batch_free(b);
	im_store_free(s);
	free(a);
}

/* A reserve waits only while every slot is held (capacity + 1: queued,
 * being batched, or reserved), and wakes when one is given back. */
typedef struct reserver {
	im_store *s;
	int rc;
	int started, done; /* atomic */
} reserver;

static void *reserve_thread(void *arg)
{
	reserver *r = arg;
	im_store_slot *slot;
	__atomic_store_n(&r->started, 1, __ATOMIC_RELEASE);
	r->rc = im_store_reserve(r->s, -1, &slot);
	if (r->rc == IM_OK)
		im_store_release(r->s, slot);
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_reserve_waits_for_a_held_slot(void **state)
{
	(void)state;
	im_run_dims d = dims_small();
	im_store *s = new_store(&d, 2, 1);
	im_store_slot *held[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(im_store_reserve(s, 0, &held[i]), IM_OK);
	im_store_slot *extra;
	assert_int_equal(im_store_reserve(s, 0, &extra), IM_ETIMEDOUT);
	uint64_t t0 = im_now_ms();
	assert_int_equal(im_store_reserve(s, 60, &extra), IM_ETIMEDOUT);
	assert_true(im_now_ms() - t0 >= 55);
	reserver r = {s, 1, 0, 0};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, reserve_thread, &r), 0);
	/* Give the thread time to reach the wait once it runs (a loaded
	 * machine can take longer than any fixed sleep to start it; a
	 * release before it waits would not count a wait). */
	for (int i = 0; i < 1000 && !__atomic_load_n(&r.started, __ATOMIC_ACQUIRE); i++)
		sleep_ms(10);
	sleep_ms(100);
	assert_int_equal(__atomic_load_n(&r.done, __ATOMIC_ACQUIRE), 0);
	im_store_release(s, held[0]);
	pthread_join(th, NULL);
	assert_int_equal(r.rc, IM_OK);
	im_store_stats st;
	im_store_get_stats(s, &st);
	assert_true(st.put_waits >= 3);
	im_store_release(s, held[1]);
	im_store_release(s, held[2]);
	im_store_free(s);
}

static void test_fifo_and_min_version(void **state)
{
	(void)state;
	im_run_dims d = dims_small();
	im_store *s = new_store(&d, 6, 2);
	fx_traj *a = malloc(sizeof *a);
	static const uint64_t versions[] = {1, 4, 2, 6, 7};
	for (int i = 0; i < 5; i++) {
		fill_a(a);
		tb_finish(a, &d, 1, versions[i]);
		a->t.unroll_seq = (uint64_t)i;
		assert_int_equal(im_store_put(s, &a->t, 0), IM_OK);
	}
	im_batch *b = NULL;
	assert_int_equal(im_batch_new(&b, &d, 2), IM_OK);
	assert_int_equal(im_store_take(s, b, 0), IM_OK);
	assert_int_equal(b->meta[0].unroll_seq, 0);
	assert_int_equal(b->meta[1].unroll_seq, 1);
	/* Versions below 5 are too old now: seq 2 (v2) goes, 3 and 4 stay. */
	im_store_set_min_version(s, 5);
	assert_int_equal(im_store_take(s, b, 0), IM_OK);
	assert_int_equal(b->meta[0].unroll_seq, 3);
	assert_int_equal(b->meta[1].unroll_seq, 4);
	im_store_stats st;
	im_store_get_stats(s, &st);
	assert_int_equal(st.dropped_lag, 1);
	assert_int_equal(st.depth, 0);
	assert_int_equal(im_store_take(s, b, 30), IM_ETIMEDOUT);
	im_batch_free(b);
	im_store_free(s);
	free(a);
}

typedef struct taker {
	im_store *s;
	im_batch *b;
	int rc;
} taker;

static void *take_thread(void *arg)
{
	taker *k = arg;
	k->rc = im_store_take(k->s, k->b, -1);
	return NULL;
}

static void test_close_wakes_waiters(void **state)
{
	(void)state;
	im_run_dims d = dims_small();
	im_store *full = new_store(&d, 1, 1);
	im_store *empty = new_store(&d, 2, 2);
	fx_traj *a = malloc(sizeof *a);
	fill_a(a);
	tb_finish(a, &d, 1, 0);
	im_store_slot *held[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(im_store_reserve(full, 0, &held[i]), IM_OK);
	assert_int_equal(im_store_put(empty, &a->t, 0), IM_OK);
	im_batch *b = NULL;
	assert_int_equal(im_batch_new(&b, &d, 2), IM_OK);
	reserver p = {full, 1, 0, 0};
	taker k = {empty, b, 1};
	pthread_t tp, tk;
	assert_int_equal(pthread_create(&tp, NULL, reserve_thread, &p), 0);
	assert_int_equal(pthread_create(&tk, NULL, take_thread, &k), 0);
	sleep_ms(100);
	im_store_close(full);
	im_store_close(empty);
	pthread_join(tp, NULL);
	pthread_join(tk, NULL);
	assert_int_equal(p.rc, IM_ECANCELED);
	assert_int_equal(k.rc, IM_ECANCELED);
	assert_int_equal(im_store_put(empty, &a->t, 0), IM_ECANCELED);
	for (int i = 0; i < 2; i++)
		im_store_release(full, held[i]);
	im_batch_free(b);
	im_store_free(full);
	im_store_free(empty);
	free(a);
}

static void test_refuses_misfits(void **state)
{
	(void)state;
	im_run_dims d = dims_small();
	im_store_opts o = {.dims = d, .capacity = 1, .batch_size = 2};
	im_store *s = NULL;
	assert_int_equal(im_store_new(&s, &o), IM_EINVAL);
	assert_null(s);
	s = new_store(&d, 2, 2);
	fx_traj *a = malloc(sizeof *a);
	fill_a(a);
	tb_finish(a, &d, 1, 0);
	a->t.rewards.len = 4;
	assert_int_equal(im_store_put(s, &a->t, 0), IM_ESHAPE);
	/* Each early refusal: a step count other than T, no observations,
	 * flags of another length. */
	tb_finish(a, &d, 1, 0);
	a->t.num_steps -= 1;
	assert_int_equal(im_store_put(s, &a->t, 0), IM_ESHAPE);
	tb_finish(a, &d, 1, 0);
	Impala__Tensor *obs = a->t.obs;
	a->t.obs = NULL;
	assert_int_equal(im_store_put(s, &a->t, 0), IM_ESHAPE);
	a->t.obs = obs;
	a->t.truncated.len -= 1;
	assert_int_equal(im_store_put(s, &a->t, 0), IM_ESHAPE);
	im_batch *b = NULL;
	assert_int_equal(im_batch_new(&b, &d, 3), IM_OK);
	assert_int_equal(im_store_take(s, b, 0), IM_EINVAL);
	im_batch_free(b);
	im_store_free(s);
	free(a);
}

/* A slot's size for the README's case (84x84x4 uint8 frames, T = 80,
 * Discrete, the defaults' 60 slots): the largest valid message and what
 * protobuf-c allocates besides; the observation rows at one byte per
 * value dominate; float32 frames would take four times as much. */
static void test_slot_bytes(void **state)
{
	(void)state;
	im_run_dims d;
	memset(&d, 0, sizeof d);
	d.T = 80;
	d.obs_ndim = 3;
	d.obs_shape[0] = 84, d.obs_shape[1] = 84, d.obs_shape[2] = 4;
	d.obs_numel = 84 * 84 * 4;
	d.obs_dtype = IMPALA__DTYPE__DTYPE_UINT8;
	d.obs_elem = 1;
	d.action_kind = IMPALA__ACTION_KIND__ACTION_DISCRETE;
	d.num_actions = 6;
	d.action_dim = 1;
	size_t frame = 84 * 84 * 4, T = 80;
	size_t got = im_store_slot_bytes(&d);
	assert_true(got >= im_validate_max_trajectory_bytes(&d));
	/* (T+1) obs rows and T final rows, and under 1% besides. */
	assert_true(got >= (2 * T + 1) * frame);
	assert_true(got < (2 * T + 1) * frame / 100 * 101);
	print_message("slot %zu bytes; 60 slots %.1f MiB\n", got,
		      60.0 * (double)got / (1 << 20));
	/* An LSTM adds its two state vectors. */
	d.lstm_hidden = 512;
	assert_int_equal(im_store_slot_bytes(&d), got + 2 * 512 * 4);
	/* The same frames as float32: four bytes a value. */
	d.lstm_hidden = 0;
	d.obs_dtype = IMPALA__DTYPE__DTYPE_FLOAT32;
	d.obs_elem = 4;
	assert_int_equal(im_store_slot_bytes(&d), got + 3 * (2 * T + 1) * frame);
}

/* The largest valid unroll for dims d: every step truncated (T final
 * rows), T episodes, the LSTM state, Box actions, every id at its widest
 * varint; encoded into *buf (the caller's). */
static size_t worst_case(const im_run_dims *d, uint8_t **buf)
{
	size_t T = d->T, n = d->obs_numel, D = d->action_dim, H = d->lstm_hidden;
	float *obs = calloc((T + 1) * n, 4), *fin = calloc(T * n, 4);
	float *act = calloc(T * D, 4), *rew = calloc(T, 4), *logp = calloc(T, 4);
	float *h = calloc(H, 4), *pa = calloc(D, 4);
	uint8_t *term = calloc(T, 1), *trunc = malloc(T);
	Impala__Episode *ep = calloc(T, sizeof *ep);
	Impala__Episode **eps = calloc(T, sizeof *eps);
	assert_non_null(obs && fin && act && rew && logp && h && pa && term &&
			trunc && ep && eps);
	memset(trunc, 1, T);
	for (size_t i = 0; i < T; i++) {
		impala__episode__init(&ep[i]);
		ep[i].episode_return = -1e30f;
		ep[i].length = UINT32_MAX;
		ep[i].truncated = 1;
		eps[i] = &ep[i];
	}
	uint32_t osh[2] = {(uint32_t)T + 1, (uint32_t)n}, fsh[2] = {(uint32_t)T, (uint32_t)n};
	uint32_t ash[2] = {(uint32_t)T, (uint32_t)D}, psh[1] = {(uint32_t)D};
	Impala__Tensor to, tf, ta, tp;
	Impala__DType f32 = IMPALA__DTYPE__DTYPE_FLOAT32;
	fx_tensor(&to, osh, osh[0], osh[1], 2, f32, obs, 4 * (T + 1) * n);
	fx_tensor(&tf, fsh, fsh[0], fsh[1], 2, f32, fin, 4 * T * n);
	fx_tensor(&ta, ash, ash[0], ash[1], 2, f32, act, 4 * T * D);
	fx_tensor(&tp, psh, psh[0], 0, 1, f32, pa, 4 * D);
	Impala__Trajectory t = IMPALA__TRAJECTORY__INIT;
	t.protocol_version = UINT32_MAX;
	t.run_id = t.actor_id = t.unroll_seq = t.param_version = UINT64_MAX;
	t.env_index = UINT32_MAX;
	t.num_steps = (uint32_t)T;
	t.obs = &to, t.final_obs = &tf, t.actions = &ta, t.prev_action = &tp;
	t.rewards = (ProtobufCBinaryData){4 * T, (uint8_t *)rew};
	t.behaviour_logp = (ProtobufCBinaryData){4 * T, (uint8_t *)logp};
	t.terminated = (ProtobufCBinaryData){T, term};
	t.truncated = (ProtobufCBinaryData){T, trunc};
	t.lstm_h = t.lstm_c = (ProtobufCBinaryData){4 * H, (uint8_t *)h};
	t.prev_reward = 1;
	t.n_episodes = T;
	t.episodes = eps;
	size_t len = 0;
	assert_int_equal(im_wire_encode(&t.base, buf, &len), IM_OK);
	free(obs), free(fin), free(act), free(rew), free(logp), free(h);
	free(pa), free(term), free(trunc), free(ep), free(eps);
	return len;
}

/* The largest valid unroll decodes into a slot, for short and long
 * unrolls (the decode's own allocations grow with T), and the store
 * batches it like any other. */
static void test_worst_case_fits_a_slot(void **state)
{
	(void)state;
	static const uint32_t Ts[] = {1, 8, 80, 1000, 20000};
	for (size_t i = 0; i < sizeof Ts / sizeof Ts[0]; i++) {
		im_run_dims d;
		memset(&d, 0, sizeof d);
		d.T = Ts[i];
		d.obs_ndim = 1;
		d.obs_shape[0] = 2;
		d.obs_numel = 2;
		d.obs_dtype = IMPALA__DTYPE__DTYPE_FLOAT32;
		d.obs_elem = 4;
		d.action_kind = IMPALA__ACTION_KIND__ACTION_BOX;
		d.action_dim = 3;
		d.lstm_hidden = 16;
		uint8_t *buf = NULL;
		size_t len = worst_case(&d, &buf);
		size_t max = im_validate_max_trajectory_bytes(&d);
		assert_true(len <= max);
		im_store *s = NULL;
		im_store_opts o = {.dims = d, .capacity = 1, .batch_size = 1};
		assert_int_equal(im_store_new(&s, &o), IM_OK);
		im_store_slot *slot = NULL;
		Impala__Trajectory *t = NULL;
		assert_int_equal(im_store_reserve(s, 0, &slot), IM_OK);
		if (im_store_decode(slot, buf, len, max, &t) != IM_OK)
			fail_msg("T %u: a %zu-byte valid unroll does not fit a "
				 "%zu-byte slot",
				 d.T, len, im_store_slot_bytes(&d));
		assert_int_equal(t->n_episodes, d.T);
		assert_int_equal(im_store_commit(s, slot), IM_OK);
		im_batch *b = NULL;
		assert_int_equal(im_batch_new(&b, &d, 1), IM_OK);
		assert_int_equal(im_store_take(s, b, 0), IM_OK);
		assert_int_equal(b->n_extra, d.T);
		assert_int_equal(b->meta[0].n_episodes, d.T);
		assert_int_equal(b->meta[0].episode_length[d.T - 1], UINT32_MAX);
		im_batch_free(b);
		im_store_free(s);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_layout),
		cmocka_unit_test(test_batch_u8_box),
		cmocka_unit_test(test_slot_bytes),
		cmocka_unit_test(test_worst_case_fits_a_slot),
		cmocka_unit_test(test_full_store_evicts_oldest),
		cmocka_unit_test(test_reserve_waits_for_a_held_slot),
		cmocka_unit_test(test_fifo_and_min_version),
		cmocka_unit_test(test_close_wakes_waiters),
		cmocka_unit_test(test_refuses_misfits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
