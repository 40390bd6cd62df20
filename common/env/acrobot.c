// SPDX-License-Identifier: Apache-2.0
/* Acrobot-v1 as Gymnasium defines it: two links, torque on the middle
 * joint, the book's dynamics (Sutton and Barto), one fourth-order
 * Runge-Kutta step of dt = 0.2 s per action, angles wrapped to [-pi, pi]
 * and velocities clamped.  Physics in double; observations float32. */
#include <math.h>

#include "env_class.h"

#define DT 0.2
#define LINK_LENGTH_1 1.0
#define LINK_MASS_1 1.0
#define LINK_MASS_2 1.0
#define LINK_COM_POS_1 0.5
#define LINK_COM_POS_2 0.5
#define LINK_MOI 1.0
#define G 9.8
#define MAX_VEL_1 (4.0 * M_PI)
#define MAX_VEL_2 (9.0 * M_PI)

typedef struct acrobot {
	double s[4]; /* theta1, theta2, dtheta1, dtheta2 */
} acrobot;

static const float obs_high[6] = {1, 1, 1, 1, (float)MAX_VEL_1,
				  (float)MAX_VEL_2};
static const float obs_low[6] = {-1, -1, -1, -1, -(float)MAX_VEL_1,
				 -(float)MAX_VEL_2};

static void write_obs(const acrobot *a, float *obs)
{
	obs[0] = (float)cos(a->s[0]);
	obs[1] = (float)sin(a->s[0]);
	obs[2] = (float)cos(a->s[1]);
	obs[3] = (float)sin(a->s[1]);
	obs[4] = (float)a->s[2];
	obs[5] = (float)a->s[3];
}

static void ab_reset(const im_env_class *c, void *st, im_rng *rng, void *out)
{
	float *obs = out;
	acrobot *a = st;
	/* Uniform in (-0.1, 0.1), then rounded to float32 as Gymnasium's
	 * reset does (astype(np.float32)). */
	for (int i = 0; i < 4; i++)
		a->s[i] = (float)(-0.1 + 0.2 * im_rng_double(rng));
	write_obs(a, obs);
}

/* Time derivative of (theta1, theta2, dtheta1, dtheta2) under torque. */
static void dsdt(const double *s, double torque, double *d)
{
	const double m1 = LINK_MASS_1, m2 = LINK_MASS_2, l1 = LINK_LENGTH_1;
	const double lc1 = LINK_COM_POS_1, lc2 = LINK_COM_POS_2;
	const double i1 = LINK_MOI, i2 = LINK_MOI;
	double theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];
	double d1 = m1 * lc1 * lc1 +
		    m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * cos(theta2)) +
		    i1 + i2;
	double d2 = m2 * (lc2 * lc2 + l1 * lc2 * cos(theta2)) + i2;
	double phi2 = m2 * lc2 * G * cos(theta1 + theta2 - M_PI / 2.0);
	double phi1 = -m2 * l1 * lc2 * (dtheta2 * dtheta2) * sin(theta2) -
		      2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin(theta2) +
		      (m1 * lc1 + m2 * l1) * G * cos(theta1 - M_PI / 2) + phi2;
	/* The book's equation (the NIPS paper's omits the dtheta1^2 term). */
	double ddtheta2 = (torque + d2 / d1 * phi1 -
			   m2 * l1 * lc2 * (dtheta1 * dtheta1) * sin(theta2) -
			   phi2) /
			  (m2 * lc2 * lc2 + i2 - d2 * d2 / d1);
	double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
	d[0] = dtheta1;
	d[1] = dtheta2;
	d[2] = ddtheta1;
	d[3] = ddtheta2;
}

static void rk4(double *y, double torque)
{
	const double dt = DT, dt2 = DT / 2.0;
	double k1[4], k2[4], k3[4], k4[4], t[4];
	dsdt(y, torque, k1);
	for (int i = 0; i < 4; i++)
		t[i] = y[i] + dt2 * k1[i];
	dsdt(t, torque, k2);
	for (int i = 0; i < 4; i++)
		t[i] = y[i] + dt2 * k2[i];
	dsdt(t, torque, k3);
	for (int i = 0; i < 4; i++)
		t[i] = y[i] + dt * k3[i];
	dsdt(t, torque, k4);
	for (int i = 0; i < 4; i++)
		y[i] = y[i] + dt / 6.0 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
}

/* Gymnasium's wrap(): shift by whole turns until inside [lo, hi]. */
static double wrap(double x, double lo, double hi)
{
	double diff = hi - lo;
	while (x > hi)
		x -= diff;
	while (x < lo)
		x += diff;
	return x;
}

static double bound(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi
				    : x;
}

static int ab_step(const im_env_class *c, void *st, const void *action,
		   void *out, float *reward, uint8_t *terminated)
{
	float *obs = out;
	static const double torques[3] = {-1.0, 0.0, 1.0};
	acrobot *a = st;
	rk4(a->s, torques[*(const int32_t *)action]);
	a->s[0] = wrap(a->s[0], -M_PI, M_PI);
	a->s[1] = wrap(a->s[1], -M_PI, M_PI);
	a->s[2] = bound(a->s[2], -MAX_VEL_1, MAX_VEL_1);
	a->s[3] = bound(a->s[3], -MAX_VEL_2, MAX_VEL_2);
	/* The free end is above the bar at one link length over the pivot. */
	*terminated = -cos(a->s[0]) - cos(a->s[1] + a->s[0]) > 1.0;
	*reward = *terminated ? 0.0f : -1.0f;
	write_obs(a, obs);
	return 0;
}

static void ab_step_batch(void *states, int k, const void *actions,
			  void *out, float *reward, uint8_t *terminated)
{
	float *obs = out;
	acrobot *s = states;
	const int32_t *a = actions;
	for (int i = 0; i < k; i++)
		ab_step(NULL, &s[i], &a[i], obs + 6 * (size_t)i, &reward[i],
			&terminated[i]);
}

const im_env_class im_env_acrobot_class = {
	.name = "Acrobot-v1",
	.max_episode_steps = 500,
	.obs = {.ndim = 1, .shape = {6}, .dtype = IM_DTYPE_F32, .low = obs_low, .high = obs_high},
	.act = {.kind = IM_ACT_DISCRETE, .n = 3},
	.state_size = sizeof(acrobot),
	.reset = ab_reset,
	.step = ab_step,
	.step_batch = ab_step_batch,
};
