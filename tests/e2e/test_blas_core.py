#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The OpenBLAS core at start-up (common/blas.h), end to end, on the real
programs and the machine's OpenBLAS.

- Every start logs the OpenBLAS core it runs and why.
- Where OpenBLAS falls back to a generic (pre-AVX2) core on a CPU with AVX2
  or AVX-512, the program restarts itself (same pid, same flags) with
  OPENBLAS_CORETYPE=SkylakeX or Haswell.  This machine's OpenBLAS may know
  its CPU, so a preloaded shim (tests/common/blas_shim.c) makes
  openblas_get_corename() report a generic core while OPENBLAS_CORETYPE is
  unset: the restart runs for real here.
- OPENBLAS_CORETYPE from the environment is respected, never replaced.
- Started through the dynamic loader (/proc/self/exe is then the loader),
  the program does not restart and warns.
- With an sgemm that is wrong on the restart's core, the self-test catches
  it and the program falls back to OpenBLAS's own choice and runs; an sgemm
  wrong on every core stops the program with exit 2 and the reason.
- The actor does the same and logs the same line; actors spawned by the
  learner inherit its OPENBLAS_CORETYPE.
- /status ("blas_core") and /metrics (impala_info's blas_core label) name
  the core the learner runs."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import ACTOR, BUILD, LEARNER, Cluster, free_base_port, http_get  # noqa: E402

SHIM = os.path.join(BUILD, "tests", "common", "blas_shim.so")
GENERIC = {"unknown", "katmai", "coppermine", "northwood", "prescott", "banias", "atom",
           "core2", "penryn", "dunnington", "nehalem", "sandybridge"}
LINE = re.compile(r"impala-(?:learner|actor)\[(\d+)\] (INFO |WARN )\s*OpenBLAS core (\S+?),? (.*)")
LOADER = "/lib64/ld-linux-x86-64.so.2"


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "IMPALA_BLAS_AUTO_FROM", "IMPALA_BLAS_AUTO_FAILED",
                        "LD_PRELOAD", "IMPALA_TEST_BLAS_BROKEN", "IMPALA_TEST_BLAS_GENERIC")}
    env.update(extra)
    return env


def generic_env(**extra):
    """An OpenBLAS that fell back to Prescott (the shim's say-so)."""
    return clean_env(LD_PRELOAD=SHIM, IMPALA_TEST_BLAS_GENERIC="Prescott", **extra)


def describe(env, expect=0, loader=None, level="INFO "):
    """Runs `impala-learner describe` (through the dynamic loader when
    given); returns (core, why, stderr).  The line must be logged at
    level, by the process started (a restart keeps the pid)."""
    argv = [LEARNER, "describe", "--hidden-dim", "16", "--feature-dim", "16"]
    p = subprocess.Popen(([loader] if loader else []) + argv, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env)
    out, err = p.communicate(timeout=60)
    assert p.returncode == expect, (p.returncode, err)
    if expect != 0:
        return None, None, err
    # The flags survive a restart: 4 -> 16 -> 16, heads 2 + 1 = 403
    # parameters, and PopArt's baseline.mu and baseline.sigma.
    assert "parameters: 405 " in out, out
    m = LINE.search(err)
    assert m, err
    assert int(m.group(1)) == p.pid, ("the restart must keep the pid", p.pid, err)
    assert m.group(2) == level, (level, m.group(0))
    return m.group(3), m.group(4), err


def children(pid):
    kids = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            kids += [int(k) for k in f.read().split()]
    return kids


def spawned_actor_follows_learner():
    """OPENBLAS_CORETYPE reaches the spawned actor; /status and /metrics
    name the learner's core."""
    with Cluster() as c:
        c.start_learner("--env", "CartPole-v1", "--hidden-dim", "16", "--feature-dim", "16",
                        "--num-steps", "10", "--batch-size", "2", "--num-storages", "4",
                        "--num-learners", "1", "--eval-interval", "0", "--save-interval", "0",
                        "--spawn-actors", "1", "--num-actors", "2")
        st = c.wait_for(lambda s: s["actors"], 30, "the spawned actor")
        m = LINE.search(c.learner.text())
        assert m and m.group(3) == "Prescott", c.learner.text()[-1500:]
        assert st["blas_core"] == "Prescott", st
        code, text = http_get(c.status_port, "/metrics")
        assert code == 200 and 'blas_core="Prescott"' in text, text[:600]
        kids = children(c.learner.p.pid)
        assert len(kids) == 1, kids
        with open(f"/proc/{kids[0]}/environ") as f:
            env = f.read().split("\0")
        assert "OPENBLAS_CORETYPE=Prescott" in env, [e for e in env if "BLAS" in e]


def actor_line(env):
    """The actor's OpenBLAS line (pid, level, core), from its log."""
    with tempfile.TemporaryFile("w+") as log:
        a = subprocess.Popen([ACTOR, "--learner", f"tcp://127.0.0.1:{free_base_port()}",
                              "--handshake-timeout", "0.2"], stdout=subprocess.DEVNULL,
                             stderr=log, stdin=subprocess.DEVNULL, env=env)
        try:
            end = time.time() + 20
            m = None
            while time.time() < end and not m:
                time.sleep(0.05)
                log.seek(0)
                m = LINE.search(log.read())
            assert m, "actor logged no OpenBLAS core line"
            assert int(m.group(1)) == a.pid, m.group(0)
            return m.group(3)
        finally:
            a.send_signal(signal.SIGTERM)
            try:
                a.wait(10)
            except subprocess.TimeoutExpired:
                a.kill()
                a.wait(10)


def main():
    flags = cpu_flags()
    avx2 = {"avx2", "fma"} <= flags
    avx512 = avx2 and {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"} <= flags
    better = "SkylakeX" if avx512 else "Haswell" if avx2 else None

    # This machine as it is: OpenBLAS's core, replaced only if generic.
    core, why, _ = describe(clean_env())
    print(f"this machine: {core} ({why}); a generic core would become {better}")
    if core.lower() in GENERIC:
        assert better is None and "own choice" in why, (core, why)

    # OPENBLAS_CORETYPE is respected, a generic core included.
    core, why, _ = describe(clean_env(OPENBLAS_CORETYPE="Prescott"))
    assert core == "Prescott" and "from OPENBLAS_CORETYPE=Prescott" in why, (core, why)
    # A name OpenBLAS does not know: it picks a core of its own; a warning.
    core, why, _ = describe(clean_env(OPENBLAS_CORETYPE="Bogus"), level="WARN ")
    assert "(OpenBLAS did not take that name)" in why, why

    if better is None:
        print("no AVX2 here: nothing replaces a generic core; restart cases not run")
        print("ok")
        return

    # A generic core: restart (same pid, same flags) with the better one.
    core, why, _ = describe(generic_env())
    assert core == better, (core, why)
    assert "chosen at start: OpenBLAS had chosen Prescott, a generic core" in why, why

    # Through the dynamic loader: no restart (it would run the loader), a
    # warning that says why.
    if os.path.exists(LOADER):
        core, why, _ = describe(generic_env(), loader=LOADER, level="WARN ")
        assert core == "Prescott" and "started through the dynamic loader" in why, (core, why)
    else:
        print(f"{LOADER} not found: the loader case is not run")

    # sgemm wrong on the restart's core: back to OpenBLAS's own, warned.
    core, why, _ = describe(generic_env(IMPALA_TEST_BLAS_BROKEN=better), level="WARN ")
    assert core == "Prescott", (core, why)
    assert f"{better} failed the sgemm self-test" in why, why
    # sgemm wrong on every core: exit 2 with the reason, nothing run.
    _, _, err = describe(clean_env(LD_PRELOAD=SHIM, IMPALA_TEST_BLAS_BROKEN="always"), expect=2)
    assert re.search(r"OpenBLAS core \S+: sgemm [NT][NT] \d+x\d+x\d+ beta \S+: element "
                     r"\(0, 0\) is", err), err
    assert "choose another with OPENBLAS_CORETYPE" in err, err

    # The actor: the same restart and line.
    assert actor_line(generic_env()) == better
    assert actor_line(clean_env(OPENBLAS_CORETYPE="Prescott")) == "Prescott"

    os.environ["OPENBLAS_CORETYPE"] = "Prescott"
    spawned_actor_follows_learner()
    print("ok")


if __name__ == "__main__":
    main()
