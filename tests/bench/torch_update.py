#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""PyTorch side of bench_update: the same learner update (forward over T+1 by
B, V-trace, loss, backward, gradient clipping, RMSprop) on the same shapes as
the C benchmark, float32 on the CPU.  Prints one JSON object on its last line:
{"<config>": samples_per_second, ...}.

The image configurations (issue 10) run the same encoders as common/nn
(nature 84x84x4 and impala 64x64x3 at T = 20, minatar 10x10x4 at T = 80;
B = 32, 6 actions) on uint8 frames in [T+1, B, H, W, C], converted to
float, scaled and permuted to NCHW inside the forward, as the equivalent
module of tests/reference/make_reference.py does (both build their encoder
with tests/reference/torch_image.py).  Debian's torch runs
its convolutions through oneDNN (mkldnn).

Usage: torch_update.py --threads N --seconds S
           [--configs mlp64,mlp512,lstm256,nature,impala,minatar]
"""
import argparse
import json
import os
import statistics
import sys
import time


def _argv_threads(argv):
    """--threads N from argv (default 1), read before torch is imported."""
    for i, a in enumerate(argv[:-1]):
        if a == "--threads":
            return argv[i + 1]
    return "1"


# torch.set_num_threads only sizes the OpenMP pool; Debian's torch does its
# matrix products in the system OpenBLAS (pthreads), which otherwise starts
# one thread per core and oversubscribes the machine (measured: 2x512 at 1
# thread ran 5x slower).  The pools size themselves at load, so set them
# before the import.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = _argv_threads(sys.argv)

import torch  # noqa: E402

# The image encoders: one definition, shared with the reference dumps.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "reference"))
from torch_image import image_encoder  # noqa: E402

T, B, OBS, A = 80, 32, 4, 2

# name: (kind, H, W, C, feature_dim, T, scale)
IMAGES = {"nature": ("nature", 84, 84, 4, 512, 20, 1 / 255),
          "impala": ("impala", 64, 64, 3, 256, 20, 1 / 255),
          "minatar": ("minatar", 10, 10, 4, 128, 80, 1.0)}
IMG_A = 6


class ImageNet(torch.nn.Module):
    def __init__(self, kind, H, W, C, feat, scale):
        super().__init__()
        self.shape, self.scale = (H, W, C), scale
        self.encoder = image_encoder(kind, H, W, C, feat)
        self.policy = torch.nn.Linear(feat, IMG_A)
        self.baseline = torch.nn.Linear(feat, 1)

    def forward(self, obs, prev_a, prev_r, notdone, state):
        T1, Bn = obs.shape[:2]
        x = obs.reshape(T1 * Bn, *self.shape).permute(0, 3, 1, 2).float() * self.scale
        x = self.encoder(x)
        return self.policy(x).view(T1, Bn, IMG_A), self.baseline(x).view(T1, Bn)


class Net(torch.nn.Module):
    def __init__(self, hid, lstm):
        super().__init__()
        self.encoder = torch.nn.Sequential(torch.nn.Linear(OBS, hid), torch.nn.ReLU(),
                                           torch.nn.Linear(hid, hid), torch.nn.ReLU())
        self.lstm = lstm
        core = hid
        if lstm:
            self.core = torch.nn.LSTM(hid + 1 + A, lstm)
            core = lstm
        self.policy = torch.nn.Linear(core, A)
        self.baseline = torch.nn.Linear(core, 1)

    def forward(self, obs, prev_a, prev_r, notdone, state):
        x = self.encoder(obs.view((T + 1) * B, OBS))
        if self.lstm:
            x = x.view(T + 1, B, -1)
            inp = torch.cat([x, prev_r.clamp(-1, 1).unsqueeze(-1),
                             torch.nn.functional.one_hot(prev_a, A).float()], -1)
            outs = []
            for t in range(T + 1):
                nd = notdone[t].view(1, B, 1)
                state = tuple(nd * s for s in state)
                o, state = self.core(inp[t:t + 1], state)
                outs.append(o)
            x = torch.cat(outs).view((T + 1) * B, -1)
        return self.policy(x).view(T + 1, B, A), self.baseline(x).view(T + 1, B)


def vtrace(log_rhos, discounts, rewards, values, bootstrap, T=T):
    with torch.no_grad():
        rhos = log_rhos.exp()
        cr = rhos.clamp(max=1.0)
        cs = rhos.clamp(max=1.0)
        nv = torch.cat([values[1:], bootstrap.unsqueeze(0)])
        deltas = cr * (rewards + discounts * nv - values)
        acc = torch.zeros_like(bootstrap)
        res = []
        for t in reversed(range(T)):
            acc = deltas[t] + discounts[t] * cs[t] * acc
            res.append(acc)
        vs = torch.stack(res[::-1]) + values
        vs_next = torch.cat([vs[1:], bootstrap.unsqueeze(0)])
        return vs, cr * (rewards + discounts * vs_next - values)


def make_update(hid, lstm, image=None):
    Tn, An = (image[5], IMG_A) if image else (T, A)
    if image:
        kind, H, W, C, feat, _, scale = image
        net = ImageNet(kind, H, W, C, feat, scale)
        hi = 2 if kind == "minatar" else 256
        obs = torch.randint(0, hi, (Tn + 1, B, H, W, C), dtype=torch.uint8)
    else:
        net = Net(hid, lstm)
        obs = torch.randn(T + 1, B, OBS)
    opt = torch.optim.RMSprop(net.parameters(), lr=4e-4, alpha=0.99, eps=0.01)
    actions = torch.randint(0, An, (Tn + 1, B))
    rewards = torch.ones(Tn, B)
    done = torch.rand(Tn + 1, B) < 0.02
    blogp = torch.full((Tn, B), -0.69)
    state = (torch.zeros(1, B, lstm or 1), torch.zeros(1, B, lstm or 1))

    def update():
        logits, values = net(obs, actions, torch.zeros(Tn + 1, B),
                             (~done).float(), state)
        logp_all = torch.log_softmax(logits[:Tn], -1)
        logp = logp_all.gather(-1, actions[1:].unsqueeze(-1)).squeeze(-1)
        discounts = (~done[1:]).float() * 0.99
        vs, adv = vtrace(logp.detach() - blogp, discounts, rewards,
                         values[:Tn].detach(), values[Tn].detach(), Tn)
        pg = -(logp * adv).sum()
        bl = 0.5 * 0.5 * ((vs - values[:Tn]) ** 2).sum()
        ent = (logp_all.exp() * logp_all).sum() * 0.01
        loss = pg + bl + ent
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 40.0)
        opt.step()
    return update


def measure(update, seconds, T=T, warm=3, reps=5):
    for _ in range(warm):
        update()
    rates, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end or len(rates) < reps:
        t0 = time.perf_counter()
        update()
        rates.append(T * B / (time.perf_counter() - t0))
    return statistics.median(rates)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--configs", default="mlp64,mlp512,lstm256,nature,impala,minatar")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    shapes = {"mlp64": (64, 0), "mlp512": (512, 0), "lstm256": (256, 256)}
    out = {}
    for name in a.configs.split(","):
        if name in IMAGES:
            # As bench_update: one warm-up and at least 3 timed updates.
            out[name] = round(measure(make_update(0, 0, IMAGES[name]), a.seconds,
                                      IMAGES[name][5], 1, 3), 1)
            continue
        hid, lstm = shapes[name]
        out[name] = round(measure(make_update(hid, lstm), a.seconds), 1)
    out["threads"] = a.threads
    print(json.dumps(out))


if __name__ == "__main__":
    main()
