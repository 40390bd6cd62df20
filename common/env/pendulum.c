// SPDX-License-Identifier: Apache-2.0
/* Pendulum-v1 as Gymnasium defines it: swing-up with torque in [-2, 2],
 * semi-implicit Euler with dt = 0.05, g = 10, cost on the angle (taken
 * from the upright, normalised to [-pi, pi)), the speed and the torque.
 * Physics in double; observations (cos, sin, thdot) float32. */
#include <math.h>

#include "env_class.h"

#define MAX_SPEED 8.0
#define MAX_TORQUE 2.0
#define DT 0.05
#define G 10.0
#define M 1.0
#define L 1.0

typedef struct pendulum {
	double th, thdot;
} pendulum;

static const float obs_high[3] = {1.0f, 1.0f, (float)MAX_SPEED};
static const float obs_low[3] = {-1.0f, -1.0f, -(float)MAX_SPEED};

static void write_obs(const pendulum *p, float *obs)
{
	obs[0] = (float)cos(p->th);
	obs[1] = (float)sin(p->th);
	obs[2] = (float)p->thdot;
}

static void pd_reset(const im_env_class *c, void *st, im_rng *rng, void *out)
{
	float *obs = out;
	pendulum *p = st;
	p->th = -M_PI + 2 * M_PI * im_rng_double(rng);
	p->thdot = -1.0 + 2.0 * im_rng_double(rng);
	write_obs(p, obs);
}

/* Python's x % m for m > 0: the result has the sign of m. */
static double angle_normalize(double x)
{
	double r = fmod(x + M_PI, 2 * M_PI);
	if (r < 0)
		r += 2 * M_PI;
	return r - M_PI;
}

static int pd_step(const im_env_class *c, void *st, const void *action,
		   void *out, float *reward, uint8_t *terminated)
{
	float *obs = out;
	pendulum *p = st;
	double u = *(const float *)action; /* already within [-2, 2] */
	double an = angle_normalize(p->th);
	double costs = an * an + 0.1 * (p->thdot * p->thdot) + 0.001 * (u * u);
	double newthdot =
		p->thdot +
		(3 * G / (2 * L) * sin(p->th) + 3.0 / (M * L * L) * u) * DT;
	newthdot = newthdot < -MAX_SPEED  ? -MAX_SPEED
		   : newthdot > MAX_SPEED ? MAX_SPEED
					  : newthdot;
	p->th = p->th + newthdot * DT;
	p->thdot = newthdot;
	*reward = (float)-costs;
	*terminated = 0; /* Pendulum never terminates; it only truncates. */
	write_obs(p, obs);
	return 0;
}

static void pd_step_batch(void *states, int k, const void *actions,
			  void *out, float *reward, uint8_t *terminated)
{
	float *obs = out;
	pendulum *s = states;
	const float *a = actions;
	for (int i = 0; i < k; i++)
		pd_step(NULL, &s[i], &a[i], obs + 3 * (size_t)i, &reward[i],
			&terminated[i]);
}

const im_env_class im_env_pendulum_class = {
	.name = "Pendulum-v1",
	.max_episode_steps = 200,
	.obs = {.ndim = 1, .shape = {3}, .dtype = IM_DTYPE_F32, .low = obs_low, .high = obs_high},
	.act = {.kind = IM_ACT_BOX, .n = 1, .low = {-(float)MAX_TORQUE}, .high = {(float)MAX_TORQUE}},
	.state_size = sizeof(pendulum),
	.reset = pd_reset,
	.step = pd_step,
	.step_batch = pd_step_batch,
};
