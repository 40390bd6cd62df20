#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Random-policy figures of MinAtar itself, for tests/env/test_minatar_stats.c.

Plays EPISODES episodes of each MinAtar game with uniformly random actions
from the full six-action set (what MinAtar/NAME-v0 offers), MinAtar's
defaults (sticky actions 0.1, difficulty ramping on), and prints per game
the mean and standard deviation of the episode return and length, and
MinAtar's step rate on this machine (act() plus state() per step, with the
episode loop and the random policy, per second of this process's CPU time
as bench_env measures ours), quoted in tests/bench/README.md.  The C
test holds our games to these means; the standard deviations set its
tolerance.

Needs MinAtar (1.0.15) importable and numpy (Debian's python3-numpy,
installed by scripts/install-deps.sh --bench); MinAtar is not part of this
project and is not needed by the build or the tests.  Run it from a
MinAtar source folder (its environment.py and environments/ suffice; no
gymnasium needed), e.g.:
    PYTHONPATH=/path/to/MinAtar /usr/bin/python3 \
        tests/env/minatar_random_stats.py --episodes 1000 --seed 1
"""
import argparse
import json
import time

import numpy as np
from minatar import Environment

GAMES = ["breakout", "freeway", "asterix", "seaquest", "space_invaders"]


def play(game, episodes, seed):
    env = Environment(game, sticky_action_prob=0.1, difficulty_ramping=True)
    env.seed(seed)
    rng = np.random.RandomState(seed + 1)
    returns, lengths = [], []
    steps, t0 = 0, time.process_time()
    for _ in range(episodes):
        env.reset()
        ret, n, done = 0.0, 0, False
        while not done:
            r, done = env.act(rng.randint(6))
            env.state()  # what an agent sees: counted in the step rate
            ret += r
            n += 1
        returns.append(ret)
        lengths.append(n)
        steps += n
    secs = time.process_time() - t0
    return {
        "episodes": episodes,
        "return_mean": float(np.mean(returns)),
        "return_std": float(np.std(returns)),
        "length_mean": float(np.mean(lengths)),
        "length_std": float(np.std(lengths)),
        "steps_per_s": steps / secs,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    out = {}
    for g in GAMES:
        out[g] = play(g, a.episodes, a.seed)
        f = out[g]
        print("%-15s return %8.3f +- %7.3f  length %8.1f +- %7.1f  "
              "(%d episodes, %.0f steps/s)" % (
                  g, f["return_mean"], f["return_std"], f["length_mean"],
                  f["length_std"], a.episodes, f["steps_per_s"]),
              flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
