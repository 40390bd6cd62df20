// SPDX-License-Identifier: Apache-2.0
/* The built-in environments step as Gymnasium's published equations say.
 *
 * Each case sets a chosen state, steps once, and compares with numbers
 * derived here independently of common/env: exact fractions worked out by
 * hand where the state makes them simple, otherwise a separate model
 * written in this file from the papers' equations in a different form
 * (e.g. cos(theta - pi/2) as sin(theta), Florian's cart-pole form, atan2
 * for angle wrapping), itself first checked against hand-derived values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "env/env_class.h"

/* Outputs are float32 roundings of double physics; two float ulps cover
 * the last-bit differences between two correct double computations. */
static void assert_f32_near(float got, double want)
{
	float w = (float)want;
	float ulp = nextafterf(fabsf(w), INFINITY) - fabsf(w);
	if (!(fabsf(got - w) <= 2 * ulp)) {
		print_error("got %.9g, want %.9g\n", (double)got, want);
		fail();
	}
}

static void assert_obs(const float *got, const double *want, int n)
{
	for (int i = 0; i < n; i++)
		assert_f32_near(got[i], want[i]);
}

static void step_class(const im_env_class *c, double *s, const void *a,
		       float *obs, float *r, uint8_t *t)
{
	assert_int_equal(c->step(c, s, a, obs, r, t), 0);
}

/* ---- CartPole ---------------------------------------------------------- */

/* Florian (2007), frictionless, with Gymnasium's constants and Euler. */
static void cartpole_ref(const double *s, int action, double *out, int *term)
{
	const double g = 9.8, mc = 1.0, m = 0.1, l = 0.5, tau = 0.02;
	double F = action ? 10.0 : -10.0;
	double th = s[2], w = s[3];
	double num = g * sin(th) +
		     cos(th) * (-F - m * l * w * w * sin(th)) / (mc + m);
	double thacc = num / (l * (4.0 / 3.0 - m * cos(th) * cos(th) /
						       (mc + m)));
	double xacc = (F + m * l * (w * w * sin(th) - thacc * cos(th))) /
		      (mc + m);
	out[0] = s[0] + tau * s[1];
	out[1] = s[1] + tau * xacc;
	out[2] = s[2] + tau * s[3];
	out[3] = s[3] + tau * thacc;
	double thr = 12.0 * M_PI / 180.0;
	*term = fabs(out[0]) > 2.4 || fabs(out[2]) > thr;
}

static void test_cartpole_hand(void **state)
{
	(void)state;
	/* From rest, push right: temp = 100/11, thetaacc = -600/41,
	 * xacc = 4400/451; one Euler step of 0.02 s. */
	const im_env_class *c = &im_env_cartpole_class;
	for (int32_t a = 0; a <= 1; a++) {
		double s[4] = {0, 0, 0, 0};
		double sign = a ? 1.0 : -1.0;
		double want[4] = {0, sign * 88.0 / 451.0, 0, -sign * 12.0 / 41.0};
		float obs[4], r;
		uint8_t t;
		step_class(c, s, &a, obs, &r, &t);
		assert_obs(obs, want, 4);
		assert_true(r == 1.0f);
		assert_int_equal(t, 0);
	}
}

static void test_cartpole_states(void **state)
{
	(void)state;
	const im_env_class *c = &im_env_cartpole_class;
	static const double cases[][5] = {
		/* x, x_dot, theta, theta_dot, action */
		{0.1, -0.3, 0.05, 0.4, 0},
		{-1.0, 0.5, -0.15, -1.2, 1},
		{2.0, 1.5, 0.2, 0.1, 1},
		{-2.3, -1.0, -0.01, 0.3, 0},
	};
	double ref[4];
	int term;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		double s[4] = {cases[k][0], cases[k][1], cases[k][2],
			       cases[k][3]};
		int32_t a = (int32_t)cases[k][4];
		cartpole_ref(s, a, ref, &term);
		float obs[4], r;
		uint8_t t;
		step_class(c, s, &a, obs, &r, &t);
		assert_obs(obs, ref, 4);
		assert_int_equal(t, term);
		assert_true(r == 1.0f); /* the terminating step pays too */
	}
}

static void test_cartpole_termination(void **state)
{
	(void)state;
	const im_env_class *c = &im_env_cartpole_class;
	/* theta threshold is 12 degrees = 0.20944 rad; x threshold 2.4. */
	static const struct {
		double s[4];
		int term;
	} cases[] = {
		{{0, 0, 0.2090, 0.5}, 1},   /* theta -> 0.2190 */
		{{0, 0, -0.2090, -0.5}, 1}, /* theta -> -0.2190 */
		{{0, 0, 0.2000, 0.2}, 0},   /* theta -> 0.2040 */
		{{2.39, 1.0, 0, 0}, 1},     /* x -> 2.41 */
		{{-2.39, -1.0, 0, 0}, 1},   /* x -> -2.41 */
		{{2.30, 1.0, 0, 0}, 0},     /* x -> 2.32 */
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		double s[4];
		for (int i = 0; i < 4; i++)
			s[i] = cases[k].s[i];
		int32_t a = 1;
		float obs[4], r;
		uint8_t t;
		step_class(c, s, &a, obs, &r, &t);
		assert_int_equal(t, cases[k].term);
	}
}

/* ---- Acrobot ----------------------------------------------------------- */

/* The book's equations with m = l1 = I = 1, lc = 0.5, g = 9.8 folded in,
 * and cos(a - pi/2) written as sin(a). */
static void acrobot_deriv(const double *s, double tau, double *d)
{
	double t1 = s[0], t2 = s[1], w1 = s[2], w2 = s[3];
	double d1 = 3.5 + cos(t2);
	double d2 = 1.25 + 0.5 * cos(t2);
	double phi2 = 4.9 * sin(t1 + t2);
	double phi1 = -0.5 * w2 * w2 * sin(t2) - w2 * w1 * sin(t2) +
		      14.7 * sin(t1) + phi2;
	double dd2 = (tau + d2 / d1 * phi1 - 0.5 * w1 * w1 * sin(t2) - phi2) /
		     (1.25 - d2 * d2 / d1);
	d[0] = w1;
	d[1] = w2;
	d[2] = -(d2 * dd2 + phi1) / d1;
	d[3] = dd2;
}

/* Classic RK4 over h = 0.2 s; returns the unclamped, unwrapped state. */
static void acrobot_rk4(const double *y, double tau, double *out)
{
	const double h = 0.2;
	double k[4][4], t[4];
	acrobot_deriv(y, tau, k[0]);
	for (int st = 1; st < 4; st++) {
		double c = st == 3 ? h : h / 2;
		for (int i = 0; i < 4; i++)
			t[i] = y[i] + c * k[st - 1][i];
		acrobot_deriv(t, tau, k[st]);
	}
	for (int i = 0; i < 4; i++)
		out[i] = y[i] + h / 6 * (k[0][i] + 2 * k[1][i] + 2 * k[2][i] + k[3][i]);
}

static void acrobot_ref(const double *s, int action, double *obs, int *term)
{
	double y[4];
	acrobot_rk4(s, action - 1.0, y);
	double t1 = atan2(sin(y[0]), cos(y[0]));
	double t2 = atan2(sin(y[1]), cos(y[1]));
	double w1 = fmax(-4 * M_PI, fmin(4 * M_PI, y[2]));
	double w2 = fmax(-9 * M_PI, fmin(9 * M_PI, y[3]));
	obs[0] = cos(t1);
	obs[1] = sin(t1);
	obs[2] = cos(t2);
	obs[3] = sin(t2);
	obs[4] = w1;
	obs[5] = w2;
	/* Tip height above the pivot, in link lengths. */
	*term = -cos(t1) - cos(t1 + t2) > 1.0;
}

static void test_acrobot_reference_model(void **state)
{
	(void)state;
	/* Hand-derived at theta1 = pi/2 (first link horizontal), rest:
	 * d1 = 4.5, d2 = 1.75, phi2 = 4.9, phi1 = 19.6, so
	 * ddtheta2 = 196/41 and ddtheta1 = -254.8/41. */
	double s[4] = {M_PI / 2, 0, 0, 0}, d[4];
	acrobot_deriv(s, 0.0, d);
	assert_true(fabs(d[3] - 196.0 / 41.0) < 1e-12);
	assert_true(fabs(d[2] + 254.8 / 41.0) < 1e-12);
	/* Torque enters ddtheta2 through 1 / (1.25 - d2^2/d1) = 72/41. */
	double d_tau[4];
	acrobot_deriv(s, 1.0, d_tau);
	assert_true(fabs(d_tau[3] - d[3] - 72.0 / 41.0) < 1e-12);
}

static void test_acrobot_states(void **state)
{
	(void)state;
	const im_env_class *c = &im_env_acrobot_class;
	static const double cases[][5] = {
		{0.1, -0.2, 0.3, -0.4, 2},
		{1.0, 0.5, -2.0, 3.0, 0},
		{-0.05, 0.07, 0.02, -0.01, 1},
		{3.1, 0.0, 3.0, 0.0, 1}, /* theta1 wraps past pi */
		{-2.5, 2.0, -6.0, 8.0, 2},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		double s[4] = {cases[k][0], cases[k][1], cases[k][2],
			       cases[k][3]};
		int32_t a = (int32_t)cases[k][4];
		double ref[6];
		int term;
		acrobot_ref(s, a, ref, &term);
		float obs[6], r;
		uint8_t t;
		step_class(c, s, &a, obs, &r, &t);
		assert_obs(obs, ref, 6);
		assert_int_equal(t, term);
		assert_true(r == (term ? 0.0f : -1.0f));
		/* The stored angles stay wrapped into [-pi, pi]. */
		assert_true(fabs(s[0]) <= M_PI && fabs(s[1]) <= M_PI);
	}
}

static void test_acrobot_velocity_clamp(void **state)
{
	(void)state;
	const im_env_class *c = &im_env_acrobot_class;
	double s[4] = {0.0, 0.0, 12.5, 28.0};
	double raw[4];
	acrobot_rk4(s, 1.0, raw);
	/* Only meaningful if the free motion leaves the bounds. */
	assert_true(fabs(raw[2]) > 4 * M_PI || fabs(raw[3]) > 9 * M_PI);
	int32_t a = 2;
	float obs[6], r;
	uint8_t t;
	step_class(c, s, &a, obs, &r, &t);
	assert_true(fabs(s[2]) <= 4 * M_PI && fabs(s[3]) <= 9 * M_PI);
	if (fabs(raw[3]) > 9 * M_PI)
		assert_true(fabs(s[3]) == 9 * M_PI);
	if (fabs(raw[2]) > 4 * M_PI)
		assert_true(fabs(s[2]) == 4 * M_PI);
}

static void test_acrobot_termination(void **state)
{
	(void)state;
	const im_env_class *c = &im_env_acrobot_class;
	/* Hanging still near the top: tip height -2cos(3) = 1.98 > 1. */
	double up[4] = {3.0, 0.0, 0.0, 0.0};
	/* Hanging at rest at the bottom: height -2, far from the goal. */
	double down[4] = {0.0, 0.0, 0.0, 0.0};
	int32_t a = 1;
	float obs[6], r;
	uint8_t t;
	step_class(c, up, &a, obs, &r, &t);
	assert_int_equal(t, 1);
	assert_true(r == 0.0f);
	step_class(c, down, &a, obs, &r, &t);
	assert_int_equal(t, 0);
	assert_true(r == -1.0f);
}

/* ---- MountainCar ------------------------------------------------------- */

static void test_mountain_car(void **state)
{
	(void)state;
	const im_env_class *c = &im_env_mountain_car_class;
	float obs[2], r;
	uint8_t t;
	int32_t a;

	/* Push right from the bottom region: v = 0.001 - 0.0025 cos(-1.5). */
	double s[2] = {-0.5, 0.0};
	a = 2;
	step_class(c, s, &a, obs, &r, &t);
	double v = 0.001 - 0.0025 * cos(1.5);
	double want[2] = {-0.5 + v, v};
	assert_obs(obs, want, 2);
	assert_true(r == -1.0f);
	assert_int_equal(t, 0);

	/* Into the left wall: position clipped to -1.2, velocity zeroed. */
	double w[2] = {-1.19, -0.05};
	a = 0;
	step_class(c, w, &a, obs, &r, &t);
	assert_true(w[0] == -1.2 && w[1] == 0.0);
	assert_true(obs[0] == (float)-1.2 && obs[1] == 0.0f);

	/* Speed limit: -0.8 lies where gravity helps (cos(-2.4) < 0). */
	double f[2] = {-0.8, 0.0695};
	a = 2;
	step_class(c, f, &a, obs, &r, &t);
	assert_true(f[1] == 0.07);
	assert_f32_near(obs[0], -0.8 + 0.07);

	/* Goal at position >= 0.5 with velocity >= 0. */
	double g[2] = {0.49, 0.02};
	a = 1;
	step_class(c, g, &a, obs, &r, &t);
	assert_int_equal(t, 1);
	assert_true(r == -1.0f);
	double ng[2] = {0.45, 0.01};
	step_class(c, ng, &a, obs, &r, &t);
	assert_int_equal(t, 0);
}

static void test_mountain_car_continuous(void **state)
{
	(void)state;
	const im_env_class *c = &im_env_mountain_car_cont_class;
	float obs[2], r;
	uint8_t t;

	double s[2] = {-0.5, 0.0};
	float a = 1.0f;
	step_class(c, s, &a, obs, &r, &t);
	double v = 0.0015 - 0.0025 * cos(1.5);
	double want[2] = {-0.5 + v, v};
	assert_obs(obs, want, 2);
	assert_f32_near(r, -0.1); /* -0.1 a^2 */
	assert_int_equal(t, 0);
	/* Gymnasium keeps this env's state in float32 between steps. */
	assert_true(s[0] == (double)(float)(-0.5 + v));
	assert_true(s[1] == (double)(float)v);

	/* The goal is at 0.45 here: +100 on arrival, minus the action cost. */
	double g[2] = {0.44, 0.02};
	a = 0.5f;
	step_class(c, g, &a, obs, &r, &t);
	double gv = 0.02 + 0.5 * 0.0015 - 0.0025 * cos(3 * 0.44);
	double gwant[2] = {0.44 + gv, gv};
	assert_obs(obs, gwant, 2);
	assert_int_equal(t, 1);
	assert_f32_near(r, 100.0 - 0.1 * 0.25);

	/* Left wall as in the discrete version. */
	double w[2] = {-1.19, -0.05};
	a = -1.0f;
	step_class(c, w, &a, obs, &r, &t);
	assert_true(obs[0] == (float)-1.2 && obs[1] == 0.0f);
}

/* ---- Pendulum ---------------------------------------------------------- */

static void test_pendulum(void **state)
{
	(void)state;
	const im_env_class *c = &im_env_pendulum_class;
	float obs[3], r;
	uint8_t t;
	float u;

	/* Upright and still, full torque: cost 0.001 * 4; thdot' = 3u dt. */
	double s[2] = {0.0, 0.0};
	u = 2.0f;
	step_class(c, s, &u, obs, &r, &t);
	double w0[3] = {cos(0.015), sin(0.015), 0.3};
	assert_obs(obs, w0, 3);
	assert_f32_near(r, -0.004);
	assert_int_equal(t, 0);

	/* Horizontal, thdot 1, u = -1: cost (pi/2)^2 + 0.1 + 0.001;
	 * thdot' = 1 + (15 - 3) * 0.05 = 1.6; theta' = pi/2 + 0.08. */
	double h[2] = {M_PI / 2, 1.0};
	u = -1.0f;
	step_class(c, h, &u, obs, &r, &t);
	double w1[3] = {cos(M_PI / 2 + 0.08), sin(M_PI / 2 + 0.08), 1.6};
	assert_obs(obs, w1, 3);
	assert_f32_near(r, -(M_PI * M_PI / 4 + 0.101));

	/* The cost measures the angle from upright in [-pi, pi): 7 rad is
	 * 7 - 2pi, -4 rad is -4 + 2pi. */
	double a7[2] = {7.0, 0.0};
	u = 0.0f;
	step_class(c, a7, &u, obs, &r, &t);
	assert_f32_near(r, -pow(7.0 - 2 * M_PI, 2));
	double am4[2] = {-4.0, 0.0};
	step_class(c, am4, &u, obs, &r, &t);
	assert_f32_near(r, -pow(-4.0 + 2 * M_PI, 2));

	/* Speed limit 8; the cost uses the speed before the step. */
	double f[2] = {M_PI / 2, 7.9};
	u = 2.0f;
	step_class(c, f, &u, obs, &r, &t);
	assert_true(f[1] == 8.0);
	assert_f32_near(obs[2], 8.0);
	assert_f32_near(r, -(M_PI * M_PI / 4 + 0.1 * 7.9 * 7.9 + 0.004));
	double w2[2] = {cos(M_PI / 2 + 0.4), sin(M_PI / 2 + 0.4)};
	assert_obs(obs, w2, 2);
	assert_int_equal(t, 0); /* never terminates */
}

/* Gymnasium keeps Acrobot's reset state and MountainCarContinuous's
 * state in float32; both the single and the batched paths must too. */
static int is_f32(double x)
{
	return x == (double)(float)x;
}

static void test_float32_states(void **state)
{
	(void)state;
	im_rng rng;
	im_rng_init(&rng, 11);
	float obs[8 * 6], r[8];
	uint8_t t[8];
	double ab[8][4];
	for (int i = 0; i < 8; i++) {
		im_env_acrobot_class.reset(&im_env_acrobot_class, ab[i], &rng,
					   obs);
		for (int j = 0; j < 4; j++) {
			assert_true(is_f32(ab[i][j]));
			assert_true(fabs(ab[i][j]) < 0.1);
		}
	}
	const im_env_class *c = &im_env_mountain_car_cont_class;
	double car[8][2];
	float act[8];
	for (int i = 0; i < 8; i++) {
		car[i][0] = -0.5 + 0.01 * i;
		car[i][1] = 0.001 * i;
		act[i] = 0.1f * (float)i - 0.35f;
	}
	for (int step = 0; step < 3; step++) {
		c->step_batch(car, 8, act, obs, r, t);
		for (int i = 0; i < 8; i++) {
			assert_true(is_f32(car[i][0]) && is_f32(car[i][1]));
			assert_true(obs[2 * i] == (float)car[i][0]);
		}
	}
}

/* ---- batched kernels against the per-env step ------------------------- */

static void test_batch_matches_single(void **state)
{
	(void)state;
	const im_env_class *cls[] = {
		&im_env_cartpole_class,
		&im_env_acrobot_class,
		&im_env_mountain_car_class,
		&im_env_pendulum_class,
		&im_env_mountain_car_cont_class,
	};
	enum { K = 7,
	       MAXST = 64 };
	for (size_t ci = 0; ci < sizeof(cls) / sizeof(cls[0]); ci++) {
		const im_env_class *c = cls[ci];
		size_t ss = c->state_size, nobs = im_obs_numel(&c->obs);
		assert_true(ss <= MAXST && nobs <= 6);
		/* States laid out state_size apart, as a vecenv keeps them. */
		_Alignas(16) unsigned char a[K * MAXST], b[K * MAXST];
		int32_t da[K];
		float fa[K], oa[K * 6], ob[K * 6], ra[K], rb[K];
		uint8_t ta[K], tb[K];
		im_rng rng;
		im_rng_init(&rng, 5 + ci);
		for (int i = 0; i < K; i++)
			c->reset(c, a + i * ss, &rng, oa);
		memcpy(b, a, K * ss);
		const void *act = c->act.kind == IM_ACT_DISCRETE
					  ? (const void *)da
					  : (const void *)fa;
		size_t asz = c->act.kind == IM_ACT_DISCRETE ? sizeof(int32_t)
							    : sizeof(float);
		for (int step = 0; step < 50; step++) {
			for (int i = 0; i < K; i++) {
				da[i] = (int32_t)im_rng_below(
					&rng, (uint64_t)c->act.n);
				fa[i] = im_rng_uniform(&rng, c->act.low[0],
						       c->act.high[0]);
			}
			c->step_batch(a, K, act, oa, ra, ta);
			for (int i = 0; i < K; i++)
				c->step(c, b + i * ss,
					(const char *)act + i * asz,
					ob + i * nobs, &rb[i], &tb[i]);
			assert_memory_equal(a, b, K * ss);
			assert_memory_equal(oa, ob, K * nobs * sizeof(float));
			assert_memory_equal(ra, rb, sizeof(ra));
			assert_memory_equal(ta, tb, sizeof(ta));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cartpole_hand),
		cmocka_unit_test(test_cartpole_states),
		cmocka_unit_test(test_cartpole_termination),
		cmocka_unit_test(test_acrobot_reference_model),
		cmocka_unit_test(test_acrobot_states),
		cmocka_unit_test(test_acrobot_velocity_clamp),
		cmocka_unit_test(test_acrobot_termination),
		cmocka_unit_test(test_mountain_car),
		cmocka_unit_test(test_mountain_car_continuous),
		cmocka_unit_test(test_pendulum),
		cmocka_unit_test(test_float32_states),
		cmocka_unit_test(test_batch_matches_single),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
