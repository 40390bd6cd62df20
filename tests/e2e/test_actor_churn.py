#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Actors come and go during a run.

1. A SIGKILLed actor does not stop training: updates keep increasing on the
   other actor's unrolls, and the dead actor leaves /status's actor list once
   --actor-timeout has passed (it never said Goodbye).
2. A new actor started mid-run receives parameters within a second: its log
   says "joined run R at parameter version V" with V > 0 (the current
   parameters, not the initial ones) less than a second after it started
   connecting, and it shows in /status with unrolls > 0 soon after.
3. Its unrolls are used: once the last original actor has left, updates
   continue and the new actor's frames keep growing, so every update from
   then on is made of its unrolls.
"""
import os
import re
import signal
import sys
from datetime import datetime

sys.path.insert(0, os.path.dirname(__file__))
from harness import Cluster  # noqa: E402

ACTOR_TIMEOUT = 2.0
MLP = ["--env", "CartPole-v1", "--hidden-dim", "64", "--feature-dim", "64",
       "--num-steps", "80", "--batch-size", "8", "--num-storages", "32",
       "--num-learners", "1", "--lr", "0.0004"]


def ids(st):
    return {a["id"] for a in st["actors"]}


def row(st, actor_id):
    for a in st["actors"]:
        if a["id"] == actor_id:
            return a
    return None


def log_time(line):
    """The timestamp of a log line (2026-11-21T13:51:46.147Z ...)."""
    return datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def join_delay(text):
    """(seconds from "connecting" to "joined run", version V) of an actor log."""
    conn = next(ln for ln in text.splitlines() if " connecting to " in ln)
    joined = next(ln for ln in text.splitlines() if "joined run" in ln)
    v = int(re.search(r"at parameter version (\d+)", joined).group(1))
    return log_time(joined) - log_time(conn), v


def main():
    with Cluster() as c:
        # --max-policy-lag 0: at the vector default (20) a fast learner fed
        # by one actor can drop every unroll of a loaded one as stale, which
        # leaves it silent (so dropped after --actor-timeout) and keeps the
        # newcomer's unrolls at 0; this test is about churn, not staleness.
        c.start_learner(*MLP, "--num-train-steps", "1000000000", "--actor-timeout",
                        str(ACTOR_TIMEOUT), "--eval-interval", "0", "--save-interval", "0",
                        "--max-policy-lag", "0")
        a1 = c.start_actor(1, 8)
        a2 = c.start_actor(2, 8)
        c.wait_for(lambda s: s["updates"] >= 20 and ids(s) == {1, 2}, 30,
                   "updates from actors 1 and 2")

        # 1. SIGKILL actor 1: no Goodbye; training goes on with actor 2.
        a1.signal(signal.SIGKILL)
        a1.wait(5)
        u0 = c.status()["updates"]
        # Its silence on the learner's clock (uptime_s minus the row's
        # last_seen_s): from the kill on this process's clock it once
        # came out short, a loaded actor having been silent before it.
        heard = []

        def left(s):
            r = row(s, 1)
            if r:
                heard.append(s["uptime_s"] - r["last_seen_s"])
            return r is None
        st = c.wait_for(left, ACTOR_TIMEOUT + 10, "the killed actor to leave the status list")
        assert heard, "actor 1 was gone at the first look"
        silent = st["uptime_s"] - max(heard)
        assert silent >= ACTOR_TIMEOUT, \
            f"actor 1 left after {silent:.2f} s of silence, before --actor-timeout"
        assert 2 in ids(st), st["actors"]
        c.wait_for(lambda s: s["updates"] >= u0 + 50, 30,
                   "updates to continue after the kill")
        assert c.learner.alive()

        # 2. A new actor mid-run gets the current parameters at once.
        a3 = c.start_actor(3, 8)
        st = c.wait_for(lambda s: (row(s, 3) or {}).get("unrolls", 0) > 0, 15,
                        "actor 3 in /status with unrolls")
        delay, version = join_delay(a3.text())
        print(f"actor 3 joined at parameter version {version} after {delay:.3f} s", flush=True)
        assert version > 0, "a late actor must get the current parameters, not version 0"
        assert delay <= 1.0, f"actor 3 waited {delay:.3f} s for its parameters"
        assert row(st, 3)["frames"] > 0, st["actors"]

        # 3. Actor 2 leaves (SIGTERM: Goodbye); actor 3 alone feeds the run.
        a2.signal(signal.SIGTERM)
        assert a2.wait(10) == 0, a2.text()[-1000:]
        st = c.wait_for(lambda s: ids(s) == {3}, 10, "actor 2 to leave after Goodbye")
        u1, f1 = st["updates"], row(st, 3)["frames"]
        st = c.wait_for(lambda s: s["updates"] >= u1 + 50 and row(s, 3)
                        and row(s, 3)["frames"] >= f1 + 50 * 8 * 80, 30,
                        "updates made of actor 3's unrolls")
        assert st["frames"] > 0 and row(st, 3)["unrolls"] > 0
        c.learner.signal(signal.SIGTERM)
        assert c.learner.wait(20) == 0, c.learner.text()[-2000:]
    print("ok")


if __name__ == "__main__":
    main()
