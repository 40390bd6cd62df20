#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The image encoders between real processes: a learner with two spawned
actors trains `--encoder auto` on the example grid plugin ([8, 8, 2] uint8
frames, obs_scale 1/255; auto picks minatar, the frames being under 36
pixels a side) on loopback until a short frame budget is spent.  Every
unroll is accepted (the actors built the same conv network from the run
spec), the checkpoint holds PyTorch-shaped conv tensors, `describe` prints
the conv module tree, and `eval` of the checkpoint runs greedy episodes.
A nature encoder on the same frames is refused before anything starts.

It checks that conv training runs end to end, not how well it learns.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import BUILD, LEARNER, Cluster, checkpoint_header  # noqa: E402

GRID = os.path.join(BUILD, "examples", "libgrid_env.so")
ENV = "plugin:" + GRID
ARCH = ["--encoder", "auto", "--feature-dim", "32"]
FRAMES = 40_000


def run(args):
    return subprocess.run([LEARNER, *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def main():
    assert os.path.exists(GRID), GRID
    d = run(["describe", "--env", ENV, *ARCH])
    assert d.returncode == 0, d.stderr[-2000:]
    for w in ("Conv2d(2, 16, kernel_size=(3, 3), stride=(1, 1))",
              "Linear(in_features=576, out_features=32", "encoder.0.weight     (16, 2, 3, 3)"):
        assert w in d.stdout, f"describe lacks {w!r}: {d.stdout}"
    bad = run(["describe", "--env", ENV, "--encoder", "nature"])
    assert bad.returncode == 2 and "36 pixels" in bad.stderr, bad.stderr[-2000:]

    with Cluster() as c:
        _, ckpt = c.train_spawned(ENV, FRAMES, *ARCH)
        h = checkpoint_header(ckpt)
        assert h["encoder.0.weight"]["shape"] == [16, 2, 3, 3], h["encoder.0.weight"]
        assert h["encoder.3.weight"]["shape"] == [32, 6 * 6 * 16], h["encoder.3.weight"]
        e = c.evaluate(ENV, ckpt, 3, *ARCH)
        assert e["episodes"] == 3 and -0.5 <= e["mean_return"] <= 1.0, e
    print("ok")


if __name__ == "__main__":
    main()
