#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Smoke test of the two programs together: a learner and one actor on
loopback; the actor joins, its unrolls are used for updates, the status
port shows it, and SIGTERM ends both cleanly with exit code 0."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Cluster, http_get  # noqa: E402


def main():
    with Cluster() as c:
        c.start_learner("--env", "CartPole-v1", "--hidden-dim", "32", "--feature-dim", "32",
                        "--num-steps", "20", "--batch-size", "4", "--num-storages", "16",
                        "--num-learners", "1", "--eval-interval", "0", "--save-interval", "0")
        assert http_get(c.status_port, "/healthz")[0] == 200
        actor = c.start_actor(7, 4)
        st = c.wait_for(lambda s: s["updates"] >= 5 and s["actors"], 30, "updates from actor 7")
        row = st["actors"][0]
        assert row["id"] == 7 and row["unrolls"] > 0 and row["frames"] > 0, row
        actor.signal(signal.SIGTERM)
        assert actor.wait(10) == 0, actor.text()
        c.wait_for(lambda s: not s["actors"], 10, "actor 7 to leave after Goodbye")
        c.learner.signal(signal.SIGTERM)
        assert c.learner.wait(20) == 0, c.learner.text()[-2000:]
        assert "checkpoint (final)" in c.learner.text()
    print("ok")


if __name__ == "__main__":
    main()
