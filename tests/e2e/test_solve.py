#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A learner and two actors (separate processes on loopback) solve
CartPole-v1: the mean return of the last 100 episodes reaches 475 within a
fixed budget of 40M environment frames, for seeds 1, 2 and 3.

The learner stops by itself at --target-return 475 and prints a JSON summary
as the last line of its stdout; the test reads that line and checks the
reason, the return and the frames against the budget.  A run that merely
hits the frame budget (result "num_train_steps reached") fails."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Cluster  # noqa: E402

BUDGET = 40_000_000
TARGET = 475
WALL_S = 90  # per seed; a solve takes ~6 s on an idle 2-core machine

# The MLP settings that solve CartPole fastest on this machine (the README's
# first command uses the same).
MLP = ["--env", "CartPole-v1", "--hidden-dim", "64", "--feature-dim", "64",
       "--num-steps", "80", "--batch-size", "32", "--num-storages", "96",
       "--num-learners", "2", "--lr", "0.0004"]


def solve(seed):
    with Cluster() as c:
        c.start_learner(*MLP, "--seed", str(seed), "--num-train-steps", str(BUDGET),
                        "--target-return", str(TARGET), "--eval-interval", "0",
                        "--save-interval", "0")
        c.start_actor(1, 8)
        c.start_actor(2, 8)
        rc = c.learner.wait(WALL_S)
        assert rc == 0, f"seed {seed}: learner exit {rc}: {c.learner.text()[-2000:]}"
        lines = [ln for ln in c.learner.stdout().splitlines() if ln.strip()]
        assert lines, f"seed {seed}: no summary on stdout"
        s = json.loads(lines[-1])
        print(f"seed {seed}: {s}", flush=True)
        assert s["result"] == "target return reached", f"seed {seed}: {s}"
        assert s["mean_return"] >= TARGET, s
        assert s["episodes"] >= 100, s
        assert 0 < s["frames"] <= BUDGET + 32 * 80 * 2, s
        # Both actors joined and were still acting when the run ended.
        for a in c.actors:
            assert "joined run" in a.text() and a.alive(), a.text()[-1000:]


def main():
    for seed in (1, 2, 3):
        solve(seed)
    print("ok")


if __name__ == "__main__":
    main()
