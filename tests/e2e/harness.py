# SPDX-License-Identifier: Apache-2.0
"""Helpers for tests that run impala-learner and impala-actor processes.

Every process started here binds to loopback on free ports, is bounded in
time, and is stopped (SIGTERM, then SIGKILL) by Cluster.close(), which tests
call in a finally block or through `with Cluster(...) as c:`.

The build directory comes from the environment variable IMPALA_BUILD (meson
passes it), so tests run against the binaries of the build under test.
"""
import json
import os
import re
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request

BUILD = os.environ.get("IMPALA_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
LEARNER = os.path.join(BUILD, "learner", "impala-learner")
ACTOR = os.path.join(BUILD, "actor", "impala-actor")
ZMQ_PEER = os.path.join(BUILD, "tests", "e2e", "zmq_peer")


def free_base_port(span=3, tries=200):
    """A loopback port P with P..P+span-1 free now (a learner's base)."""
    for _ in range(tries):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        base = s.getsockname()[1]
        s.close()
        if base + span > 65535:
            continue
        ok = True
        for p in range(base, base + span):
            t = socket.socket()
            try:
                t.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            finally:
                t.close()
        if ok:
            return base
    raise RuntimeError("no free run of ports")


def http_get(port, path, timeout=5.0):
    """(status, body text) of GET http://127.0.0.1:port/path."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def parse_metrics(text):
    """Prometheus text -> {'name{labels}': float}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, val = line.rpartition(" ")
        out[key] = float(val)
    return out


def checkpoint_header(path):
    """The JSON header of a safetensors file: {tensor name: {dtype, shape,
    data_offsets}, "__metadata__": {...}} (read here, not by our C code)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n).decode())


class Proc:
    """A child process whose stderr goes to a log file we can read."""

    def __init__(self, argv, log_path, env=None):
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log,
                                  stdin=subprocess.DEVNULL, env=env, text=True)

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def alive(self):
        return self.p.poll() is None

    def signal(self, sig):
        if self.alive():
            self.p.send_signal(sig)

    def wait(self, timeout):
        """Exit code, or raises subprocess.TimeoutExpired."""
        return self.p.wait(timeout=timeout)

    def stdout(self):
        return self.p.stdout.read() if self.p.stdout else ""

    def stop(self, grace=5.0):
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=grace)
        self.log.close()


class Cluster:
    """One learner (started with start_learner) and any number of actors."""

    def __init__(self, tmp=None):
        self.tmp = tmp or tempfile.mkdtemp(prefix="impala-e2e-")
        self.base = None
        self.learner = None
        self.status_port = None
        self.actors = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def address(self):
        return f"tcp://127.0.0.1:{self.base}"

    def start_learner(self, *args, base=None, name="learner", timeout=20.0):
        """Starts impala-learner with args plus --bind, --status-addr and
        --logdir of this cluster; waits until its status port answers."""
        self.base = base or self.base or free_base_port()
        argv = [LEARNER, *args, "--bind", self.address, "--status-addr",
                "127.0.0.1:0", "--logdir", os.path.join(self.tmp, "runs")]
        self.learner = Proc(argv, os.path.join(self.tmp, name + ".log"))
        end = time.time() + timeout
        while time.time() < end:
            m = re.search(r"status on port (\d+)", self.learner.text())
            if m:
                self.status_port = int(m.group(1))
                return self.learner
            if not self.learner.alive():
                raise RuntimeError("learner exited: " + self.learner.text()[-2000:])
            time.sleep(0.05)
        raise RuntimeError("learner did not start: " + self.learner.text()[-2000:])

    def start_actor(self, actor_id, num_envs=8, *args):
        argv = [ACTOR, "--learner", self.address, "--actor-id", str(actor_id),
                "--num-envs", str(num_envs), "--learner-timeout", "3", *args]
        a = Proc(argv, os.path.join(self.tmp, f"actor{actor_id}.log"))
        self.actors.append(a)
        return a

    def status(self):
        code, body = http_get(self.status_port, "/status")
        assert code == 200, (code, body)
        return json.loads(body)

    def metrics(self):
        code, body = http_get(self.status_port, "/metrics")
        assert code == 200, (code, body)
        return parse_metrics(body)

    def train_to(self, budget, wall, every=0.1):
        """Lets the learner train until it stops by itself, passes budget
        frames, or wall seconds go by (then SIGTERM); asserts it exited 0
        and returns its JSON summary."""
        end = time.time() + wall
        while self.learner.alive() and time.time() < end:
            try:
                if self.status()["frames"] > budget:
                    break
            except (OSError, ValueError, AssertionError):
                pass
            time.sleep(every)
        if self.learner.alive():
            self.learner.signal(signal.SIGTERM)
        return self.summary(60)

    def train_spawned(self, env, frames, *args, seed=4, wall=90):
        """Trains env with the flags args on two spawned actors of four
        environments each (T 20, B 8, one learner thread, no evaluation,
        the final checkpoint only) until frames; asserts the run reached
        them with both actors joined (the second may instead be refused
        because the run had ended: a speed race, not a fault), unrolls
        accepted and none dropped,
        and returns (its JSON summary, the final checkpoint's path)."""
        self.start_learner("--env", env, *args, "--spawn-actors", "2", "--num-actors", "8",
                           "--num-steps", "20", "--batch-size", "8", "--num-storages", "16",
                           "--num-learners", "1", "--num-train-steps", str(frames),
                           "--eval-interval", "0", "--save-interval", "0", "--seed", str(seed))
        s = self.summary(wall)
        log = self.learner.text()
        print(s, flush=True)
        assert s["result"] == "num_train_steps reached", s
        assert s["frames"] >= frames and s["updates"] > 0, s
        # Both actors said Hello: joined, or (on a machine fast enough to
        # train `frames` before the second one started) refused only
        # because the run had already ended.
        joined = set(re.findall(r"actor (\d+) joined \(host", log))
        late = set(re.findall(r"refused actor (\d+): learner is shutting down", log))
        assert joined and len(joined | late) >= 2, log[-2000:]
        m = re.search(r"(\d+) unrolls accepted, (\d+) dropped", log)
        assert m and int(m.group(1)) > 0 and m.group(2) == "0", log[-2000:]
        return s, os.path.join(self.tmp, "runs", "default", f"seed{seed}",
                               "checkpoint.safetensors")

    def evaluate(self, env, ckpt, episodes, *args):
        """`impala-learner eval` of checkpoint ckpt on env with the flags
        args; asserts it exited 0 and returns its JSON line."""
        ev = subprocess.run([LEARNER, "eval", "--env", env, *args, "--init-model-path", ckpt,
                             "--num-eval-episodes", str(episodes)], capture_output=True,
                            text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert ev.returncode == 0, ev.stderr[-2000:]
        e = json.loads(ev.stdout.strip().splitlines()[-1])
        print(e, flush=True)
        return e

    def summary(self, wall):
        """Waits up to wall seconds for the learner to exit; asserts it
        exited 0 and returns its JSON summary (the last line of stdout)."""
        rc = self.learner.wait(wall)
        lines = [ln for ln in self.learner.stdout().splitlines() if ln.strip()]
        assert rc == 0 and lines, f"exit {rc}: {self.learner.text()[-2000:]}"
        return json.loads(lines[-1])

    def wait_for(self, pred, timeout, what, every=0.1):
        """Polls /status until pred(status) is true; returns that status."""
        end = time.time() + timeout
        last = None
        while time.time() < end:
            try:
                last = self.status()
                if pred(last):
                    return last
            except (OSError, ValueError):
                pass
            time.sleep(every)
        raise AssertionError(f"timed out waiting for {what}; last status: "
                             f"{json.dumps(last)[:1500] if last else None}")

    def peer(self, *args, timeout=30.0):
        """Runs tests/e2e/zmq_peer with args; its exit code."""
        return subprocess.run([ZMQ_PEER, *args], timeout=timeout,
                              stdin=subprocess.DEVNULL).returncode

    def push(self, *messages):
        """Sends each bytes object as one message on the trajectory socket
        (PUSH to base+1) and waits until ZeroMQ has handed them over."""
        files = []
        for i, m in enumerate(messages):
            path = os.path.join(self.tmp, f"push{i}.bin")
            with open(path, "wb") as f:
                f.write(m)
            files.append(path)
        rc = self.peer("push", f"tcp://127.0.0.1:{self.base + 1}", *files)
        assert rc == 0, f"zmq_peer push exited {rc}"

    def request(self, message, timeout_ms=5000, then=None):
        """Sends message on a DEALER to the handshake socket; the reply's
        bytes, or None when none came within timeout_ms.  With then (bytes),
        sends it after the reply over the same connection (the learner takes
        a Goodbye only from the connection of the actor's Hello)."""
        src = os.path.join(self.tmp, "request.bin")
        out = os.path.join(self.tmp, "reply.bin")
        with open(src, "wb") as f:
            f.write(message)
        extra = []
        if then is not None:
            extra = [os.path.join(self.tmp, "then.bin")]
            with open(extra[0], "wb") as f:
                f.write(then)
        rc = self.peer("dealer", self.address, src, out, str(timeout_ms), *extra)
        if rc == 3:
            return None
        assert rc == 0, f"zmq_peer dealer exited {rc}"
        with open(out, "rb") as f:
            return f.read()

    def close(self):
        for a in self.actors:
            a.stop()
        if self.learner:
            self.learner.stop(grace=15.0)
