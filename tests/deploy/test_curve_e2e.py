#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""CURVE between real processes.  A learner with CURVE keys on loopback,
then, while no authorised actor runs: an actor with valid keys that are
not in the authorised-keys directory, a plaintext actor, and an actor that
holds an authorised key but the wrong learner public key.  None of them
gets parameters or delivers an unroll (frames and updates stay 0, none is
listed), and the learner logs the refused key.  Then an authorised actor
trains (updates rise), the refused actor's key is added to the directory
and it joins without any restart, and after its key is removed a new
actor with that key is refused again."""
import os
import shutil
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import BUILD, Cluster  # noqa: E402

KEYGEN = os.path.join(BUILD, "deploy", "impala-keygen")
SMALL = ["--env", "CartPole-v1", "--hidden-dim", "32", "--feature-dim", "32",
         "--num-steps", "20", "--batch-size", "4", "--num-storages", "16",
         "--num-learners", "1", "--eval-interval", "0", "--save-interval", "0",
         "--num-train-steps", "1000000000000",
         # This test is about who gets in, not about staleness.  On a fast
         # machine one CartPole actor drives the learner to ~6,000 updates
         # a second, and with the default lag bound (20 updates) a loaded
         # newcomer's unrolls can all be dropped as stale: CI once saw
         # actor 21 admitted but with 0 unrolls accepted for 30 s.
         "--max-policy-lag", "0"]


def keygen(d, name):
    r = subprocess.run([KEYGEN, d, name], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    pub = r.stdout.strip()
    assert len(pub) == 40, r.stdout
    assert stat.S_IMODE(os.stat(os.path.join(d, name + ".key")).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.join(d, name + ".pub")).st_mode) == 0o644
    return pub


def curve_args(keys, name, learner="learner"):
    return ["--curve-secret-key", os.path.join(keys, name + ".key"),
            "--learner-public-key", os.path.join(keys, learner + ".pub")]


def check_keygen_refuses_overwrite(keys):
    before = open(os.path.join(keys, "good.key")).read()
    r = subprocess.run([KEYGEN, keys, "good"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and "exists" in r.stderr, (r.returncode, r.stderr)
    assert open(os.path.join(keys, "good.key")).read() == before
    r = subprocess.run([KEYGEN, keys, "../evil"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2, r.stderr


def main():
    with Cluster() as c:
        keys = os.path.join(c.tmp, "keys")
        auth = os.path.join(c.tmp, "authorized")
        os.mkdir(keys)
        os.mkdir(auth)
        keygen(keys, "learner")
        keygen(keys, "other-learner")
        keygen(keys, "good")
        bad_pub = keygen(keys, "bad")
        check_keygen_refuses_overwrite(keys)
        shutil.copy(os.path.join(keys, "good.pub"), auth)

        c.start_learner(*SMALL, "--curve-secret-key", os.path.join(keys, "learner.key"),
                        "--authorized-keys", auth)
        assert "CURVE on" in c.learner.text()
        bad = c.start_actor(21, 4, *curve_args(keys, "bad"))
        plain = c.start_actor(22, 4)
        wrong = c.start_actor(23, 4, *curve_args(keys, "good", "other-learner"))
        time.sleep(5)
        st = c.status()
        assert st["frames"] == 0 and st["updates"] == 0, st
        assert st["actors"] == [], st["actors"]
        for a in (bad, plain, wrong):
            assert a.alive(), a.text()
            assert "joined run" not in a.text(), a.text()
        log = c.learner.text()
        assert "refused a CURVE client" in log and bad_pub in log, log[-3000:]
        assert "refused this actor's CURVE key" in bad.text(), bad.text()
        assert "security handshake" in plain.text(), plain.text()
        # The refusals are counted on the status port too.
        refused = c.metrics()["impala_auth_refused_total"]
        assert refused >= 1 and st["auth_refused"] >= 1, (refused, st["auth_refused"])

        # An authorised actor trains; the others still get nothing.
        c.start_actor(24, 4, *curve_args(keys, "good"))
        st = c.wait_for(lambda s: s["updates"] >= 5, 30, "updates from the authorised actor")
        assert [a["id"] for a in st["actors"]] == [24], st["actors"]

        # Authorising the refused key needs no restart of anything.
        shutil.copy(os.path.join(keys, "bad.pub"), auth)
        try:
            st = c.wait_for(lambda s: any(a["id"] == 21 and a["unrolls"] > 0
                                          for a in s["actors"]),
                            30, "actor 21 to join once its key is authorised")
        except AssertionError:
            print("actors:", c.status()["actors"], "\nactor 21's log:\n",
                  bad.text()[-3000:], file=sys.stderr)
            raise
        assert not any(a["id"] in (22, 23) for a in st["actors"]), st["actors"]

        # Revoked: a new connection with that key is refused again.
        os.remove(os.path.join(auth, "bad.pub"))
        time.sleep(1.5)
        again = c.start_actor(25, 4, *curve_args(keys, "bad"))
        time.sleep(4)
        assert "joined run" not in again.text(), again.text()
        assert not any(a["id"] == 25 for a in c.status()["actors"])
    print("ok")


if __name__ == "__main__":
    main()
