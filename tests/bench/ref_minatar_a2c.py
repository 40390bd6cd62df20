#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A reference learner that is not ours (issue 11): synchronous A2C in
PyTorch on MinAtar itself, with our `minatar` network (Conv 16 3x3 valid,
ReLU, Linear 1024->128, ReLU, policy and value heads), so that a plateau of
impala-learner can be held against what this network and algorithm family
reach at the same frame counts.

MinAtar is GPL-3.0 and is never part of this tree: point --minatar (or
MINATAR_PATH) at a local checkout of MinAtar 1.0.15 (the directory holding
its `minatar` package).  Needs python3-torch and python3-numpy (Debian's;
`scripts/install-deps.sh --bench`).  Runs on one thread.

Every --log-every frames it prints the mean return of the last 100 finished
episodes; the JSON object on the last line holds the curve.

  MINATAR_PATH=/tmp/MinAtar /usr/bin/python3 tests/bench/ref_minatar_a2c.py \
      --game breakout --frames 2000000 --envs 16 --steps 5

The update (flags name every knob): n-step returns over --steps steps from
--envs environments, GAE(--lam) advantages (1 = plain n-step returns),
loss = -mean(logp * adv) + vf * 0.5 * mean((ret - V)^2) - ent * mean(H),
RMSprop (PyTorch's: eps outside the square root) or Adam, global gradient
norm clipped at --clip, terminal steps cut the bootstrap (MinAtar has no
truncation).  --loss-sum sums over T and B instead (as monobeast and ours).
"""
import argparse
import json
import os
import sys
import time
from collections import deque


def parse():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minatar", default=os.environ.get("MINATAR_PATH", ""))
    ap.add_argument("--game", default="breakout")
    ap.add_argument("--frames", type=int, default=2_000_000)
    ap.add_argument("--envs", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--lr", type=float, default=7e-4)
    ap.add_argument("--lr-decay", type=int, default=0,
                    help="decay lr linearly to 0 at this many frames (0: constant)")
    ap.add_argument("--optim", default="rmsprop", choices=("rmsprop", "adam"))
    ap.add_argument("--alpha", type=float, default=0.99, help="RMSprop smoothing")
    ap.add_argument("--eps", type=float, default=1e-5)
    ap.add_argument("--gamma", type=float, default=0.99)
    ap.add_argument("--lam", type=float, default=1.0)
    ap.add_argument("--ent", type=float, default=0.01)
    ap.add_argument("--vf", type=float, default=0.5)
    ap.add_argument("--clip", type=float, default=0.5)
    ap.add_argument("--loss-sum", action="store_true")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--sticky", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=250_000)
    return ap.parse_args()


def main():
    a = parse()
    if a.minatar:
        sys.path.insert(0, a.minatar)
    import numpy as np
    import torch
    import torch.nn as nn
    from minatar import Environment  # the local checkout, never vendored

    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    envs = [Environment(a.game, sticky_action_prob=a.sticky) for _ in range(a.envs)]
    for i, e in enumerate(envs):
        e.seed(a.seed * 1000 + i)
        e.reset()
    h, w, c = envs[0].state_shape()
    n_act = envs[0].num_actions()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(c, 16, 3)
            self.fc = nn.Linear(16 * (h - 2) * (w - 2), a.hidden)
            self.pi = nn.Linear(a.hidden, n_act)
            self.v = nn.Linear(a.hidden, 1)

        def forward(self, x):  # x: [N, H, W, C] uint8/bool
            x = x.permute(0, 3, 1, 2).float()
            x = torch.relu(self.conv(x)).flatten(1)
            x = torch.relu(self.fc(x))
            return self.pi(x), self.v(x).squeeze(-1)

    net = Net()
    if a.optim == "rmsprop":
        opt = torch.optim.RMSprop(net.parameters(), lr=a.lr, alpha=a.alpha, eps=a.eps)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=a.lr, eps=a.eps)

    def observe():
        return torch.from_numpy(np.stack([e.state() for e in envs]).astype(np.uint8))

    obs = observe()
    ep_ret = np.zeros(a.envs)
    finished = deque(maxlen=100)
    curve, frames, next_log, t0 = [], 0, a.log_every, time.time()
    T, N = a.steps, a.envs
    while frames < a.frames:
        obs_b, act_b, rew_b, done_b = [], [], [], []
        for _ in range(T):
            with torch.no_grad():
                logits, _ = net(obs)
                # Gumbel-max: a sample of softmax(logits), without the
                # cost of building a Categorical every step.
                u = torch.rand_like(logits).clamp_(1e-12, 1.0)
                act = (logits - torch.log(-torch.log(u))).argmax(-1)
            rew, done = np.zeros(N, np.float32), np.zeros(N, np.float32)
            for i, (e, ai) in enumerate(zip(envs, act.tolist())):
                r, d = e.act(ai)
                rew[i], done[i] = r, d
                ep_ret[i] += r
                if d:
                    finished.append(ep_ret[i])
                    ep_ret[i] = 0
                    e.reset()
            obs_b.append(obs)
            act_b.append(act)
            rew_b.append(torch.from_numpy(rew))
            done_b.append(torch.from_numpy(done))
            obs = observe()
            frames += N
        x = torch.cat(obs_b + [obs])  # [(T+1) N, H, W, C]
        logits, v = net(x)
        logits = logits[: T * N].view(T, N, -1)
        v = v.view(T + 1, N)
        rew, done, act = torch.stack(rew_b), torch.stack(done_b), torch.stack(act_b)
        with torch.no_grad():
            disc = a.gamma * (1 - done)
            adv = torch.zeros(T, N)
            gae = torch.zeros(N)
            for t in reversed(range(T)):
                delta = rew[t] + disc[t] * v[t + 1] - v[t]
                gae = delta + disc[t] * a.lam * gae
                adv[t] = gae
            ret = adv + v[:T]
        logp_all = torch.log_softmax(logits, -1)
        logp = logp_all.gather(-1, act.unsqueeze(-1)).squeeze(-1)
        ent = -(logp_all.exp() * logp_all).sum(-1)
        red = torch.sum if a.loss_sum else torch.mean
        loss = (-red(logp * adv) + a.vf * 0.5 * red((ret - v[:T]) ** 2)
                - a.ent * red(ent))
        if a.lr_decay:
            for g in opt.param_groups:
                g["lr"] = a.lr * max(0.0, 1 - frames / a.lr_decay)
        opt.zero_grad()
        loss.backward()
        if a.clip > 0:
            nn.utils.clip_grad_norm_(net.parameters(), a.clip)
        opt.step()
        if frames >= next_log:
            m = float(np.mean(finished)) if finished else float("nan")
            curve.append((frames, round(m, 2)))
            print(f"frames {frames} return {m:.2f} entropy {float(ent.mean()):.3f}"
                  f" episodes {len(finished)} fps {frames / (time.time() - t0):.0f}",
                  flush=True)
            next_log += a.log_every
    print(json.dumps({"reference": "a2c", "args": vars(a), "curve": curve,
                      "seconds": round(time.time() - t0, 1)}))


if __name__ == "__main__":
    main()
