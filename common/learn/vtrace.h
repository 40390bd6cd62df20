// SPDX-License-Identifier: Apache-2.0
/* V-trace targets and policy-gradient advantages (Espeholt et al. 2018, as
 * torchbeast's vtrace.from_importance_weights), with time-limit truncation.
 *
 * Layout: every array is time-major [T, B], element (t, b) at t * B + b.
 * Inputs are float; the backward recursion runs in double.
 *
 *   rho_t        = exp(log_rhos_t)
 *   clipped_rho  = min(rho_bar, rho_t)
 *   c_t          = lambda * min(c_bar, rho_t)
 *   delta_t      = clipped_rho_t * (r_t + discount_t * next_values_t - V_t)
 *   vs_t - V_t   = delta_t + discount_t * c_t * (1 - cut_t) *
 *                  (vs_{t+1} - V_{t+1}),   the difference is 0 past T-1
 *   vs_next_t    = vs_{t+1} if t < T-1 and not cut_t, else next_values_t
 *   pg_adv_t     = min(pg_rho_bar, rho_t) *
 *                  (r_t + discount_t * vs_next_t - V_t)
 *
 * discounts_t = gamma * (1 - terminated_t).  next_values_t = V(x_{t+1}),
 * except at a truncated step (cut_t = 1), where it is V of the true final
 * observation: the episode was cut by a time limit, so the target bootstraps
 * from that state and the recursion does not run into the next episode.
 * With no cuts this equals torchbeast with bootstrap_value =
 * next_values[T-1].  A step with discount 0 does not read its next value,
 * so a non-finite one there changes nothing. */
#ifndef IM_VTRACE_H
#define IM_VTRACE_H

#include <stdint.h>

typedef struct im_vtrace_opts {
	float rho_bar;    /* 1 by default */
	float c_bar;      /* 1 */
	float pg_rho_bar; /* 1 */
	float lambda;     /* 1 */
} im_vtrace_opts;

/* Defaults: everything 1, as DESIGN.md section 3. */
im_vtrace_opts im_vtrace_defaults(void);

/* Computes vs and pg_adv.  Inputs (all [T, B], caller's): log_rhos = log pi
 * - log mu of the taken actions, discounts, rewards, values, next_values,
 * cut (uint8, nonzero at truncated steps; NULL means none).  Outputs vs and
 * pg_adv ([T, B], caller's) are written in full; they may not alias the
 * inputs.  Allocates nothing. */
void im_vtrace(float *vs, float *pg_adv, const float *log_rhos,
	       const float *discounts, const float *rewards,
	       const float *values, const float *next_values,
	       const uint8_t *cut, int T, int B, const im_vtrace_opts *o);

#endif
