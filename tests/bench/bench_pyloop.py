# SPDX-License-Identifier: Apache-2.0
"""The Python side of bench_pyenv: the same environments stepped by a plain
Python loop (the baseline the bridge is measured against), and a null
environment whose step does nothing but return a ready-made tuple (so a
step through the bridge costs the bridge plus one trivial method call)."""
import time

import numpy as np


class _Space:
    pass


class Null:
    def __init__(self):
        self.observation_space = _Space()
        self.observation_space.low = -1.0
        self.observation_space.high = 1.0
        self.observation_space.shape = (4,)
        self.observation_space.dtype = np.float32
        self.action_space = _Space()
        self.action_space.n = 2
        self.obs = np.zeros(4, dtype=np.float32)
        self.result = (self.obs, 1.0, False, False, {})

    def reset(self, seed=None, options=None):
        return self.obs, {}

    def step(self, action):
        return self.result


def null():
    return Null()


def loop(env, steps, seed):
    """CPU seconds of this thread for `steps` steps of env in a plain loop (with resets at
    episode ends), random actions drawn beforehand."""
    actions = np.random.default_rng(seed).integers(0, 2, size=steps).tolist()
    env.reset(seed=seed)
    step, reset = env.step, env.reset
    t0 = time.thread_time()
    for a in actions:
        obs, reward, terminated, truncated, info = step(a)
        if terminated or truncated:
            reset(seed=a)
    return time.thread_time() - t0


def cartpole():
    import pycartpole
    return pycartpole.make()
