// SPDX-License-Identifier: Apache-2.0
/* CartPole-v1 as Gymnasium defines it (Barto, Sutton and Anderson's cart
 * and pole, Euler integration, tau = 0.02 s): physics in double as
 * Gymnasium's float64 numpy state, observations rounded to float32. */
#include <float.h>
#include <math.h>

#include "env_class.h"

#define GRAVITY 9.8
#define MASSCART 1.0
#define MASSPOLE 0.1
#define TOTAL_MASS (MASSPOLE + MASSCART)
#define HALF_LENGTH 0.5 /* Gymnasium's "length" is half the pole */
#define POLEMASS_LENGTH (MASSPOLE * HALF_LENGTH)
#define FORCE_MAG 10.0
#define TAU 0.02
#define THETA_THRESHOLD (12.0 * 2.0 * M_PI / 360.0)
#define X_THRESHOLD 2.4

typedef struct cartpole {
	double x, x_dot, theta, theta_dot;
} cartpole;

/* Observation bounds: twice the termination thresholds, so the failing
 * observation still lies inside the space. */
static const float obs_high[4] = {
	(float)(X_THRESHOLD * 2),
	FLT_MAX,
	(float)(THETA_THRESHOLD * 2),
	FLT_MAX,
};
static const float obs_low[4] = {
	-(float)(X_THRESHOLD * 2),
	-FLT_MAX,
	-(float)(THETA_THRESHOLD * 2),
	-FLT_MAX,
};

static void write_obs(const cartpole *s, float *obs)
{
	obs[0] = (float)s->x;
	obs[1] = (float)s->x_dot;
	obs[2] = (float)s->theta;
	obs[3] = (float)s->theta_dot;
}

static void cp_reset(const im_env_class *c, void *st, im_rng *rng, void *out)
{
	float *obs = out;
	cartpole *s = st;
	double *v = &s->x;
	/* Gymnasium: every state variable uniform in (-0.05, 0.05). */
	for (int i = 0; i < 4; i++)
		v[i] = -0.05 + 0.1 * im_rng_double(rng);
	write_obs(s, obs);
}

/* One Euler step; shared by the single and the batched path so both give
 * identical bits. */
static inline uint8_t advance(cartpole *s, int32_t action)
{
	double force = action == 1 ? FORCE_MAG : -FORCE_MAG;
	double costheta = cos(s->theta);
	double sintheta = sin(s->theta);
	double temp = (force + POLEMASS_LENGTH * (s->theta_dot * s->theta_dot) *
				       sintheta) /
		      TOTAL_MASS;
	double thetaacc =
		(GRAVITY * sintheta - costheta * temp) /
		(HALF_LENGTH *
		 (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / TOTAL_MASS));
	double xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS;

	s->x = s->x + TAU * s->x_dot;
	s->x_dot = s->x_dot + TAU * xacc;
	s->theta = s->theta + TAU * s->theta_dot;
	s->theta_dot = s->theta_dot + TAU * thetaacc;
	return s->x < -X_THRESHOLD || s->x > X_THRESHOLD ||
	       s->theta < -THETA_THRESHOLD || s->theta > THETA_THRESHOLD;
}

static int cp_step(const im_env_class *c, void *st, const void *action,
		   void *out, float *reward, uint8_t *terminated)
{
	float *obs = out;
	cartpole *s = st;
	*terminated = advance(s, *(const int32_t *)action);
	/* +1 for every step, the terminating one included. */
	*reward = 1.0f;
	write_obs(s, obs);
	return 0;
}

static void cp_step_batch(void *states, int k, const void *actions,
			  void *restrict out, float *restrict reward,
			  uint8_t *restrict terminated)
{
	float *restrict obs = out;
	cartpole *restrict s = states;
	const int32_t *a = actions;
	for (int i = 0; i < k; i++) {
		terminated[i] = advance(&s[i], a[i]);
		reward[i] = 1.0f;
		write_obs(&s[i], obs + 4 * (size_t)i);
	}
}

const im_env_class im_env_cartpole_class = {
	.name = "CartPole-v1",
	.max_episode_steps = 500,
	.obs = {.ndim = 1, .shape = {4}, .dtype = IM_DTYPE_F32, .low = obs_low, .high = obs_high},
	.act = {.kind = IM_ACT_DISCRETE, .n = 2},
	.state_size = sizeof(cartpole),
	.reset = cp_reset,
	.step = cp_step,
	.step_batch = cp_step_batch,
};
