#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""--auto-resume: a learner service that stops (here SIGTERM, as systemd's
restart after a crash would find the last checkpoint) and starts again with
the same flags continues its own run from its run directory's checkpoint:
same run id, counters from the checkpoint, and its actor carries on without
a restart.  Without a checkpoint, --auto-resume starts a new run."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Cluster, checkpoint_header  # noqa: E402

ARGS = ["--env", "CartPole-v1", "--hidden-dim", "32", "--feature-dim", "32",
        "--num-steps", "20", "--batch-size", "4", "--num-storages", "16",
        "--num-learners", "1", "--eval-interval", "0", "--save-interval", "0",
        "--auto-resume", "--tag", "svc"]


def main():
    with Cluster() as c:
        c.start_learner(*ARGS)
        assert "resumed run" not in c.learner.text()
        first = c.status()["run_id"]
        actor = c.start_actor(3, 4)
        c.wait_for(lambda s: s["updates"] >= 20, 30, "20 updates")
        c.learner.signal(signal.SIGTERM)
        assert c.learner.wait(30) == 0, c.learner.text()[-2000:]
        ckpt = os.path.join(c.tmp, "runs", "svc", "seed1", "checkpoint.safetensors")
        meta = checkpoint_header(ckpt)["__metadata__"]
        saved_frames, saved_updates = int(meta["frames"]), int(meta["updates"])
        assert saved_updates >= 20, meta

        c.start_learner(*ARGS, name="learner2")
        text = c.learner.text()
        assert "resumed run" in text and ckpt in text, text[-2000:]
        st = c.status()
        assert st["run_id"] == first, (st["run_id"], first)
        assert st["frames"] >= saved_frames and st["updates"] >= saved_updates, st
        # The same actor process keeps training the resumed run.
        c.wait_for(lambda s: s["updates"] >= saved_updates + 20 and
                   any(a["id"] == 3 for a in s["actors"]), 40,
                   "the original actor to train the resumed run")
        assert actor.alive(), actor.text()[-2000:]
    print("ok")


if __name__ == "__main__":
    main()
