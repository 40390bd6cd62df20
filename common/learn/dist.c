// SPDX-License-Identifier: Apache-2.0
#include "learn/dist.h"

#include <math.h>

#include "learn/fastmath.h"

/* Floats of exponentials kept on the stack while sampling (rows up to this
 * many actions; wider rows recompute them, correct, only slower). */
#define CAT_STACK 1024

static inline float row_max(const float *x, int n)
{
	float m = x[0];
	for (int j = 1; j < n; j++)
		m = x[j] > m ? x[j] : m;
	return m;
}

static inline float row_lse(const float *x, int n)
{
	float m = row_max(x, n);
	float s = 0.0f;
	for (int j = 0; j < n; j++)
		s += expf(x[j] - m);
	return m + logf(s);
}

float im_dist_cat_log_softmax(float *logp, const float *logits, int n)
{
	float lse = row_lse(logits, n);
	for (int j = 0; j < n; j++)
		logp[j] = logits[j] - lse;
	return lse;
}

/* Inverse-CDF sampling over unnormalised weights e[j] = exp(l_j - max).
 * An action whose weight underflowed to zero is never chosen: the scan only
 * stops where the running sum grew past the target. */
static int cat_pick(const float *l, float m, const float *e, float sum, int n,
		    float u)
{
	float target = u * sum, cum = 0.0f;
	int last = 0;
	for (int j = 0; j < n; j++) {
		float w = e ? e[j] : expf(l[j] - m);
		if (w <= 0.0f)
			continue;
		cum += w;
		last = j;
		if (cum > target)
			return j;
	}
	return last; /* rounding left target at or above the total */
}

/* Rows too wide for the stack block: one row at a time, libm's expf. */
static void cat_sample_wide(int32_t *action, float *logp, const float *l,
			    int n, im_rng *rng)
{
	float m = row_max(l, n), sum = 0.0f;
	for (int j = 0; j < n; j++)
		sum += expf(l[j] - m);
	int a = cat_pick(l, m, NULL, sum, n, im_rng_float(rng));
	*action = a;
	if (logp)
		*logp = l[a] - m - logf(sum);
}

void im_dist_cat_sample(int32_t *action, float *logp, const float *logits,
			int rows, int n, im_rng *rng)
{
	/* As many rows as fit in the block share one vectorised exp pass. */
	float e[CAT_STACK], m[CAT_STACK];
	int per = n <= CAT_STACK ? CAT_STACK / n : 0;
	for (int r0 = 0; r0 < rows; r0 += per ? per : 1) {
		if (!per) {
			cat_sample_wide(action + r0, logp ? logp + r0 : NULL,
					logits + (size_t)r0 * n, n, rng);
			continue;
		}
		int nr = rows - r0 < per ? rows - r0 : per;
		const float *l0 = logits + (size_t)r0 * n;
		for (int i = 0; i < nr; i++) {
			m[i] = row_max(l0 + (size_t)i * n, n);
			for (int j = 0; j < n; j++)
				e[i * n + j] = l0[(size_t)i * n + j] - m[i];
		}
		im_fastmath_expf(e, (size_t)nr * n);
		for (int i = 0; i < nr; i++) {
			const float *l = l0 + (size_t)i * n, *ei = e + i * n;
			float sum = 0.0f;
			for (int j = 0; j < n; j++)
				sum += ei[j];
			int a = cat_pick(l, m[i], ei, sum, n, im_rng_float(rng));
			action[r0 + i] = a;
			if (logp)
				logp[r0 + i] = l[a] - m[i] - logf(sum);
		}
	}
}

void im_dist_cat_log_prob(float *logp, const float *logits,
			  const int32_t *action, int rows, int n)
{
	im_dist_cat_logp_entropy(logp, NULL, logits, action, rows, n);
}

void im_dist_cat_entropy(float *ent, const float *logits, int rows, int n)
{
	im_dist_cat_logp_entropy(NULL, ent, logits, NULL, rows, n);
}

/* H = -sum p_j (l_j - lse) = lse - sum p_j l_j: one pass of exponentials. */
static float cat_entropy_row(const float *l, float m, int n, float *lse_out)
{
	float s = 0.0f, sl = 0.0f;
	for (int j = 0; j < n; j++) {
		float w = expf(l[j] - m);
		s += w;
		/* A masked action (logit -inf) adds 0, not 0 * -inf. */
		sl += w > 0.0f ? w * (l[j] - m) : 0.0f;
	}
	float log_s = logf(s);
	*lse_out = m + log_s;
	return log_s - sl / s;
}

void im_dist_cat_logp_entropy(float *logp, float *ent, const float *logits,
			      const int32_t *action, int rows, int n)
{
	for (int r = 0; r < rows; r++) {
		const float *l = logits + (size_t)r * n;
		float lse;
		if (ent)
			ent[r] = cat_entropy_row(l, row_max(l, n), n, &lse);
		else
			lse = row_lse(l, n);
		if (logp) {
			int32_t a = action[r];
			logp[r] = a >= 0 && a < n ? l[a] - lse : -INFINITY;
		}
	}
}

void im_dist_cat_backward(float *dlogits, const float *logits,
			  const int32_t *action, const float *coef_logp,
			  const float *coef_ent, int rows, int n)
{
	for (int r = 0; r < rows; r++) {
		const float *l = logits + (size_t)r * n;
		float *d = dlogits + (size_t)r * n;
		float cl = coef_logp ? coef_logp[r] : 0.0f;
		float ce = coef_ent ? coef_ent[r] : 0.0f;
		float lse, h = cat_entropy_row(l, row_max(l, n), n, &lse);
		for (int j = 0; j < n; j++) {
			float lp = l[j] - lse, p = expf(lp);
			float dh = p > 0.0f ? -p * (lp + h) : 0.0f;
			d[j] += -cl * p + ce * dh;
		}
		if (coef_logp && action[r] >= 0 && action[r] < n)
			d[action[r]] += cl;
	}
}

/* dst[r, j] = exp(logits[r, j] - shift[r]) over all rows at once. */
static void exp_shifted(float *dst, const float *logits, const float *shift,
			int rows, int n)
{
	for (int r = 0; r < rows; r++)
		for (int j = 0; j < n; j++)
			dst[(size_t)r * n + j] = logits[(size_t)r * n + j] -
						 shift[r];
	im_fastmath_expf(dst, (size_t)rows * n);
}

void im_dist_cat_forward_rows(float *logp, float *ent, float *lse,
			      float *probs, const float *logits,
			      const int32_t *action, int rows, int n)
{
	for (int r = 0; r < rows; r++)
		lse[r] = row_max(logits + (size_t)r * n, n);
	exp_shifted(probs, logits, lse, rows, n);
	for (int r = 0; r < rows; r++) {
		const float *l = logits + (size_t)r * n;
		float *e = probs + (size_t)r * n;
		float s = 0.0f, sl = 0.0f;
		for (int j = 0; j < n; j++) {
			s += e[j];
			sl += e[j] > 0.0f ? e[j] * (l[j] - lse[r]) : 0.0f;
		}
		float log_s = logf(s), inv = 1.0f / s;
		ent[r] = log_s - sl * inv;
		logp[r] = l[action[r]] - lse[r] - log_s;
		lse[r] += log_s;
		for (int j = 0; j < n; j++)
			e[j] *= inv;
	}
}

void im_dist_cat_backward_rows(float *dlogits, const float *probs,
			       const float *logits, const float *lse,
			       const float *ent, const int32_t *action,
			       const float *coef_logp, const float *coef_ent,
			       int rows, int n)
{
	for (int r = 0; r < rows; r++) {
		const float *l = logits + (size_t)r * n;
		const float *pr = probs + (size_t)r * n;
		float *d = dlogits + (size_t)r * n;
		float cl = coef_logp ? coef_logp[r] : 0.0f;
		float ce = coef_ent ? coef_ent[r] : 0.0f;
		for (int j = 0; j < n; j++) {
			float p = pr[j], lp = l[j] - lse[r];
			float dh = p > 0.0f ? -p * (lp + ent[r]) : 0.0f;
			d[j] = -cl * p + ce * dh;
		}
		if (coef_logp)
			d[action[r]] += cl;
	}
}

/* Marsaglia's polar method: two standard normals per accepted pair, one
 * logarithm and no trigonometry, from 24-bit uniforms in [-1, 1). */
static inline void normal_pair(im_rng *rng, float *z0, float *z1)
{
	for (;;) {
		uint64_t x = im_rng_u64(rng);
		float u = (float)(x >> 40) * 0x1.0p-23f - 1.0f;
		float v = (float)((x >> 8) & 0xffffff) * 0x1.0p-23f - 1.0f;
		float s = u * u + v * v;
		if (s > 0.0f && s < 1.0f) {
			float f = sqrtf(-2.0f * logf(s) / s);
			*z0 = u * f;
			*z1 = v * f;
			return;
		}
	}
}

/* exp(sign * log_std) for each dimension when D fits on the stack. */
#define GAUSS_STACK 64

static inline int std_table(float *out, const float *log_std, int D,
			    float sign)
{
	if (D > GAUSS_STACK)
		return 0;
	for (int d = 0; d < D; d++)
		out[d] = expf(sign * log_std[d]);
	return 1;
}

static float gauss_base(const float *log_std, int D)
{
	float base = 0.0f; /* -sum_d (log_std_d + 0.5 log 2 pi) */
	for (int d = 0; d < D; d++)
		base -= log_std[d] + (float)IM_DIST_HALF_LOG_2PI;
	return base;
}

void im_dist_gauss_sample(float *action, float *logp, const float *mean,
			  const float *log_std, int rows, int D, im_rng *rng)
{
	float sd[GAUSS_STACK], base = gauss_base(log_std, D), spare = 0.0f;
	int pre = std_table(sd, log_std, D, 1.0f), have_spare = 0;
	for (int r = 0; r < rows; r++) {
		const float *mu = mean + (size_t)r * D;
		float *a = action + (size_t)r * D, zz = 0.0f;
		for (int d = 0; d < D; d++) {
			float z;
			if (have_spare) {
				z = spare;
				have_spare = 0;
			} else {
				normal_pair(rng, &z, &spare);
				have_spare = 1;
			}
			a[d] = mu[d] + (pre ? sd[d] : expf(log_std[d])) * z;
			zz += z * z;
		}
		if (logp)
			logp[r] = base - 0.5f * zz;
	}
}

void im_dist_gauss_log_prob(float *logp, const float *mean,
			    const float *log_std, const float *action,
			    int rows, int D)
{
	float inv[GAUSS_STACK], base = gauss_base(log_std, D);
	int pre = std_table(inv, log_std, D, -1.0f);
	for (int r = 0; r < rows; r++) {
		const float *mu = mean + (size_t)r * D;
		const float *a = action + (size_t)r * D;
		float zz = 0.0f;
		for (int d = 0; d < D; d++) {
			float is = pre ? inv[d] : expf(-log_std[d]);
			float z = (a[d] - mu[d]) * is;
			zz += z * z;
		}
		logp[r] = base - 0.5f * zz;
	}
}

float im_dist_gauss_entropy(const float *log_std, int D)
{
	float h = 0.0f;
	for (int d = 0; d < D; d++)
		h += 0.5f + (float)IM_DIST_HALF_LOG_2PI + log_std[d];
	return h;
}

/* One row's contribution; the log-std gradient goes to acc (double when the
 * caller has a stack table, so that thousands of rows sum accurately). */
static inline void gauss_backward_row(float *dm, const float *mu,
				      const float *a, const float *log_std,
				      const float *inv, float cl, float ce,
				      double *acc, float *dls, int D)
{
	for (int d = 0; d < D; d++) {
		float is = inv ? inv[d] : expf(-log_std[d]);
		float z = (a[d] - mu[d]) * is;
		if (dm)
			dm[d] += cl * z * is;
		if (acc)
			acc[d] += cl * (z * z - 1.0f) + ce;
		else if (dls)
			dls[d] += cl * (z * z - 1.0f) + ce;
	}
}

void im_dist_gauss_backward(float *dmean, float *dlog_std, const float *mean,
			    const float *log_std, const float *action,
			    const float *coef_logp, const float *coef_ent,
			    int rows, int D)
{
	float inv[GAUSS_STACK];
	double acc[GAUSS_STACK];
	int pre = std_table(inv, log_std, D, -1.0f);
	if (pre)
		for (int d = 0; d < D; d++)
			acc[d] = 0.0;
	for (int r = 0; r < rows; r++)
		gauss_backward_row(dmean ? dmean + (size_t)r * D : NULL,
				   mean + (size_t)r * D, action + (size_t)r * D,
				   log_std, pre ? inv : NULL,
				   coef_logp ? coef_logp[r] : 0.0f,
				   coef_ent ? coef_ent[r] : 0.0f,
				   pre && dlog_std ? acc : NULL, dlog_std, D);
	if (pre && dlog_std)
		for (int d = 0; d < D; d++)
			dlog_std[d] += (float)acc[d];
}
