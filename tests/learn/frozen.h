// SPDX-License-Identifier: Apache-2.0
/* Whether an optimiser leaves alone the non-trainable tensors of a model
 * (PopArt's baseline.mu and baseline.sigma, obs_norm's statistics): their
 * values must not move and the optimiser's moments for them must stay
 * zero, as they have no gradient (a moment that grew there would move
 * them once the gradient changed).  Shared by tests/learn/test_popart.c
 * and tests/learn/test_obsnorm.c. */
#ifndef TEST_LEARN_FROZEN_H
#define TEST_LEARN_FROZEN_H

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "learn/optim.h"
#include "nn/model.h"

/* A range of the arena: floats [off, off + len). */
typedef struct frozen_range {
	size_t off, len;
} frozen_range;

/* A model, its workspace over `rows` rows of `npol` policy outputs, and
 * the forward the caller runs on them (forward(ctx, params)). */
typedef struct frozen_net {
	im_model *m;
	im_model_ws *ws;
	int rows, npol;
	void (*forward)(void *ctx, const float *params);
	void *ctx;
} frozen_net;

/* Five steps of an optimiser of kind on n's arena, each with the
 * gradients of a backward of fixed, step-dependent output gradients
 * after n's forward; then the values in the ranges are as before and
 * every moment is zero there. */
static inline void frozen_under_optimiser(const frozen_net *n, im_optim_kind kind,
					  const frozen_range *r, size_t nr)
{
	float *params = im_model_params(n->m);
	size_t np = im_model_num_params(n->m), total = 0;
	for (size_t i = 0; i < nr; i++)
		total += r[i].len;
	float *keep = malloc(total * sizeof(float)), *k = keep;
	assert_non_null(keep);
	for (size_t i = 0; i < nr; k += r[i].len, i++)
		memcpy(k, params + r[i].off, r[i].len * sizeof(float));
	im_optim_opts oo = im_optim_defaults(kind);
	im_optim *opt;
	assert_int_equal(im_optim_new(&opt, &oo, np), IM_OK);
	float *g = calloc(np, sizeof(float));
	float *dval = calloc((size_t)n->rows, sizeof(float));
	float *dpol = calloc((size_t)n->rows * n->npol, sizeof(float));
	assert_true(g && dval && dpol);
	for (int step = 0; step < 5; step++) {
		for (int i = 0; i < n->rows; i++)
			dval[i] = (float)(i - 2) + 0.5f * (float)step;
		for (int i = 0; i < n->rows * n->npol; i++)
			dpol[i] = 0.1f * (float)((i % 5) - 2);
		memset(g, 0, np * sizeof(float));
		n->forward(n->ctx, params);
		assert_int_equal(im_model_backward(n->ws, params, dpol, dval, g),
				 IM_OK);
		im_optim_step(opt, params, g, 0.01f);
	}
	k = keep;
	for (size_t i = 0; i < nr; k += r[i].len, i++)
		assert_memory_equal(params + r[i].off, k, r[i].len * sizeof(float));
	for (int s = 0; s < im_optim_state_count(opt); s++) {
		const float *mom = im_optim_state(opt, s);
		for (size_t i = 0; mom && i < nr; i++)
			for (size_t j = 0; j < r[i].len; j++)
				assert_true(mom[r[i].off + j] == 0.0f);
	}
	free(g), free(dval), free(dpol), free(keep);
	im_optim_free(opt);
}

#endif
