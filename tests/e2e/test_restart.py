#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A learner killed (SIGKILL) and restarted at once with --auto-resume on
the same ports, while its actors keep running (issue 14: they kept pushing
without a new Hello, and the resumed learner reissued parameter versions
they had already seen, so 1,712 of their unrolls were dropped as
future_param_version in one run):

- each actor notices the new learner session in the first parameter
  broadcast, well before its --learner-timeout (60 s here), says Hello
  again ("learner restarted") and keeps its environments;
- the resumed learner trains on their unrolls, drops none as
  future_param_version, and only a few per actor as unknown_actor (sent
  before the new Hello) or stale_session (acted before it);
- the parameter version after the restart is above every version the
  actors had from the killed learner (read from their own logs: the
  version each Hello reported)."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Cluster  # noqa: E402

ARGS = ["--env", "CartPole-v1", "--hidden-dim", "16", "--feature-dim", "16",
        "--num-steps", "20", "--batch-size", "4", "--num-storages", "16",
        "--num-learners", "1", "--num-train-steps", "1000000000",
        "--eval-interval", "0", "--save-interval", "50", "--tag", "restart",
        "--auto-resume"]
DROPPED = 'impala_dropped_messages_total{reason="%s"}'


def main():
    with Cluster() as c:
        c.start_learner(*ARGS)
        ckpt = os.path.join(c.tmp, "runs", "restart", "seed1", "checkpoint.safetensors")
        actors = [c.start_actor(i, 4, "--learner-timeout", "60") for i in (1, 2)]
        # Well past a checkpoint: the killed learner's versions run ahead
        # of the one the restarted learner resumes from.
        st = c.wait_for(lambda s: s["updates"] >= 300 and os.path.exists(ckpt), 60,
                        "300 updates and a checkpoint")
        run_id = st["run_id"]
        c.learner.signal(signal.SIGKILL)
        c.learner.wait(10)
        t_kill = time.time()
        c.start_learner(*ARGS, base=c.base, name="learner2")
        st = c.wait_for(lambda s: s["unrolls_received"] >= 20 and
                        {a["id"] for a in s["actors"]} == {1, 2}, 30,
                        "unrolls from both actors after the restart")
        assert st["run_id"] == run_id, (st["run_id"], run_id)
        assert time.time() - t_kill < 30, "actors waited for their timeout"
        m = c.metrics()
        print("after the restart: " + ", ".join(
            f"{r} {m[DROPPED % r]:.0f}" for r in
            ("future_param_version", "unknown_actor", "stale_session")), flush=True)
        assert m[DROPPED % "future_param_version"] == 0, m
        for reason in ("unknown_actor", "stale_session"):
            assert m[DROPPED % reason] <= 50, (reason, m[DROPPED % reason])
        for i, a in enumerate(actors, 1):
            text = a.text()
            assert a.alive(), text[-1000:]
            assert "learner restarted; handshaking again" in text, text[-1500:]
            joins = re.findall(r"joined run ([0-9a-f]+) at parameter version (\d+)", text)
            assert len(joins) >= 2 and joins[-1][0] == run_id, joins
            assert "new run" not in text, f"actor {i} reset for a resumed run"
        # The learner moved past the versions the actors reported.
        passed = re.findall(r"had parameter version (\d+) of this run", c.learner.text())
        if passed:
            assert st["param_version"] > max(int(v) for v in passed), (st, passed)
        c.learner.signal(signal.SIGTERM)
        assert c.learner.wait(20) == 0, c.learner.text()[-2000:]
    print("restart: ok")


if __name__ == "__main__":
    main()
