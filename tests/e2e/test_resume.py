#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A learner killed with SIGKILL and restarted with --init-model-path <its
checkpoint> --resume on the same ports continues from that checkpoint:

- the restarted learner's /status starts at the checkpoint's frames,
  updates and parameter version (read from the checkpoint's safetensors
  metadata here, not through our C code), under the same run id;
- the actors, started separately (not spawned), were never restarted: they
  notice the silence, handshake again by themselves and training continues
  past the checkpoint's step.

To read the restarted learner's very first counters before any new unroll
arrives, the actors are paused (SIGSTOP) while the learner restarts and let
go (SIGCONT) once /status has been read; by then their --learner-timeout has
long passed, so they reconnect exactly as after a longer outage."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Cluster, checkpoint_header  # noqa: E402

ARGS = ["--env", "CartPole-v1", "--hidden-dim", "64", "--feature-dim", "64",
        "--num-steps", "80", "--batch-size", "8", "--num-storages", "32",
        "--num-learners", "1", "--lr", "0.0004", "--num-train-steps", "1000000000",
        "--eval-interval", "0", "--save-interval", "40", "--tag", "resume"]


def main():
    with Cluster() as c:
        c.start_learner(*ARGS)
        ckpt = os.path.join(c.tmp, "runs", "resume", "seed1", "checkpoint.safetensors")
        actors = [c.start_actor(i, 8) for i in (1, 2)]
        st = c.wait_for(lambda s: s["updates"] >= 200 and os.path.exists(ckpt), 60,
                        "200 updates and a checkpoint")
        run_id = st["run_id"]

        c.learner.signal(signal.SIGKILL)
        c.learner.wait(10)
        meta = checkpoint_header(ckpt)["__metadata__"]
        frames, updates = int(meta["frames"]), int(meta["updates"])
        version = int(meta["param_version"])
        assert meta["run_id"] == run_id, (meta["run_id"], run_id)
        assert updates >= 40 and frames > 0, meta
        # The actors go on alone for a moment (their sends queue or block).
        time.sleep(1.0)
        for a in actors:
            assert a.alive(), a.text()[-1000:]
            a.signal(signal.SIGSTOP)
        try:
            c.start_learner(*ARGS, "--init-model-path", ckpt, "--resume", base=c.base,
                            name="learner2")
            st = c.wait_for(lambda s: s["uptime_s"] > 0, 10, "the restarted learner")
            assert st["run_id"] == run_id, (st["run_id"], run_id)
            assert (st["frames"], st["updates"], st["param_version"]) == \
                (frames, updates, version), (st, meta)
            text = c.learner.text()
            m = re.search(r"resumed run ([0-9a-f]+)(?: from \S+)? at (\d+) frames, (\d+) updates", text)
            assert m and m.groups() == (run_id, str(frames), str(updates)), text[-2000:]
            time.sleep(3.5)  # past the actors' --learner-timeout of 3 s
        finally:
            for a in actors:
                a.signal(signal.SIGCONT)

        st = c.wait_for(lambda s: s["updates"] >= updates + 100 and
                        {a["id"] for a in s["actors"]} >= {1, 2}, 60,
                        "training to continue with both actors")
        assert st["run_id"] == run_id and st["frames"] > frames, st
        for i, a in enumerate(actors, 1):
            assert a.alive(), a.text()[-1000:]
            joins = re.findall(r"joined run ([0-9a-f]+) at parameter version (\d+)", a.text())
            assert len(joins) >= 2, f"actor {i} did not handshake again: {a.text()[-1500:]}"
            assert joins[-1][0] == run_id and int(joins[-1][1]) >= version, joins
            assert "new run" not in a.text(), f"actor {i} reset for a resumed run"
        c.learner.signal(signal.SIGTERM)
        assert c.learner.wait(20) == 0, c.learner.text()[-2000:]
        meta = checkpoint_header(ckpt)["__metadata__"]
        assert meta["run_id"] == run_id and int(meta["updates"]) >= updates + 100, meta
    print("ok")


if __name__ == "__main__":
    main()
