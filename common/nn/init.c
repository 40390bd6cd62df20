// SPDX-License-Identifier: Apache-2.0
/* Parameter initialisation by method, seeded and reproducible.
 *
 * identity (PyTorch's default layer init, named after rllte's "identity",
 *   which leaves PyTorch's init in place): Linear weight and bias
 *   U(-1/sqrt(fan_in), 1/sqrt(fan_in)); every LSTM tensor
 *   U(-1/sqrt(H), 1/sqrt(H)).
 * orthogonal: weights orthogonal with gain 1 (as rllte's Linear init: the
 *   rows, or columns when taller than wide, of a Gaussian matrix
 *   orthonormalised), biases 0.
 * xavier_uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)), biases 0.
 * xavier_normal: N(0, sqrt(2 / (fan_in + fan_out))), biases 0.
 * (rllte's xavier_* apply orthogonal to Linear layers; we do what the names
 * say.)  A conv weight (O, C, KH, KW) is treated as PyTorch treats it: the
 * matrix (O, C * KH * KW), fan_in C * KH * KW, fan_out O * KH * KW, so
 * identity is Conv2d's default init and orthogonal has orthonormal rows of
 * length C * KH * KW.  With orthogonal and xavier_*, each LSTM weight is initialised gate
 * block by gate block ((H, in) each, so every recurrent block is a square
 * orthogonal matrix), and the LSTM biases are 0.  policy.log_std starts at 0
 * and PopArt's baseline.mu and baseline.sigma at 0 and 1 (the identity
 * normalisation) under every method, as do obs_norm.mean, obs_norm.var
 * and obs_norm.count at 0, 1 and 0.  Tensor i draws from im_rng_split(seed stream, i). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "names.h"
#include "nn/internal.h"
#include "rng.h"

static const char *const init_names[] = {
	[IM_NN_INIT_IDENTITY] = "identity",
	[IM_NN_INIT_ORTHOGONAL] = "orthogonal",
	[IM_NN_INIT_XAVIER_UNIFORM] = "xavier_uniform",
	[IM_NN_INIT_XAVIER_NORMAL] = "xavier_normal",
};
enum { NINITS = sizeof init_names / sizeof init_names[0] };

const char *im_nn_init_name(im_nn_init m)
{
	return (unsigned)m < NINITS ? init_names[m] : NULL;
}

int im_nn_init_parse(const char *s, im_nn_init *out, char *err,
		     size_t errlen)
{
	int i;
	int rc = im_names_find(init_names, NINITS, s, &i, err, errlen);
	if (rc == IM_OK)
		*out = (im_nn_init)i;
	return rc;
}

static void fill_uniform(float *w, size_t n, double bound, im_rng *r)
{
	for (size_t i = 0; i < n; i++)
		w[i] = (float)((2.0 * im_rng_double(r) - 1.0) * bound);
}

/* w (rows, cols) with orthonormal rows (rows <= cols) or columns: modified
 * Gram-Schmidt, in double, of the min(rows, cols) vectors of length
 * max(rows, cols) of a Gaussian matrix (QR with a positive R diagonal). */
static int fill_orthogonal(float *w, int rows, int cols, im_rng *r)
{
	int len = rows > cols ? rows : cols, k = rows > cols ? cols : rows;
	double *q = malloc((size_t)len * k * sizeof(double));
	if (!q)
		return IM_ENOMEM;
	for (size_t i = 0; i < (size_t)len * k; i++)
		q[i] = im_rng_normal(r);
	for (int j = 0; j < k; j++) {
		double *v = q + (size_t)j * len;
		for (int p = 0; p < j; p++) {
			const double *u = q + (size_t)p * len;
			double dot = 0;
			for (int i = 0; i < len; i++)
				dot += u[i] * v[i];
			for (int i = 0; i < len; i++)
				v[i] -= dot * u[i];
		}
		double nrm = 0;
		for (int i = 0; i < len; i++)
			nrm += v[i] * v[i];
		nrm = sqrt(nrm);
		for (int i = 0; i < len; i++)
			v[i] /= nrm;
	}
	/* Vector j is row j of w when wide, column j when tall. */
	for (int j = 0; j < k; j++)
		for (int i = 0; i < len; i++) {
			size_t at = rows <= cols ? (size_t)j * cols + i
						 : (size_t)i * cols + j;
			w[at] = (float)q[(size_t)j * len + i];
		}
	free(q);
	return IM_OK;
}

/* w (rows, cols): a weight with fan_in cols; fan_out is rows * receptive,
 * the kernel area of a conv weight flattened to (O, C * KH * KW) (1 for a
 * Linear), as torch.nn.init computes it. */
static int fill_weight(float *w, int rows, int cols, int receptive,
		       im_nn_init method, im_rng *r)
{
	double fan = (double)rows * receptive + cols;
	switch (method) {
	case IM_NN_INIT_ORTHOGONAL:
		return fill_orthogonal(w, rows, cols, r);
	case IM_NN_INIT_XAVIER_UNIFORM:
		fill_uniform(w, (size_t)rows * cols, sqrt(6.0 / fan), r);
		return IM_OK;
	case IM_NN_INIT_XAVIER_NORMAL:
		for (size_t i = 0; i < (size_t)rows * cols; i++)
			w[i] = (float)(im_rng_normal(r) * sqrt(2.0 / fan));
		return IM_OK;
	default:
		fill_uniform(w, (size_t)rows * cols, 1.0 / sqrt(cols), r);
		return IM_OK;
	}
}

/* Inputs per output of a weight: C * KH * KW for a conv, in for a Linear. */
static double fan_in(const im_tensor_desc *t)
{
	return (double)t->numel / (double)t->shape[0];
}

static int init_tensor(const im_model *m, float *params, int i,
		       im_nn_init method, im_rng *r)
{
	const im_tensor_desc *t = &m->tensors[i];
	float *p = params + t->offset;
	int lstm = !strncmp(t->name, "core.", 5);
	if (i == m->t_logstd || i == m->t_mu || i == m->t_on_mean ||
	    i == m->t_on_count) {
		memset(p, 0, t->numel * sizeof(float));
		return IM_OK;
	}
	if (i == m->t_sigma || i == m->t_on_var) {
		for (size_t k = 0; k < t->numel; k++)
			p[k] = 1.0f;
		return IM_OK;
	}
	if (method == IM_NN_INIT_IDENTITY) {
		/* A bias follows its weight; both use the weight's fan_in. */
		double fi = lstm           ? m->spec.lstm_hidden
			    : t->ndim >= 2 ? fan_in(t)
					   : fan_in(&m->tensors[i - 1]);
		fill_uniform(p, t->numel, 1.0 / sqrt(fi), r);
		return IM_OK;
	}
	if (t->ndim == 1) {
		memset(p, 0, t->numel * sizeof(float));
		return IM_OK;
	}
	int rows = (int)t->shape[0], cols = (int)fan_in(t);
	int receptive = t->ndim == 4 ? (int)(t->shape[2] * t->shape[3]) : 1;
	int blocks = lstm ? 4 : 1;
	for (int g = 0; g < blocks; g++) {
		int rc = fill_weight(p + (size_t)g * (rows / blocks) * cols,
				     rows / blocks, cols, receptive, method, r);
		if (rc)
			return rc;
	}
	return IM_OK;
}

int im_model_init_params(const im_model *m, float *params, im_nn_init method,
			 uint64_t seed)
{
	if ((unsigned)method > IM_NN_INIT_XAVIER_NORMAL)
		return IM_EINVAL;
	im_rng root, r;
	im_rng_init(&root, seed);
	for (int i = 0; i < m->ntensors; i++) {
		im_rng_split(&r, &root, (uint64_t)i);
		int rc = init_tensor(m, params, i, method, &r);
		if (rc)
			return rc;
	}
	return IM_OK;
}
