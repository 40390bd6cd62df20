// SPDX-License-Identifier: Apache-2.0
/* The learner's path from an encoded Trajectory to the update's batch:
 * decode, store, take (time-major batch), per unroll, for three shapes of
 * run (CartPole-like float32 vectors, MinAtar-like 10x10x4 uint8 grids,
 * Atari-like 84x84x4 uint8 frames).  Prints the median microseconds per
 * unroll over rounds of `capacity` ingests followed by the takes that
 * empty the store, and the bytes the path copies per unroll (payload
 * bytes of the Trajectory times the number of copies), then one JSON
 * line.
 *
 *     build/tests/bench/bench_store [--seconds 1]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "err.h"
#include "store.h"
#include "wire.h"

/* Copies of a Trajectory's arrays between the wire and the update's
 * input: protobuf-c's decode (straight into a store slot), the batch. */
#define COPIES 2

typedef struct cfg {
	const char *name;
	uint32_t T, B, cap;
	size_t obs_numel;
	int u8;
} cfg;

typedef struct ctx {
	const cfg *c;
	im_run_dims d;
	im_store *s;
	im_batch *b;
	uint8_t *msg;
	size_t len, max;
} ctx;

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525u + 1013904223u;
		p[i] = (uint8_t)(seed >> 24);
	}
}

/* One unroll of T Discrete steps; a truncation every 50 steps (CartPole's
 * time limits are rarer, but the bootstrap rows must be exercised). */
static int encode(ctx *x)
{
	const im_run_dims *d = &x->d;
	size_t T = d->T, row = d->obs_numel * d->obs_elem;
	size_t ntr = (T - 1) / 50 + 1;
	uint8_t *obs = malloc((T + 1) * row), *fin = malloc(ntr * row);
	int32_t *act = calloc(T, 4);
	float *rew = malloc(4 * T), *logp = malloc(4 * T);
	uint8_t *term = calloc(T, 1), *trunc = calloc(T, 1);
	if (!obs || !fin || !act || !rew || !logp || !term || !trunc)
		return IM_ENOMEM;
	fill(obs, (T + 1) * row, 1);
	fill(fin, ntr * row, 2);
	if (d->obs_elem == 4) /* small finite floats */
		for (size_t i = 0; i < (T + 1) * d->obs_numel; i++)
			((float *)obs)[i] = (float)(i % 7) * 0.1f;
	for (size_t t = 0; t < T; t++) {
		rew[t] = 1.0f;
		logp[t] = -0.69f;
		act[t] = (int32_t)(t % 2);
		trunc[t] = t % 50 == 49 || t == T - 1;
	}
	Impala__DType dt = d->obs_elem == 1 ? IMPALA__DTYPE__DTYPE_UINT8
					    : IMPALA__DTYPE__DTYPE_FLOAT32;
	uint32_t osh[2] = {d->T + 1, (uint32_t)d->obs_numel};
	uint32_t fsh[2] = {(uint32_t)ntr, (uint32_t)d->obs_numel};
	uint32_t ash[1] = {d->T};
	Impala__Tensor to = IMPALA__TENSOR__INIT, tf = IMPALA__TENSOR__INIT,
		       ta = IMPALA__TENSOR__INIT;
	to = (Impala__Tensor){to.base, 2, osh, dt, {(T + 1) * row, obs}};
	tf = (Impala__Tensor){tf.base, 2, fsh, dt, {ntr * row, fin}};
	ta = (Impala__Tensor){ta.base, 1, ash, IMPALA__DTYPE__DTYPE_INT32, {4 * T, (uint8_t *)act}};
	Impala__Trajectory t = IMPALA__TRAJECTORY__INIT;
	t.num_steps = d->T;
	t.obs = &to;
	t.final_obs = &tf;
	t.actions = &ta;
	t.rewards = (ProtobufCBinaryData){4 * T, (uint8_t *)rew};
	t.behaviour_logp = (ProtobufCBinaryData){4 * T, (uint8_t *)logp};
	t.terminated = (ProtobufCBinaryData){T, term};
	t.truncated = (ProtobufCBinaryData){T, trunc};
	int rc = im_wire_encode(&t.base, &x->msg, &x->len);
	free(obs), free(fin), free(act), free(rew), free(logp), free(term),
		free(trunc);
	return rc;
}

/* The receiver's part (less validation): encoded bytes into the store. */
static int ingest(ctx *x)
{
	im_store_slot *slot;
	Impala__Trajectory *t;
	int rc = im_store_reserve(x->s, 0, &slot);
	if (rc != IM_OK)
		return rc;
	rc = im_store_decode(slot, x->msg, x->len, x->max, &t);
	if (rc != IM_OK) {
		im_store_release(x->s, slot);
		return rc;
	}
	return im_store_commit(x->s, slot);
}

/* One round: fill the store, then take it empty. */
static void round_trip(void *p)
{
	ctx *x = p;
	for (uint32_t i = 0; i < x->c->cap; i++)
		if (ingest(x) != IM_OK)
			abort();
	for (uint32_t i = 0; i < x->c->cap / x->c->B; i++)
		if (im_store_take(x->s, x->b, 0) != IM_OK)
			abort();
}

static int setup(ctx *x, const cfg *c)
{
	memset(x, 0, sizeof *x);
	x->c = c;
	x->d = (im_run_dims){
		.T = c->T, .obs_ndim = 1, .obs_shape = {(uint32_t)c->obs_numel}, .obs_numel = c->obs_numel, .obs_dtype = c->u8 ? IMPALA__DTYPE__DTYPE_UINT8 : IMPALA__DTYPE__DTYPE_FLOAT32, .obs_elem = c->u8 ? 1 : 4, .action_kind = IMPALA__ACTION_KIND__ACTION_DISCRETE, .num_actions = 2, .action_dim = 1};
	x->max = im_validate_max_trajectory_bytes(&x->d);
	im_store_opts so = {.dims = x->d, .capacity = c->cap, .batch_size = c->B};
	int rc = encode(x);
	if (rc == IM_OK)
		rc = im_store_new(&x->s, &so);
	if (rc == IM_OK)
		rc = im_batch_new(&x->b, &x->d, c->B);
	return rc;
}

static void teardown(ctx *x)
{
	im_batch_free(x->b);
	im_store_free(x->s);
	free(x->msg);
}

/* The arrays one unroll carries: what each copy moves. */
static size_t payload_bytes(const im_run_dims *d)
{
	size_t T = d->T, row = d->obs_numel * d->obs_elem;
	size_t ntr = (T - 1) / 50 + 1;
	return (T + 1 + ntr) * row + T * (4 + 4 + 1 + 1 + 4);
}

int main(int argc, char **argv)
{
	double seconds = 1.0;
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[++i]);
	static const cfg cfgs[] = {
		{"cartpole", 80, 32, 96, 4, 0},
		{"minatar", 80, 32, 96, 400, 1},
		{"atari", 80, 4, 16, 84 * 84 * 4, 1},
	};
	size_t n = sizeof cfgs / sizeof cfgs[0];
	printf("decode + store + take per unroll, %d copies\n", COPIES);
	printf("{\"copies\": %d, \"configs\": {", COPIES);
	char line[4096];
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		ctx x;
		if (setup(&x, &cfgs[i]) != IM_OK) {
			fprintf(stderr, "bench_store: setup failed\n");
			return 1;
		}
		int reps = 0;
		double s = bench_median_time(round_trip, &x, seconds, 2, 5,
					     &reps, NULL);
		double us = 1e6 * s / cfgs[i].cap;
		size_t bytes = payload_bytes(&x.d) * COPIES;
		fprintf(stderr, "%-9s T %u B %u: %.2f us an unroll, %zu bytes "
				"copied an unroll (%zu-byte message), %d rounds\n",
			cfgs[i].name, cfgs[i].T, cfgs[i].B, us, bytes, x.len, reps);
		at += (size_t)snprintf(line + at, sizeof line - at,
				       "%s\"%s\": {\"us_per_unroll\": %.3f, "
				       "\"bytes_copied_per_unroll\": %zu, "
				       "\"message_bytes\": %zu}",
				       i ? ", " : "", cfgs[i].name, us, bytes,
				       x.len);
		teardown(&x);
	}
	printf("%s}}\n", line);
	return 0;
}
