# SPDX-License-Identifier: Apache-2.0
"""CartPole in pure Python with NumPy, from the standard equations (Barto,
Sutton and Anderson 1983; Euler integration with tau = 0.02 s, as Gymnasium's
CartPole-v1), written for impala's Python-bridge tests.  It imports nothing
from Gymnasium: its spaces are small classes with the attributes impala
reads by duck typing.

    --env py:pycartpole:make                       (tests/env on PYTHONPATH)
    --env 'py:pycartpole:make?start=[0.01,0,0.02,0]'   every episode from
                                                       that state (tests)
"""
import math
import types

import numpy as np


class Discrete:
    def __init__(self, n):
        self.n = n
        self.start = 0
        self.shape = ()
        self.dtype = np.int64


class Box:
    def __init__(self, low, high, shape, dtype):
        self.low = np.full(shape, low, dtype=dtype)
        self.high = np.full(shape, high, dtype=dtype)
        self.shape = shape
        self.dtype = np.dtype(dtype)


class CartPole:
    gravity = 9.8
    masscart = 1.0
    masspole = 0.1
    total_mass = masspole + masscart
    length = 0.5  # half the pole's length
    polemass_length = masspole * length
    force_mag = 10.0
    tau = 0.02
    theta_threshold = 12 * 2 * math.pi / 360
    x_threshold = 2.4

    def __init__(self, start=None):
        high = np.array([self.x_threshold * 2, np.finfo(np.float32).max,
                         self.theta_threshold * 2, np.finfo(np.float32).max],
                        dtype=np.float32)
        self.observation_space = Box(-high, high, (4,), np.float32)
        self.action_space = Discrete(2)
        self.spec = types.SimpleNamespace(id="PyCartPole-v1",
                                          max_episode_steps=500)
        self.start = None if start is None else [float(v) for v in start]
        self.rng = np.random.default_rng()
        self.state = None

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        if self.start is not None:
            self.state = tuple(self.start)
        else:
            self.state = tuple(self.rng.uniform(-0.05, 0.05, size=4).tolist())
        return np.array(self.state, dtype=np.float32), {}

    def step(self, action):
        if action not in (0, 1):
            raise ValueError(f"action {action!r} is not 0 or 1")
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        costheta = math.cos(theta)
        sintheta = math.sin(theta)
        temp = (force + self.polemass_length * theta_dot ** 2 * sintheta) \
            / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * costheta ** 2
                           / self.total_mass))
        xacc = temp - self.polemass_length * thetaacc * costheta \
            / self.total_mass
        x = x + self.tau * x_dot
        x_dot = x_dot + self.tau * xacc
        theta = theta + self.tau * theta_dot
        theta_dot = theta_dot + self.tau * thetaacc
        self.state = (x, x_dot, theta, theta_dot)
        terminated = bool(x < -self.x_threshold or x > self.x_threshold
                          or theta < -self.theta_threshold
                          or theta > self.theta_threshold)
        return np.array(self.state, dtype=np.float32), 1.0, terminated, \
            False, {}


def make(start=None):
    return CartPole(start=start)
