#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The actors' temporally extended exploration (--explore-eps,
--explore-hold) between real processes:

- the learner sends it in the run spec and spawned actors act by it:
  CartPole-v1 with eps 1 and holds far longer than any episode pushes the
  cart one way for a whole episode, which falls in about 9 steps (a
  uniformly random policy lasts about 22, and a learning one longer), so
  the mean training return stays below 12 however the policy learns (100k
  frames: about 10,000 such episodes); the same run without the flag
  passes 15 (random acting alone lasts about 22): only the held actions
  keep a run under the first bound;
- the learner refuses the flag for Box actions, saying why."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import LEARNER, Cluster  # noqa: E402

ARGS = ["train", "--env", "CartPole-v1", "--spawn-actors", "2", "--eval-interval", "0",
        "--save-interval", "0", "--num-train-steps", "100000"]


def mean_return(*extra):
    with Cluster() as c:
        c.start_learner(*ARGS, *extra)
        return c.summary(120)


def main():
    held = mean_return("--explore-eps", "1", "--explore-hold", "1000000")
    assert held["frames"] >= 100000 and held["mean_return"] < 12.0, held
    free = mean_return()
    assert free["mean_return"] > 15.0, free

    r = subprocess.run([LEARNER, "describe", "--env", "Pendulum-v1", "--explore-eps", "0.1"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0, r
    assert "--explore-eps" in r.stderr and "Box" in r.stderr, r.stderr
    print("ok")


if __name__ == "__main__":
    main()
