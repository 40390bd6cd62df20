#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Bad flags and configuration end both programs before they start: exit
status 2 and a one-line message naming the flag (or file) and why.  Also the
verbs that do not train: `describe` prints the architecture and parameter
count, `eval` loads a checkpoint and prints a JSON line with mean_return.

The checkpoint cases use a real checkpoint of a short run, then damage a copy
of it: truncated, one bit flipped in its data, and one of a different width
(the message must name the tensor whose shape differs)."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import ACTOR, LEARNER, Cluster, checkpoint_header, free_base_port  # noqa: E402

SMALL = ["--env", "CartPole-v1", "--hidden-dim", "16", "--feature-dim", "16"]


def run(binary, args, cwd, timeout=30):
    p = subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def expect_exit2(binary, args, words, cwd):
    """binary args exits 2 quickly, its stderr holds every word of words."""
    name = os.path.basename(binary)
    rc, out, err = run(binary, args, cwd)
    what = f"{name} {' '.join(args)}"
    assert rc == 2, f"{what}: exit {rc}, expected 2; stderr: {err[-1000:]}"
    for w in words:
        assert w in err, f"{what}: message lacks {w!r}: {err[-1000:]}"
    return err


def short_run_checkpoint(tmp, *extra):
    """The final checkpoint of a short training run (CartPole, tiny MLP)."""
    d = tempfile.mkdtemp(dir=tmp)
    with Cluster(d) as c:
        c.start_learner(*SMALL, "--num-steps", "20", "--batch-size", "2", "--num-storages", "8",
                        "--num-learners", "1", "--eval-interval", "0", "--save-interval", "0",
                        "--num-train-steps", "4000", *extra)
        c.start_actor(1, 2)
        assert c.learner.wait(60) == 0, c.learner.text()[-2000:]
        assert "num_train_steps reached" in c.learner.text(), c.learner.text()[-2000:]
    return os.path.join(d, "runs", "default", "seed1", "checkpoint.safetensors")


def damaged_copies(ckpt, tmp):
    with open(ckpt, "rb") as f:
        blob = f.read()
    trunc = os.path.join(tmp, "truncated.safetensors")
    with open(trunc, "wb") as f:
        f.write(blob[:len(blob) - 37])
    flipped = bytearray(blob)
    flipped[len(blob) - 100] ^= 0x10  # inside the tensor data, past the header
    flip = os.path.join(tmp, "flipped.safetensors")
    with open(flip, "wb") as f:
        f.write(bytes(flipped))
    header = os.path.join(tmp, "header.safetensors")
    with open(header, "wb") as f:
        f.write(blob[:6])
    return trunc, flip, header


def main():
    tmp = tempfile.mkdtemp(prefix="impala-e2e-flags-")
    port = free_base_port()
    bind = ["--bind", f"tcp://127.0.0.1:{port}", "--status-addr", "127.0.0.1:0",
            "--logdir", os.path.join(tmp, "runs")]
    learner_cases = [
        (["--num-steps", "abc"], ["--num-steps", "not an integer"]),
        (["--lr", "-1"], ["--lr", "out of range"]),
        (["--hidden-dim", "0"], ["--hidden-dim", "out of range"]),
        (["--discount", "1.5"], ["--discount", "out of range"]),
        (["--seed"], ["--seed", "missing value"]),
        (["--no-such-flag", "1"], ["--no-such-flag", "unknown flag"]),
        (["fly"], ["fly", "unknown verb"]),
        (["train", "eval"], ["verb"]),
        (["--env", "NoSuchEnv-v0", *bind], ["NoSuchEnv-v0", "CartPole-v1", "Pendulum-v1"]),
        # A spec longer than the run spec carries would reach the actors
        # cut (other factory arguments): refused.
        (["--env", "CartPole-v1?" + "x" * 600, *bind], ["--env", "at most 511"]),
        (["--activation", "swish"], ["--activation", "swish"]),
        (["--encoder", "conv"], ["--encoder", "conv", "impala", "auto"]),
        (["--encoder", "nature", *bind], ["encoder nature", "CartPole-v1", "rank 1"]),
        (["--batch-size", "8", "--num-storages", "4"], ["--batch-size", "--num-storages"]),
        (["--resume"], ["--resume", "--init-model-path"]),
        (["eval"], ["eval", "--init-model-path"]),
        (["--bind", "udp://127.0.0.1:5555"], ["--bind", "tcp://"]),
        (["--bind", "tcp://127.0.0.1", "--status-addr", "127.0.0.1:0",
          "--logdir", os.path.join(tmp, "runs")], ["--bind", "tcp://127.0.0.1"]),
        (["--bind", f"tcp://0.0.0.0:{port}", "--status-addr", "127.0.0.1:0",
          "--logdir", os.path.join(tmp, "runs")], ["--bind", "loopback", "--insecure"]),
        (["--log-level", "loud"], ["--log-level", "loud"]),
        (["--bind", f"tcp://127.0.0.1:{port}", "--status-addr", "nonsense",
          "--logdir", os.path.join(tmp, "runs")], ["--status-addr", "nonsense", "host:port"]),
        (["--init-model-path", os.path.join(tmp, "missing.safetensors"), *SMALL, *bind],
         ["--init-model-path", "missing.safetensors"]),
        # Issue 14: a port above 65535 is refused, not wrapped (99999 bound
        # 34463); a tag cannot put the run outside --logdir.
        (["--status-addr", "127.0.0.1:99999", *bind[:2], "--logdir", bind[-1]],
         ["--status-addr", "99999", "65535"]),
        (["--tag", "../../x", *bind], ["--tag", "../../x", "--logdir"]),
        (["--tag", "/etc", *bind], ["--tag", "/etc"]),
        (["--tag", "a/b", *bind], ["--tag", "a/b"]),
    ]
    # A port already taken is the system's trouble, not the configuration's:
    # exit 1, so that a service manager tries again (2 means "fix it").
    import socket
    held = socket.socket()
    held.bind(("127.0.0.1", port + 1))
    held.listen(1)
    try:
        rc, _, err = run(LEARNER, ["--bind", f"tcp://127.0.0.1:{port}", "--status-addr",
                                   "127.0.0.1:0", "--logdir", os.path.join(tmp, "busy")], tmp)
        assert rc == 1 and "cannot bind" in err, (rc, err[-1000:])
    finally:
        held.close()
    # Issue 14: a store too large for the memory is the configuration's
    # fault, exit 2 (systemd retried exit 1 forever), naming the flag; it
    # used to end in a double free (exit 139) under a memory limit.
    import resource

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    p = subprocess.run([LEARNER, "--num-storages", "1000000", "--num-steps", "1000",
                        *bind], cwd=tmp, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL, preexec_fn=limit_memory)
    assert p.returncode == 2 and "--num-storages" in p.stderr, (p.returncode, p.stderr[-1000:])
    assert not os.path.exists(os.path.join(tmp, "runs"))
    for args, words in learner_cases:
        expect_exit2(LEARNER, args, words, tmp)
        # "Before it starts": a refused configuration leaves no run behind.
        assert not os.path.exists(os.path.join(tmp, "runs")), \
            f"{' '.join(args)}: a run directory was created before exiting 2"
    actor_cases = [
        (["--num-envs", "0"], ["--num-envs", "out of range"]),
        (["--num-envs", "x"], ["--num-envs", "not an integer"]),
        (["--bogus"], ["--bogus", "unknown flag"]),
        (["--log-level", "loud"], ["--log-level", "loud"]),
        (["--learner-timeout", "0"], ["--learner-timeout", "out of range"]),
        (["--learner", "garbage"], ["--learner", "garbage"]),
    ]
    for args, words in actor_cases:
        expect_exit2(ACTOR, args, words, tmp)

    # describe: the architecture and a parameter count equal to the floats
    # of the model's tensors in a checkpoint of the same configuration.
    rc, out, err = run(LEARNER, ["describe", *SMALL], tmp)
    assert rc == 0, err
    for w in ("encoder", "policy", "baseline", "CartPole-v1", "parameters:"):
        assert w in out, f"describe lacks {w!r}: {out}"
    count = int(out.split("parameters:")[1].split()[0])

    ckpt = short_run_checkpoint(tmp)
    header = checkpoint_header(ckpt)
    model_floats = 0
    for name, t in header.items():
        if name == "__metadata__" or name.startswith("optim."):
            continue
        n = 1
        for d in t["shape"]:
            n *= d
        model_floats += n
        assert name in out, f"describe does not list {name}"
    assert count == model_floats, (count, model_floats)

    # eval: mean and spread of returns over --num-eval-episodes, as JSON.
    rc, out, err = run(LEARNER, ["eval", *SMALL, "--init-model-path", ckpt,
                                 "--num-eval-episodes", "5"], tmp, timeout=120)
    assert rc == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    assert res["episodes"] == 5 and res["env"] == "CartPole-v1", res
    assert 1 <= res["mean_return"] <= 500 and res["std_return"] >= 0, res
    assert res["min_return"] <= res["mean_return"] <= res["max_return"], res

    # Damaged checkpoints and one of another architecture: exit 2, clear
    # reason, for both train (weights and --resume) and eval.
    trunc, flip, stub = damaged_copies(ckpt, tmp)
    other = short_run_checkpoint(tmp, "--hidden-dim", "24")
    # Each reason must be in the message itself, not only in the file name.
    for path, reasons in ((trunc, ("outside", "too short", "truncated")),
                          (flip, ("hash",)), (stub, ("too short",))):
        name = os.path.basename(path)
        for verb in (["train", *bind], ["train", "--resume", *bind], ["eval"]):
            err = expect_exit2(LEARNER, [*verb, *SMALL, "--init-model-path", path],
                               [name], tmp)
            text = err.replace(path, "<file>")
            assert any(w in text for w in reasons), \
                f"{verb[0]} {name}: unclear reason: {err[-600:]}"
    # A flag that contradicts the checkpoint's run spec is refused naming
    # both values (tests/e2e/test_ckpt_spec.py has the rest).
    for verb in (["train", *bind], ["eval"]):
        expect_exit2(LEARNER, [*verb, *SMALL, "--init-model-path", other],
                     ["--hidden-dim 16 contradicts the checkpoint", "--hidden-dim 24"], tmp)
    # A checkpoint of another environment cannot be resumed (the model of
    # Acrobot differs anyway, so the architecture check speaks first).
    expect_exit2(LEARNER, ["train", *bind, "--env", "Acrobot-v1", "--hidden-dim", "16",
                           "--feature-dim", "16", "--init-model-path", ckpt, "--resume"],
                 ["encoder.0.weight"], tmp)
    print("ok")


if __name__ == "__main__":
    main()
