#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Start-up errors of the security settings: each bad configuration stops
impala-learner or impala-actor before it does anything, with exit status 2
and a message that names the flag and the file.  And the loopback rule:
without keys a non-loopback --bind needs --insecure; with keys it starts."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import ACTOR, BUILD, LEARNER, Cluster, Proc, free_base_port  # noqa: E402

KEYGEN = os.path.join(BUILD, "deploy", "impala-keygen")
SMALL = ["--hidden-dim", "16", "--feature-dim", "16", "--num-steps", "10",
         "--batch-size", "2", "--num-storages", "4", "--num-learners", "1"]


def run(argv, tmp):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPALA_")}
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=tmp,
                       env=env, stdin=subprocess.DEVNULL)
    return r.returncode, r.stderr


def expect_exit2(argv, tmp, *says):
    rc, err = run(argv, tmp)
    assert rc == 2, (argv, rc, err)
    for s in says:
        assert s in err, (argv, s, err)


def main():
    with Cluster() as c:
        t = c.tmp
        keys = os.path.join(t, "keys")
        auth = os.path.join(t, "auth")
        os.mkdir(keys)
        os.mkdir(auth)
        for n in ("learner", "a"):
            subprocess.run([KEYGEN, keys, n], check=True, capture_output=True, timeout=10)
        bad = {
            "short.key": "0123456789abcdefghij\n",
            "notz85.key": "0123456789abcdefghij,BCDEFGHIJ.-:+=^!/*?\n",
            "twokeys.key": open(os.path.join(keys, "a.key")).read() * 2,
        }
        for name, text in bad.items():
            with open(os.path.join(t, name), "w") as f:
                f.write(text)
        missing = os.path.join(t, "missing.key")
        port = free_base_port()
        bind = ["--bind", f"tcp://127.0.0.1:{port}", "--status-addr", "127.0.0.1:0",
                "--logdir", os.path.join(t, "runs")]
        L = [LEARNER, *SMALL, *bind]

        # Learner: key files.
        expect_exit2(L + ["--curve-secret-key", missing, "--authorized-keys", auth], t,
                     "--curve-secret-key", missing, "No such file")
        expect_exit2(L + ["--curve-secret-key", os.path.join(t, "short.key"),
                          "--authorized-keys", auth], t, "short.key", "found 20")
        expect_exit2(L + ["--curve-secret-key", os.path.join(t, "notz85.key"),
                          "--authorized-keys", auth], t, "notz85.key", "Z85 alphabet")
        expect_exit2(L + ["--curve-secret-key", os.path.join(t, "twokeys.key"),
                          "--authorized-keys", auth], t, "more than one key")
        # Learner: the directory, and the flags that go together.
        expect_exit2(L + ["--curve-secret-key", os.path.join(keys, "learner.key"),
                          "--authorized-keys", os.path.join(t, "nodir")], t,
                     "--authorized-keys", "nodir")
        with open(os.path.join(auth, "broken.pub"), "w") as f:
            f.write("xyz\n")
        expect_exit2(L + ["--curve-secret-key", os.path.join(keys, "learner.key"),
                          "--authorized-keys", auth], t, "broken.pub", "found 3")
        os.remove(os.path.join(auth, "broken.pub"))
        expect_exit2(L + ["--curve-secret-key", os.path.join(keys, "learner.key")], t,
                     "--authorized-keys")
        expect_exit2(L + ["--authorized-keys", auth], t, "--curve-secret-key")

        # Loopback rule: a wildcard bind without keys is refused...
        wild = [LEARNER, *SMALL, "--bind", f"tcp://*:{port}", "--status-addr",
                "127.0.0.1:0", "--logdir", os.path.join(t, "runs")]
        expect_exit2(wild, t, "not a loopback address", "--insecure")
        # ...and starts with keys (stopped as soon as it is up).
        p = Proc(wild + ["--curve-secret-key", os.path.join(keys, "learner.key"),
                         "--authorized-keys", auth], os.path.join(t, "wild.log"))
        try:
            end = time.time() + 20
            while time.time() < end and p.alive() and "status on port" not in p.text():
                time.sleep(0.05)
            assert p.alive() and "status on port" in p.text(), p.text()
            assert "CURVE on" in p.text(), p.text()
        finally:
            p.stop()

        # Actor: key files and the flags that go together.
        A = [ACTOR, "--learner", f"tcp://127.0.0.1:{port}", "--actor-id", "3"]
        lp = ["--learner-public-key", os.path.join(keys, "learner.pub")]
        expect_exit2(A + ["--curve-secret-key", missing] + lp, t, "--curve-secret-key", missing)
        expect_exit2(A + ["--curve-secret-key", os.path.join(t, "short.key")] + lp, t,
                     "found 20")
        expect_exit2(A + ["--curve-secret-key", os.path.join(keys, "a.key"),
                          "--learner-public-key", os.path.join(t, "notz85.key")], t,
                     "--learner-public-key", "Z85 alphabet")
        expect_exit2(A + ["--curve-secret-key", os.path.join(keys, "a.key")], t,
                     "needs --learner-public-key")
        expect_exit2(A + lp, t, "without --curve-secret-key")
        expect_exit2(A + ["--curve-secret-key", os.path.join(keys, "a.key"),
                          "--curve-public-key", os.path.join(keys, "learner.pub")] + lp, t,
                     "is not the public key of")
    print("ok")


if __name__ == "__main__":
    main()
