#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""uint8 frames end to end with real processes: a learner with two spawned
actors trains an MLP on the example grid plugin ([8, 8, 2] uint8 frames,
obs_scale 1/255) on loopback until a short frame budget is spent; every
unroll is accepted (none dropped), the final checkpoint has the MLP's
first layer over the 128 bytes of a frame, and `eval` of that checkpoint
runs greedy episodes on the same uint8 environment.

It checks that uint8 training and evaluation run without error, not how
well they learn (that is a benchmark's business); the README quotes a run.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import BUILD, Cluster, checkpoint_header  # noqa: E402

GRID = os.path.join(BUILD, "examples", "libgrid_env.so")
ENV = "plugin:" + GRID
# The MLP over the frame's bytes (--encoder auto would pick the minatar
# conv encoder for these images: test_conv.py trains that one).
ARCH = ["--encoder", "mlp", "--hidden-dim", "32", "--feature-dim", "32"]
FRAMES = 200_000


def main():
    assert os.path.exists(GRID), GRID
    with Cluster() as c:
        s, ckpt = c.train_spawned(ENV, FRAMES, *ARCH)
        assert s["episodes"] > 0, s
        h = checkpoint_header(ckpt)
        assert h["encoder.0.weight"]["shape"] == [32, 8 * 8 * 2], h["encoder.0.weight"]
        assert h["policy.weight"]["shape"][0] == 4, h["policy.weight"]
        e = c.evaluate(ENV, ckpt, 5, *ARCH)
        # Returns of the grid lie in [-0.5, 1]: 50 steps of -0.01, or +1.
        assert e["episodes"] == 5 and -0.5 <= e["mean_return"] <= 1.0, e
        assert 1 <= e["mean_length"] <= 50, e
    print("ok")


if __name__ == "__main__":
    main()
