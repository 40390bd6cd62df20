// SPDX-License-Identifier: Apache-2.0
/* The Python-environment bridge: an environment class whose instances are
 * objects with Gymnasium's interface, made by a user's factory inside one
 * embedded CPython interpreter per process (see pyenv.h).  Start-up and
 * space reading are in pyenv_boot.py (compiled in); this file does the
 * interpreter, the calls, the contract checks and the error reports;
 * pyenv_obs.c copies observations. */
#include "pyenv_obs.h" /* first: Python.h wants to be */

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env/pyenv.h"
#include "err.h"
#include "log.h"
#include "pyenv_boot.h"
#include "pyenv_config.h"

/* ---- the interpreter ---------------------------------------------------- */

/* The boot module's functions, set once by start_python(). */
static struct boot {
	PyObject *load, *parse_kwargs, *describe, *action_template;
	PyObject *format_exception, *refused;
	PyObject *seed_kwnames; /* ("seed",) */
	int started;
	char error[512]; /* why the interpreter could not start */
} boot;
static pthread_mutex_t boot_lock = PTHREAD_MUTEX_INITIALIZER;

/* The interpreter's executable decides where its library and site-packages
 * are: a virtual environment's bin/python3 (found through its pyvenv.cfg)
 * when VIRTUAL_ENV is set, else the Python this program was built with. */
static int choose_executable(char *exe, size_t len, char *err, size_t errlen)
{
	const char *venv = getenv("VIRTUAL_ENV");
	if (!venv || !venv[0]) {
		snprintf(exe, len, "%s/bin/python%d", IM_PYTHON_PREFIX,
			 PY_MAJOR_VERSION);
		return 0;
	}
	char cfg[4096], line[512];
	snprintf(cfg, sizeof cfg, "%s/pyvenv.cfg", venv);
	FILE *f = fopen(cfg, "r");
	if (!f)
		return im_errf(err, errlen, IM_EPLUGIN, "VIRTUAL_ENV=%s is not a "
							"virtual environment (no pyvenv.cfg)",
			       venv);
	int major = 0, minor = 0, found = 0;
	while (!found && fgets(line, sizeof line, f))
		found = sscanf(line, " version = %d.%d", &major, &minor) == 2 ||
			sscanf(line, " version_info = %d.%d", &major, &minor) == 2;
	fclose(f);
	if (found && (major != PY_MAJOR_VERSION || minor != PY_MINOR_VERSION))
		return im_errf(err, errlen, IM_EPLUGIN, "VIRTUAL_ENV=%s was made "
							"by Python %d.%d, but impala embeds Python %d.%d; "
							"make the venv with python%d.%d",
			       venv, major,
			       minor, PY_MAJOR_VERSION, PY_MINOR_VERSION,
			       PY_MAJOR_VERSION, PY_MINOR_VERSION);
	snprintf(exe, len, "%s/bin/python%d", venv, PY_MAJOR_VERSION);
	return 0;
}

static int init_interpreter(char *err, size_t errlen)
{
	char exe[4096];
	int rc = choose_executable(exe, sizeof exe, err, errlen);
	if (rc)
		return rc;
	PyConfig cfg;
	PyConfig_InitPythonConfig(&cfg);
	/* impala owns SIGINT and SIGTERM (common/signals.h). */
	cfg.install_signal_handlers = 0;
	cfg.parse_argv = 0;
	PyStatus st = PyConfig_SetBytesString(&cfg, &cfg.program_name, exe);
	if (!PyStatus_Exception(st))
		st = PyConfig_SetBytesString(&cfg, &cfg.executable, exe);
	if (!PyStatus_Exception(st))
		st = Py_InitializeFromConfig(&cfg);
	PyConfig_Clear(&cfg);
	if (PyStatus_Exception(st))
		return im_errf(err, errlen, IM_EPLUGIN, "cannot start Python: %s",
			       st.err_msg ? st.err_msg : "unknown error");
	return 0;
}

static PyObject *boot_attr(PyObject *dict, const char *name)
{
	PyObject *o = PyDict_GetItemString(dict, name); /* borrowed */
	Py_XINCREF(o);
	return o;
}

/* Runs pyenv_boot.py in a module of its own and puts the working
 * directory first on sys.path, as `python -m` does, so a user's package
 * beside them imports without PYTHONPATH. */
static int load_boot(char *err, size_t errlen)
{
	PyObject *m = PyImport_AddModule("_impala_pyenv"); /* borrowed */
	PyObject *d = m ? PyModule_GetDict(m) : NULL;
	if (d && !PyDict_GetItemString(d, "__builtins__"))
		PyDict_SetItemString(d, "__builtins__", PyEval_GetBuiltins());
	/* The bound every environment class keeps (env_class.h). */
	PyObject *max = PyLong_FromUnsignedLong(IM_ENV_MAX_OBS_NUMEL);
	if (d && max)
		PyDict_SetItemString(d, "MAX_OBS_NUMEL", max);
	Py_XDECREF(max);
	PyObject *code = Py_CompileString(im_pyenv_boot_src, "<impala pyenv_boot.py>",
					  Py_file_input);
	PyObject *r = code && d ? PyEval_EvalCode(code, d, d) : NULL;
	Py_XDECREF(code);
	Py_XDECREF(r);
	if (!r) {
		PyErr_Print();
		return im_errf(err, errlen, IM_EPLUGIN, "the Python bridge's "
							"start-up code failed (see the traceback)");
	}
	boot.load = boot_attr(d, "load");
	boot.parse_kwargs = boot_attr(d, "parse_kwargs");
	boot.describe = boot_attr(d, "describe");
	boot.action_template = boot_attr(d, "action_template");
	boot.format_exception = boot_attr(d, "format_exception");
	boot.refused = boot_attr(d, "Refused");
	boot.seed_kwnames = Py_BuildValue("(s)", "seed");
	char cwd[4096];
	PyObject *path = PySys_GetObject("path"); /* borrowed */
	if (getcwd(cwd, sizeof cwd) && path) {
		PyObject *s = PyUnicode_DecodeFSDefault(cwd);
		if (!s || PyList_Insert(path, 0, s))
			PyErr_Clear();
		Py_XDECREF(s);
	}
	return 0;
}

/* Starts the interpreter once per process; later calls return the first
 * call's result. */
static int start_python(char *err, size_t errlen)
{
	pthread_mutex_lock(&boot_lock);
	int rc = 0;
	if (boot.started == 0) {
		rc = init_interpreter(boot.error, sizeof boot.error);
		if (rc == 0) {
			rc = load_boot(boot.error, sizeof boot.error);
			/* From here on every call takes the GIL itself. */
			PyEval_SaveThread();
		}
		boot.started = rc ? -1 : 1;
	}
	if (boot.started < 0) {
		im_errf(err, errlen, 0, "%s", boot.error);
		rc = IM_EPLUGIN;
	}
	pthread_mutex_unlock(&boot_lock);
	return rc;
}

/* ---- the class ---------------------------------------------------------- */

typedef struct py_class {
	im_env_class c; /* first: the class is the py_class */
	char *spec;
	PyObject *factory;      /* callable */
	PyObject *args;         /* tuple */
	PyObject *kwargs;       /* dict */
	PyObject *desc;         /* what describe() said of the first instance */
	PyObject *first;        /* made at open, handed to the first init() */
	PyObject *act_template; /* Box actions: ndarray to fill and copy */
	int act_f64;            /* the Box action's dtype is float64 */
	/* One instance failed: the others stop calling Python too, so one
	 * failure gives one traceback, and the process stops on it. */
	int failed;
	char last_error[512];
} py_class;

typedef struct py_state {
	PyObject *env, *reset, *step;
	int reset_rc; /* the last reset's result */
} py_state;

static py_class *pyc(const im_env_class *c)
{
	return (py_class *)c;
}

int im_pyenv_is_spec(const char *spec)
{
	return strncmp(spec, IM_PYENV_PREFIX, strlen(IM_PYENV_PREFIX)) == 0 ||
	       strncmp(spec, IM_GYMENV_PREFIX, strlen(IM_GYMENV_PREFIX)) == 0;
}

const char *im_pyenv_last_error(const im_env_class *c)
{
	return c ? pyc(c)->last_error : "";
}

static void set_error(py_class *pc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_error(py_class *pc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pc->last_error, sizeof pc->last_error, fmt, ap);
	va_end(ap);
}

/* The pending exception as "Type: message" and, unless it is one of the
 * boot module's refusals, its traceback logged once.  Returns IM_EPLUGIN
 * for a refusal, else IM_EENVFAIL; the exception is cleared. */
static int take_exception(py_class *pc, const char *where)
{
	PyObject *type, *value, *tb;
	PyErr_Fetch(&type, &value, &tb);
	PyErr_NormalizeException(&type, &value, &tb);
	if (tb && value)
		PyException_SetTraceback(value, tb);
	int refused = value && boot.refused &&
		      PyObject_IsInstance(value, boot.refused) == 1;
	/* str() is the exception's own code and may raise in turn: that
	 * second exception is dropped, so that formatting the traceback
	 * below starts with none pending. */
	PyObject *msg = value ? PyObject_Str(value) : NULL;
	const char *m = msg ? PyUnicode_AsUTF8(msg) : NULL;
	if (!m) {
		PyErr_Clear();
		m = "<str() failed>";
	}
	if (refused)
		set_error(pc, "%s: %s", pc->spec, m);
	else
		set_error(pc, "%s: %s raised %s: %s", pc->spec, where,
			  value ? Py_TYPE(value)->tp_name : "an exception", m);
	if (!refused) {
		PyObject *text = value ? PyObject_CallOneArg(boot.format_exception,
							     value)
				       : NULL;
		const char *t = text ? PyUnicode_AsUTF8(text) : NULL;
		im_error("%s; the traceback:\n%s", pc->last_error,
			 t ? t : "(no traceback)");
		Py_XDECREF(text);
	}
	PyErr_Clear();
	Py_XDECREF(msg);
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
	return refused ? IM_EPLUGIN : IM_EENVFAIL;
}

/* A broken contract found by the bridge itself: logged once. */
static int contract_error(py_class *pc, py_state *s, const char *where,
			  const char *why)
{
	set_error(pc, "%s: %s: %s", pc->spec, where, why);
	im_error("%s", pc->last_error);
	if (s)
		pc->failed = 1;
	return IM_EENVFAIL;
}

/* ---- instances ---------------------------------------------------------- */

static void release_env(py_class *pc, PyObject *env)
{
	if (!env)
		return;
	PyObject *close = PyObject_GetAttrString(env, "close");
	if (!close) {
		PyErr_Clear();
	} else {
		PyObject *r = PyObject_CallNoArgs(close);
		/* Logged with its traceback, but the reason kept is the
		 * failure that led here (a refused space, a broken
		 * contract), not close()'s. */
		char keep[sizeof pc->last_error];
		memcpy(keep, pc->last_error, sizeof keep);
		if (!r)
			take_exception(pc, "close()");
		memcpy(pc->last_error, keep, sizeof keep);
		Py_XDECREF(r);
		Py_DECREF(close);
	}
	Py_DECREF(env);
}

/* A new instance whose spaces agree with the first one's; NULL on failure
 * (reason in pc->last_error). */
static PyObject *make_instance(py_class *pc)
{
	PyObject *env = PyObject_Call(pc->factory, pc->args, pc->kwargs);
	if (!env) {
		take_exception(pc, "the factory");
		return NULL;
	}
	PyObject *desc = PyObject_CallOneArg(boot.describe, env);
	int same = desc ? PyObject_RichCompareBool(desc, pc->desc, Py_EQ) : -1;
	if (same != 1) {
		if (!desc)
			take_exception(pc, "reading the spaces");
		else
			contract_error(pc, NULL, "the factory", "made an "
								"environment whose spaces or time limit "
								"differ from the first one's");
		PyErr_Clear();
		Py_XDECREF(desc);
		release_env(pc, env);
		return NULL;
	}
	Py_DECREF(desc);
	return env;
}

static int py_init(const im_env_class *c, void *st)
{
	py_class *pc = pyc(c);
	py_state *s = st;
	PyGILState_STATE g = PyGILState_Ensure();
	int rc = IM_EENVFAIL;
	s->env = pc->first ? pc->first : make_instance(pc);
	pc->first = NULL;
	if (s->env) {
		s->reset = PyObject_GetAttrString(s->env, "reset");
		s->step = PyObject_GetAttrString(s->env, "step");
		rc = s->reset && s->step ? 0 : take_exception(pc, "getattr");
	}
	if (rc) { /* fini() is not called for a failed init() */
		Py_CLEAR(s->reset);
		Py_CLEAR(s->step);
		release_env(pc, s->env);
		s->env = NULL;
	}
	PyGILState_Release(g);
	return rc;
}

static void py_fini(const im_env_class *c, void *st)
{
	py_state *s = st;
	PyGILState_STATE g = PyGILState_Ensure();
	Py_CLEAR(s->reset);
	Py_CLEAR(s->step);
	release_env(pyc(c), s->env);
	s->env = NULL;
	PyGILState_Release(g);
}

static int reset_locked(py_class *pc, py_state *s, uint64_t seed, void *obs)
{
	PyObject *args[1] = {PyLong_FromUnsignedLongLong(seed)};
	PyObject *r = args[0] ? PyObject_Vectorcall(s->reset, args, 0,
						    boot.seed_kwnames)
			      : NULL;
	Py_XDECREF(args[0]);
	if (!r) {
		pc->failed = 1;
		return take_exception(pc, "reset()");
	}
	char why[300];
	int rc = 0;
	if (!PyTuple_Check(r) || PyTuple_GET_SIZE(r) != 2) {
		snprintf(why, sizeof why, "returned a %s; expected the tuple "
					  "(obs, info)",
			 Py_TYPE(r)->tp_name);
		rc = contract_error(pc, s, "reset()", why);
	} else if (im_pyenv_copy_obs(obs, PyTuple_GET_ITEM(r, 0), &pc->c.obs,
				     why, sizeof why)) {
		rc = contract_error(pc, s, "reset()", why);
	}
	Py_DECREF(r);
	return rc;
}

static void py_reset(const im_env_class *c, void *st, im_rng *rng, void *obs)
{
	py_state *s = st;
	/* 32 bits: what random.seed, numpy.random.seed and Gymnasium's
	 * seeding all accept. */
	uint64_t seed = im_rng_u64(rng) >> 32;
	if (pyc(c)->failed) {
		memset(obs, 0, im_obs_bytes(&c->obs));
		s->reset_rc = IM_EENVFAIL;
		return;
	}
	PyGILState_STATE g = PyGILState_Ensure();
	s->reset_rc = reset_locked(pyc(c), s, seed, obs);
	PyGILState_Release(g);
	if (s->reset_rc)
		memset(obs, 0, im_obs_bytes(&c->obs));
}

static int py_reset_status(const im_env_class *c, void *st)
{
	return ((py_state *)st)->reset_rc;
}

/* The Python object for an action: an int for Discrete; for Box a fresh
 * ndarray of the space's dtype (or a list when NumPy is missing). */
static PyObject *make_action(py_class *pc, const void *action)
{
	if (pc->c.act.kind == IM_ACT_DISCRETE)
		return PyLong_FromLong(*(const int32_t *)action);
	const float *x = action;
	int n = pc->c.act.n;
	if (!pc->act_template) {
		PyObject *l = PyList_New(n);
		for (int j = 0; l && j < n; j++)
			PyList_SET_ITEM(l, j, PyFloat_FromDouble(x[j]));
		return l;
	}
	Py_buffer v;
	if (PyObject_GetBuffer(pc->act_template, &v, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE))
		return NULL;
	for (int j = 0; j < n; j++) {
		if (pc->act_f64)
			((double *)v.buf)[j] = x[j];
		else
			((float *)v.buf)[j] = x[j];
	}
	PyBuffer_Release(&v);
	return PyObject_CallMethod(pc->act_template, "copy", NULL);
}

static void action_text(char *buf, size_t len, const im_act_space *a,
			const void *action)
{
	if (a->kind == IM_ACT_DISCRETE) {
		snprintf(buf, len, "step(%d)", (int)*(const int32_t *)action);
		return;
	}
	const float *x = action;
	size_t used = (size_t)snprintf(buf, len, "step([");
	for (int j = 0; j < a->n && j < 4 && used < len; j++)
		used += (size_t)snprintf(buf + used, len - used, "%s%g",
					 j ? ", " : "", x[j]);
	if (used < len)
		snprintf(buf + used, len - used, "%s])", a->n > 4 ? ", ..." : "");
}

/* Reads (obs, reward, terminated, truncated, info). */
static int read_step(py_class *pc, py_state *s, PyObject *r, void *obs,
		     float *reward, uint8_t *flags, const char *where)
{
	char why[300];
	if (!PyTuple_Check(r) || PyTuple_GET_SIZE(r) != 5) {
		snprintf(why, sizeof why, "returned %s%s; expected the tuple "
					  "(obs, reward, terminated, truncated, info)",
			 PyTuple_Check(r) && PyTuple_GET_SIZE(r) == 4
				 ? "a 4-tuple (the old Gym API)"
				 : "a ",
			 PyTuple_Check(r) && PyTuple_GET_SIZE(r) == 4
				 ? ""
				 : Py_TYPE(r)->tp_name);
		return contract_error(pc, s, where, why);
	}
	if (im_pyenv_copy_obs(obs, PyTuple_GET_ITEM(r, 0), &pc->c.obs, why,
			      sizeof why))
		return contract_error(pc, s, where, why);
	PyObject *rw = PyTuple_GET_ITEM(r, 1);
	double x = PyFloat_Check(rw) ? PyFloat_AS_DOUBLE(rw) : PyFloat_AsDouble(rw);
	if (x == -1.0 && PyErr_Occurred()) {
		PyErr_Clear();
		snprintf(why, sizeof why, "the reward is a %s, not a number",
			 Py_TYPE(rw)->tp_name);
		return contract_error(pc, s, where, why);
	}
	*reward = (float)x;
	if (!isfinite(*reward)) {
		snprintf(why, sizeof why, "the reward is %g (NaN and infinities "
					  "are refused)",
			 x);
		return contract_error(pc, s, where, why);
	}
	int term = PyObject_IsTrue(PyTuple_GET_ITEM(r, 2));
	int trunc = PyObject_IsTrue(PyTuple_GET_ITEM(r, 3));
	if (term < 0 || trunc < 0) {
		PyErr_Clear();
		return contract_error(pc, s, where, "terminated or truncated "
						    "has no truth value");
	}
	*flags = (uint8_t)(term ? IM_ENV_STEP_TERMINATED : 0) |
		 (uint8_t)(trunc ? IM_ENV_STEP_TRUNCATED : 0);
	return 0;
}

static int py_step(const im_env_class *c, void *st, const void *action,
		   void *obs, float *reward, uint8_t *terminated)
{
	py_class *pc = pyc(c);
	py_state *s = st;
	if (pc->failed)
		return IM_EENVFAIL;
	char where[160];
	PyGILState_STATE g = PyGILState_Ensure();
	int rc;
	PyObject *a = make_action(pc, action);
	PyObject *r = a ? PyObject_CallOneArg(s->step, a) : NULL;
	Py_XDECREF(a);
	if (!r) {
		action_text(where, sizeof where, &c->act, action);
		pc->failed = 1;
		rc = take_exception(pc, where);
	} else {
		rc = read_step(pc, s, r, obs, reward, terminated, "step()");
		Py_DECREF(r);
	}
	PyGILState_Release(g);
	return rc;
}

/* ---- opening ------------------------------------------------------------ */

/* Copies describe()'s tuple into the class; 0 or IM_EPLUGIN. */
static int adopt_desc(py_class *pc, PyObject *d)
{
	im_env_class *c = &pc->c;
	PyObject *name, *shape, *act;
	const char *dtype;
	double scale;
	int limit;
	if (!PyArg_ParseTuple(d, "UO!sdO!i", &name, &PyTuple_Type, &shape,
			      &dtype, &scale, &PyTuple_Type, &act, &limit))
		return IM_EPLUGIN;
	const char *utf8 = PyUnicode_AsUTF8(name);
	if (!utf8)
		return IM_EPLUGIN;
	snprintf(c->name_buf, sizeof c->name_buf, "%s", utf8);
	c->name = c->name_buf;
	c->max_episode_steps = limit;
	c->obs.ndim = (int)PyTuple_GET_SIZE(shape);
	for (int i = 0; i < c->obs.ndim; i++)
		c->obs.shape[i] = (int)PyLong_AsLong(PyTuple_GET_ITEM(shape, i));
	c->obs.dtype = strcmp(dtype, "u8") == 0 ? IM_DTYPE_U8 : IM_DTYPE_F32;
	c->obs.scale = (float)scale;
	const char *kind, *adt;
	PyObject *low, *high;
	int n;
	if (!PyArg_ParseTuple(act, "siOOz", &kind, &n, &low, &high, &adt))
		return IM_EPLUGIN;
	c->act.n = n;
	c->act.kind = strcmp(kind, "box") == 0 ? IM_ACT_BOX : IM_ACT_DISCRETE;
	if (c->act.kind == IM_ACT_DISCRETE)
		return 0;
	pc->act_f64 = strcmp(adt, "float64") == 0;
	for (int j = 0; j < n; j++) {
		c->act.low[j] = (float)PyFloat_AsDouble(PyList_GetItem(low, j));
		c->act.high[j] = (float)PyFloat_AsDouble(PyList_GetItem(high, j));
	}
	pc->act_template = PyObject_CallFunction(boot.action_template, "sis",
						 kind, n, adt);
	if (pc->act_template == Py_None)
		Py_CLEAR(pc->act_template);
	return PyErr_Occurred() ? IM_EPLUGIN : 0;
}

/* Imports the factory, makes the first instance and reads its spaces;
 * holds the GIL. */
static int open_locked(py_class *pc, const char *kind, const char *target,
		       const char *query)
{
	PyObject *lr = PyObject_CallFunction(boot.load, "ss", kind, target);
	if (!lr)
		return take_exception(pc, "importing the module");
	int ok = PyArg_ParseTuple(lr, "OO!", &pc->factory, &PyTuple_Type,
				  &pc->args);
	Py_XINCREF(pc->factory);
	Py_XINCREF(pc->args);
	Py_DECREF(lr);
	if (!ok)
		return take_exception(pc, "the bridge");
	PyObject *q = PyUnicode_FromString(query);
	pc->kwargs = q ? PyObject_CallOneArg(boot.parse_kwargs, q) : NULL;
	Py_XDECREF(q);
	if (!pc->kwargs)
		return take_exception(pc, "reading the arguments");
	pc->first = PyObject_Call(pc->factory, pc->args, pc->kwargs);
	if (!pc->first)
		return take_exception(pc, "the factory");
	pc->desc = PyObject_CallOneArg(boot.describe, pc->first);
	if (!pc->desc)
		return take_exception(pc, "reading the spaces");
	if (adopt_desc(pc, pc->desc))
		return take_exception(pc, "reading the spaces");
	return 0;
}

static void free_locked(py_class *pc)
{
	release_env(pc, pc->first);
	Py_XDECREF(pc->factory);
	Py_XDECREF(pc->args);
	Py_XDECREF(pc->kwargs);
	Py_XDECREF(pc->desc);
	Py_XDECREF(pc->act_template);
}

int im_env_pyenv_open(const im_env_class **out, const char *spec, char *err,
		      size_t errlen)
{
	int gym = strncmp(spec, IM_GYMENV_PREFIX, strlen(IM_GYMENV_PREFIX)) == 0;
	const char *target = spec + strlen(gym ? IM_GYMENV_PREFIX : IM_PYENV_PREFIX);
	const char *q = strchr(target, '?');
	size_t tlen = q ? (size_t)(q - target) : strlen(target);
	int rc = start_python(err, errlen);
	if (rc)
		return rc;
	py_class *pc = calloc(1, sizeof *pc);
	char *t = malloc(tlen + 1);
	if (!pc || !t || !(pc->spec = strdup(spec))) {
		free(t);
		if (pc)
			free(pc->spec);
		free(pc);
		return IM_ENOMEM;
	}
	memcpy(t, target, tlen);
	t[tlen] = '\0';
	PyGILState_STATE g = PyGILState_Ensure();
	rc = open_locked(pc, gym ? "gym" : "py", t, q ? q + 1 : "");
	if (rc)
		free_locked(pc);
	PyGILState_Release(g);
	free(t);
	if (rc) {
		im_errf(err, errlen, 0, "%s", pc->last_error);
		free(pc->spec);
		free(pc);
		return rc;
	}
	pc->c.state_size = sizeof(py_state);
	pc->c.init = py_init;
	pc->c.fini = py_fini;
	pc->c.reset = py_reset;
	pc->c.reset_status = py_reset_status;
	pc->c.step = py_step;
	pc->c.py = pc;
	*out = &pc->c;
	return 0;
}

void im_env_pyenv_close(const im_env_class *c)
{
	if (!c)
		return;
	py_class *pc = pyc(c);
	PyGILState_STATE g = PyGILState_Ensure();
	free_locked(pc);
	PyGILState_Release(g);
	free(pc->spec);
	free(pc);
}
