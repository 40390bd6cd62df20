#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Text that arrives from the network cannot forge or garble the learner's
log: a Hello's host and environment name and a Goodbye's reason are logged
with their control characters (newline, carriage return, escape) replaced,
so no line of the log begins with what a peer sent.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Cluster  # noqa: E402
import pbwire as pb  # noqa: E402

FORGED = "2026-01-01T00:00:00.000Z impala[1] INFO forged"


def goodbye(run_id, actor_id, reason):
    return pb.goodbye(run_id, actor_id, reason)  # this process's instance


def main():
    with Cluster() as c:
        c.start_learner("--env", "CartPole-v1", "--hidden-dim", "16", "--feature-dim", "16",
                        "--num-steps", "10", "--batch-size", "4", "--num-storages", "8",
                        "--num-learners", "1", "--eval-interval", "0", "--save-interval", "0")
        # Welcomed: "actor N joined (host ...)"; then, over the same
        # connection (the only one whose Goodbye counts), "actor N left
        # (reason)".
        run_id = int(c.status()["run_id"], 16)
        reply = c.request(pb.hello(41, host="box\n" + FORGED + " host\x1b[2J"), 10000,
                          then=goodbye(run_id, 41, "bye\n" + FORGED + " reason"))
        assert reply is not None, "no Welcome"
        w = pb.welcome(reply)
        assert w["refusal"] == 0, w["reason"]
        # Refused for its environment: the reason quotes the name.
        reply = c.request(pb.hello(42, env_name="Nope\r\n" + FORGED + " env"), 10000)
        assert reply is not None and pb.welcome(reply)["refusal"] != 0, "not refused"
        end = time.time() + 10
        while time.time() < end and "left (" not in c.learner.text():
            time.sleep(0.1)
        log = c.learner.text()
        for what in ("host", "env", "reason"):
            assert FORGED + " " + what in log, f"the {what} text was not logged at all:\n{log}"
        lines = log.splitlines()
        forged = [ln for ln in lines if ln.startswith(FORGED)]
        assert not forged, f"a peer forged log lines: {forged}"
        assert not any("\x1b" in ln or "\r" in ln for ln in lines), \
            "control characters from the network reached the log"
    print("log text: ok")


if __name__ == "__main__":
    main()
