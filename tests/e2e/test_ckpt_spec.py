#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A checkpoint's architecture comes from the checkpoint (learner/config_ckpt.h).

A short run trains a network that differs from every default (Acrobot-v1,
two tanh hidden layers of 24, 20 features, no PopArt).  Then:

- `eval --init-model-path F` with no other flag builds that network, on
  the checkpoint's environment, and evaluates it; the log says what it took.
- Flags that agree with the checkpoint are accepted; each flag that
  contradicts it stops eval with exit 2 and a message naming both values.
- An explicit --env is respected (and the load then names the tensor that
  does not fit CartPole's observations).
- `describe --init-model-path F` describes the checkpoint's network.
- `train --init-model-path F --env Acrobot-v1` without architecture flags
  trains that network from those weights: its own checkpoint records the
  same architecture; a contradicting flag stops it with exit 2."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import LEARNER, Cluster, checkpoint_header, free_base_port  # noqa: E402

ARCH = ["--hidden-dim", "24", "--num-hidden-layers", "2", "--feature-dim", "20",
        "--activation", "tanh", "--no-popart"]
SHORT = ["--num-steps", "20", "--batch-size", "2", "--num-storages", "8",
         "--num-learners", "1", "--eval-interval", "0", "--save-interval", "0",
         "--num-train-steps", "4000"]


def train(tmp, *args):
    """A short run; returns (its checkpoint's run spec, path, learner log)."""
    d = tempfile.mkdtemp(dir=tmp)
    with Cluster(d) as c:
        c.start_learner("--env", "Acrobot-v1", *SHORT, *args)
        c.start_actor(1, 2)
        assert c.learner.wait(90) == 0, c.learner.text()[-2000:]
        log = c.learner.text()
    path = os.path.join(d, "runs", "default", "seed1", "checkpoint.safetensors")
    spec = json.loads(checkpoint_header(path)["__metadata__"]["run_spec"])
    return spec, path, log


def run(args, cwd, timeout=60):
    p = subprocess.run([LEARNER, *args], cwd=cwd, capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def main():
    tmp = tempfile.mkdtemp(prefix="impala-ckpt-spec-")
    try:
        check(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


def check(tmp):
    spec, ckpt, _ = train(tmp, *ARCH)
    want = {"env": "Acrobot-v1", "hidden_dim": 24, "num_hidden_layers": 2,
            "feature_dim": 20, "activation": "tanh", "encoder": "mlp", "popart": 0}
    assert all(spec[k] == v for k, v in want.items()), spec

    # eval with the checkpoint alone: its network, its environment.
    rc, out, err = run(["eval", "--init-model-path", ckpt, "--num-eval-episodes", "2"], tmp)
    assert rc == 0, err[-2000:]
    res = json.loads(out.strip().splitlines()[-1])
    assert res["env"] == "Acrobot-v1" and res["episodes"] == 2, res
    for taken in ("--hidden-dim 24", "--num-hidden-layers 2", "--feature-dim 20",
                  "--activation tanh", "--no-popart", "--env Acrobot-v1"):
        assert taken in err, (taken, err[-2000:])

    # Flags that agree are fine, whatever their source.
    rc, out, err = run(["eval", "--init-model-path", ckpt, "--num-eval-episodes", "1",
                        "--env", "Acrobot-v1", "--encoder", "auto", *ARCH], tmp)
    assert rc == 0, err[-2000:]

    # Each contradicting flag: exit 2, both values named, nothing evaluated.
    for flag, ours, theirs in ((["--hidden-dim", "16"], "--hidden-dim 16", "--hidden-dim 24"),
                               (["--num-hidden-layers", "1"], "--num-hidden-layers 1",
                                "--num-hidden-layers 2"),
                               (["--feature-dim", "64"], "--feature-dim 64", "--feature-dim 20"),
                               (["--activation", "relu"], "--activation relu",
                                "--activation tanh"),
                               (["--encoder", "minatar"], "--encoder minatar", "--encoder mlp"),
                               (["--popart"], "--popart", "--no-popart"),
                               (["--use-lstm"], "--use-lstm", "--no-use-lstm")):
        rc, out, err = run(["eval", "--init-model-path", ckpt, *flag], tmp)
        assert rc == 2 and not out, (flag, rc, out, err[-1000:])
        assert f"{ours} contradicts the checkpoint {ckpt}, trained with {theirs}" in err, \
            (flag, err[-1000:])

    # The same through the environment variable of a flag.
    env = dict(os.environ, IMPALA_HIDDEN_DIM="32")
    p = subprocess.run([LEARNER, "eval", "--init-model-path", ckpt], cwd=tmp, env=env,
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 2 and "--hidden-dim 32 contradicts" in p.stderr, p.stderr[-1000:]

    # An explicit --env is the user's: CartPole's 4 observations do not fit
    # the first layer trained on Acrobot's 6.
    rc, out, err = run(["eval", "--init-model-path", ckpt, "--env", "CartPole-v1"], tmp)
    assert rc == 2 and "encoder.0.weight" in err, err[-1000:]

    # describe shows the checkpoint's network: 6 -> 24 -> 24 -> 20, heads 3 + 1.
    rc, out, err = run(["describe", "--init-model-path", ckpt], tmp)
    assert rc == 0, err[-1000:]
    params = 6 * 24 + 24 + 24 * 24 + 24 + 24 * 20 + 20 + 20 * 3 + 3 + 20 + 1
    assert "environment: Acrobot-v1" in out and f"parameters: {params} " in out, out

    # train from the checkpoint without architecture flags: its network.
    spec2, _, log = train(tmp, "--init-model-path", ckpt)
    assert "starting from the weights of" in log, log[-2000:]
    assert all(spec2[k] == v for k, v in want.items()), spec2
    # ... and a contradicting flag stops it before anything starts.
    port = free_base_port()
    rc, out, err = run(["train", "--env", "Acrobot-v1", "--init-model-path", ckpt,
                        "--feature-dim", "64", "--bind", f"tcp://127.0.0.1:{port}",
                        "--status-addr", "127.0.0.1:0", "--logdir",
                        os.path.join(tmp, "refused")], tmp)
    assert rc == 2 and "--feature-dim 64 contradicts" in err, err[-1000:]
    assert not os.path.exists(os.path.join(tmp, "refused")), "a refused run left files"


if __name__ == "__main__":
    main()
