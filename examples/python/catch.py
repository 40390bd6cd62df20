# SPDX-License-Identifier: Apache-2.0
"""Catch: a complete Python environment for impala, in the shape of any
Gymnasium environment (observation_space, action_space, reset, step).

A ball falls from a random column at the top of a 10 x 5 grid, one row per
step; the agent moves a paddle on the bottom row left, not at all, or right.
When the ball reaches the bottom row the episode ends with reward +1 if the
paddle is under it, else -1.  The observation is the grid as a uint8 image
[H, W, C] = [10, 5, 1] of 0s and 1s (ball and paddle).

Train it (from this folder, or with it on PYTHONPATH):

    impala-learner --env py:catch:make --spawn-actors 2 --target-return 0.9

Gymnasium is not needed: the two space classes below have the attributes
impala reads (n; low, high, shape, dtype).  With Gymnasium installed,
gymnasium.spaces.Discrete(3) and gymnasium.spaces.Box(0, 1, (10, 5, 1),
numpy.uint8) work the same."""
import numpy as np


class Discrete:
    def __init__(self, n):
        self.n, self.shape, self.dtype = n, (), np.int64


class Box:
    def __init__(self, low, high, shape, dtype):
        self.low = np.full(shape, low, dtype)
        self.high = np.full(shape, high, dtype)
        self.shape, self.dtype = shape, np.dtype(dtype)


class Catch:
    def __init__(self, rows=10, columns=5):
        self.rows, self.columns = rows, columns
        self.observation_space = Box(0, 1, (rows, columns, 1), np.uint8)
        self.action_space = Discrete(3)  # left, stay, right
        self.rng = np.random.default_rng()

    def _obs(self):
        grid = np.zeros((self.rows, self.columns, 1), dtype=np.uint8)
        grid[self.ball_row, self.ball_col, 0] = 1
        grid[self.rows - 1, self.paddle, 0] = 1
        return grid

    def reset(self, seed=None, options=None):
        # impala passes a new seed, drawn from the actor's stream, at every
        # reset, so runs are reproducible.
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.ball_row = 0
        self.ball_col = int(self.rng.integers(self.columns))
        self.paddle = self.columns // 2
        return self._obs(), {}

    def step(self, action):
        self.paddle = min(max(self.paddle + int(action) - 1, 0),
                          self.columns - 1)
        self.ball_row += 1
        terminated = self.ball_row == self.rows - 1
        reward = 0.0
        if terminated:
            reward = 1.0 if self.paddle == self.ball_col else -1.0
        return self._obs(), reward, terminated, False, {}


def make(rows=10, columns=5):
    """The factory impala calls: --env 'py:catch:make?rows=12&columns=6'
    passes rows=12 and columns=6 (values that parse as JSON arrive as
    numbers, lists, ...; anything else as a string)."""
    return Catch(int(rows), int(columns))
