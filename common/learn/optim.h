// SPDX-License-Identifier: Apache-2.0
/* Optimisers over one flat float arena, with PyTorch's exact update rules,
 * global gradient-norm clipping and the linear learning-rate schedule.
 *
 * The state (moments) lives in arenas of the same length and layout as the
 * parameters, so one descriptor table names the parameters, the gradients
 * and each moment (see im_optim_state_name() for checkpoint names).
 *
 * RMSprop (torch.optim.RMSprop, momentum 0, centered False, no weight
 * decay):  sq = alpha * sq + (1 - alpha) * g^2;  p -= lr * g / (sqrt(sq) +
 * eps).  eps is added OUTSIDE the square root.
 * Adam (torch.optim.Adam, amsgrad False, no weight decay):  step += 1;
 * m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
 * p -= (lr / (1 - beta1^step)) * m / (sqrt(v) / sqrt(1 - beta2^step) +
 * eps). */
#ifndef IM_OPTIM_H
#define IM_OPTIM_H

#include <stddef.h>
#include <stdint.h>

typedef enum im_optim_kind {
	IM_OPTIM_RMSPROP = 0,
	IM_OPTIM_ADAM = 1,
} im_optim_kind;

typedef struct im_optim_opts {
	im_optim_kind kind;
	float alpha; /* RMSprop smoothing, 0.99 */
	float eps;   /* RMSprop 0.01 (IMPALA's), Adam 1e-8 */
	float beta1; /* Adam, 0.9 */
	float beta2; /* Adam, 0.999 */
} im_optim_opts;

/* Defaults for kind: RMSprop alpha 0.99, eps 0.01 (DESIGN.md; PyTorch's own
 * default eps is 1e-8); Adam betas 0.9 / 0.999, eps 1e-8. */
im_optim_opts im_optim_defaults(im_optim_kind kind);

typedef struct im_optim {
	im_optim_opts opts;
	size_t n;     /* floats in the parameter arena */
	int64_t step; /* updates applied so far (Adam's bias correction) */
	float *m1;    /* (n): RMSprop square_avg, Adam exp_avg */
	float *m2;    /* (n): Adam exp_avg_sq; NULL for RMSprop */
} im_optim;

/* A new optimiser for n parameters with zeroed state; *out (owned by the
 * caller, freed with im_optim_free) is set only on success.  IM_EINVAL for
 * a bad kind or option, IM_ENOMEM. */
int im_optim_new(im_optim **out, const im_optim_opts *o, size_t n);
void im_optim_free(im_optim *opt);

/* Number of state arenas (1 or 2) and the name of arena i, as the
 * checkpoint suffix: "square_avg", "exp_avg", "exp_avg_sq".  Arena i is
 * m1 (i = 0) or m2 (i = 1). */
int im_optim_state_count(const im_optim *opt);
const char *im_optim_state_name(const im_optim *opt, int i);
float *im_optim_state(im_optim *opt, int i);
/* "rmsprop" or "adam", as stored in the checkpoint's metadata; NULL for
 * any other value. */
const char *im_optim_kind_name(im_optim_kind kind);
/* Parses a name from im_optim_kind_name(); IM_EINVAL if unknown, with the
 * accepted names in err (names.h; err may be NULL).  *out is set only on
 * success. */
int im_optim_kind_parse(const char *name, im_optim_kind *out, char *err,
			size_t errlen);

/* One update of params (n) from grads (n) with learning rate lr; both
 * arenas the caller's.  Increments opt->step. */
void im_optim_step(im_optim *opt, float *params, const float *grads,
		   float lr);

/* The same with the gradient grads * gscale, each element's product
 * rounded to float as scaling grads in place first would (so the result
 * is bit for bit that of im_optim_clip_grad_norm then im_optim_step), in
 * one pass over the arenas instead of two; grads is left as it is.
 * gscale 1 is im_optim_step. */
void im_optim_step_scaled(im_optim *opt, float *params, const float *grads,
			  float gscale, float lr);

/* The same updates written plainly in double precision, kept as the
 * reference that the tests hold the fast loops against. */
void im_optim_step_naive(im_optim *opt, float *params, const float *grads,
			 float lr);

/* Global L2 norm of grads (n), summed in double (learn/optim_loops.h:
 * IM_OPTIM_SUM_LANES partial sums). */
double im_optim_grad_norm(const float *grads, size_t n);

/* The factor torch.nn.utils.clip_grad_norm_ scales the gradients by:
 * max_norm / (norm + 1e-6) as a float when that is below 1, else 1 (also
 * for a norm that is NaN or infinite, and for max_norm <= 0: no clip). */
float im_optim_clip_scale(double norm, double max_norm);

/* Global L2 norm of grads (n), then, as torch.nn.utils.clip_grad_norm_,
 * scales grads by im_optim_clip_scale().  Returns the norm BEFORE clipping
 * (NaN or infinity are returned as they are, and then grads are left
 * alone).  max_norm <= 0 disables the scaling. */
double im_optim_clip_grad_norm(float *grads, size_t n, double max_norm);

/* lr * (1 - min(frames, total) / total): linear decay to 0 over total
 * environment frames; total = 0 means no decay. */
float im_optim_lr_linear(float lr, uint64_t frames, uint64_t total);

#endif
