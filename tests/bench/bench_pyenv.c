// SPDX-License-Identifier: Apache-2.0
/* The Python-environment bridge's speed: steps per second of the pure-Python
 * CartPole (tests/env/pycartpole.py) through the bridge (one im_env, and a
 * vecenv of K as an actor runs it) beside the same class stepped by a
 * plain Python loop (tests/bench/bench_pyloop.py), in one process and one
 * thread (so one core), rounds interleaved; then the same for a null
 * environment whose step returns a ready-made tuple.
 *
 * The bridge's own cost per step is the bridge's time per step minus the
 * Python loop's, both on the same environment: the C side's work (the GIL,
 * the action object, the call, unpacking and checking the result, the
 * observation copy, the time limit and auto-reset) against the Python
 * side's (the call, unpacking, the done test).  Target (issue 12): at
 * most 1 microsecond per step.
 *
 * Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID here,
 * time.thread_time() in Python): on a shared, overloaded machine the time
 * spent waiting for a core would otherwise swamp a difference of a few
 * hundred nanoseconds.
 *
 * Needs PYTHONPATH=tests/env:tests/bench (meson sets it).  The last line of
 * stdout is one JSON object with the medians over the rounds.
 *
 * Usage: bench_pyenv [--steps N] [--rounds R] [--k K] */
#include <Python.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "env/env.h"
#include "err.h"
#include "rng.h"

#define MAX_ROUNDS 51

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
#define TARGET_NS 1000.0

static int32_t *draw_actions(long n, uint64_t seed)
{
	int32_t *a = malloc((size_t)n * sizeof *a);
	im_rng r;
	im_rng_init(&r, seed);
	for (long i = 0; a && i < n; i++)
		a[i] = (int32_t)im_rng_below(&r, 2);
	return a;
}

/* Seconds for n steps of one environment through im_env_step. */
static double bridge_single(im_env *e, const int32_t *acts, long n)
{
	float obs[4];
	im_env_result r;
	im_env_reset(e, 1, obs);
	double t0 = cpu_now();
	for (long i = 0; i < n; i++) {
		if (im_env_step(e, &acts[i], obs, &r))
			abort();
		if (r.terminated || r.truncated)
			im_env_reset_next(e, obs);
	}
	return cpu_now() - t0;
}

/* Seconds for n steps (n / k vecenv steps of k environments). */
static double bridge_vec(im_vecenv *v, const int32_t *acts, long n, int k)
{
	double t0 = cpu_now();
	for (long i = 0; i + k <= n; i += k)
		if (im_vecenv_step(v, &acts[i], NULL))
			abort();
	return cpu_now() - t0;
}

/* Seconds for n steps of bench_pyloop.<kind>() in a Python loop. */
static double python_loop(PyObject *mod, const char *kind, long n)
{
	PyGILState_STATE g = PyGILState_Ensure();
	PyObject *env = PyObject_CallMethod(mod, kind, NULL);
	PyObject *t = env ? PyObject_CallMethod(mod, "loop", "Oli", env, n, 1)
			  : NULL;
	double s = t ? PyFloat_AsDouble(t) : -1;
	if (!t)
		PyErr_Print();
	Py_XDECREF(t);
	Py_XDECREF(env);
	PyGILState_Release(g);
	if (s < 0)
		exit(1);
	return s;
}

typedef struct figures {
	double py, single, vec; /* steps per second, medians */
} figures;

static double rate(double *secs, int rounds, long n)
{
	return (double)n / bench_median(secs, rounds);
}

static figures measure(const char *kind, PyObject *mod, long n, int rounds,
		       int k)
{
	char spec[64], err[512] = "";
	/* Not "make?kind=null": null is JSON, and would arrive as None. */
	snprintf(spec, sizeof spec, "py:bench_pyloop:%s", kind);
	im_env *e = NULL;
	im_vecenv *v = NULL;
	im_rng root;
	im_rng_init(&root, 2);
	im_vecenv_opts vo = {.spec = spec, .num_envs = k, .rng = &root, .err = err, .errlen = sizeof err};
	if (im_env_make(&e, spec, err, sizeof err) || im_vecenv_new(&v, &vo)) {
		fprintf(stderr, "bench_pyenv: %s\n", err);
		exit(1);
	}
	int32_t *acts = draw_actions(n, 3);
	double py[MAX_ROUNDS], single[MAX_ROUNDS], vec[MAX_ROUNDS];
	/* One warm-up round of each, then the rounds, interleaved. */
	python_loop(mod, kind, n / 10);
	bridge_single(e, acts, n / 10);
	bridge_vec(v, acts, n / 10, k);
	for (int r = 0; r < rounds; r++) {
		py[r] = python_loop(mod, kind, n);
		single[r] = bridge_single(e, acts, n);
		vec[r] = bridge_vec(v, acts, n, k) * (double)n /
			 (double)(n / k * k);
	}
	free(acts);
	im_vecenv_free(v);
	im_env_free(e);
	return (figures){rate(py, rounds, n), rate(single, rounds, n),
			 rate(vec, rounds, n)};
}

static PyObject *import_loop_module(void)
{
	PyGILState_STATE g = PyGILState_Ensure();
	PyObject *m = PyImport_ImportModule("bench_pyloop");
	if (!m)
		PyErr_Print();
	PyGILState_Release(g);
	if (!m)
		exit(1);
	return m;
}

static void print_figures(const char *kind, const figures *f, int k)
{
	printf("%-9s python loop %9.0f steps/s | bridge %9.0f steps/s "
	       "(+%.0f ns/step) | vecenv k=%d %9.0f steps/s (+%.0f ns/step)\n",
	       kind, f->py, f->single, 1e9 / f->single - 1e9 / f->py, k,
	       f->vec, 1e9 / f->vec - 1e9 / f->py);
}

int main(int argc, char **argv)
{
	long n = 20000;
	int rounds = 7, k = 16;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--steps") == 0)
			n = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--rounds") == 0)
			rounds = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--k") == 0)
			k = atoi(argv[i + 1]);
	}
	if (n < 100 || rounds < 1 || rounds > MAX_ROUNDS || k < 1 || k > n) {
		fprintf(stderr, "usage: bench_pyenv [--steps N>=100] "
				"[--rounds 1..%d] [--k K]\n",
			MAX_ROUNDS);
		return 2;
	}
	/* The first open starts the interpreter the loop module runs in. */
	im_env *probe = NULL;
	char err[512] = "";
	if (im_env_make(&probe, "py:bench_pyloop:null", err, sizeof err)) {
		fprintf(stderr, "bench_pyenv: %s (PYTHONPATH?)\n", err);
		return 1;
	}
	im_env_free(probe);
	PyObject *mod = import_loop_module();
	figures cp = measure("cartpole", mod, n, rounds, k);
	figures nu = measure("null", mod, n, rounds, k);
	print_figures("cartpole", &cp, k);
	print_figures("null", &nu, k);
	double load[3] = {0};
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
			load[0] = -1;
		fclose(f);
	}
	double cost = 1e9 / cp.single - 1e9 / cp.py;
	printf("{\"bench\":\"pyenv\",\"steps\":%ld,\"rounds\":%d,\"k\":%d,"
	       "\"cartpole\":{\"python_loop_steps_per_s\":%.0f,"
	       "\"bridge_steps_per_s\":%.0f,\"bridge_vecenv_steps_per_s\":%.0f,"
	       "\"bridge_cost_ns_per_step\":%.1f,"
	       "\"bridge_vecenv_cost_ns_per_step\":%.1f},"
	       "\"null\":{\"python_loop_steps_per_s\":%.0f,"
	       "\"bridge_steps_per_s\":%.0f,\"bridge_vecenv_steps_per_s\":%.0f,"
	       "\"bridge_cost_ns_per_step\":%.1f},"
	       "\"target_ns_per_step\":%.0f,\"within_target\":%s,"
	       "\"loadavg\":[%.2f,%.2f,%.2f]}\n",
	       n, rounds, k, cp.py, cp.single, cp.vec, cost,
	       1e9 / cp.vec - 1e9 / cp.py, nu.py, nu.single, nu.vec,
	       1e9 / nu.single - 1e9 / nu.py, TARGET_NS,
	       cost <= TARGET_NS ? "true" : "false", load[0], load[1], load[2]);
	return 0;
}
