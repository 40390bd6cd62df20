// SPDX-License-Identifier: Apache-2.0
/* The actor's side, on one core (OpenBLAS at 1 thread), in frames per
 * second, each stage adding to the previous one:
 *   model    im_model_act for k environments (MLP 2x64, obs 4, 2 actions)
 *   act      model + categorical sampling with log-probabilities
 *            (common/learn/dist.h): the acting step of issue 3, target
 *            2M frames/s at k = 32
 *   act_lstm the same with an LSTM core of 64
 *   rollout  im_rollout_run on CartPole-v1: act + environment step + the
 *            unroll record (T = 80), as impala-actor runs it
 *   encode   rollout + packing every environment's Trajectory (protobuf),
 *            everything an actor does but the send
 *   decode   the learner's receiver work per Trajectory: decode and
 *            validate (frames/s it can accept on one core)
 * Medians of repeated timings; the last line of stdout is one JSON object
 * (it also gives the encoded Trajectory size for the transport benchmark).
 *
 * Usage: bench_act [--seconds S] [--k K] [--T T]
 *   S: seconds per stage (default 1); K: environments (default 32). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "learn/dist.h"
#include "nn/model.h"
#include "rollout.h"
#include "runspec.h"
#include "validate.h"
#include "wire.h"

enum { OBS = 4,
       A = 2,
       MAXK = 1024 };

typedef struct act_ctx {
	im_model *m;
	im_model_ws *ws;
	im_model_input in;
	im_rng rng;
	int k, H, sample;
	float obs[MAXK * OBS], prew[MAXK], pol[MAXK * A], base[MAXK];
	float logp[MAXK], *h, *c;
	int32_t pact[MAXK], act[MAXK];
} act_ctx;

static void act_step(void *p)
{
	act_ctx *a = p;
	im_model_act(a->ws, im_model_params(a->m), &a->in, a->h, a->c, a->pol,
		     a->base);
	if (a->sample)
		im_dist_cat_sample(a->act, a->logp, a->pol, a->k, A, &a->rng);
	/* feed the actions back, as the rollout does */
	memcpy(a->pact, a->act, (size_t)a->k * sizeof(int32_t));
}

static int act_setup(act_ctx *a, int k, int lstm, int sample)
{
	memset(a, 0, sizeof *a);
	im_obs_space obs = {.ndim = 1, .shape = {OBS}};
	im_act_space act = {.kind = IM_ACT_DISCRETE, .n = A};
	im_model_spec s;
	im_model_spec_default(&s, &obs, &act, 64);
	s.use_lstm = lstm > 0;
	s.lstm_hidden = lstm > 0 ? lstm : 1;
	a->k = k;
	a->H = lstm;
	a->sample = sample;
	im_rng_init(&a->rng, 3);
	unsigned seed = 5;
	for (int i = 0; i < k * OBS; i++)
		a->obs[i] = (float)rand_r(&seed) / RAND_MAX - 0.5f;
	if (im_model_new(&a->m, &s) || im_model_ws_new(&a->ws, a->m, 1, k))
		return -1;
	if (lstm) {
		a->h = calloc((size_t)k * lstm, sizeof(float));
		a->c = calloc((size_t)k * lstm, sizeof(float));
		if (!a->h || !a->c)
			return -1;
	}
	a->in = (im_model_input){.T1 = 1, .B = k, .obs = a->obs, .prev_action = a->pact, .prev_reward = a->prew};
	return 0;
}

static void act_teardown(act_ctx *a)
{
	im_model_ws_free(a->ws);
	im_model_free(a->m);
	free(a->h), free(a->c);
}

/* Median frames/s of one acting configuration (k frames per call). */
static double act_fps(int k, int lstm, int sample, double seconds)
{
	act_ctx *a = calloc(1, sizeof *a);
	double fps = 0;
	if (a && !act_setup(a, k, lstm, sample))
		fps = k / bench_median_time(act_step, a, seconds, 100, 50,
					    NULL, NULL);
	if (a)
		act_teardown(a);
	free(a);
	return fps;
}

typedef struct roll_ctx {
	im_rollout *r;
	im_runspec_store spec;
	im_run_dims dims;
	int encode, k, T;
	uint64_t seq;
	uint8_t *buf; /* packed Trajectories, one slot each */
	size_t cap, last_len;
	uint8_t **msgs; /* (k) copies for the decode stage */
	size_t *lens;
} roll_ctx;

static void roll_step(void *p)
{
	roll_ctx *c = p;
	if (im_rollout_run(c->r, 1))
		abort();
	for (int i = 0; c->encode && i < c->k; i++) {
		Impala__Trajectory *t;
		im_rollout_trajectory(c->r, i, 1, 1, c->seq++, &t);
		size_t n = protobuf_c_message_get_packed_size(&t->base);
		if (n > c->cap) {
			free(c->buf);
			c->cap = 2 * n;
			c->buf = malloc(c->cap);
			if (!c->buf)
				abort();
		}
		c->last_len = protobuf_c_message_pack(&t->base, c->buf);
	}
}

static int roll_setup(roll_ctx *c, int k, int T)
{
	memset(c, 0, sizeof *c);
	im_obs_space obs = {.ndim = 1, .shape = {OBS}};
	im_act_space act = {.kind = IM_ACT_DISCRETE, .n = A};
	im_model_spec s;
	im_model_spec_default(&s, &obs, &act, 64);
	im_model *m;
	if (im_model_new(&m, &s))
		return -1;
	size_t np = im_model_num_params(m);
	im_model_free(m);
	char err[256];
	c->k = k;
	c->T = T;
	if (im_runspec_build(&c->spec, 1, "CartPole-v1", (uint32_t)T, 1, &s,
			     np) ||
	    im_validate_dims(&c->dims, &c->spec.spec) ||
	    im_rollout_new(&c->r, &c->spec.spec, k, 1, err, sizeof err)) {
		fprintf(stderr, "rollout: %s\n", err);
		return -1;
	}
	return 0;
}

/* Packs one unroll of every environment into c->msgs for decoding. */
static int keep_messages(roll_ctx *c)
{
	c->msgs = calloc((size_t)c->k, sizeof(uint8_t *));
	c->lens = calloc((size_t)c->k, sizeof(size_t));
	if (!c->msgs || !c->lens || im_rollout_run(c->r, 1))
		return -1;
	for (int i = 0; i < c->k; i++) {
		Impala__Trajectory *t;
		im_rollout_trajectory(c->r, i, 1, 1, (uint64_t)i, &t);
		if (im_wire_encode(&t->base, &c->msgs[i], &c->lens[i]))
			return -1;
	}
	return 0;
}

static void decode_step(void *p)
{
	roll_ctx *c = p;
	im_validate_state st = {.run_id = 1, .param_version = 1};
	size_t max = im_validate_max_trajectory_bytes(&c->dims);
	for (int i = 0; i < c->k; i++) {
		Impala__Trajectory *t;
		if (im_wire_decode_trajectory(c->msgs[i], c->lens[i], max, &t))
			abort();
		if (im_validate_trajectory(t, &c->dims, &st, NULL, 0) !=
		    IM_REJECT_OK)
			abort();
		impala__trajectory__free_unpacked(t, NULL);
	}
}

static void roll_teardown(roll_ctx *c)
{
	im_rollout_free(c->r);
	for (int i = 0; c->msgs && i < c->k; i++)
		free(c->msgs[i]);
	free(c->msgs), free(c->lens), free(c->buf);
}

int main(int argc, char **argv)
{
	double seconds = 1.0;
	int k = 32, T = 80;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--k"))
			k = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--T"))
			T = atoi(argv[i + 1]);
	}
	if (!(seconds > 0) || k < 1 || k > MAXK || T < 1) {
		fprintf(stderr, "usage: bench_act [--seconds S] [--k 1..%d] "
				"[--T T]\n",
			MAXK);
		return 2;
	}
	openblas_set_num_threads(1);
	double model = act_fps(k, 0, 0, seconds);
	double act = act_fps(k, 0, 1, seconds);
	double act_lstm = act_fps(k, 64, 1, seconds);
	printf("k=%d 2x64: model %.0f frames/s, act (model + sample + logp) "
	       "%.0f frames/s, with LSTM 64 %.0f frames/s\n",
	       k, model, act,
	       act_lstm);

	static roll_ctx c;
	if (roll_setup(&c, k, T))
		return 1;
	double per = (double)k * T;
	double roll = per / bench_median_time(roll_step, &c, seconds, 2, 5,
					      NULL, NULL);
	c.encode = 1;
	double enc = per / bench_median_time(roll_step, &c, seconds, 2, 5,
					     NULL, NULL);
	if (keep_messages(&c))
		return 1;
	double dec = per / bench_median_time(decode_step, &c, seconds, 2, 5,
					     NULL, NULL);
	printf("CartPole-v1 k=%d T=%d: rollout %.0f frames/s, + encode %.0f "
	       "frames/s (%zu bytes per Trajectory); learner decode + validate "
	       "%.0f frames/s\n",
	       k, T, roll, enc, c.last_len, dec);
	printf("{\"k\": %d, \"T\": %d, \"act_frames_per_s\": {\"model\": %.0f, "
	       "\"act\": %.0f, \"act_lstm64\": %.0f}, \"rollout_frames_per_s\": "
	       "%.0f, \"rollout_encode_frames_per_s\": %.0f, "
	       "\"trajectory_bytes\": %zu, \"decode_validate_frames_per_s\": "
	       "%.0f, \"act_target\": 2000000, \"act_target_met\": %s}\n",
	       k, T,
	       model, act, act_lstm, roll, enc, c.last_len, dec,
	       act >= 2e6 ? "true" : "false");
	roll_teardown(&c);
	return 0;
}
