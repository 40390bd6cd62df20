// SPDX-License-Identifier: Apache-2.0
/* The actor's and the learner's halves agree: an unroll acted by the
 * actor's rollout, encoded, decoded, validated, stored and batched, is
 * evaluated by the learner's forward (at the same parameters) to exactly
 * the behaviour log-probabilities the actor recorded.  This pins down every
 * convention the two sides share: observation alignment, the LSTM state
 * sent at step 0, resets after episode ends, previous action and reward,
 * Box samples versus clipped actions, uint8 frames and their scale (the
 * example grid plugin, whose path is argv[1]), and the conv encoder on
 * MinAtar's sparse frames (a convolution may take the direct or the
 * lowered path depending on its batch: im_nn_conv2d_direct_pays). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "learn/dist.h"
#include "learn/update.h"
#include "rollout.h"
#include "runspec.h"
#include "store.h"
#include "validate.h"
#include "wire.h"

typedef struct pcase {
	const char *name;
	const char *env;
	int use_lstm;
	int T, k, unrolls;
	im_nn_encoder_kind encoder;
} pcase;

/* "plugin:" and the grid plugin's path, or "" when not given. */
static char grid_spec[1024];

static void run_case(const pcase *c)
{
	char err[256] = "";
	/* The run spec the learner would send. */
	im_model_spec ms;
	memset(&ms, 0, sizeof ms);
	im_rollout *probe = NULL;
	im_runspec_store rs;
	/* Spaces: build a throwaway rollout from a minimal spec? Simpler:
	 * take them from the environment registry through a vecenv-free
	 * path: the rollout checks them against the spec anyway. */
	extern int pipeline_spaces(const char *env, im_model_spec *ms);
	assert_int_equal(pipeline_spaces(c->env, &ms), 0);
	ms.hidden_dim = 16;
	ms.num_hidden_layers = 1;
	ms.feature_dim = 16;
	ms.use_lstm = c->use_lstm;
	ms.lstm_hidden = c->use_lstm ? 8 : 0;
	ms.seed = 5;
	ms.encoder = c->encoder;
	im_model *lm = NULL; /* the learner's model */
	assert_int_equal(im_model_new(&lm, &ms), IM_OK);
	assert_int_equal(im_runspec_build(&rs, 77, c->env, (uint32_t)c->T, 9, &ms,
					  im_model_num_params(lm)),
			 IM_OK);
	assert_int_equal(im_rollout_new(&probe, &rs.spec, c->k, 3, err, sizeof err), IM_OK);
	/* Same parameters on both sides, scaled up so the policy is far
	 * from uniform and mistakes show. */
	size_t np = im_model_num_params(lm);
	float *p = im_model_params(lm);
	for (size_t i = 0; i < np; i++)
		p[i] *= 3.0f;
	memcpy(im_rollout_params(probe), p, np * sizeof(float));

	im_run_dims dims;
	assert_int_equal(im_validate_dims(&dims, &rs.spec), IM_OK);
	im_store *st = NULL;
	im_store_opts so = {.dims = dims, .capacity = (uint32_t)c->k, .batch_size = (uint32_t)c->k};
	assert_int_equal(im_store_new(&st, &so), IM_OK);
	im_batch *b = NULL;
	assert_int_equal(im_batch_new(&b, &dims, (uint32_t)c->k), IM_OK);
	im_update *u = NULL;
	assert_int_equal(im_update_new(&u, lm, c->T, c->k), IM_OK);
	float *grads = calloc(np, sizeof(float));
	int n = im_model_policy_dim(lm);
	int discrete = ms.act.kind == IM_ACT_DISCRETE;
	float *logp = malloc((size_t)c->T * (size_t)c->k * sizeof(float));
	double worst = 0;
	for (int round = 0; round < c->unrolls; round++) {
		assert_int_equal(im_rollout_run(probe, 0), IM_OK);
		for (int e = 0; e < c->k; e++) {
			Impala__Trajectory *t, *d = NULL;
			im_rollout_trajectory(probe, e, 77, 3, (uint64_t)round, &t);
			uint8_t *buf;
			size_t len;
			assert_int_equal(im_wire_encode(&t->base, &buf, &len), IM_OK);
			assert_int_equal(im_wire_decode_trajectory(buf, len, IM_WIRE_MAX_TRAJECTORY, &d), IM_OK);
			im_validate_state vs = {.run_id = 77, .param_version = 0};
			char why[200];
			im_reject r = im_validate_trajectory(d, &dims, &vs, why, sizeof why);
			if (r != IM_REJECT_OK)
				fail_msg("%s: rejected: %s", c->name, why);
			assert_int_equal(im_store_put(st, d, 0), IM_OK);
			impala__trajectory__free_unpacked(d, NULL);
			free(buf);
		}
		assert_int_equal(im_store_take(st, b, 0), IM_OK);
		im_loss_opts lo = im_loss_defaults();
		im_update_stats ust;
		assert_int_equal(im_update_compute(u, p, grads, &b->input, &lo, &ust), IM_OK);
		int rows = c->T * c->k;
		if (discrete) {
			im_dist_cat_log_prob(logp, im_update_policy(u), b->actions, rows, n);
		} else {
			const im_tensor_desc *ls = im_model_find(lm, "policy.log_std");
			im_dist_gauss_log_prob(logp, im_update_policy(u), p + ls->offset,
					       b->actions_box, rows, n);
		}
		for (int i = 0; i < rows; i++) {
			double dlt = fabs((double)logp[i] - (double)b->behaviour_logp[i]);
			worst = dlt > worst ? dlt : worst;
			if (dlt > 1e-4 + 1e-4 * fabs((double)logp[i]))
				fail_msg("%s: unroll %d row %d: learner log pi %.6f, actor "
					 "log mu %.6f",
					 c->name, round, i, (double)logp[i],
					 (double)b->behaviour_logp[i]);
		}
	}
	print_message("%s: worst |log pi - log mu| = %.3g\n", c->name, worst);
	free(logp);
	free(grads);
	im_update_free(u);
	im_batch_free(b);
	im_store_free(st);
	im_rollout_free(probe);
	im_model_free(lm);
}

static const pcase cases[] = {
	{"mlp_cartpole", "CartPole-v1", 0, 40, 4, 30, IM_NN_ENCODER_MLP},
	{"lstm_cartpole", "CartPole-v1", 1, 40, 4, 30, IM_NN_ENCODER_MLP},
	{"mlp_pendulum", "Pendulum-v1", 0, 50, 3, 10, IM_NN_ENCODER_MLP},
	{"lstm_pendulum", "Pendulum-v1", 1, 50, 3, 10, IM_NN_ENCODER_MLP},
	{"mlp_grid_uint8", grid_spec, 0, 40, 4, 10, IM_NN_ENCODER_MLP},
	{"lstm_grid_uint8", grid_spec, 1, 40, 4, 10, IM_NN_ENCODER_MLP},
	/* The conv encoder on a MinAtar game's sparse 0/1 frames: the
	 * actor's and the learner's convolutions must agree. */
	{"conv_minatar_breakout", "MinAtar/Breakout-v0", 0, 20, 4, 10, IM_NN_ENCODER_MINATAR},
	{"conv_minatar_seaquest", "MinAtar/Seaquest-v0", 1, 20, 4, 10, IM_NN_ENCODER_MINATAR},
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (cases[i].env[0])
			run_case(&cases[i]);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		snprintf(grid_spec, sizeof grid_spec, "plugin:%s", argv[1]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
