#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Python environments between real processes (PYTHONPATH holds tests/env
and examples/python; meson sets it):

  solve   a learner and two actors train the pure-Python CartPole
          (tests/env/pycartpole.py, through py:) to a mean return of 475
          within a frame budget and a wall-clock bound;
  catch   the uint8 image game of examples/python/catch.py ([10, 5, 1]
          bytes, actor -> wire -> learner) trains to a mean return of 0.9
          (random play: about -0.6) with the MLP encoder and again
          through the minatar conv encoder, no unroll dropped;
  errors  each bad behaviour stops the process that meets it with its
          exit status and message, the traceback logged exactly once:
          1 for the user's code failing (systemd restarts the process),
          2 for what no restart can fix (an unsupported space, a module
          that is not there); the environment's print() goes to stderr;
  venv    a module installed only in a virtual environment imports when
          VIRTUAL_ENV names it, not otherwise, and a venv of another
          Python version is refused with both versions named."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import LEARNER, Cluster, Proc, checkpoint_header  # noqa: E402

MLP = ["--encoder", "mlp", "--hidden-dim", "64", "--feature-dim", "64",
       "--num-steps", "80", "--batch-size", "32", "--num-storages", "96", "--num-learners", "2",
       "--lr", "0.0004", "--eval-interval", "0", "--save-interval", "0"]


def test_solve():
    budget = 40_000_000
    with Cluster() as c:
        c.start_learner("--env", "py:pycartpole:make", *MLP, "--seed", "1",
                        "--num-train-steps", str(budget),
                        "--target-return", "475")
        c.start_actor(1, 8)
        c.start_actor(2, 8)
        s = c.summary(150)
        print(f"solve: {s}", flush=True)
        assert s["result"] == "target return reached", s
        assert s["mean_return"] >= 475 and s["episodes"] >= 100, s
        assert s["frames"] <= budget + 32 * 80 * 2, s
        for a in c.actors:
            assert "joined run" in a.text() and a.alive(), a.text()[-1000:]


CONV = ["--encoder", "minatar", "--feature-dim", "64", "--num-learners", "1",
        "--batch-size", "32"]


def train_catch(flags, first_layer):
    """Trains catch with the encoder flags; checks the checkpoint's first
    layer has the shape first_layer."""
    budget = 3_000_000
    with Cluster() as c:
        c.start_learner("--env", "py:catch:make", *flags, "--num-steps", "20",
                        "--num-train-steps", str(budget),
                        "--target-return", "0.9")
        c.start_actor(1, 8)
        c.start_actor(2, 8)
        s = c.summary(120)
        print(f"catch {flags[1]}: {s}", flush=True)
        log = c.learner.text()
        m = re.search(r"(\d+) unrolls accepted, (\d+) dropped", log)
        # The learner's rejection warnings (their reasons) come long before
        # the tail: shown too, so that a drop says why (once seen under
        # ASan: 219 dropped, the tail not saying which reason).
        why = "\n".join(ln for text in [log] + [a.text() for a in c.actors]
                        for ln in text.splitlines()
                        if "rejected" in ln or "handshaking again" in ln)
        assert m and int(m.group(1)) > 0 and int(m.group(2)) == 0, why[-2000:] + log[-1500:]
        assert s["result"] == "target return reached", s
        assert s["mean_return"] >= 0.9 and s["episodes"] >= 100, s
        h = checkpoint_header(s["checkpoint"])
        assert h["encoder.0.weight"]["shape"] == first_layer, h["encoder.0.weight"]


def test_catch():
    # The image went over the wire as [T+1, 10, 5, 1] bytes: the MLP's first
    # layer reads 50 inputs, the conv's is (16 out, 1 channel, 3, 3).
    train_catch(MLP, [64, 50])
    train_catch(CONV, [16, 1, 3, 3])


def run_learner(c, env, wall=60):
    """A learner alone on env that should refuse to start."""
    c.base = c.base or __import__("harness").free_base_port()
    p = Proc([LEARNER, "--env", env, "--bind", c.address, "--status-addr",
              "127.0.0.1:0", "--logdir", os.path.join(c.tmp, "runs")],
             os.path.join(c.tmp, "refused.log"))
    c.learner = p
    return p.wait(wall), p.text()


# (env spec, who fails, exit status, message)
CASES = [
    ("py:pybad:make?mode=step_raises&after=40", "actor", 1,
     "raised ZeroDivisionError: step failed on purpose"),
    ("py:pybad:make?mode=reset_raises", "actor", 1,
     "reset() raised RuntimeError: reset failed on purpose"),
    ("py:pybad:make?mode=nan_obs&after=40", "actor", 1,
     "observation element 1 is nan"),
    ("py:pybad:make?mode=reward_str&after=40", "actor", 1,
     "the reward is a str, not a number"),
    ("py:pybad:make?mode=factory_raises", "learner", 1,
     "the factory raised KeyError: 'no such level'"),
    ("py:pybad:make?mode=obs_dict", "learner", 2,
     "Dict or Tuple spaces are not supported"),
    ("py:no_such_module_xyz:make", "learner", 2,
     "cannot import 'no_such_module_xyz'"),
    ("gym:CartPole-v1", "learner", 2, "Gymnasium is not importable"),
]


def check_case(env, who, status, message):
    with Cluster() as c:
        if who == "learner":
            rc, text = run_learner(c, env)
        else:
            # Every actor step is action 1 or 0; the failure comes after
            # 40 good steps or at the first reset.
            c.start_learner("--env", env, *MLP, "--num-steps", "10")
            a = c.start_actor(1, 2)
            rc = a.wait(60)
            text = a.text()
            assert c.learner.alive(), c.learner.text()[-1000:]
        print(f"{who} on {env}: exit {rc}", flush=True)
        assert rc == status, f"{env}: exit {rc}, wanted {status}: {text[-2000:]}"
        assert message in text, f"{env}: '{message}' not in {text[-2000:]}"
        tracebacks = text.count("Traceback (most recent call last)")
        raised = "raised " in message
        assert tracebacks == (1 if raised else 0), \
            f"{env}: {tracebacks} tracebacks: {text[-3000:]}"


DEMO = os.path.join(os.path.dirname(LEARNER), "..", "examples", "impala-random-demo")


def demo(spec, env=None):
    """(exit status, stdout, stderr) of impala-random-demo on spec."""
    p = subprocess.run([DEMO, "--env", spec, "--episodes", "2"], env=env,
                       capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def check_print_goes_to_stderr():
    rc, out, err = demo("py:pybad:make?mode=prints")
    assert rc == 0, err
    assert "hello from the factory" in err and "hello" not in out, (out, err)
    assert "mean return" in out, out


def test_venv():
    # Debian's python3 made the embedded interpreter; a venv must come
    # from the same major.minor version.
    tmp = tempfile.mkdtemp(prefix="impala-venv-")
    try:
        venv = os.path.join(tmp, "venv")
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip",
                        "--system-site-packages", venv], check=True,
                       timeout=60)
        ver = subprocess.run(["/usr/bin/python3", "-c",
                              "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True,
                             check=True).stdout.strip()
        site = os.path.join(venv, "lib", f"python{ver}", "site-packages")
        here = os.path.dirname(os.path.abspath(__file__))
        shutil.copy(os.path.join(here, "..", "env", "pycartpole.py"),
                    os.path.join(site, "venv_only_cartpole.py"))
        base = {k: v for k, v in os.environ.items()
                if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        rc, out, err = demo("py:venv_only_cartpole:make",
                            dict(base, VIRTUAL_ENV=venv))
        assert rc == 0 and "mean return" in out, (rc, out, err)
        rc, out, err = demo("py:venv_only_cartpole:make", base)
        assert rc == 2 and "cannot import 'venv_only_cartpole'" in err, (rc, err)
        cfg = open(os.path.join(venv, "pyvenv.cfg")).read()
        with open(os.path.join(venv, "pyvenv.cfg"), "w") as f:
            f.write(re.sub(r"(?m)^version.*$", "version = 3.4.0", cfg))
        rc, out, err = demo("py:venv_only_cartpole:make",
                            dict(base, VIRTUAL_ENV=venv))
        assert rc == 2 and "was made by Python 3.4" in err and \
            f"impala embeds Python {ver}" in err, (rc, err)
        print("venv: ok", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    if which in ("all", "errors"):
        for case in CASES:
            check_case(*case)
        check_print_goes_to_stderr()
    if which in ("all", "venv"):
        test_venv()
    if which in ("all", "catch"):
        test_catch()
    if which in ("all", "solve"):
        test_solve()
    print("ok")


if __name__ == "__main__":
    main()
