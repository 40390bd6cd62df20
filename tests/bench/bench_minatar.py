#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""MinAtar learning benchmark (issue 11): IMPALA with the `minatar` encoder
on each of the five games, 2 local spawned actors, N seeds, a frame budget.

Each run is `impala-learner train --config presets/minatar-<game>.env
--env MinAtar/<Game>-v0 --spawn-actors 2 --seed S --num-train-steps BUDGET`
(plus loopback ports and a log directory); it is stopped (SIGTERM) once
/status shows more frames than the budget, or at --wall seconds.  The
learning-rate schedule decays to 0 at the budget (--num-train-steps), as
the paper's 5M-frame runs are meant to be read.

Per game it prints the mean return of the last 100 training episodes at
1M, 2M and 5M frames (the first metrics.csv row at or past each mark; "-"
when the run did not get there), the wall time and frames/s, each seed and
the mean over seeds, beside the MinAtar paper's AC(lambda) figure at 5M.
The CSV curves stay in the run directories (--keep DIR, default a fresh
directory under /tmp, printed).  The JSON object is the last line.
Targets are reported, never asserted.

Usage: bench_minatar.py [--games Breakout,Freeway,...] [--seeds 3 | --seed-list 2,3]
                        [--frames 5000000] [--wall 900] [--keep DIR]
                        [--extra "--flag value ..."]
Needs IMPALA_BUILD (meson passes it) or a build at ../../build.
"""
import argparse
import csv
import json
import os
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from harness import Cluster  # noqa: E402

PRESETS = os.path.join(HERE, "..", "..", "presets")

# The MinAtar paper's AC(lambda=0.8), full action set, at 5M frames (read
# from its figure, approximate: issue 11).
PAPER = {"Breakout": 17.5, "Freeway": 47, "Asterix": 19, "Seaquest": 15.5,
         "SpaceInvaders": 185}
MARKS = (1_000_000, 2_000_000, 5_000_000)
WALL_TARGET_S = 120  # per 5M frames, issue 11


def preset_path(game):
    return os.path.join(PRESETS, f"minatar-{game.lower()}.env")


def read_curve(run_dir):
    """[(frames, mean_return, episodes)] from the run's metrics.csv."""
    try:
        with open(os.path.join(run_dir, "metrics.csv")) as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return []
    out = []
    for r in rows:
        try:
            ret = float(r["mean_return"])
            out.append((int(r["frames"]), None if ret != ret else ret,
                        int(r.get("episodes", 0) or 0)))
        except (KeyError, ValueError):
            continue
    return out


def at_mark(curve, mark):
    """Mean return at the first row at or past `mark` frames, or None."""
    for frames, ret, _ in curve:
        if frames >= mark and ret is not None:
            return ret
    return None


def one_run(game, seed, budget, wall, keep, extra):
    tag = f"minatar-{game.lower()}"
    args = ["train", "--config", preset_path(game), "--env", f"MinAtar/{game}-v0",
            "--spawn-actors", "2", "--seed", str(seed), "--tag", tag,
            "--num-train-steps", str(budget), "--eval-interval", "0",
            "--save-interval", "0", "--log-interval", "1"] + list(extra)
    with Cluster() as c:
        t0 = time.time()
        c.start_learner(*args)
        frames, st = 0, {}
        while c.learner.alive() and time.time() - t0 < wall:
            try:
                st = c.status()
                frames = st.get("frames", frames)
            except (OSError, ValueError, AssertionError):
                pass
            if frames > budget:
                break
            time.sleep(0.2)
        secs = time.time() - t0
        if c.learner.alive():
            c.learner.signal(signal.SIGTERM)
        c.learner.wait(60)
        # The learner's JSON summary (its last line of stdout): why it
        # stopped, its frames and the mean return of the last 100 episodes
        # at that moment.
        try:
            summary = json.loads(c.learner.stdout().strip().splitlines()[-1])
        except (ValueError, IndexError):
            summary = {}
        reached = (summary.get("result") == "num_train_steps reached"
                   or summary.get("frames", frames) > budget)
        run_dir = os.path.join(c.tmp, "runs", tag, f"seed{seed}")
        curve = read_curve(run_dir)
        dest = os.path.join(keep, tag, f"seed{seed}")
        if os.path.isdir(run_dir):
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(run_dir, dest)
    last = curve[-1] if curve else (0, None, 0)
    at = {str(m): at_mark(curve, m) for m in MARKS}
    # A run that trained on its whole budget has its last metrics.csv row up
    # to one log interval (1 s) short of it: the summary's return, taken at
    # or past the budget, is the run's figure there.
    if reached and at.get(str(budget), 0) is None:
        at[str(budget)] = summary.get("mean_return", last[1])
    done = budget if reached else last[0]
    return {"seed": seed, "frames": done, "seconds": round(secs, 1),
            "fps": round(done / secs) if secs > 0 else 0,
            "at": at,
            "final_return": last[1], "run_dir": dest,
            # The unroll ledger at the last /status read (issue 14).
            "ledger": {k: st.get(k) for k in ("unrolls_received", "unrolls_batched",
                                              "unrolls_evicted", "unrolls_evicted_full")}
            | {"dropped": {k: v for k, v in st.get("dropped", {}).items() if v}},
            "curve": [(f, r) for f, r, _ in curve[:: max(1, len(curve) // 20)]]}


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def fmt(x, nd=1):
    return "-" if x is None else f"{x:.{nd}f}"


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--games", default=",".join(PAPER))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed-list", default="",
                    help="comma-separated seeds to run instead of 1..SEEDS (to split"
                         " one benchmark over several processes)")
    ap.add_argument("--frames", type=int, default=5_000_000)
    ap.add_argument("--wall", type=float, default=900, help="seconds per run at most")
    ap.add_argument("--keep", default="", help="directory for the runs' CSV curves")
    ap.add_argument("--extra", default="", help="more learner flags for every run")
    a = ap.parse_args()
    seeds = [int(x) for x in a.seed_list.split(",") if x] or list(range(1, a.seeds + 1))
    keep = a.keep or tempfile.mkdtemp(prefix="bench_minatar.")
    load0 = loadavg()
    print(f"runs kept in {keep}", flush=True)
    print(f"{'game':14} {'seed':>4} {'@1M':>6} {'@2M':>6} {'@5M':>6} {'frames':>8}"
          f" {'wall s':>7} {'frames/s':>9} | paper @5M", flush=True)
    results = []
    for game in [g for g in a.games.split(",") if g]:
        if game not in PAPER:
            sys.exit(f"bench_minatar: unknown game {game!r} (one of {', '.join(PAPER)})")
        runs = []
        for seed in seeds:
            r = one_run(game, seed, a.frames, a.wall, keep, a.extra.split())
            runs.append(r)
            at = [r["at"][str(m)] for m in MARKS]
            print(f"{game:14} {seed:>4} {fmt(at[0]):>6} {fmt(at[1]):>6} {fmt(at[2]):>6}"
                  f" {r['frames'] / 1e6:>7.2f}M {r['seconds']:>7.0f} {r['fps']:>9}", flush=True)
        m = {str(k): mean([r["at"][str(k)] for r in runs]) for k in MARKS}
        fps = mean([r["fps"] for r in runs])
        wall5m = round(5_000_000 / fps, 1) if fps else None
        print(f"{game:14} {'mean':>4} {fmt(m['1000000']):>6} {fmt(m['2000000']):>6}"
              f" {fmt(m['5000000']):>6} {'':>8} {'':>7} {fmt(fps, 0):>9} | {PAPER[game]}"
              f" (5M at this rate: {fmt(wall5m, 0)} s, target {WALL_TARGET_S})", flush=True)
        results.append({"game": game, "paper_5m": PAPER[game], "mean_at": m,
                        "fps": fps, "wall_5m_s": wall5m, "runs": runs})
    print(json.dumps({"benchmark": "minatar", "frames": a.frames, "seeds": seeds,
                      "extra": a.extra, "loadavg_start": load0, "loadavg_end": loadavg(),
                      "results": results}))


if __name__ == "__main__":
    main()
