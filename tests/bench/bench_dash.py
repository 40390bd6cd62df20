#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Do page views slow training?  A learner with two spawned actors on
CartPole-v1 trains with nobody watching, then with a client that fetches
the whole history (GET /history?since=0) and /status back to back, as fast
as the status port answers (a real page asks twice every 2 s), in
alternating rounds so that other load on the machine falls on both alike.
--log-interval 0.02 fills the history quickly, so the later views render
hundreds of rows.  Quotes the learner's frames/s (median over rounds) in
each mode, their ratio, the viewer's requests/s and its median /history
latency.  The last line of stdout is one JSON object.

    IMPALA_BUILD=build python3 tests/bench/bench_dash.py [--rounds 3] [--seconds 8]"""
import argparse
import json
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from harness import ACTOR, Cluster, http_get  # noqa: E402

ARGS = ["--env", "CartPole-v1", "--spawn-actors", "2", "--num-actors", "16",
        "--actor-bin", ACTOR, "--hidden-dim", "64", "--feature-dim", "64",
        "--batch-size", "32", "--num-train-steps", "1000000000000", "--eval-interval", "0",
        "--save-interval", "0", "--log-interval", "0.02", "--no-tensorboard"]


class Viewer(threading.Thread):
    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.stop, self.latency, self.requests = port, False, [], 0

    def run(self):
        while not self.stop:
            t0 = time.time()
            code, body = http_get(self.port, "/history?since=0", timeout=10)
            self.latency.append(time.time() - t0)
            http_get(self.port, "/status", timeout=10)
            self.requests += 2
            assert code == 200, code


def one(mode, seconds):
    with Cluster() as c:
        c.start_learner(*ARGS, "--tag", mode)
        c.wait_for(lambda s: len(s["actors"]) == 2 and s["updates"] > 10, 60, "actors")
        time.sleep(1.0)
        viewer = Viewer(c.status_port) if mode == "viewed" else None
        if viewer:
            viewer.start()
        a = c.status()
        t0 = time.time()
        time.sleep(seconds)
        b = c.status()
        dt = time.time() - t0
        if viewer:
            viewer.stop = True
            viewer.join(15)
        rows = json.loads(http_get(c.status_port, "/history")[1])["rows"]
        out = {"fps": (b["frames"] - a["frames"]) / dt, "history_rows": len(rows)}
        if viewer:
            out["req_per_s"] = viewer.requests / dt
            out["history_ms"] = statistics.median(viewer.latency) * 1e3
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8)
    o = ap.parse_args()
    res = {"quiet": [], "viewed": []}
    for r in range(o.rounds):
        for mode in ("quiet", "viewed"):
            x = one(mode, o.seconds)
            res[mode].append(x)
            print(f"round {r + 1} {mode:6s}: {x['fps']:10.0f} frames/s"
                  + (f", {x['req_per_s']:.1f} requests/s, /history {x['history_ms']:.1f} ms"
                     f" ({x['history_rows']} rows)" if mode == "viewed" else ""), flush=True)
    q = statistics.median(x["fps"] for x in res["quiet"])
    v = statistics.median(x["fps"] for x in res["viewed"])
    summary = {"bench": "dash", "rounds": o.rounds, "seconds": o.seconds,
               "quiet_fps": round(q), "viewed_fps": round(v), "viewed_over_quiet": round(v / q, 3),
               "viewer_req_per_s": round(statistics.median(x["req_per_s"] for x in res["viewed"]), 1),
               "history_ms": round(statistics.median(x["history_ms"] for x in res["viewed"]), 1),
               "loadavg": os.getloadavg()[0]}
    print(f"median frames/s: quiet {q:.0f}, viewed {v:.0f} (ratio {v / q:.3f}); load average "
          f"{summary['loadavg']:.1f}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
