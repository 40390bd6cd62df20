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
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import BUILD, LEARNER, Cluster, checkpoint_header  # noqa: E402

GRID = os.path.join(BUILD, "examples", "libgrid_env.so")
ENV = "plugin:" + GRID
# The MLP over the frame's bytes (--encoder auto would pick the minatar
# conv encoder for these images: test_conv.py trains that one).
ARCH = ["--encoder", "mlp", "--hidden-dim", "32", "--feature-dim", "32"]
FRAMES = 200_000


def main():
    assert os.path.exists(GRID), GRID
    with Cluster() as c:
        c.start_learner("--env", ENV, *ARCH, "--spawn-actors", "2", "--num-actors", "8",
                        "--num-steps", "20", "--batch-size", "8", "--num-storages", "16",
                        "--num-learners", "1", "--num-train-steps", str(FRAMES),
                        "--eval-interval", "0", "--save-interval", "0", "--seed", "4")
        s = c.summary(90)
        log = c.learner.text()
        print(s, flush=True)
        assert s["result"] == "num_train_steps reached", s
        assert s["frames"] >= FRAMES and s["updates"] > 0 and s["episodes"] > 0, s
        assert log.count("joined (host") >= 2, log[-2000:]
        m = re.search(r"(\d+) unrolls accepted, (\d+) dropped", log)
        assert m and int(m.group(1)) > 0 and m.group(2) == "0", log[-2000:]

        ckpt = os.path.join(c.tmp, "runs", "default", "seed4", "checkpoint.safetensors")
        h = checkpoint_header(ckpt)
        assert h["encoder.0.weight"]["shape"] == [32, 8 * 8 * 2], h["encoder.0.weight"]
        assert h["policy.weight"]["shape"][0] == 4, h["policy.weight"]

        ev = subprocess.run([LEARNER, "eval", "--env", ENV, *ARCH, "--init-model-path", ckpt,
                             "--num-eval-episodes", "5"], capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL)
        assert ev.returncode == 0, ev.stderr[-2000:]
        e = json.loads(ev.stdout.strip().splitlines()[-1])
        print(e, flush=True)
        # Returns of the grid lie in [-0.5, 1]: 50 steps of -0.01, or +1.
        assert e["episodes"] == 5 and -0.5 <= e["mean_return"] <= 1.0, e
        assert 1 <= e["mean_length"] <= 50, e
    print("ok")


if __name__ == "__main__":
    main()
