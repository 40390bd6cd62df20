// SPDX-License-Identifier: Apache-2.0
/* Costs of the learning rule next to the network: V-trace and the loss at
 * T = 80, B = 32 (forward and backward of the loss in one call), the
 * actor's sampling for k = 32 environments, and one optimiser step over a
 * 2x512-sized arena, fast loops beside the naive reference, fresh and as a
 * training run holds it (2% of the parameters without gradient, their
 * square averages decayed to denormals).  Medians of repeated timings;
 * the JSON figures are on the last line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "learn/dist.h"
#include "learn/loss.h"
#include "learn/optim.h"
#include "learn/vtrace.h"
#include "rng.h"

enum { T = 80,
       B = 32,
       R = T * B,
       K = 32,
       NA = 6,
       REPS = 31 };

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median seconds per call of fn over REPS timings of `inner` calls each. */
#define MEDIAN(out, inner, stmt) \
	do { \
		double ts_[REPS]; \
		for (int r_ = 0; r_ < REPS; r_++) { \
			double t0_ = now(); \
			for (int i_ = 0; i_ < (inner); i_++) { \
				stmt; \
			} \
			ts_[r_] = (now() - t0_) / (inner); \
		} \
		qsort(ts_, REPS, sizeof(double), cmp_d); \
		(out) = ts_[REPS / 2]; \
	} while (0)

static float *randf(size_t n, im_rng *r, float lo, float hi)
{
	float *p = malloc(n * sizeof(float));
	for (size_t i = 0; i < n; i++)
		p[i] = im_rng_uniform(r, lo, hi);
	return p;
}

int main(void)
{
	im_rng r;
	im_rng_init(&r, 1);
	float *lr = randf(R, &r, -2, 2), *disc = randf(R, &r, 0.99f, 0.99f);
	float *rew = randf(R, &r, -1, 1), *val = randf((T + 1) * B, &r, -1, 1);
	float *nv = val + B, *vs = randf(R, &r, 0, 0), *adv = randf(R, &r, 0, 0);
	uint8_t *cut = calloc(R, 1), *term = calloc(R, 1);
	for (int k = 0; k < R; k += 37)
		cut[k] = 1;
	im_vtrace_opts vo = im_vtrace_defaults();
	double t_vtrace;
	MEDIAN(t_vtrace, 20, im_vtrace(vs, adv, lr, disc, rew, val, nv, cut, T, B, &vo));

	float *logits = randf((size_t)(T + 1) * B * NA, &r, -2, 2);
	float *ls = randf(NA, &r, -0.5f, 0.5f), *ab = randf((size_t)R * NA, &r, -1, 1);
	float *blogp = randf(R, &r, -3, 0), *dpol = randf((size_t)R * NA, &r, 0, 0);
	float *dval = randf(R, &r, 0, 0), dls[NA] = {0};
	int32_t *ad = malloc(R * sizeof(int32_t));
	for (int k = 0; k < R; k++)
		ad[k] = (int32_t)im_rng_below(&r, NA);
	im_loss_batch lb = {T, B, IM_ACT_DISCRETE, NA, logits, ls, val, nv, ad,
			    ab, blogp, rew, term, cut, 0.0f};
	im_loss_grads g = {dpol, dval, dls, NULL, NULL};
	im_loss_opts lo = im_loss_defaults();
	im_loss_stats st;
	void *work = malloc(im_loss_work_size(T, B));
	double t_loss_d, t_loss_b;
	MEDIAN(t_loss_d, 10, im_loss(&st, &g, &lb, &lo, work));
	lb.kind = IM_ACT_BOX;
	MEDIAN(t_loss_b, 10, im_loss(&st, &g, &lb, &lo, work));

	int32_t act[K];
	float logp[K], abox[K * NA];
	double t_cat2, t_cat6, t_gauss;
	MEDIAN(t_cat2, 2000, im_dist_cat_sample(act, logp, logits, K, 2, &r));
	MEDIAN(t_cat6, 2000, im_dist_cat_sample(act, logp, logits, K, NA, &r));
	MEDIAN(t_gauss, 2000,
	       im_dist_gauss_sample(abox, logp, logits, ls, K, NA, &r));

	/* 2x512 MLP with 8 inputs and 6 actions: about 270k parameters. */
	size_t np = 8 * 512 + 512 + 512 * 512 + 512 + 512 * 7 + 7;
	float *p = randf(np, &r, -1, 1), *gr = randf(np, &r, -1, 1);
	im_optim_opts oo = im_optim_defaults(IM_OPTIM_RMSPROP);
	im_optim *opt;
	if (im_optim_new(&opt, &oo, np))
		return 1;
	double t_rms, t_rms_naive, t_clip;
	MEDIAN(t_rms, 5, im_optim_step(opt, p, gr, 1e-9f));
	MEDIAN(t_rms_naive, 5, im_optim_step_naive(opt, p, gr, 1e-9f));
	MEDIAN(t_clip, 5, im_optim_clip_grad_norm(gr, np, 1e30));
	/* Held: what a checkpoint of MinAtar Breakout at 5M frames showed
	 * (common/learn/optim_loops.c): every 50th parameter's gradient is
	 * 0 and its square average a denormal left by the decay. */
	for (size_t i = 0; i < np; i += 50) {
		gr[i] = 0.0f;
		opt->m1[i] = 1e-44f;
	}
	double t_held, t_held_naive;
	MEDIAN(t_held, 5, im_optim_step(opt, p, gr, 1e-9f));
	for (size_t i = 0; i < np; i += 50)
		opt->m1[i] = 1e-44f;
	MEDIAN(t_held_naive, 5, im_optim_step_naive(opt, p, gr, 1e-9f));
	im_optim_free(opt);

	printf("vtrace T=%d B=%d: %.1f us\n", T, B, 1e6 * t_vtrace);
	printf("loss discrete(%d): %.1f us, box(%d): %.1f us\n", NA,
	       1e6 * t_loss_d, NA, 1e6 * t_loss_b);
	printf("sample k=%d: categorical(2) %.1f ns/row, categorical(%d) "
	       "%.1f ns/row, gaussian(%d) %.1f ns/row\n",
	       K, 1e9 * t_cat2 / K,
	       NA, 1e9 * t_cat6 / K, NA, 1e9 * t_gauss / K);
	printf("rmsprop %zu params: %.1f us (naive %.1f us), clip %.1f us; "
	       "held (2%% denormal): %.1f us (naive %.1f us)\n",
	       np, 1e6 * t_rms, 1e6 * t_rms_naive, 1e6 * t_clip, 1e6 * t_held,
	       1e6 * t_held_naive);
	printf("{\"vtrace_us\": %.2f, \"loss_discrete_us\": %.2f, "
	       "\"loss_box_us\": %.2f, \"sample_cat2_frames_per_s\": %.0f, "
	       "\"sample_cat6_frames_per_s\": %.0f, "
	       "\"sample_gauss6_frames_per_s\": %.0f, \"rmsprop_us\": %.1f, "
	       "\"rmsprop_naive_us\": %.1f, \"rmsprop_speedup\": %.2f, "
	       "\"clip_us\": %.1f, \"rmsprop_held_us\": %.1f, "
	       "\"rmsprop_held_naive_us\": %.1f}\n",
	       1e6 * t_vtrace, 1e6 * t_loss_d, 1e6 * t_loss_b, K / t_cat2,
	       K / t_cat6, K / t_gauss, 1e6 * t_rms, 1e6 * t_rms_naive,
	       t_rms_naive / t_rms, 1e6 * t_clip, 1e6 * t_held,
	       1e6 * t_held_naive);
	free(lr);
	free(disc);
	free(rew);
	free(val);
	free(vs);
	free(adv);
	free(cut);
	free(term);
	free(logits);
	free(ls);
	free(ab);
	free(blogp);
	free(dpol);
	free(dval);
	free(ad);
	free(work);
	free(p);
	free(gr);
	return 0;
}
