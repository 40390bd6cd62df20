#!/usr/bin/env python3
"""--blas-core end to end, on the real programs and the machine's OpenBLAS.

- Every start logs the OpenBLAS core it runs and why.
- auto: where OpenBLAS falls back to a generic (pre-AVX2) core on a CPU with
  AVX2 or AVX-512, the program restarts itself (same pid) with
  OPENBLAS_CORETYPE=SkylakeX or Haswell; elsewhere it keeps OpenBLAS's core.
  OPENBLAS_CORETYPE from the environment is always respected.
- A named core is used (and refused, exit 2, when the CPU cannot run it or
  the name is unknown); openblas never restarts, and warns when it keeps a
  generic core on a CPU that runs better ones.
- Started through the dynamic loader (/proc/self/exe is then the loader),
  auto does not restart and warns; a named core that needs a restart is
  refused.
- With a preloaded sgemm that is wrong on auto's core, the self-test catches
  it and the program falls back to OpenBLAS's own choice and runs; an sgemm
  wrong on every core stops the program with exit 2 and the reason.
- The actor takes the same flag and logs the same line; actors spawned by
  the learner get the learner's --blas-core and OPENBLAS_CORETYPE.
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
           if k not in ("OPENBLAS_CORETYPE", "IMPALA_BLAS_CORE", "IMPALA_BLAS_AUTO_FROM",
                        "IMPALA_BLAS_AUTO_FAILED", "LD_PRELOAD", "IMPALA_TEST_BLAS_BROKEN")}
    env.update(extra)
    return env


def describe(*args, env=None, expect=0, loader=None, level="INFO "):
    """Runs `impala-learner describe` (through the dynamic loader when
    given); returns (pid, core, why, stderr).  The line must be logged at
    level."""
    argv = [LEARNER, "describe", "--hidden-dim", "16", "--feature-dim", "16", *args]
    p = subprocess.Popen(([loader] if loader else []) + argv, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                         env=env or clean_env())
    out, err = p.communicate(timeout=60)
    assert p.returncode == expect, (args, p.returncode, err)
    if expect != 0:
        return p.pid, None, None, err
    # The flags survive the restart: 4 -> 16 -> 16, heads 2 + 1 = 403
    # parameters, and PopArt's baseline.mu and baseline.sigma (on by default).
    assert "parameters: 405 " in out, out
    m = LINE.search(err)
    assert m, err
    assert int(m.group(1)) == p.pid, ("the restart must keep the pid", p.pid, err)
    if level is not None:
        assert m.group(2) == level, (level, m.group(0))
    return p.pid, m.group(3), m.group(4), err


def children(pid):
    kids = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            kids += [int(k) for k in f.read().split()]
    return kids


def spawned_actor_follows_learner():
    with Cluster() as c:
        c.start_learner("--env", "CartPole-v1", "--hidden-dim", "16", "--feature-dim", "16",
                        "--num-steps", "10", "--batch-size", "2", "--num-storages", "4",
                        "--num-learners", "1", "--eval-interval", "0", "--save-interval", "0",
                        "--spawn-actors", "1", "--num-actors", "2", "--blas-core", "Prescott")
        st = c.wait_for(lambda s: s["actors"], 30, "the spawned actor")
        m = LINE.search(c.learner.text())
        assert m and m.group(3) == "Prescott", c.learner.text()[-1500:]
        # The status port says which kernels run, for monitoring.
        assert st["blas_core"] == "Prescott", st
        code, text = http_get(c.status_port, "/metrics")
        assert code == 200 and 'blas_core="Prescott"' in text, text[:600]
        kids = children(c.learner.p.pid)
        assert len(kids) == 1, kids
        with open(f"/proc/{kids[0]}/cmdline") as f:
            cmd = f.read().split("\0")
        with open(f"/proc/{kids[0]}/environ") as f:
            env = f.read().split("\0")
        assert cmd[cmd.index("--blas-core") + 1] == "Prescott", cmd
        assert "OPENBLAS_CORETYPE=Prescott" in env, [e for e in env if "BLAS" in e]


def main():
    flags = cpu_flags()
    avx2 = {"avx2", "fma"} <= flags
    avx512 = avx2 and {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"} <= flags
    auto_pick = "SkylakeX" if avx512 else "Haswell" if avx2 else None

    _, own, why, _ = describe("--blas-core", "openblas", level=None)
    generic = own.lower() in GENERIC and auto_pick is not None
    # Kept as asked; a generic core where a better one runs is a warning.
    describe("--blas-core", "openblas", level="WARN " if generic else "INFO ")
    assert "OpenBLAS's own choice" in why, why
    print(f"OpenBLAS's own core here: {own}; auto would pick {auto_pick}")

    # auto: replaces a generic core when the CPU can do better, else keeps it.
    _, core, why, _ = describe()
    if own.lower() in GENERIC and auto_pick:
        assert core == auto_pick, (core, why)
        assert f"OpenBLAS had chosen {own}, a generic core" in why, why
    else:
        assert core == own, (core, own, why)
        assert "own choice" in why, why

    # The same through the environment variable of the flag.
    _, core_env, _, _ = describe(env=clean_env(IMPALA_BLAS_CORE="auto"))
    assert core_env == core, (core_env, core)

    # OPENBLAS_CORETYPE from the environment is respected by auto.
    _, core, why, _ = describe(env=clean_env(OPENBLAS_CORETYPE="Prescott"))
    assert core == "Prescott" and "from OPENBLAS_CORETYPE=Prescott" in why, (core, why)

    # A named core is applied, and overrides the environment's.
    if avx2:
        _, core, why, _ = describe("--blas-core", "haswell",
                                   env=clean_env(OPENBLAS_CORETYPE="Prescott"))
        assert core == "Haswell" and "from --blas-core Haswell" in why, (core, why)
    _, core, _, _ = describe("--blas-core", "Prescott")
    assert core == "Prescott", core

    # Refusals: unknown names (flag and variable), cores the CPU cannot run.
    _, _, _, err = describe("--blas-core", "Skylake", expect=2)
    assert "--blas-core: 'Skylake' is not auto, openblas" in err, err
    _, _, _, err = describe(env=clean_env(IMPALA_BLAS_CORE="fast"), expect=2)
    assert "'fast' is not auto" in err, err
    if not avx512:
        _, _, _, err = describe("--blas-core", "SkylakeX", expect=2)
        assert "lacks the instructions it needs (AVX-512)" in err, err

    # Started through the dynamic loader, /proc/self/exe is the loader: auto
    # does not restart (it would run the loader with our flags) and warns;
    # a named core that needs a restart is refused.
    if os.path.exists(LOADER):
        _, core, why, _ = describe(loader=LOADER, level="WARN " if generic else "INFO ")
        assert core == own, (core, own, why)
        if generic:
            assert "started through the dynamic loader" in why, why
        _, _, _, err = describe("--blas-core", "Prescott", loader=LOADER, expect=2)
        assert "--blas-core Prescott: cannot restart with OPENBLAS_CORETYPE=Prescott" in err, err
    else:
        print(f"{LOADER} not found: the loader cases are not run")

    # An sgemm wrong on every core: exit 2 with the reason, nothing trained.
    _, _, _, err = describe(env=clean_env(LD_PRELOAD=SHIM, IMPALA_TEST_BLAS_BROKEN="always"),
                            expect=2)
    assert re.search(r"OpenBLAS core \S+: sgemm [NT][NT] \d+x\d+x\d+ beta \S+: element "
                     r"\(0, 0\) is", err), err
    assert "choose another with --blas-core" in err, err

    # An sgemm wrong only on auto's core: fall back to OpenBLAS's own, and run.
    if own.lower() in GENERIC and auto_pick:
        _, core, why, _ = describe(env=clean_env(LD_PRELOAD=SHIM,
                                                 IMPALA_TEST_BLAS_BROKEN=auto_pick),
                                   level="WARN ")
        assert core == own, (core, why)
        assert f"auto's {auto_pick} failed the sgemm self-test" in why, why
        # A core the user named is not replaced: its failure stops the program.
        _, _, _, err = describe("--blas-core", auto_pick,
                                env=clean_env(LD_PRELOAD=SHIM, IMPALA_TEST_BLAS_BROKEN=auto_pick),
                                expect=2)
        assert f"OpenBLAS core {auto_pick}: sgemm" in err, err
    else:
        print(f"fallback case not reachable here: OpenBLAS's core {own} is not generic "
              "or the CPU has no AVX2")

    # The actor: same flag, same line; a bad value stops it with exit 2.
    p = subprocess.run([ACTOR, "--blas-core", "bogus"], capture_output=True, text=True,
                       timeout=30, stdin=subprocess.DEVNULL, env=clean_env())
    assert p.returncode == 2 and "'bogus' is not auto" in p.stderr, (p.returncode, p.stderr)
    with tempfile.TemporaryFile("w+") as log:
        a = subprocess.Popen([ACTOR, "--learner", f"tcp://127.0.0.1:{free_base_port()}",
                              "--handshake-timeout", "0.2"], stdout=subprocess.DEVNULL,
                             stderr=log, stdin=subprocess.DEVNULL, env=clean_env())
        try:
            end = time.time() + 20
            m = None
            while time.time() < end and not m:
                time.sleep(0.05)
                log.seek(0)
                m = LINE.search(log.read())
            assert m, "actor logged no OpenBLAS core line"
            assert int(m.group(1)) == a.pid, m.group(0)
            want = auto_pick if own.lower() in GENERIC and auto_pick else own
            assert m.group(3) == want, (m.group(0), want)
        finally:
            a.send_signal(signal.SIGTERM)
            try:
                a.wait(10)
            except subprocess.TimeoutExpired:
                a.kill()
                a.wait(10)
    spawned_actor_follows_learner()
    print("ok")


if __name__ == "__main__":
    main()
