# SPDX-License-Identifier: Apache-2.0
# The Python half of impala's Python-environment bridge (common/env/pyenv.c).
#
# This file is compiled into the impala binaries (pyenv_embed.py turns it
# into a C string at build time) and runs once per process, in a module of
# its own, when the first "py:" or "gym:" environment is opened.  It does
# the slow, once-per-environment work that is clearer in Python than in the
# C API: parsing the spec's keyword arguments, importing the factory, and
# reading the spaces by duck typing.  The per-step work (reset, step, the
# observation copy) is in C.
#
# Every refusal here raises Refused with a message meant for the user; any
# other exception comes from the user's own code and is reported with its
# traceback.

import importlib
import json
import math
import sys
import traceback
import urllib.parse

# impala's stdout carries machine-readable output (the learner's JSON
# summary, eval's result line); the user's print() calls go to stderr,
# beside impala's own log lines.
sys.stdout = sys.stderr

try:
    import numpy as _np
except ImportError:  # numpy is optional; Box actions are then lists
    _np = None

SUPPORTED = ("supported: Discrete(n) actions, Box actions of float32 or "
             "float64 with finite bounds, Box observations of float32, "
             "float64 or uint8")


class Refused(Exception):
    """A spec, a module or a space that impala does not accept."""


def parse_kwargs(query):
    """'a=1&b=x&c=[1,2]' -> {'a': 1, 'b': 'x', 'c': [1, 2]}.

    Each value is percent-decoded, then read as JSON when it is valid JSON
    (numbers, true/false/null, lists, objects, "quoted strings"), and kept
    as the plain string otherwise."""
    kwargs = {}
    if not query:
        return kwargs
    for part in query.split("&"):
        key, eq, raw = part.partition("=")
        key = urllib.parse.unquote(key)
        if not eq or not key.isidentifier():
            raise Refused(f"argument '{part}' is not key=value with a "
                          "Python identifier as key")
        if key in kwargs:
            raise Refused(f"argument '{key}' is given twice")
        value = urllib.parse.unquote(raw)
        try:
            kwargs[key] = json.loads(value)
        except ValueError:
            kwargs[key] = value
    return kwargs


def _import(modname):
    try:
        return importlib.import_module(modname)
    except ModuleNotFoundError as e:
        # Only a missing module named by the user (or one of its parents)
        # is a configuration error; anything else is the module's own.
        if e.name and (modname == e.name or modname.startswith(e.name + ".")):
            raise Refused(f"cannot import '{modname}': {e} (is its folder on "
                          "PYTHONPATH, or its package in the virtual "
                          "environment VIRTUAL_ENV names?)") from None
        raise


def load(kind, target):
    """The factory for 'py:' (target 'pkg.mod:factory') or 'gym:' (target
    an environment id) and the positional arguments to call it with."""
    if kind == "gym":
        if not target:
            raise Refused("no environment id after 'gym:'")
        try:
            gymnasium = importlib.import_module("gymnasium")
        except ImportError as e:
            raise Refused(f"Gymnasium is not importable ({e}); install it "
                          "in the Python environment impala uses (see "
                          "VIRTUAL_ENV in the README), or name the "
                          "environment's factory as py:package.module:"
                          "factory") from None
        return gymnasium.make, (target,)
    modname, colon, attr = target.partition(":")
    if not colon or not modname or not attr:
        raise Refused(f"'{target}' is not package.module:factory")
    obj = _import(modname)
    for name in attr.split("."):
        if not hasattr(obj, name):
            raise Refused(f"module '{modname}' has no attribute '{attr}'")
        obj = getattr(obj, name)
    if not callable(obj):
        raise Refused(f"'{target}' is not callable")
    return obj, ()


def _space_name(space):
    try:
        return repr(space)[:120]
    except Exception:
        return type(space).__name__


def _dtype_name(space):
    dt = getattr(space, "dtype", None)
    if _np is not None:
        try:
            return _np.dtype(dt).name
        except TypeError:
            pass
    return getattr(dt, "__name__", str(dt))


def _flat(values, n, what):
    """A Box bound (scalar or array) as n Python floats."""
    if _np is not None:
        arr = _np.asarray(values, dtype=_np.float64)
        flat = _np.broadcast_to(arr, arr.shape if arr.size == n else (n,))
        return [float(v) for v in _np.ravel(flat)]
    if isinstance(values, (int, float)):
        return [float(values)] * n
    out = []

    def walk(v):
        if isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        else:
            out.append(float(v))
    walk(values)
    if len(out) != n:
        raise Refused(f"{what}: {len(out)} bounds for {n} elements")
    return out


def _largest(values):
    """The largest of a bound (scalar or array), read where it lies: a
    frame's bound is not copied into a list of Python floats."""
    if _np is not None:
        return float(_np.max(_np.asarray(values, dtype=_np.float64)))
    if isinstance(values, (list, tuple)):
        return max(_largest(v) for v in values)
    return float(values)


def _shape(space):
    shape = getattr(space, "shape", None)
    try:
        return tuple(int(d) for d in shape)
    except TypeError:
        return None


def _unsupported(which, space, why):
    return Refused(f"{which} space {_space_name(space)}: {why}; {SUPPORTED}")


def _is_box(space):
    return all(hasattr(space, a) for a in ("low", "high", "shape", "dtype"))


def _refuse_composites(which, space):
    for attr, kind in (("nvec", "MultiDiscrete"), ("spaces", "Dict or Tuple"),
                       ("node_space", "Graph")):
        if hasattr(space, attr):
            raise _unsupported(which, space, f"{kind} spaces are not supported")


def obs_space(space):
    """(shape, 'f32' or 'u8', scale) of a Box observation space."""
    which = "observation"
    if space is None:
        raise Refused(f"the environment has no observation_space; {SUPPORTED}")
    _refuse_composites(which, space)
    if not _is_box(space):
        hint = " (one-hot it in a wrapper)" if hasattr(space, "n") else ""
        raise _unsupported(which, space, "not a Box" + hint)
    shape = _shape(space)
    if shape is None or len(shape) > 4 or any(d < 1 for d in shape):
        raise _unsupported(which, space, f"shape {shape} is not 0 to 4 "
                           "positive dimensions")
    shape = shape or (1,)
    # MAX_OBS_NUMEL is set by pyenv.c (env_class.h) before this file runs.
    if math.prod(shape) > MAX_OBS_NUMEL:
        raise _unsupported(which, space, f"shape {shape} has "
                           f"{math.prod(shape)} elements; at most "
                           f"{MAX_OBS_NUMEL} are supported")
    dt = _dtype_name(space)
    if dt in ("float32", "float64"):
        return shape, "f32", 0.0
    if dt == "uint8":
        high = _largest(space.high)
        # 0/1 grids (MinAtar) are fed as they are; camera-like frames of
        # 0..255 are scaled to [0, 1] by the first layer.
        return shape, "u8", 1.0 if high <= 1 else 1.0 / 255.0
    raise _unsupported(which, space, f"dtype {dt} is not supported")


def act_space(space):
    """('discrete', n, None, None, None) or ('box', dim, low, high, dtype)."""
    which = "action"
    if space is None:
        raise Refused(f"the environment has no action_space; {SUPPORTED}")
    _refuse_composites(which, space)
    if _is_box(space):
        shape = _shape(space)
        if shape is None or len(shape) != 1 or not 1 <= shape[0] <= 64:
            raise _unsupported(which, space, f"a Box action must have shape "
                               f"(dim,) with dim in 1..64, not {shape}")
        dt = _dtype_name(space)
        if dt not in ("float32", "float64"):
            raise _unsupported(which, space, f"dtype {dt} is not supported")
        low = _flat(space.low, shape[0], "action low")
        high = _flat(space.high, shape[0], "action high")
        if not all(math.isfinite(v) for v in low + high) or \
                any(lo > hi for lo, hi in zip(low, high)):
            raise _unsupported(which, space, "a Box action needs finite "
                               "bounds with low <= high (the policy's "
                               "samples are clipped to them)")
        return "box", shape[0], low, high, dt
    n = getattr(space, "n", None)
    if n is None:
        raise _unsupported(which, space, "neither Discrete nor Box")
    try:
        n = int(n)
    except (TypeError, ValueError):
        raise _unsupported(which, space, f"n = {n!r} is not an integer")
    if int(getattr(space, "start", 0)) != 0:
        raise _unsupported(which, space, "Discrete with start != 0 is not "
                           "supported")
    if not 1 <= n <= 1 << 20:
        raise _unsupported(which, space, f"Discrete({n}) is not 1..{1 << 20}")
    return "discrete", n, None, None, None


def describe(env):
    """Everything the C side needs to know about one environment."""
    for method in ("reset", "step"):
        if not callable(getattr(env, method, None)):
            raise Refused(f"the factory returned {type(env).__name__}, which "
                          f"has no {method}() method (expected an object "
                          "with Gymnasium's interface)")
    shape, dtype, scale = obs_space(getattr(env, "observation_space", None))
    act = act_space(getattr(env, "action_space", None))
    spec = getattr(env, "spec", None)
    limit = getattr(spec, "max_episode_steps", None)
    if limit is None:
        limit = getattr(env, "max_episode_steps", None)
    try:
        limit = int(limit or 0)
    except (TypeError, ValueError):
        raise Refused(f"max_episode_steps = {limit!r} is not an integer")
    if not 0 <= limit < 1 << 31:  # a C int on the other side
        raise Refused(f"max_episode_steps = {limit} is not 0..{(1 << 31) - 1}")
    name = str(getattr(spec, "id", None) or type(env).__name__)
    # C reads the name as UTF-8: lone surrogates are escaped, not lost.
    name = name.encode("utf-8", "backslashreplace").decode("utf-8")
    return (name, shape, dtype, scale, act, limit)


def action_template(kind, dim, dtype):
    """A Box action's array, filled by C and copied for every step."""
    if _np is None:
        return None
    return _np.zeros((dim,), dtype=dtype)


def format_exception(exc):
    return "".join(traceback.format_exception(exc)).rstrip()
