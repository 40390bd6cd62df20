#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""PyTorch reference for the learner update (issue 3).

Builds, for each case, the same network the C code builds (names and shapes
of common/nn), a fixed batch, and computes with torch (float64):
  - the V-trace targets vs and policy-gradient advantages,
  - the three loss terms and the total (summed over T and B, as monobeast),
  - every parameter's gradient, the global gradient norm before clipping,
  - the parameters after one clipped RMSprop step and, separately, after one
    clipped Adam step from the same gradients,
  - with PopArt (case mlp_popart): the baseline head outputs
    sigma * (w h + b) + mu from the buffers baseline.mu and baseline.sigma
    (a PyTorch module's registered buffers: no gradient), the baseline loss
    and the policy-gradient advantage are divided by sigma, and after the
    RMSprop step the statistics follow vs with step POPART_BETA while the
    head is rescaled to preserve its outputs (common/learn/popart.h),
  - with observation normalisation (case mlp_obsnorm): observations (and
    the extra rows' final observations) enter the encoder as
    clip((x - mean) / sqrt(var + 1e-8), -5, 5) with the buffers
    obs_norm.mean, obs_norm.var (element 0's variance small, so most of
    its values reach the clip), and after the RMSprop step the statistics
    take in the batch's steps 0..T-1 (common/learn/obsnorm.h).
Writes tests/reference/<case>.safetensors (float32 tensors, small).

The image cases (issue 10: minatar 10x10x4 float 0/1 grids, nature 44x44x2
and impala 36x36x3 uint8 frames scaled by 1/255, each with a Discrete and a
Box head, the Box ones with the LSTM core) draw their parameters and frames
from splitmix64 streams that the C test reproduces bit for bit
(gen_uniform, gen_bytes below; tests/reference/test_reference.c), so that
the dumps need not carry them: conv weights are most of the numbers.  For
the same reason, tensors of more than SAMPLE_ABOVE elements are dumped at
every SAMPLE_STRIDE-th element (param, grad, rmsprop and adam alike); every
element of every smaller tensor is dumped.  The image networks run as
torch.nn modules (ImageActorCritic) that read [H, W, C] frames and permute
them to NCHW themselves; the script checks that the module loads the
parameters with strict=True and gives the functional forward's features
and logits.

Conventions (the C side follows the same, see common/nn and common/learn):
  obs[T+1, B, O]; prev_action[T+1, B] (Discrete, as float) or [T+1, B, D];
  prev_reward[T+1, B]; reset[T+1, B] zeroes the LSTM state before the step;
  actions[T, B(, D)], rewards, terminated, truncated, behaviour_logp [T, B];
  extra rows: for each truncated step (t, b), V(final_obs) from the state after
  step t with prev_action a_t and prev_reward r_t, used as next value there and
  cutting the V-trace recursion.
Run: /usr/bin/python3 tests/reference/make_reference.py [case ...]
(needs python3-torch; with case names, writes only those)
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

from torch_image import image_encoder

torch.set_default_dtype(torch.float64)

T, B = 5, 3
OBS = 4
HID, FEAT, LSTM_H = 8, 8, 6
GAMMA, BASE_COEF, ENT_COEF = 0.99, 0.5, 0.01
MAX_GRAD_NORM = 0.5  # small, so that clipping is exercised
LR, ALPHA, EPS = 0.01, 0.99, 0.01
ADAM_LR, BETA1, BETA2, ADAM_EPS = 0.001, 0.9, 0.999, 1e-8
RHO_BAR, C_BAR, PG_RHO_BAR, LAMBDA = 1.0, 1.0, 1.0, 1.0
POPART_MU, POPART_SIGMA, POPART_BETA = -3.0, 2.5, 0.25
BUFFERS = ("baseline.mu", "baseline.sigma", "obs_norm.mean", "obs_norm.var",
           "obs_norm.count")
OBSNORM_COUNT, OBSNORM_EPS, OBSNORM_CLIP = 40.0, 1e-8, 5.0


def linear(gen, fan_in, fan_out):
    """PyTorch's default Linear init (kaiming_uniform a=sqrt(5))."""
    bound = 1.0 / math.sqrt(fan_in)
    w = (torch.rand(fan_out, fan_in, generator=gen) * 2 - 1) * bound
    b = (torch.rand(fan_out, generator=gen) * 2 - 1) * bound
    return w, b


def make_params(gen, discrete, n, use_lstm, popart=False, obs_norm=False):
    p = {}
    p["encoder.0.weight"], p["encoder.0.bias"] = linear(gen, OBS, HID)
    p["encoder.2.weight"], p["encoder.2.bias"] = linear(gen, HID, FEAT)
    core = FEAT
    if use_lstm:
        inp = FEAT + 1 + n
        k = 1.0 / math.sqrt(LSTM_H)
        for name, shape in (("weight_ih_l0", (4 * LSTM_H, inp)),
                            ("weight_hh_l0", (4 * LSTM_H, LSTM_H)),
                            ("bias_ih_l0", (4 * LSTM_H,)),
                            ("bias_hh_l0", (4 * LSTM_H,))):
            p["core." + name] = (torch.rand(*shape, generator=gen) * 2 - 1) * k
        core = LSTM_H
    p["policy.weight"], p["policy.bias"] = linear(gen, core, n)
    if not discrete:
        # Non-zero so that the log-std gradient path is exercised.
        p["policy.log_std"] = (torch.rand(n, generator=gen) - 0.5) * 0.4
    p["baseline.weight"], p["baseline.bias"] = linear(gen, core, 1)
    if popart:
        p["baseline.mu"] = torch.tensor([POPART_MU])
        p["baseline.sigma"] = torch.tensor([POPART_SIGMA])
    if obs_norm:
        # Element 0's small variance sends most of its values to the clip.
        p["obs_norm.mean"] = torch.randn(OBS, generator=gen) * 0.5
        p["obs_norm.var"] = torch.rand(OBS, generator=gen) + 0.2
        p["obs_norm.var"][0] = 0.01
        p["obs_norm.count"] = torch.tensor([OBSNORM_COUNT])
    # Round to float32 first: the C code starts from exactly these values.
    return {k: v.float().double().requires_grad_(k not in BUFFERS)
            for k, v in p.items()}


def core_input(p, feats, prev_a, prev_r, discrete, n):
    r = prev_r.clamp(-1, 1).unsqueeze(-1)
    if discrete:
        a = torch.nn.functional.one_hot(prev_a.long(), n).to(feats.dtype)
    else:
        a = prev_a
    return torch.cat([feats, r, a], dim=-1)


def lstm_step(p, x, h, c):
    gates = (x @ p["core.weight_ih_l0"].T + p["core.bias_ih_l0"] +
             h @ p["core.weight_hh_l0"].T + p["core.bias_hh_l0"])
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c


def check_lstm_against_torch(p, n):
    """lstm_step must be torch.nn.LSTMCell with the same weights."""
    cell = torch.nn.LSTMCell(FEAT + 1 + n, LSTM_H)
    with torch.no_grad():
        cell.weight_ih.copy_(p["core.weight_ih_l0"])
        cell.weight_hh.copy_(p["core.weight_hh_l0"])
        cell.bias_ih.copy_(p["core.bias_ih_l0"])
        cell.bias_hh.copy_(p["core.bias_hh_l0"])
        x = torch.randn(2, FEAT + 1 + n)
        h, c = torch.randn(2, LSTM_H), torch.randn(2, LSTM_H)
        h1, c1 = cell(x, (h, c))
        h2, c2 = lstm_step(p, x, h, c)
    assert torch.allclose(h1, h2) and torch.allclose(c1, c2)


def encoder(p, obs):
    x = torch.relu(obs @ p["encoder.0.weight"].T + p["encoder.0.bias"])
    return torch.relu(x @ p["encoder.2.weight"].T + p["encoder.2.bias"])


def heads(p, core):
    pol = core @ p["policy.weight"].T + p["policy.bias"]
    v = (core @ p["baseline.weight"].T + p["baseline.bias"]).squeeze(-1)
    if "baseline.sigma" in p:
        v = p["baseline.sigma"] * v + p["baseline.mu"]
    return pol, v


def normalise(p, obs):
    """Observation normalisation (common/nn/obsnorm.h)."""
    z = (obs - p["obs_norm.mean"]) / (p["obs_norm.var"] + OBSNORM_EPS).sqrt()
    return z.clamp(-OBSNORM_CLIP, OBSNORM_CLIP)


def obsnorm_step(p, x):
    """The statistics merged with the rows x (n, OBS), in place: the plain
    average over all rows so far, as two-pass moments of the union."""
    c, k = float(p["obs_norm.count"]), x.shape[0]
    mean, var = p["obs_norm.mean"], p["obs_norm.var"]
    bm = x.mean(0)
    bm2 = ((x - bm) ** 2).sum(0)
    delta = bm - mean
    tot = c + k
    p["obs_norm.mean"] = mean + delta * k / tot
    p["obs_norm.var"] = (var * c + bm2 + delta ** 2 * c * k / tot) / tot
    p["obs_norm.count"] = torch.tensor([tot], dtype=torch.float64)


def forward(p, d, discrete, n, use_lstm, enc=None):
    """Returns policy outputs [T+1,B,n], values [T+1,B], extra values."""
    enc = enc or encoder
    if "obs_norm.mean" in p:
        d = dict(d, obs=normalise(p, d["obs"]), extra_obs=normalise(p, d["extra_obs"]))
    feats = enc(p, d["obs"])
    extra_feats = enc(p, d["extra_obs"]) if d["n_extra"] else None
    if not use_lstm:
        pol, v = heads(p, feats)
        ev = heads(p, extra_feats)[1] if d["n_extra"] else None
        return pol, v, ev
    h, c = d["h0"], d["c0"]
    outs, states = [], []
    for t in range(T + 1):
        keep = (1 - d["reset"][t]).unsqueeze(-1)
        h, c = h * keep, c * keep
        x = core_input(p, feats[t], d["prev_action"][t], d["prev_reward"][t],
                       discrete, n)
        h, c = lstm_step(p, x, h, c)
        outs.append(h)
        states.append((h, c))
    pol, v = heads(p, torch.stack(outs))
    ev = None
    if d["n_extra"]:
        rows = []
        for j, idx in enumerate(d["extra_index"]):
            t, b = divmod(int(idx), B)
            hs, cs = states[t]
            x = core_input(p, extra_feats[j:j + 1], d["extra_prev_action"][j:j + 1],
                           d["extra_prev_reward"][j:j + 1], discrete, n)
            hh, _ = lstm_step(p, x, hs[b:b + 1], cs[b:b + 1])
            rows.append(heads(p, hh)[1])
        ev = torch.cat(rows)
    return pol, v, ev


def log_prob_entropy(p, pol, actions, discrete, n):
    if discrete:
        logp_all = torch.log_softmax(pol, dim=-1)
        logp = logp_all.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
        ent = -(logp_all.exp() * logp_all).sum(-1)
        return logp, ent
    ls = p["policy.log_std"]
    z = (actions - pol) / ls.exp()
    logp = (-0.5 * z * z - ls - 0.5 * math.log(2 * math.pi)).sum(-1)
    ent = (0.5 + 0.5 * math.log(2 * math.pi) + ls).sum(-1).expand(logp.shape)
    return logp, ent


def vtrace(log_rhos, discounts, rewards, values, next_values, cut):
    rhos = log_rhos.exp()
    crho = rhos.clamp(max=RHO_BAR)
    cs = LAMBDA * rhos.clamp(max=C_BAR)
    deltas = crho * (rewards + discounts * next_values - values)
    acc = torch.zeros(B)
    diffs = [None] * T
    for t in reversed(range(T)):
        acc = deltas[t] + discounts[t] * cs[t] * (1 - cut[t]) * acc
        diffs[t] = acc
    vs = torch.stack(diffs) + values
    vs_next = torch.cat([vs[1:], next_values[-1:]])
    vs_next = torch.where(cut > 0, next_values, vs_next)
    pg_adv = rhos.clamp(max=PG_RHO_BAR) * (rewards + discounts * vs_next - values)
    return vs, pg_adv


def check_against_torch_optim(p, grads, names, scale, out_rms, out_adam):
    """The hand-written updates below must equal torch.optim's."""
    for opt_name, store in (("rms", out_rms), ("adam", out_adam)):
        ws = [p[k].detach().clone().requires_grad_(True) for k in names]
        for w, k in zip(ws, names):
            w.grad = grads[k].clone()
        torch.nn.utils.clip_grad_norm_(ws, MAX_GRAD_NORM)
        if opt_name == "rms":
            opt = torch.optim.RMSprop(ws, lr=LR, alpha=ALPHA, eps=EPS)
        else:
            opt = torch.optim.Adam(ws, lr=ADAM_LR, betas=(BETA1, BETA2),
                                   eps=ADAM_EPS)
        opt.step()
        for w, k in zip(ws, names):
            store[k] = w.detach()


def make_batch(gen, discrete, n):
    d = {}
    d["obs"] = torch.randn(T + 1, B, OBS, generator=gen)
    if discrete:
        d["actions"] = torch.randint(0, n, (T, B), generator=gen).double()
        first = torch.randint(0, n, (B,), generator=gen).double()
    else:
        d["actions"] = torch.randn(T, B, n, generator=gen)
        first = torch.randn(B, n, generator=gen)
    d["rewards"] = torch.randn(T, B, generator=gen) * 1.5  # some beyond +-1
    term = torch.zeros(T, B)
    trunc = torch.zeros(T, B)
    term[1, 0] = 1
    trunc[3, 1] = 1
    trunc[T - 1, 2] = 1  # a truncation on the last step
    term[2, 2] = 1
    d["terminated"], d["truncated"] = term, trunc
    # Behaviour log-probs far from the target's so that rhos are far from 1.
    d["behaviour_logp"] = -torch.rand(T, B, generator=gen) * 3.0
    if not discrete:
        d["behaviour_logp"] = d["behaviour_logp"] - 2.0
    # Model inputs derived as the learner's batcher does.
    done = (term + trunc) > 0
    reset = torch.zeros(T + 1, B)
    reset[1:] = done.double()
    pa = torch.zeros((T + 1, B) + ((n,) if not discrete else ()))
    pr = torch.zeros(T + 1, B)
    pa[0] = first
    pr[0] = torch.randn(B, generator=gen)
    for t in range(T):
        for b in range(B):
            if not done[t, b]:
                pa[t + 1, b] = d["actions"][t, b]
                pr[t + 1, b] = d["rewards"][t, b]
    d["reset"], d["prev_action"], d["prev_reward"] = reset, pa, pr
    d["h0"] = torch.randn(B, LSTM_H, generator=gen) * 0.5
    d["c0"] = torch.randn(B, LSTM_H, generator=gen) * 0.5
    idx = [t * B + b for t in range(T) for b in range(B) if trunc[t, b]]
    d["n_extra"] = len(idx)
    d["extra_index"] = torch.tensor(idx, dtype=torch.float64)
    d["extra_obs"] = torch.randn(len(idx), OBS, generator=gen)
    d["extra_prev_action"] = torch.stack([d["actions"][i // B, i % B] for i in idx])
    d["extra_prev_reward"] = torch.stack([d["rewards"][i // B, i % B] for i in idx])
    # Every input exactly representable in float32, as the C side sees it.
    return {k: (v.float().double() if torch.is_tensor(v) else v)
            for k, v in d.items()}



# ---- image encoders (issue 10) ---------------------------------------------

IMG_FEAT = 8
SAMPLE_ABOVE, SAMPLE_STRIDE = 1024, 16
MASK64 = (1 << 64) - 1


def splitmix64(state):
    """(new state, output) of splitmix64."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def gen_uniform(seed, stream, n):
    """n values (z >> 40) / 2^24 in [0, 1), exact in float32."""
    st, out = ((seed << 32) + stream) & MASK64, []
    for _ in range(n):
        st, z = splitmix64(st)
        out.append((z >> 40) / 16777216.0)
    return out


def gen_bytes(seed, stream, n):
    st, out = ((seed << 32) + stream) & MASK64, []
    for _ in range(n):
        st, z = splitmix64(st)
        out.append(z >> 56)
    return out


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


class ImageActorCritic(torch.nn.Module):
    """The model common/nn builds for an image encoder, reading [.., H, W, C]
    observations (it permutes them to NCHW itself)."""

    def __init__(self, kind, H, W, C, n, discrete, use_lstm):
        super().__init__()
        self.shape = (H, W, C)
        self.encoder = image_encoder(kind, H, W, C, IMG_FEAT)
        core = IMG_FEAT
        if use_lstm:
            self.core = torch.nn.LSTM(IMG_FEAT + 1 + n, LSTM_H)
            core = LSTM_H
        self.policy = torch.nn.Linear(core, n)
        if not discrete:
            self.policy.log_std = torch.nn.Parameter(torch.zeros(n))
        self.baseline = torch.nn.Linear(core, 1)

    def features(self, obs):
        lead = obs.shape[:-3]
        x = obs.reshape(-1, *self.shape).permute(0, 3, 1, 2)
        return self.encoder(x).reshape(*lead, -1)


def gen_params(module, seed):
    """Parameters from splitmix64, tensor k of the state_dict from stream k:
    (2u - 1) / sqrt(fan_in) (a bias uses its weight's fan_in, the LSTM
    1 / sqrt(H)), log_std (u - 0.5) * 0.4; rounded to float32."""
    p, fan = {}, 1
    for k, (name, t) in enumerate(module.state_dict().items()):
        u = gen_uniform(seed, k, t.numel())
        if name.endswith("log_std"):
            vals = [f32((x - 0.5) * 0.4) for x in u]
        else:
            if t.dim() >= 2:
                fan = t.numel() // t.shape[0]
            bound = 1.0 / math.sqrt(LSTM_H if name.startswith("core.") else fan)
            vals = [f32((2.0 * x - 1.0) * bound) for x in u]
        p[name] = torch.tensor(vals).reshape(t.shape).requires_grad_(True)
    return p


def image_features(p, kind, obs, H, W, C):
    """The encoder, functional, on [.., H, W, C] observations."""
    lead = obs.shape[:-3]
    x = obs.reshape(-1, H, W, C).permute(0, 3, 1, 2)
    if kind == "minatar":
        x = torch.relu(F.conv2d(x, p["encoder.0.weight"], p["encoder.0.bias"]))
        lin = "encoder.3"
    elif kind == "nature":
        for i, st in ((0, 4), (2, 2), (4, 1)):
            x = torch.relu(F.conv2d(x, p[f"encoder.{i}.weight"], p[f"encoder.{i}.bias"],
                                    stride=st))
        lin = "encoder.7"
    else:
        for i in range(3):
            x = F.conv2d(x, p[f"encoder.{i}.0.weight"], p[f"encoder.{i}.0.bias"], padding=1)
            x = F.max_pool2d(x, 3, 2, padding=1)
            for r in (2, 3):
                q = f"encoder.{i}.{r}."
                y = F.conv2d(torch.relu(x), p[q + "conv0.weight"], p[q + "conv0.bias"],
                             padding=1)
                y = F.conv2d(torch.relu(y), p[q + "conv1.weight"], p[q + "conv1.bias"],
                             padding=1)
                x = x + y
        x = torch.relu(x)
        lin = "encoder.5"
    x = torch.relu(x.flatten(1) @ p[lin + ".weight"].T + p[lin + ".bias"])
    return x.reshape(*lead, -1)


def check_module(module, p, d, kind, H, W, C, use_lstm):
    """The torch.nn module loads p with strict=True and gives the same
    features and, without LSTM, the same logits and values."""
    module.load_state_dict({k: v.detach() for k, v in p.items()}, strict=True)
    with torch.no_grad():
        want = image_features(p, kind, d["obs"], H, W, C)
        got = module.features(d["obs"])
        assert torch.allclose(got, want, atol=1e-12), (got - want).abs().max()
        if not use_lstm:
            pol, v = heads(p, want)
            assert torch.allclose(module.policy(got), pol, atol=1e-12)
            assert torch.allclose(module.baseline(got).squeeze(-1), v, atol=1e-12)


def image_batch(d, seed, H, W, C, u8):
    """Frames from splitmix64 (streams 0xFFFF and 0xFFFE): uint8 v read as
    v / 255, or 0/1 grids (v >> 7) as float32."""
    for key, stream, rows in (("obs", 0xFFFF, (T + 1) * B), ("extra_obs", 0xFFFE, d["n_extra"])):
        v = torch.tensor(gen_bytes(seed, stream, rows * H * W * C), dtype=torch.float64)
        v = v / 255.0 if u8 else torch.floor(v / 128.0)
        lead = (T + 1, B) if key == "obs" else (rows,)
        d[key] = v.reshape(*lead, H, W, C)


def popart_step(p, vs):
    """Statistics step and output-preserving rescale of the head, on the
    parameters p (a dict of detached tensors), in place."""
    mu, sigma = p["baseline.mu"], p["baseline.sigma"]
    nu = sigma ** 2 + mu ** 2
    mu2 = (1 - POPART_BETA) * mu + POPART_BETA * vs.mean()
    nu2 = (1 - POPART_BETA) * nu + POPART_BETA * (vs ** 2).mean()
    sigma2 = (nu2 - mu2 ** 2).clamp(min=1e-8).sqrt()
    h = torch.randn(7, p["baseline.weight"].shape[1])
    before = sigma * (h @ p["baseline.weight"].T + p["baseline.bias"]) + mu
    p["baseline.weight"] = p["baseline.weight"] * sigma / sigma2
    p["baseline.bias"] = (sigma * p["baseline.bias"] + mu - mu2) / sigma2
    p["baseline.mu"], p["baseline.sigma"] = mu2, sigma2
    after = sigma2 * (h @ p["baseline.weight"].T + p["baseline.bias"]) + mu2
    assert torch.allclose(before, after, atol=1e-9)


def sample_big(out):
    """Tensors beyond SAMPLE_ABOVE elements: every SAMPLE_STRIDE-th."""
    for k in list(out):
        if out[k].numel() > SAMPLE_ABOVE:
            out[k] = out[k].flatten()[::SAMPLE_STRIDE].clone()


def run_case(name, discrete, use_lstm, clip_rewards, seed, image=None,
             popart=False, obs_norm=False):
    gen = torch.Generator().manual_seed(seed)
    n = 3 if discrete else 2
    enc = None
    if image:
        kind, (H, W, C), u8 = image
        module = ImageActorCritic(kind, H, W, C, n, discrete, use_lstm)
        p = gen_params(module, seed)
        d = make_batch(gen, discrete, n)
        image_batch(d, seed, H, W, C, u8)
        check_module(module, p, d, kind, H, W, C, use_lstm)
        enc = lambda q, o: image_features(q, kind, o, H, W, C)  # noqa: E731
    else:
        p = make_params(gen, discrete, n, use_lstm, popart, obs_norm)
        d = make_batch(gen, discrete, n)
    if use_lstm:
        check_lstm_against_torch(p, n)
    pol, v, ev = forward(p, d, discrete, n, use_lstm, enc)
    logp, ent = log_prob_entropy(p, pol[:T], d["actions"], discrete, n)
    rewards = d["rewards"].clamp(-1, 1) if clip_rewards else d["rewards"]
    discounts = GAMMA * (1 - d["terminated"])
    with torch.no_grad():
        next_values = v[1:].clone()
        for j, idx in enumerate(d["extra_index"]):
            t, b = divmod(int(idx), B)
            next_values[t, b] = ev[j]
        vs, pg_adv = vtrace(logp - d["behaviour_logp"], discounts, rewards,
                            v[:T], next_values, d["truncated"])
    vscale = float(p["baseline.sigma"]) if popart else 1.0
    pg_adv = pg_adv / vscale
    pg_loss = -(logp * pg_adv).sum()
    base_loss = BASE_COEF * 0.5 * (((vs - v[:T]) / vscale) ** 2).sum()
    ent_loss = -ENT_COEF * ent.sum()
    total = pg_loss + base_loss + ent_loss
    names = list(p.keys())
    trained = [k for k in names if k not in BUFFERS]
    grads = dict(zip(trained, torch.autograd.grad(total, [p[k] for k in trained])))
    for k in names:
        if k in BUFFERS:
            grads[k] = torch.zeros_like(p[k])
    norm = torch.sqrt(sum((g ** 2).sum() for g in grads.values()))
    scale = min(1.0, MAX_GRAD_NORM / (float(norm) + 1e-6))
    check_against_torch_optim(p, grads, names, scale, out_rms := {}, out_adam := {})
    out = {}
    for k in names:
        g = grads[k] * scale
        w = p[k].detach()
        sq = (1 - ALPHA) * g * g
        out["rmsprop." + k] = w - LR * g / (sq.sqrt() + EPS)
        m = (1 - BETA1) * g
        s = (1 - BETA2) * g * g
        mhat, shat = m / (1 - BETA1), s / (1 - BETA2)
        out["adam." + k] = w - ADAM_LR * mhat / (shat.sqrt() + ADAM_EPS)
        assert torch.allclose(out["rmsprop." + k], out_rms[k], atol=1e-12)
        assert torch.allclose(out["adam." + k], out_adam[k], atol=1e-12)
        out["param." + k] = w
        out["grad." + k] = grads[k]
    if image:
        sample_big(out)
    if popart:
        stepped = {k: out["rmsprop." + k].clone() for k in names}
        popart_step(stepped, vs)
        for k in names:
            out["popart." + k] = stepped[k]
    if obs_norm:
        stepped = {k: out["rmsprop." + k].clone() for k in names}
        obsnorm_step(stepped, d["obs"][:T].reshape(T * B, OBS).double())
        for k in names:
            out["obsnorm." + k] = stepped[k]
    for k in ("obs", "actions", "rewards", "terminated", "truncated",
              "behaviour_logp", "reset", "prev_action", "prev_reward", "h0",
              "c0", "extra_index", "extra_obs", "extra_prev_action",
              "extra_prev_reward"):
        if d[k].numel() and not (image and k in ("obs", "extra_obs")):
            out["in." + k] = d[k]
    out["out.policy"] = pol.detach()
    out["out.values"] = v.detach()
    out["out.vs"] = vs
    out["out.pg_adv"] = pg_adv
    out["out.loss"] = torch.stack([pg_loss, base_loss, ent_loss, total]).detach()
    out["out.grad_norm"] = norm.detach().reshape(1)
    out["out.mean_entropy"] = ent.mean().detach().reshape(1)
    meta = {"T": T, "B": B, "obs": OBS, "hidden_dim": HID, "feature_dim": FEAT,
            "lstm_hidden": LSTM_H, "use_lstm": int(use_lstm),
            "discrete": int(discrete), "n": n, "clip_rewards": int(clip_rewards),
            "discount": GAMMA, "baseline_coef": BASE_COEF, "ent_coef": ENT_COEF,
            "max_grad_norm": MAX_GRAD_NORM, "lr": LR, "alpha": ALPHA, "eps": EPS,
            "adam_lr": ADAM_LR, "beta1": BETA1, "beta2": BETA2,
            "adam_eps": ADAM_EPS, "n_extra": d["n_extra"],
            "popart": int(popart), "popart_beta": POPART_BETA,
            "obs_norm": int(obs_norm)}
    if image:
        kind, (H, W, C), u8 = image
        meta.update({"encoder": kind, "H": H, "W": W, "C": C, "obs_u8": int(u8),
                     "obs_scale": 1.0 / 255 if u8 else 1.0, "feature_dim": IMG_FEAT,
                     "param_seed": seed, "sample_above": SAMPLE_ABOVE,
                     "sample_stride": SAMPLE_STRIDE})
    return out, meta


def write_safetensors(path, tensors, meta):
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        a = tensors[k].detach().to(torch.float32).contiguous()
        raw = struct.pack("<%df" % a.numel(), *a.flatten().tolist())
        header[k] = {"dtype": "F32", "shape": list(a.shape),
                     "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {k: str(v) for k, v in meta.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    cases = [("mlp_discrete", True, False, False, 1),
             ("mlp_box", False, False, True, 2),
             ("lstm_discrete", True, True, True, 3),
             ("lstm_box", False, True, False, 4)]
    images = {"minatar": ((10, 10, 4), False), "nature": ((44, 44, 2), True),
              "impala": ((36, 36, 3), True)}
    for i, (kind, (shape, u8)) in enumerate(images.items()):
        cases.append((kind + "_discrete", True, False, True, 11 + 2 * i, (kind, shape, u8)))
        cases.append((kind + "_lstm_box", False, True, False, 12 + 2 * i, (kind, shape, u8)))
    cases.append(("mlp_popart", True, False, False, 5))
    cases.append(("mlp_obsnorm", True, False, False, 6))
    only = set(sys.argv[1:])
    for name, discrete, use_lstm, clip, seed, *image in (c + (None,) if len(c) == 5 else c
                                                           for c in cases):
        if only and name not in only:
            continue
        out, meta = run_case(name, discrete, use_lstm, clip, seed, image[0],
                             popart=name.endswith("popart"),
                             obs_norm=name.endswith("obsnorm"))
        path = os.path.join(here, name + ".safetensors")
        write_safetensors(path, out, meta)
        print("wrote", path, "loss", [round(float(x), 6) for x in out["out.loss"]],
              "grad_norm", round(float(out["out.grad_norm"]), 6))


if __name__ == "__main__":
    sys.exit(main())
