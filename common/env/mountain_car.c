// SPDX-License-Identifier: Apache-2.0
/* MountainCar-v0 and MountainCarContinuous-v0 as Gymnasium defines them
 * (Moore's car in a valley, height sin(3x)).  Physics in double.  The
 * continuous version stores its state as float32 after every step, as
 * Gymnasium's does (np.array(..., dtype=np.float32)); the discrete one
 * keeps float64. */
#include <math.h>

#include "env_class.h"

#define MIN_POSITION -1.2
#define MAX_POSITION 0.6
#define MAX_SPEED 0.07
#define GOAL_POSITION 0.5
#define GOAL_POSITION_CONT 0.45
#define FORCE 0.001
#define GRAVITY 0.0025
#define POWER 0.0015

typedef struct car {
	double position, velocity;
} car;

static const float obs_low[2] = {(float)MIN_POSITION, (float)-MAX_SPEED};
static const float obs_high[2] = {(float)MAX_POSITION, (float)MAX_SPEED};

/* np.clip for finite values (a ternary: no libm call in the loop). */
static inline double clip(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi
				    : x;
}

static void car_reset(const im_env_class *c, void *st, im_rng *rng,
		      void *out)
{
	float *obs = out;
	car *s = st;
	s->position = -0.6 + 0.2 * im_rng_double(rng);
	s->velocity = 0.0;
	obs[0] = (float)s->position;
	obs[1] = 0.0f;
}

/* The shared part: velocity from the push and the slope, inelastic walls.
 * Returns 1 at the goal. */
static inline uint8_t drive(car *s, double push, double goal)
{
	/* Grouped as Gymnasium writes it: v += (push - gravity term). */
	double v = s->velocity + (push - GRAVITY * cos(3 * s->position));
	v = clip(v, -MAX_SPEED, MAX_SPEED);
	double p = s->position + v;
	p = clip(p, MIN_POSITION, MAX_POSITION);
	if (p == MIN_POSITION && v < 0)
		v = 0;
	s->position = p;
	s->velocity = v;
	return p >= goal && v >= 0.0;
}

static int mc_step(const im_env_class *c, void *st, const void *action,
		   void *out, float *reward, uint8_t *terminated)
{
	float *obs = out;
	car *s = st;
	int32_t a = *(const int32_t *)action;
	*terminated = drive(s, (a - 1) * FORCE, GOAL_POSITION);
	*reward = -1.0f;
	obs[0] = (float)s->position;
	obs[1] = (float)s->velocity;
	return 0;
}

static void mc_step_batch(void *states, int k, const void *actions,
			  void *out, float *reward, uint8_t *terminated)
{
	float *obs = out;
	car *s = states;
	const int32_t *a = actions;
	for (int i = 0; i < k; i++)
		mc_step(NULL, &s[i], &a[i], obs + 2 * (size_t)i, &reward[i],
			&terminated[i]);
}

static int mcc_step(const im_env_class *c, void *st, const void *action,
		    void *out, float *reward, uint8_t *terminated)
{
	float *obs = out;
	car *s = st;
	double a = *(const float *)action;
	/* Gymnasium clips the force to [-1, 1]; our interface has already
	 * refused anything outside, so the clip is the identity. */
	*terminated = drive(s, a * POWER, GOAL_POSITION_CONT);
	*reward = (float)((*terminated ? 100.0 : 0.0) - a * a * 0.1);
	/* Keep the state in float32, as Gymnasium does.  Each component is
	 * rounded on its own: GCC 12's SLP vectoriser, given the pair
	 * s->p = (float)s->p; s->v = (float)s->v, stored the unrounded
	 * doubles back (test_mountain_car_continuous catches that). */
	obs[0] = (float)s->position;
	s->position = obs[0];
	obs[1] = (float)s->velocity;
	s->velocity = obs[1];
	return 0;
}

static void mcc_step_batch(void *states, int k, const void *actions,
			   void *out, float *reward, uint8_t *terminated)
{
	float *obs = out;
	car *s = states;
	const float *a = actions;
	for (int i = 0; i < k; i++)
		mcc_step(NULL, &s[i], &a[i], obs + 2 * (size_t)i, &reward[i],
			 &terminated[i]);
}

const im_env_class im_env_mountain_car_class = {
	.name = "MountainCar-v0",
	.max_episode_steps = 200,
	.obs = {.ndim = 1, .shape = {2}, .dtype = IM_DTYPE_F32, .low = obs_low, .high = obs_high},
	.act = {.kind = IM_ACT_DISCRETE, .n = 3},
	.state_size = sizeof(car),
	.reset = car_reset,
	.step = mc_step,
	.step_batch = mc_step_batch,
};

const im_env_class im_env_mountain_car_cont_class = {
	.name = "MountainCarContinuous-v0",
	.max_episode_steps = 999,
	.obs = {.ndim = 1, .shape = {2}, .dtype = IM_DTYPE_F32, .low = obs_low, .high = obs_high},
	.act = {.kind = IM_ACT_BOX, .n = 1, .low = {-1.0f}, .high = {1.0f}},
	.state_size = sizeof(car),
	.reset = car_reset,
	.step = mcc_step,
	.step_batch = mcc_step_batch,
};
