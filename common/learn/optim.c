// SPDX-License-Identifier: Apache-2.0
#include "learn/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "learn/optim_loops.h"
#include "names.h"

im_optim_opts im_optim_defaults(im_optim_kind kind)
{
	im_optim_opts o = {kind, 0.99f, 0.01f, 0.9f, 0.999f};
	if (kind == IM_OPTIM_ADAM)
		o.eps = 1e-8f;
	return o;
}

static int opts_valid(const im_optim_opts *o)
{
	if (o->kind != IM_OPTIM_RMSPROP && o->kind != IM_OPTIM_ADAM)
		return 0;
	if (!(o->eps >= 0.0f))
		return 0;
	if (o->kind == IM_OPTIM_RMSPROP)
		return o->alpha >= 0.0f && o->alpha < 1.0f;
	return o->beta1 >= 0.0f && o->beta1 < 1.0f && o->beta2 >= 0.0f &&
	       o->beta2 < 1.0f;
}

int im_optim_new(im_optim **out, const im_optim_opts *o, size_t n)
{
	if (!out || !o || !opts_valid(o))
		return IM_EINVAL;
	size_t len = n ? n : 1;
	im_optim *opt = calloc(1, sizeof(*opt));
	if (!opt)
		return IM_ENOMEM;
	opt->opts = *o;
	opt->n = n;
	if (!(opt->m1 = calloc(len, sizeof(float))))
		goto fail;
	if (o->kind == IM_OPTIM_ADAM && !(opt->m2 = calloc(len, sizeof(float))))
		goto fail;
	*out = opt;
	return IM_OK;
fail:
	im_optim_free(opt);
	return IM_ENOMEM;
}

void im_optim_free(im_optim *opt)
{
	if (!opt)
		return;
	free(opt->m1);
	free(opt->m2);
	free(opt);
}

int im_optim_state_count(const im_optim *opt)
{
	return opt->opts.kind == IM_OPTIM_ADAM ? 2 : 1;
}

const char *im_optim_state_name(const im_optim *opt, int i)
{
	if (opt->opts.kind == IM_OPTIM_RMSPROP)
		return i == 0 ? "square_avg" : NULL;
	return i == 0 ? "exp_avg" : i == 1 ? "exp_avg_sq"
					   : NULL;
}

float *im_optim_state(im_optim *opt, int i)
{
	return i == 0 ? opt->m1 : i == 1 ? opt->m2
					 : NULL;
}

static const char *const kind_names[] = {
	[IM_OPTIM_RMSPROP] = "rmsprop",
	[IM_OPTIM_ADAM] = "adam",
};
enum { NKINDS = sizeof kind_names / sizeof kind_names[0] };

const char *im_optim_kind_name(im_optim_kind kind)
{
	return (unsigned)kind < NKINDS ? kind_names[kind] : NULL;
}

int im_optim_kind_parse(const char *name, im_optim_kind *out, char *err,
			size_t errlen)
{
	int i;
	int rc = im_names_find(kind_names, NKINDS, name, &i, err, errlen);
	if (rc == IM_OK)
		*out = (im_optim_kind)i;
	return rc;
}

void im_optim_step(im_optim *opt, float *params, const float *grads, float lr)
{
	im_optim_step_scaled(opt, params, grads, 1.0f, lr);
}

void im_optim_step_scaled(im_optim *opt, float *params, const float *grads,
			  float gscale, float lr)
{
	const im_optim_opts *o = &opt->opts;
	opt->step++;
	if (o->kind == IM_OPTIM_RMSPROP) {
		im_optim_loop_rmsprop(params, grads, opt->m1, opt->n, gscale,
				      lr, o->alpha, o->eps);
		return;
	}
	/* Bias corrections in double: beta2^step approaches 1 slowly. */
	double bc1 = 1.0 - pow(o->beta1, (double)opt->step);
	double bc2 = 1.0 - pow(o->beta2, (double)opt->step);
	im_optim_loop_adam(params, grads, opt->m1, opt->m2, opt->n, gscale,
			   (float)(lr / bc1), (float)(1.0 / sqrt(bc2)), o->beta1,
			   o->beta2, o->eps);
}

void im_optim_step_naive(im_optim *opt, float *params, const float *grads,
			 float lr)
{
	const im_optim_opts *o = &opt->opts;
	opt->step++;
	double b1t = pow(o->beta1, (double)opt->step);
	double b2t = pow(o->beta2, (double)opt->step);
	for (size_t i = 0; i < opt->n; i++) {
		double g = grads[i], p = params[i];
		if (o->kind == IM_OPTIM_RMSPROP) {
			double s = (double)o->alpha * opt->m1[i] +
				   (1.0 - (double)o->alpha) * g * g;
			opt->m1[i] = (float)s;
			p -= lr * g / (sqrt(s) + o->eps);
		} else {
			double m = (double)o->beta1 * opt->m1[i] +
				   (1.0 - (double)o->beta1) * g;
			double v = (double)o->beta2 * opt->m2[i] +
				   (1.0 - (double)o->beta2) * g * g;
			opt->m1[i] = (float)m;
			opt->m2[i] = (float)v;
			p -= lr / (1.0 - b1t) * m /
			     (sqrt(v) / sqrt(1.0 - b2t) + o->eps);
		}
		params[i] = (float)p;
	}
}

double im_optim_grad_norm(const float *grads, size_t n)
{
	return sqrt(im_optim_loop_sum_squares(grads, n));
}

float im_optim_clip_scale(double norm, double max_norm)
{
	if (!isfinite(norm) || max_norm <= 0.0)
		return 1.0f;
	double scale = max_norm / (norm + 1e-6);
	return scale < 1.0 ? (float)scale : 1.0f;
}

double im_optim_clip_grad_norm(float *grads, size_t n, double max_norm)
{
	double norm = im_optim_grad_norm(grads, n);
	float s = im_optim_clip_scale(norm, max_norm);
	if (s != 1.0f)
		for (size_t i = 0; i < n; i++)
			grads[i] *= s;
	return norm;
}

float im_optim_lr_linear(float lr, uint64_t frames, uint64_t total)
{
	if (total == 0)
		return lr;
	uint64_t f = frames < total ? frames : total;
	return (float)((double)lr * (1.0 - (double)f / (double)total));
}
