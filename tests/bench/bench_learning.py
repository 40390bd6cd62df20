#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Learning benchmark (issue 13): how many environment frames the learner
needs to reach each built-in task's bar, at default flags and with the
shipped preset (presets/<task>.env), on this machine.

Each run is `impala-learner --env TASK --spawn-actors 2 [--config PRESET]
--target-return BAR --seed S` (plus loopback ports and a log directory):
the learner stops by itself when the mean return of its last 100 training
episodes reaches BAR, and prints a JSON summary with the frames it took.
A run that has not reached BAR within the task's frame budget is stopped
(SIGTERM) once /status shows more frames than the budget.  Runs keep the
learning-rate schedule of their settings (--num-train-steps is not
shortened to the budget: it is a training setting, not a stop).

Prints a table (task, preset or default, frames to the bar per seed or
"miss", wall seconds per seed, final return per seed) and the JSON object
on its last line, with each missed run's curve (frames, mean return) from
the run's metrics.csv.  Targets are reported, never asserted.

Two modes for experiments on a setting:
- --compare "FLAGS": every seed runs twice, without and with FLAGS (the
  order alternating from seed to seed), so that load hits both alike; the
  table has a row for each.
- --after-bar: does the return stay once it is reached?  Runs do not stop
  at the bar (--target-return 0) but at the budget, logging every 20 ms;
  per run, the frames at the first crossing (from the logged rows), the
  lowest mean return after it, and the share of the frames after it with
  the mean below bar - 0.2 |bar| (380 for CartPole's 475); a run whose
  mean fell below bar - 0.4 |bar| (285) after reaching the bar counts as
  a collapse.

Usage: bench_learning.py [--only default|preset] [--tasks CartPole-v1,...]
                         [--seeds N] [--wall 600] [--extra "--flag value ..."]
                         [--compare "--flag value ..."] [--after-bar]
Needs IMPALA_BUILD (meson passes it) or a build at ../../build.
"""
import argparse
import csv
import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from harness import Cluster  # noqa: E402

PRESETS = os.path.join(HERE, "..", "..", "presets")

# (task, mode, bar, frame budget, seeds): the targets.
RUNS = [
    ("CartPole-v1", "default", 475, 1_000_000, 3),
    ("Acrobot-v1", "default", -100, 2_000_000, 3),
    ("Pendulum-v1", "default", -200, 10_000_000, 3),
    ("CartPole-v1", "preset", 475, 500_000, 5),
    ("Acrobot-v1", "preset", -85, 1_000_000, 3),
    ("MountainCar-v0", "preset", -150, 10_000_000, 3),
    ("Pendulum-v1", "preset", -160, 5_000_000, 3),
    ("MountainCarContinuous-v0", "preset", 90, 10_000_000, 3),
]


def preset_path(task):
    return os.path.join(PRESETS, task.split("-v")[0].lower() + ".env")


def curve(run_dir, every=10):
    """(frames, mean_return) pairs from the run's metrics.csv, thinned."""
    path = os.path.join(run_dir, "metrics.csv")
    try:
        with open(path) as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return []
    step = max(1, len(rows) // every)
    return [(int(r["frames"]), float(r["mean_return"])) for r in rows[::step]]


def after_bar(run_dir, bar, budget):
    """What the return did after it first reached bar (--after-bar)."""
    try:
        with open(os.path.join(run_dir, "metrics.csv")) as f:
            rows = [(int(r["frames"]), float(r["mean_return"])) for r in csv.DictReader(f)]
    except (OSError, ValueError):
        return None
    rows = [(fr, m) for fr, m in rows if fr <= budget]
    first = next((i for i, (_, m) in enumerate(rows) if m >= bar), None)
    if first is None:
        return {"first": None}
    after = rows[first:]
    low, floor = bar - 0.2 * abs(bar), bar - 0.4 * abs(bar)
    below = sum(f1 - f0 for (f0, m0), (f1, _) in zip(after, after[1:]) if m0 < low)
    span = after[-1][0] - after[0][0]
    lowest = min(m for _, m in after)
    return {"first": after[0][0], "lowest": lowest, "collapsed": lowest < floor,
            "share_below": below / span if span else 0.0}


def one_run(task, mode, bar, budget, seed, wall, extra=(), stay=False):
    # The command line overrides a preset's IMPALA_TARGET_RETURN.
    args = ["train", "--env", task, "--spawn-actors", "2", "--seed", str(seed),
            "--tag", f"{task}-{mode}", "--target-return", "0" if stay else str(bar),
            "--eval-interval", "0", "--save-interval", "0",
            "--log-interval", "0.02" if stay else "0.25"]
    if mode == "preset":
        args += ["--config", preset_path(task)]
    args += list(extra)
    with Cluster() as c:
        t0 = time.time()
        c.start_learner(*args)
        last = None
        while c.learner.alive() and time.time() - t0 < wall:
            try:
                last = c.status()
            except (OSError, ValueError, AssertionError):
                pass
            if last and last.get("frames", 0) > budget:
                c.learner.signal(signal.SIGTERM)
                break
            time.sleep(0.1)
        rc = c.learner.wait(60)
        secs = time.time() - t0
        lines = [ln for ln in c.learner.stdout().splitlines() if ln.strip()]
        s = json.loads(lines[-1]) if lines else {}
        reached = (rc == 0 and s.get("result") == "target return reached"
                   and s.get("frames", budget + 1) <= budget)
        run_dir = os.path.join(c.tmp, "runs", f"{task}-{mode}", f"seed{seed}")
        out = {
            "seed": seed,
            "frames": s.get("frames") if reached else None,
            "frames_run": s.get("frames"),
            "seconds": round(secs, 2),
            "final_return": s.get("mean_return"),
            "curve": None if reached else curve(run_dir),
        }
        if stay:
            out["after_bar"] = after_bar(run_dir, bar, budget)
            out["frames"] = out["after_bar"] and out["after_bar"]["first"]
            out["curve"] = None if out["frames"] else curve(run_dir)
        return out


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def fmt_frames(r):
    return f"{r['frames'] / 1e6:.2f}M" if r["frames"] else "miss"


def stay_line(runs):
    """--after-bar: collapses, mean share of frames below, lowest means."""
    ab = [r["after_bar"] for r in runs if r.get("after_bar") and r["after_bar"]["first"]]
    if not ab:
        return "  after the bar: no run reached it"
    share = sum(a["share_below"] for a in ab) / len(ab)
    lows = " ".join(f"{a['lowest']:.0f}" for a in ab)
    return (f"  after the bar: {sum(a['collapsed'] for a in ab)}/{len(ab)} collapsed, "
            f"{100 * share:.1f}% of frames below; lowest {lows}")


def report(task, mode, bar, budget, runs, stay):
    hit = sum(1 for r in runs if r["frames"])
    walls = " ".join(f"{r['seconds']:.0f}" for r in runs)
    finals = " ".join("-" if r["final_return"] is None else f"{r['final_return']:.1f}"
                      for r in runs)
    print(f"{task:26} {mode:8} {bar:>6} {budget / 1e6:>6.1f}M  "
          f"{' '.join(fmt_frames(r) for r in runs)} ({hit}/{len(runs)}) | "
          f"{walls} | {finals}", flush=True)
    if stay:
        print(stay_line(runs), flush=True)
    return {"task": task, "settings": mode, "bar": bar, "budget": budget,
            "reached": hit, "seeds": len(runs), "runs": runs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["default", "preset"])
    ap.add_argument("--tasks", default="")
    ap.add_argument("--seeds", type=int, default=0, help="override the seed count")
    ap.add_argument("--wall", type=float, default=600, help="seconds per run at most")
    ap.add_argument("--extra", default="", help="more learner flags for every run (experiments)")
    ap.add_argument("--compare", default=None,
                    help="flags to compare: every seed also runs with them, alternately")
    ap.add_argument("--after-bar", action="store_true",
                    help="run to the budget and report whether the return stays")
    a = ap.parse_args()
    tasks = set(a.tasks.split(",")) if a.tasks else None
    load0 = loadavg()
    results = []
    print(f"{'task':26} {'settings':8} {'bar':>6} {'budget':>7}  frames to bar per seed"
          f" | wall s | final return", flush=True)
    for task, mode, bar, budget, seeds in RUNS:
        if (a.only and mode != a.only) or (tasks and task not in tasks):
            continue
        arms = [("", a.extra.split())]
        if a.compare is not None:
            arms.append(("+", a.extra.split() + a.compare.split()))
        runs = {name: [] for name, _ in arms}
        for s in range(1, (a.seeds or seeds) + 1):
            for name, extra in (arms if s % 2 else arms[::-1]):
                runs[name].append(one_run(task, mode, bar, budget, s, a.wall, extra,
                                          a.after_bar))
        for name, _ in arms:
            results.append(report(task, mode + name, bar, budget, runs[name], a.after_bar))
    print(json.dumps({"benchmark": "learning", "loadavg_start": load0,
                      "loadavg_end": loadavg(), "compare": a.compare,
                      "after_bar": a.after_bar, "results": results}))


if __name__ == "__main__":
    main()
