// SPDX-License-Identifier: Apache-2.0
/* Internal: the Python-environment bridge (pyenv.c, pyenv_obs.c), an
 * environment class whose instances are objects with Gymnasium's interface
 * made by a user's factory.  Specs:
 *
 *   py:package.module:factory[?key=value&...]   calls factory(**kwargs)
 *   gym:ID[?key=value&...]                      calls gymnasium.make(ID, **kwargs)
 *
 * Keyword arguments are percent-decoded, then read as JSON when they parse
 * as JSON (3, 0.5, true, null, [1,2], {"a":1}, "quoted") and passed as
 * strings otherwise (so `name=foo` is the string "foo" and `n=3` the int 3).
 *
 * One CPython interpreter per process, started on the first open and never
 * finalised (extension modules such as NumPy cannot be unloaded).  Every
 * call into Python holds the GIL for the call only, so any thread may use a
 * Python environment; the actor steps all of its environments from one.
 *
 * Failures.  Opening returns IM_EPLUGIN for what impala refuses (bad spec,
 * module not importable, unsupported space, no Python in this build) and
 * IM_EENVFAIL when the user's factory raised; the reason goes into err.
 * After the open, an exception in reset() or step() or a broken contract
 * (wrong observation shape or dtype, a non-finite value, a reward that is
 * not a number, a malformed return value) makes that call return
 * IM_EENVFAIL and marks the class failed: later reset() and step() calls
 * on any of its instances return IM_EENVFAIL without calling Python again
 * (one failure, one traceback; the actor then stops).  The bridge logs a Python
 * traceback or contract violation once, when it happens, at error level:
 * the traceback exists only at that moment, and it is the user's own
 * program speaking (as their print() calls would).  The same one-line
 * reason is kept for im_pyenv_last_error(). */
#ifndef IM_PYENV_H
#define IM_PYENV_H

#include <stddef.h>

#include "env_class.h"

#define IM_PYENV_PREFIX "py:"
#define IM_GYMENV_PREFIX "gym:"

/* 1 when spec names a Python environment (py: or gym:). */
int im_pyenv_is_spec(const char *spec);

/* Opens a Python environment class: starts the interpreter if needed,
 * imports the factory, makes one instance and reads its spaces.  That
 * instance becomes the first one init() hands out.  The caller releases
 * the class with im_env_class_close(). */
int im_env_pyenv_open(const im_env_class **out, const char *spec, char *err,
		      size_t errlen);
void im_env_pyenv_close(const im_env_class *c);

/* The one-line reason of the class's latest failure ("" when none);
 * borrowed, valid until the next call on the class. */
const char *im_pyenv_last_error(const im_env_class *c);

#endif
