# SPDX-License-Identifier: Apache-2.0
"""Python environments that misbehave in one chosen way each, for the
bridge's tests (tests/env/test_pyenv.c, tests/e2e/test_pyenv.py):

    py:pybad:make?mode=step_raises&after=3

`after` is the number of good steps before the bad one (reset counts as
step 0 for the reset modes).  Modes that break at open time (spaces, the
factory) ignore it.  `close=raises` makes close() raise too."""
import types

import numpy as np

from pycartpole import Box, Discrete


class Dict:
    def __init__(self):
        self.spaces = {"a": Discrete(2)}


class MultiDiscrete:
    def __init__(self):
        self.nvec = np.array([2, 3])
        self.shape = (2,)
        self.dtype = np.int64


# Calls of Env.reset() and Env.step() in this process, so a test can see
# that a failed environment is not called again.
CALLS = 0


class ScalarBox:
    """A Box whose bounds are scalars, so a huge shape costs nothing."""

    def __init__(self, low, high, shape, dtype):
        self.low, self.high, self.shape = low, high, shape
        self.dtype = np.dtype(dtype)


class _Clears:
    """A number that empties the list holding it when it is read."""

    def __init__(self, holder):
        self.holder = holder

    def __float__(self):
        self.holder.clear()
        return 0.5


class Unprintable(Exception):
    """An exception whose str() raises in turn."""

    def __str__(self):
        raise RuntimeError("no text for you")


class Env:
    def __init__(self, mode, after, close="ok"):
        self.close_mode = close
        self.mode = mode
        self.after = after
        self.t = 0
        self.observation_space = Box(-1.0, 1.0, (3,), np.float32)
        self.action_space = Discrete(2)
        self.max_episode_steps = 100
        if mode == "obs_dict":
            self.observation_space = Dict()
        if mode == "obs_discrete":
            self.observation_space = Discrete(5)
        if mode == "obs_uint16":
            self.observation_space = Box(0, 9, (3,), np.uint16)
        if mode == "obs_huge_u8":  # 3.3e12 bytes: refused, not allocated
            self.observation_space = ScalarBox(0, 255, (1 << 20, 1 << 20, 3),
                                               np.uint8)
        if mode == "obs_huge_f32":  # 2**31 does not fit a C int
            self.observation_space = ScalarBox(-1.0, 1.0, (1 << 31,),
                                               np.float32)
        if mode == "name_surrogate":  # not encodable as UTF-8
            self.spec = types.SimpleNamespace(id="Bad\udc80Name-v0",
                                              max_episode_steps=7)
        if mode == "limit_huge":
            self.max_episode_steps = 1 << 40
        if mode == "act_multidiscrete":
            self.action_space = MultiDiscrete()
        if mode == "act_box_inf":
            self.action_space = Box(-np.inf, np.inf, (2,), np.float32)
        if mode == "no_step":
            self.step = None

    def close(self):
        if self.close_mode == "raises":
            raise OSError("close failed on purpose")

    def obs(self):
        return np.zeros(3, dtype=np.float32)

    def reset(self, seed=None, options=None):
        global CALLS
        CALLS += 1
        self.t = 0
        if self.mode == "reset_raises":
            raise RuntimeError("reset failed on purpose")
        if self.mode == "reset_not_tuple":
            return self.obs()
        return self.obs(), {}

    def step(self, action):
        global CALLS
        CALLS += 1
        self.t += 1
        good = self.t <= self.after
        m = self.mode
        if good or m in ("fine", "prints"):
            return self.obs(), 0.5, False, False, {}
        if m == "step_raises":
            raise ZeroDivisionError("step failed on purpose")
        if m == "step_raises_unprintable":
            raise Unprintable()
        if m == "refuse_action":
            raise ValueError(f"action {action} is not allowed here")
        if m == "bad_shape":
            return np.zeros(4, dtype=np.float32), 0.0, False, False, {}
        if m == "bad_dtype":
            return np.zeros(3, dtype=np.int64), 0.0, False, False, {}
        if m == "nan_obs":
            return np.array([0, np.nan, 0], dtype=np.float32), 0.0, False, \
                False, {}
        if m == "reward_str":
            return self.obs(), "1.0", False, False, {}
        if m == "reward_nan":
            return self.obs(), float("nan"), False, False, {}
        if m == "old_api":
            return self.obs(), 0.0, False, {}
        if m == "truncates":
            return self.obs(), 1.0, False, True, {}
        if m == "list_obs":
            return [0.25, -0.5, 1.0], 1, False, False, {}
        if m == "list_shrinks":
            # An element whose __float__ empties the list being read.
            obs = [0.25, None, 1.0]
            obs[1] = _Clears(obs)
            return obs, 0.0, False, False, {}
        if m == "strided_obs":
            a = np.arange(6, dtype=np.float64).reshape(3, 2) / 8
            return a[:, 1], 1.0, False, False, {}
        raise AssertionError(f"unknown mode {m}")


def make(mode="fine", after=0, close="ok"):
    if mode == "prints":
        print("hello from the factory")
    if mode == "factory_raises":
        raise KeyError("no such level")
    if mode == "not_an_env":
        return 42
    return Env(mode, int(after), close)


class SeedEcho:
    """Observation [seed mod 2**24, kwarg value, episode count]: shows the
    seed each reset received and what the factory got."""

    def __init__(self, value):
        self.value = value
        self.observation_space = Box(-1e9, 1e9, (3,), np.float64)
        self.action_space = Box(-1.0, 1.0, (2,), np.float64)
        self.episodes = 0
        self.actions = []

    def reset(self, seed=None, options=None):
        self.episodes += 1
        return [float(seed % (1 << 24)), self.value, self.episodes], {}

    def step(self, action):
        # Box actions arrive as a fresh float64 array of the space's shape.
        assert isinstance(action, np.ndarray) and action.dtype == np.float64
        self.actions.append(action)
        return np.array([action[0], action[1], len(self.actions)]), 0.0, \
            False, False, {}


def seed_echo(value=0.0):
    if isinstance(value, (list, dict)):
        value = float(len(value))
    elif isinstance(value, str):
        value = -float(len(value))
    return SeedEcho(float(value))
