#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Observation normalisation (--obs-norm) between real processes:

- a learner with two spawned actors trains MountainCar-v0 for 100k frames
  and exits; its final checkpoint (read here with struct, not through our
  C code) holds obs_norm.count equal to the frames trained (the learner
  merges steps 0..T-1 of every unroll it trains on, and nothing else adds
  to it: actors never update the statistics), and a mean and variance in
  MountainCar's ranges: the position around -0.5, the velocity's variance
  far below the position's (the scale the normalisation is for);
- a learner resumed from that checkpoint (--resume) continues the
  statistics: at 200k frames the count is 200k, not 100k;
- --obs-norm for uint8 images is refused with a message that says why."""
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import LEARNER, Cluster, checkpoint_header  # noqa: E402

ARGS = ["train", "--env", "MountainCar-v0", "--obs-norm", "--spawn-actors", "2",
        "--eval-interval", "0", "--save-interval", "0", "--tag", "obsnorm"]


def tensors(path, names):
    head = checkpoint_header(path)
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        data = f.read()[n:]
    out = {}
    for name in names:
        t = head[name]
        assert t["dtype"] == "F32", t
        b, e = t["data_offsets"]
        out[name] = struct.unpack(f"<{(e - b) // 4}f", data[b:e])
    return out, head["__metadata__"]


def train(c, frames, *extra):
    c.start_learner(*ARGS, "--num-train-steps", str(frames), *extra)
    c.summary(120)
    ckpt = os.path.join(c.tmp, "runs", "obsnorm", "seed1", "checkpoint.safetensors")
    return tensors(ckpt, ["obs_norm.mean", "obs_norm.var", "obs_norm.count"]) + (ckpt,)


def main():
    with Cluster() as c:
        t, meta, ckpt = train(c, 100000)
        frames = int(meta["frames"])
        assert frames >= 100000, meta
        assert t["obs_norm.count"][0] == frames, (t, meta)
        mean, var = t["obs_norm.mean"], t["obs_norm.var"]
        assert -0.7 < mean[0] < -0.3 and abs(mean[1]) < 0.01, t
        assert 1e-3 < var[0] < 0.3 and 0 < var[1] < 1e-3, t

        t2, meta2, _ = train(c, 200000, "--init-model-path", ckpt, "--resume")
        frames2 = int(meta2["frames"])
        assert frames2 >= 200000 and meta2["run_id"] == meta["run_id"], meta2
        assert t2["obs_norm.count"][0] == frames2, (t2, meta2)

    r = subprocess.run([LEARNER, "describe", "--env", "MinAtar/Breakout-v0",
                        "--obs-norm"], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0, r
    assert "--obs-norm" in r.stderr and "uint8" in r.stderr, r.stderr
    print("ok")


if __name__ == "__main__":
    main()
