#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Plays a trained `minatar`-encoder checkpoint on MinAtar itself (issue 11):
the policy read from impala-learner's checkpoint.safetensors into PyTorch,
acting in MinAtar 1.0.15's own Python game, so that what a run learnt is
seen outside our system: the mean return, the histogram of returns (a
plateau that is a cap shows as a wall), the actions' frequencies, and with
--show N the last frames of N episodes with the value of each.

MinAtar is GPL-3.0 and is never part of this tree: --minatar (or
MINATAR_PATH) points at a local checkout.  Needs python3-torch and
python3-numpy (`scripts/install-deps.sh --bench`).

  MINATAR_PATH=/tmp/MinAtar /usr/bin/python3 tests/bench/minatar_policy.py \\
      RUN/checkpoint.safetensors --game breakout --episodes 100 [--greedy]

The network is the `minatar` encoder's: Conv2d 16 3x3 (valid) on the
[H, W, C] frame permuted to NCHW, ReLU, flatten, Linear to the features,
ReLU, then the policy and baseline heads, under the checkpoint's PyTorch
names ("encoder.0", "encoder.3", "policy", "baseline"); a checkpoint with
PopArt has its baseline in normalised units, shown as such.  A policy with
3 outputs is the game's -v1 minimal action set, mapped to MinAtar's
actions (no-op, left, right for Breakout).
"""
import argparse
import json
import os
import struct
import sys

MINIMAL = {"breakout": [0, 1, 3]}


def load(path, torch, np):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    head = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out = {}
    for name, e in head.items():
        if name == "__metadata__" or e.get("dtype") != "F32":
            continue
        b, en = e["data_offsets"]
        arr = np.frombuffer(data[b:en], dtype=np.float32).reshape(e["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--minatar", default=os.environ.get("MINATAR_PATH", ""))
    ap.add_argument("--game", default="breakout")
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--greedy", action="store_true")
    ap.add_argument("--show", type=int, default=0)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    if a.minatar:
        sys.path.insert(0, a.minatar)
    import numpy as np
    import torch
    import torch.nn.functional as F
    from minatar import Environment  # the local checkout, never vendored

    torch.set_num_threads(1)
    w = load(a.checkpoint, torch, np)
    n_out = w["policy.bias"].numel()
    amap = MINIMAL[a.game] if n_out == 3 else list(range(n_out))

    def forward(s):
        x = torch.from_numpy(s.astype(np.float32)).permute(2, 0, 1)[None]
        x = F.relu(F.conv2d(x, w["encoder.0.weight"], w["encoder.0.bias"]))
        x = F.relu(F.linear(x.flatten(1), w["encoder.3.weight"], w["encoder.3.bias"]))
        return (F.linear(x, w["policy.weight"], w["policy.bias"])[0],
                float(F.linear(x, w["baseline.weight"], w["baseline.bias"])))

    env = Environment(a.game)
    env.seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    def pick(logits):
        if a.greedy:
            return int(logits.argmax())
        return int(torch.multinomial(torch.softmax(logits, -1), 1, generator=gen))

    def episode(keep):
        env.reset()
        ret, steps, done, frames = 0.0, 0, False, []
        while not done and steps < 100_000:
            s = env.state()
            with torch.no_grad():
                logits, v = forward(s)
            act = pick(logits)
            if keep:
                frames.append((s.copy(), act, ret, v))
            counts[act] += 1
            r, done = env.act(amap[act])
            ret += r
            steps += 1
        return ret, steps, frames

    counts = np.zeros(n_out)
    rets, lens = [], []
    for _ in range(a.episodes):
        r, n, _ = episode(False)
        rets.append(r)
        lens.append(n)
    rets = np.array(rets)
    hist = np.bincount(rets.astype(int))
    print(f"{a.episodes} episodes ({'greedy' if a.greedy else 'sampled'}): mean return "
          f"{rets.mean():.2f} +- {rets.std() / np.sqrt(len(rets)):.2f}, median "
          f"{np.median(rets):g}, max {rets.max():g}, mean length {np.mean(lens):.1f}")
    print("returns 0..max, episodes each:", " ".join(map(str, hist)))
    print("action frequencies:", " ".join(f"{c:.3f}" for c in counts / counts.sum()))
    glyph = [("=", 0), ("B", 1), ("o", 2), ("#", 3)] if a.game == "breakout" else []
    for _ in range(a.show):
        r, n, frames = episode(True)
        print(f"-- an episode: return {r:g}, {n} steps; its last 12 frames")
        for s, act, ret, v in frames[-12:]:
            grid = np.full(s.shape[:2], ".")
            for ch, c in sorted(glyph, key=lambda g: -g[1]):
                grid[s[:, :, c].astype(bool)] = ch
            print(f"return so far {ret:g}, value {v:.2f}, action {amap[act]}")
            print("\n".join("".join(row) for row in grid))
    print(json.dumps({"checkpoint": a.checkpoint, "game": a.game, "greedy": a.greedy,
                      "episodes": a.episodes, "mean_return": float(rets.mean()),
                      "histogram": hist.tolist()}))


if __name__ == "__main__":
    main()
