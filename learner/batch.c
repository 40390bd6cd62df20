// SPDX-License-Identifier: Apache-2.0
#include "batch.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

/* The wire's arrays are little-endian and read natively here. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "batch.c reads little-endian wire arrays natively; add byte swaps"
#endif

/* The arrays of one validated Trajectory, as bytes in the wire's layout. */
typedef struct im_batch_unroll {
	const uint8_t *obs;         /* (T+1, obs_numel) */
	const uint8_t *final_obs;   /* (n_truncated, obs_numel) or NULL */
	const uint8_t *actions;     /* (T, D) int32 or float32 */
	const uint8_t *rewards;     /* (T) float32 */
	const uint8_t *terminated;  /* (T) */
	const uint8_t *truncated;   /* (T) */
	const uint8_t *logp;        /* (T) float32 */
	const uint8_t *prev_action; /* (D), NULL: zeros */
} unroll;

static unroll view(const Impala__Trajectory *t)
{
	return (unroll){
		.obs = t->obs->data.data,
		.final_obs = t->final_obs ? t->final_obs->data.data : NULL,
		.actions = t->actions->data.data,
		.rewards = t->rewards.data,
		.terminated = t->terminated.data,
		.truncated = t->truncated.data,
		.logp = t->behaviour_logp.data,
		.prev_action = t->prev_action ? t->prev_action->data.data : NULL,
	};
}

static float f32_at(const uint8_t *p, size_t i)
{
	float v;
	memcpy(&v, p + 4 * i, sizeof v);
	return v;
}

/* Action row `at` of a Discrete (int32) or Box (D floats) array; src NULL
 * writes zeros ("no action"). */
static void put_action(im_batch *b, size_t at, const uint8_t *src,
		       int32_t *dst_i, float *dst_f)
{
	void *dst = b->discrete ? (void *)&dst_i[at]
				: (void *)&dst_f[at * b->action_dim];
	size_t n = b->discrete ? sizeof(int32_t) : 4 * (size_t)b->action_dim;
	if (src)
		memcpy(dst, src, n);
	else
		memset(dst, 0, n);
}

/* Step-0 inputs and the per-step arrays of unroll bi. */
static void fill_steps(im_batch *b, const unroll *u, const Impala__Trajectory *t,
		       uint32_t bi)
{
	size_t B = b->B, row = b->obs_numel * b->obs_elem, D = b->action_dim;
	uint8_t *obs = b->obs;
	/* Rows in the wire's dtype, as they came: bytes stay bytes. */
	for (size_t s = 0; s <= b->T; s++)
		memcpy(&obs[(s * B + bi) * row], &u->obs[s * row], row);
	put_action(b, bi, u->prev_action, b->prev_action, b->prev_action_box);
	b->prev_reward[bi] = t->prev_reward;
	b->reset[bi] = 0;
	for (size_t s = 0; s < b->T; s++) {
		size_t at = s * B + bi, next = at + B;
		const uint8_t *a = &u->actions[s * D * 4];
		uint8_t term = u->terminated[s] != 0, trunc = u->truncated[s] != 0;
		float r = f32_at(u->rewards, s);
		put_action(b, at, a, b->actions, b->actions_box);
		b->rewards[at] = r;
		b->terminated[at] = term;
		b->truncated[at] = trunc;
		b->behaviour_logp[at] = f32_at(u->logp, s);
		b->reset[next] = term | trunc;
		b->prev_reward[next] = term | trunc ? 0.0f : r;
		put_action(b, next, term | trunc ? NULL : a, b->prev_action,
			   b->prev_action_box);
	}
}

/* Accounting and the LSTM state of unroll bi. */
static void fill_meta(im_batch *b, const Impala__Trajectory *t, uint32_t bi)
{
	size_t off = (size_t)bi * b->T;
	for (size_t i = 0; i < t->n_episodes; i++) {
		b->ep_return[off + i] = t->episodes[i]->episode_return;
		b->ep_length[off + i] = t->episodes[i]->length;
		b->ep_truncated[off + i] = t->episodes[i]->truncated ? 1 : 0;
	}
	b->meta[bi] = (im_unroll_meta){
		.actor_id = t->actor_id,
		.unroll_seq = t->unroll_seq,
		.param_version = t->param_version,
		.env_index = t->env_index,
		.n_episodes = (uint32_t)t->n_episodes,
		.episode_return = &b->ep_return[off],
		.episode_length = &b->ep_length[off],
		.episode_truncated = &b->ep_truncated[off],
	};
	if (b->lstm_hidden) {
		size_t H = b->lstm_hidden;
		memcpy(&b->h0[bi * H], t->lstm_h.data, H * sizeof(float));
		memcpy(&b->c0[bi * H], t->lstm_c.data, H * sizeof(float));
	}
}

/* Bootstrap rows for truncated steps, in ascending t*B + b. */
static void fill_extra(im_batch *b, const unroll *u, uint32_t *rows)
{
	size_t B = b->B, n = b->obs_numel * b->obs_elem, D = b->action_dim;
	uint8_t *extra_obs = b->extra_obs;
	uint32_t k = 0;
	/* rows[bi]: truncations seen so far in unroll bi, which is the row
	 * of its final_obs that belongs to the next one. */
	memset(rows, 0, B * sizeof *rows);
	for (size_t s = 0; s < b->T; s++) {
		for (size_t bi = 0; bi < B; bi++) {
			if (!u[bi].truncated[s])
				continue;
			uint32_t row = rows[bi]++;
			b->extra_index[k] = (int32_t)(s * B + bi);
			memcpy(&extra_obs[(size_t)k * n],
			       &u[bi].final_obs[(size_t)row * n], n);
			put_action(b, k, &u[bi].actions[s * D * 4],
				   b->extra_prev_action, b->extra_prev_action_box);
			b->extra_prev_reward[k] = f32_at(u[bi].rewards, s);
			k++;
		}
	}
	b->n_extra = k;
	b->input.extra.n = (int)k;
}

void im_batch_fill(im_batch *b, const Impala__Trajectory *const *ts)
{
	for (uint32_t i = 0; i < b->B; i++) {
		b->views[i] = view(ts[i]);
		fill_steps(b, &b->views[i], ts[i], i);
		fill_meta(b, ts[i], i);
	}
	fill_extra(b, b->views, b->rows);
}

int im_batch_matches(const im_batch *b, const im_run_dims *d, uint32_t B)
{
	return b->T == d->T && b->B == B && b->obs_numel == d->obs_numel &&
	       b->obs_elem == d->obs_elem && b->action_dim == d->action_dim &&
	       b->lstm_hidden == d->lstm_hidden &&
	       b->discrete == (d->action_kind ==
			       IMPALA__ACTION_KIND__ACTION_DISCRETE);
}

void im_batch_free(im_batch *b)
{
	if (!b)
		return;
	void *arrays[] = {b->obs, b->actions, b->actions_box, b->rewards,
			  b->terminated, b->truncated, b->behaviour_logp, b->prev_action,
			  b->prev_action_box, b->prev_reward, b->reset, b->h0, b->c0,
			  b->extra_index, b->extra_obs, b->extra_prev_action,
			  b->extra_prev_action_box, b->extra_prev_reward, b->meta,
			  b->ep_return, b->ep_length, b->ep_truncated, b->views, b->rows};
	for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
		free(arrays[i]);
	free(b);
}

/* Arrays of the action type: int32 for Discrete, float for Box. */
static int alloc_actions(im_batch *b, size_t TB, size_t T1B)
{
	size_t D = b->action_dim;
	if (b->discrete) {
		b->actions = malloc(TB * sizeof(int32_t));
		b->prev_action = malloc(T1B * sizeof(int32_t));
		b->extra_prev_action = malloc(TB * sizeof(int32_t));
		return b->actions && b->prev_action && b->extra_prev_action;
	}
	b->actions_box = malloc(TB * D * sizeof(float));
	b->prev_action_box = malloc(T1B * D * sizeof(float));
	b->extra_prev_action_box = malloc(TB * D * sizeof(float));
	return b->actions_box && b->prev_action_box && b->extra_prev_action_box;
}

/* Every array but the actions'; 1 when all were allocated. */
static int alloc_arrays(im_batch *b)
{
	size_t B = b->B, TB = (size_t)b->T * B, T1B = TB + B;
	size_t row = b->obs_numel * b->obs_elem, H = b->lstm_hidden;
	b->obs = malloc(T1B * row);
	b->rewards = malloc(TB * sizeof(float));
	b->terminated = malloc(TB);
	b->truncated = malloc(TB);
	b->behaviour_logp = malloc(TB * sizeof(float));
	b->prev_reward = malloc(T1B * sizeof(float));
	b->reset = malloc(T1B);
	b->extra_index = malloc(TB * sizeof(int32_t));
	b->extra_obs = malloc(TB * row);
	b->extra_prev_reward = malloc(TB * sizeof(float));
	b->meta = calloc(B, sizeof *b->meta);
	b->ep_return = malloc(TB * sizeof(float));
	b->ep_length = malloc(TB * sizeof(uint32_t));
	b->ep_truncated = malloc(TB);
	b->views = malloc(B * sizeof *b->views);
	b->rows = malloc(B * sizeof *b->rows);
	int ok = b->obs && b->rewards && b->terminated && b->truncated &&
		 b->behaviour_logp && b->prev_reward && b->reset &&
		 b->extra_index && b->extra_obs && b->extra_prev_reward &&
		 b->meta && b->ep_return && b->ep_length && b->ep_truncated &&
		 b->views && b->rows;
	if (ok && H) {
		b->h0 = malloc(B * H * sizeof(float));
		b->c0 = malloc(B * H * sizeof(float));
		ok = b->h0 && b->c0;
	}
	return ok;
}

/* The update's view of b (im_update_batch): every pointer into b. */
static void set_input(im_batch *b)
{
	b->input = (im_update_batch){
		.in = {(int)b->T + 1, (int)b->B, b->obs, b->prev_action,
		       b->prev_action_box, b->prev_reward, b->reset},
		.h0 = b->h0,
		.c0 = b->c0,
		.extra = {0, b->extra_index, b->extra_obs, b->extra_prev_action,
			  b->extra_prev_action_box, b->extra_prev_reward},
		.act_discrete = b->actions,
		.act_box = b->actions_box,
		.behaviour_logp = b->behaviour_logp,
		.rewards = b->rewards,
		.terminated = b->terminated,
		.truncated = b->truncated,
	};
}

int im_batch_new(im_batch **out, const im_run_dims *d, uint32_t B)
{
	if (!out || !d || B == 0 || d->T == 0 || d->obs_numel == 0 ||
	    (d->obs_elem != 1 && d->obs_elem != 4))
		return IM_EINVAL;
	im_batch *b = calloc(1, sizeof *b);
	if (!b)
		return IM_ENOMEM;
	b->T = d->T;
	b->B = B;
	b->obs_numel = d->obs_numel;
	b->obs_elem = d->obs_elem;
	b->action_dim = d->action_dim;
	b->lstm_hidden = d->lstm_hidden;
	b->discrete = d->action_kind == IMPALA__ACTION_KIND__ACTION_DISCRETE;
	if (!alloc_arrays(b) || !alloc_actions(b, (size_t)d->T * B,
					       (size_t)(d->T + 1) * B)) {
		im_batch_free(b);
		return IM_ENOMEM;
	}
	set_input(b);
	*out = b;
	return IM_OK;
}
