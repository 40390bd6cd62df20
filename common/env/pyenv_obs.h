// SPDX-License-Identifier: Apache-2.0
/* Internal: reading one observation out of a Python object (pyenv_obs.c).
 * Needs <Python.h>, so only the bridge's own files include it. */
#ifndef IM_PYENV_OBS_H
#define IM_PYENV_OBS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stddef.h>

#include "space.h"

/* Copies observation o into dst in the space's dtype (im_obs_numel(s)
 * floats, or bytes for a uint8 space), reading o once:
 *   - an object with the buffer protocol (a NumPy array or scalar, bytes,
 *     memoryview) of s's shape (a 0-d value for a one-element space) and
 *     of dtype float32 or float64 for float spaces, uint8 for uint8
 *     spaces; C-contiguous data is read in one linear pass (a uint8
 *     array is one memcpy);
 *   - nested lists or tuples of s's shape holding numbers (float spaces)
 *     or ints in 0..255 (uint8 spaces);
 *   - a number, for a one-element space.
 * Returns 0; IM_ESHAPE (wrong shape), IM_EINVAL (wrong dtype or not an
 * array at all) or IM_ENONFINITE (NaN or infinity at a float position),
 * with a one-line reason in why.  dst may be partly written on failure.
 * The caller holds the GIL; no Python exception is left set. */
int im_pyenv_copy_obs(void *dst, PyObject *o, const im_obs_space *s,
		      char *why, size_t whylen);

#endif
