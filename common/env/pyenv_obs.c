// SPDX-License-Identifier: Apache-2.0
/* One observation out of a Python object, into impala's buffer.  This is
 * the only place that knows how a Python observation is laid out; the
 * bridge calls it once per reset and step, and it writes the space's dtype
 * (float32, or the bytes of a uint8 space as they are).  A NumPy array goes through the
 * buffer protocol and is read exactly once, straight into the destination
 * (no intermediate copy); lists and scalars take a slower, general path. */
#include "pyenv_obs.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

/* The element types an observation buffer may hold. */
typedef enum elem { ELEM_BAD = 0,
		    ELEM_F32,
		    ELEM_F64,
		    ELEM_U8 } elem;

/* Reads a struct-module format of one native or little-endian scalar. */
static elem parse_format(const char *f)
{
	if (!f)
		return ELEM_U8; /* no format means unsigned bytes */
	if (*f == '@' || *f == '=' || *f == '<')
		f++;
	if (f[0] == '\0' || f[1] != '\0')
		return ELEM_BAD;
	return f[0] == 'f' ? ELEM_F32 : f[0] == 'd' ? ELEM_F64
				: f[0] == 'B'       ? ELEM_U8
						    : ELEM_BAD;
}

static void shape_text(char *buf, size_t len, int ndim, const Py_ssize_t *py,
		       const int *c)
{
	size_t used = (size_t)snprintf(buf, len, "(");
	for (int i = 0; i < ndim && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%ld",
					 i ? ", " : "",
					 py ? (long)py[i] : (long)c[i]);
	if (used < len)
		snprintf(buf + used, len - used, ndim == 1 ? ",)" : ")");
}

static int shape_matches(const Py_buffer *v, const im_obs_space *s)
{
	if (v->ndim == 0)
		return im_obs_numel(s) == 1;
	if (v->ndim != s->ndim)
		return 0;
	for (int i = 0; i < s->ndim; i++)
		if (v->shape[i] != s->shape[i])
			return 0;
	return 1;
}

static int nonfinite(char *why, size_t whylen, size_t at, double x)
{
	return im_errf(why, whylen, IM_ENONFINITE, "observation element %zu is "
						   "%g (NaN and infinities are refused)",
		       at, x);
}

/* Element i of a buffer of type e at address p. */
static double load(elem e, const char *p)
{
	float f;
	double d;
	switch (e) {
	case ELEM_F32:
		memcpy(&f, p, sizeof f);
		return f;
	case ELEM_F64:
		memcpy(&d, p, sizeof d);
		return d;
	default:
		return (unsigned char)*p;
	}
}

/* Contiguous data: one linear pass, converting and checking together.
 * dst is bytes for ELEM_U8 (a uint8 space), floats otherwise. */
static int copy_linear(void *out, const char *src, elem e, size_t n,
		       char *why, size_t whylen)
{
	if (e == ELEM_U8) {
		memcpy(out, src, n);
		return 0;
	}
	float *dst = out;
	if (e == ELEM_F32) {
		memcpy(dst, src, n * sizeof(float));
		for (size_t i = 0; i < n; i++)
			if (!isfinite(dst[i]))
				return nonfinite(why, whylen, i, dst[i]);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		double x = load(e, src + i * sizeof(double));
		/* A finite double can still overflow float32. */
		dst[i] = (float)x;
		if (!isfinite(dst[i]))
			return nonfinite(why, whylen, i, x);
	}
	return 0;
}

/* Any strides (a transposed or sliced array): walk the index space in
 * row-major order, so dst is laid out as the space says. */
static int copy_strided(void *out, const Py_buffer *v, elem e, size_t n,
			char *why, size_t whylen)
{
	Py_ssize_t idx[IM_SPACE_MAX_DIMS] = {0};
	for (size_t i = 0; i < n; i++) {
		const char *p = v->buf;
		for (int d = 0; d < v->ndim; d++)
			p += idx[d] * v->strides[d];
		if (e == ELEM_U8) {
			((unsigned char *)out)[i] = (unsigned char)*p;
		} else {
			double x = load(e, p);
			float *dst = out;
			dst[i] = (float)x;
			if (!isfinite(dst[i]))
				return nonfinite(why, whylen, i, x);
		}
		for (int d = v->ndim - 1; d >= 0; d--) {
			if (++idx[d] < v->shape[d])
				break;
			idx[d] = 0;
		}
	}
	return 0;
}

static int copy_buffer(void *dst, const Py_buffer *v, const im_obs_space *s,
		       char *why, size_t whylen)
{
	char got[96], want[96];
	if (!shape_matches(v, s) || v->ndim > IM_SPACE_MAX_DIMS) {
		shape_text(got, sizeof got, v->ndim, v->shape, NULL);
		shape_text(want, sizeof want, s->ndim, NULL, s->shape);
		return im_errf(why, whylen, IM_ESHAPE, "observation has shape %s but "
						       "the observation space %s",
			       got, want);
	}
	elem e = parse_format(v->format);
	int u8 = s->dtype == IM_DTYPE_U8;
	if (e == ELEM_BAD || (u8 != (e == ELEM_U8)))
		return im_errf(why, whylen, IM_EINVAL, "observation has dtype "
						       "'%s' (struct format) but the observation "
						       "space wants %s",
			       v->format ? v->format : "B",
			       u8 ? "uint8 ('B')"
				  : "float32 ('f') or float64 ('d')");
	size_t n = im_obs_numel(s);
	if (v->ndim == 0 || PyBuffer_IsContiguous(v, 'C'))
		return copy_linear(dst, v->buf, e, n, why, whylen);
	return copy_strided(dst, v, e, n, why, whylen);
}

/* Element `at` of a list or a scalar observation, into dst of the
 * space's dtype. */
static int copy_number(void *dst, PyObject *x, int u8, size_t at, char *why,
		       size_t whylen)
{
	if (u8) {
		long b = PyLong_Check(x) ? PyLong_AsLong(x) : -1;
		if (b < 0 || b > 255) {
			PyErr_Clear();
			return im_errf(why, whylen, IM_EINVAL, "observation "
							       "element %zu is not an int in 0..255 "
							       "(a uint8 space)",
				       at);
		}
		((unsigned char *)dst)[at] = (unsigned char)b;
		return 0;
	}
	double d = PyFloat_Check(x) ? PyFloat_AS_DOUBLE(x) : PyFloat_AsDouble(x);
	if (d == -1.0 && PyErr_Occurred()) {
		PyErr_Clear();
		return im_errf(why, whylen, IM_EINVAL, "observation element %zu "
						       "is a %s, not a number",
			       at, Py_TYPE(x)->tp_name);
	}
	float *f = (float *)dst + at;
	*f = (float)d;
	if (!isfinite(*f))
		return nonfinite(why, whylen, at, d);
	return 0;
}

/* Nested lists or tuples, dimension d; *pos counts elements written. */
static int copy_nested(void *dst, size_t *pos, PyObject *o, int d,
		       const im_obs_space *s, char *why, size_t whylen)
{
	if (d == s->ndim)
		return copy_number(dst, o, s->dtype == IM_DTYPE_U8, (*pos)++,
				   why, whylen);
	if (!PyList_Check(o) && !PyTuple_Check(o))
		return im_errf(why, whylen, IM_ESHAPE, "observation: a %s where "
						       "dimension %d (a list of %d) was expected",
			       Py_TYPE(o)->tp_name, d, s->shape[d]);
	Py_ssize_t n = PySequence_Fast_GET_SIZE(o);
	if (n != s->shape[d])
		return im_errf(why, whylen, IM_ESHAPE, "observation: dimension "
						       "%d has %zd elements, the space %d",
			       d, n,
			       s->shape[d]);
	/* A number's __float__ is the user's code and may change this list
	 * while it is read: each item is held while it is converted, and
	 * the size is checked again before each one. */
	for (Py_ssize_t i = 0; i < n; i++) {
		if (PySequence_Fast_GET_SIZE(o) != n)
			return im_errf(why, whylen, IM_EINVAL, "observation: "
							       "dimension %d changed size while it "
							       "was read",
				       d);
		PyObject *item = PySequence_Fast_GET_ITEM(o, i);
		Py_INCREF(item);
		int rc = copy_nested(dst, pos, item, d + 1, s, why, whylen);
		Py_DECREF(item);
		if (rc)
			return rc;
	}
	return 0;
}

int im_pyenv_copy_obs(void *dst, PyObject *o, const im_obs_space *s,
		      char *why, size_t whylen)
{
	if (PyObject_CheckBuffer(o)) {
		Py_buffer v;
		if (PyObject_GetBuffer(o, &v, PyBUF_RECORDS_RO) != 0) {
			PyErr_Clear();
			return im_errf(why, whylen, IM_EINVAL, "observation: a %s "
							       "whose buffer cannot be read as an "
							       "array",
				       Py_TYPE(o)->tp_name);
		}
		int rc = copy_buffer(dst, &v, s, why, whylen);
		PyBuffer_Release(&v);
		return rc;
	}
	if (PyList_Check(o) || PyTuple_Check(o)) {
		size_t pos = 0;
		return copy_nested(dst, &pos, o, 0, s, why, whylen);
	}
	if (im_obs_numel(s) == 1 && (PyFloat_Check(o) || PyLong_Check(o)))
		return copy_number(dst, o, s->dtype == IM_DTYPE_U8, 0, why,
				   whylen);
	return im_errf(why, whylen, IM_EINVAL, "observation is a %s; expected "
					       "a NumPy array, a list or a number",
		       Py_TYPE(o)->tp_name);
}
