#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end benchmark: impala-learner with two spawned impala-actor
processes on CartPole-v1 (MLP 2x64, the settings of scripts/run.sh), on
this machine, for 3 seeds.  Per seed it reports the sustained environment
frames per second consumed by the learner and its updates per second (from
/status over the window after a warm-up), the wall-clock seconds to solve
(mean return of the last 100 episodes >= 475: the learner stops by itself
and prints its summary) and the CPU seconds the learner and the actors
used.  Medians over the seeds are the headline figures.

Where the time goes, in the same run: the actor's work on one core
(bench_act: acting step, rollout, rollout + Trajectory encoding, and the
learner's decode + validate), the raw transport (bench_transport: PUSH/PULL
of Trajectory-sized messages between two processes) and the learner's
update on its own at the e2e shapes (bench_update mlp64, T=80, B=32, one
BLAS thread).  Each is a capacity in frames/s on one core; the e2e figure
shares the machine's cores between all of them.

Prints one JSON object on its last line.  Targets (issue 4, reported, not
asserted): >= 250,000 frames/s sustained and solved in <= 30 s (medians).

Usage: bench_e2e.py [--seeds 1,2,3] [--timeout 60] [--warmup 1.0]
Needs IMPALA_BUILD (meson passes it) or a build at ../../build.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from harness import BUILD, Cluster  # noqa: E402

TARGET_FPS = 250_000
TARGET_SOLVE_S = 30.0
# scripts/run.sh's training settings (the preamble's working MLP settings).
TRAIN = ["train", "--env", "CartPole-v1", "--tag", "bench", "--spawn-actors", "2",
         "--num-actors", "16", "--hidden-dim", "64", "--feature-dim", "64",
         "--num-steps", "80", "--batch-size", "32", "--num-storages", "96",
         "--num-learners", "2", "--lr", "0.0004", "--num-train-steps", "50000000",
         "--target-return", "475", "--eval-interval", "2000", "--save-interval", "2000",
         "--log-interval", "1"]
CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU seconds of pid so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLK
    except (OSError, IndexError, ValueError):
        return 0.0


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def window_rate(samples, key, warmup):
    """Rate of samples[key] per second from warmup seconds after the first
    sample with frames > 0 to the last sample."""
    started = [s for s in samples if s["frames"] > 0]
    if len(started) < 2:
        return 0.0
    t0 = started[0]["t"] + warmup
    win = [s for s in started if s["t"] >= t0] or started[-2:]
    if len(win) < 2:
        win = started[-2:]
    a, b = win[0], win[-1]
    return (b[key] - a[key]) / (b["t"] - a["t"]) if b["t"] > a["t"] else 0.0


def run_seed(seed, timeout, warmup):
    with Cluster() as c:
        t_start = time.time()
        c.start_learner(*TRAIN, "--seed", str(seed))
        lpid = c.learner.p.pid
        samples, actor_cpu, learner_cpu, last = [], {}, 0.0, {}
        end = t_start + timeout
        while c.learner.alive() and time.time() < end:
            try:
                st = c.status()
                last = st
                samples.append({"t": time.time(), "frames": st["frames"],
                                "updates": st["updates"],
                                "actor_frames": sum(a["frames"] for a in st["actors"])})
            except (OSError, ValueError, AssertionError):
                pass
            for p in children(lpid):
                actor_cpu[p] = max(actor_cpu.get(p, 0.0), cpu_seconds(p))
            learner_cpu = max(learner_cpu, cpu_seconds(lpid))
            time.sleep(0.2)
        solved = False
        summary = None
        if c.learner.alive():
            c.learner.stop(grace=15.0)
        else:
            c.learner.p.wait(timeout=15)
        wall = time.time() - t_start
        out = c.learner.stdout() or ""
        for line in out.splitlines():
            if line.startswith("{"):
                summary = json.loads(line)
        if summary:
            solved = summary.get("result") == "target return reached"
        core = re.search(r"OpenBLAS core (\w+)", c.learner.text())
        return {
            "seed": seed,
            "blas_core": core.group(1) if core else None,
            "solved": solved,
            "seconds_to_solve": summary["seconds"] if solved else None,
            "wall_seconds": round(wall, 2),
            "frames": summary["frames"] if summary else None,
            "updates": summary["updates"] if summary else None,
            "mean_return": summary["mean_return"] if summary else None,
            "sustained_frames_per_s": round(window_rate(samples, "frames", warmup)),
            "actor_frames_per_s": round(window_rate(samples, "actor_frames", warmup)),
            "updates_per_s": round(window_rate(samples, "updates", warmup), 1),
            "learner_cpu_s": round(learner_cpu, 2),
            "actors_cpu_s": round(sum(actor_cpu.values()), 2),
            "learner_cpu_us_per_frame": round(1e6 * learner_cpu / summary["frames"], 3)
            if summary and summary.get("frames") else None,
            "actors_cpu_us_per_frame": round(1e6 * sum(actor_cpu.values()) / summary["frames"], 3)
            if summary and summary.get("frames") else None,
            # The ledger at the last /status read (a learner before issue
            # 14's flow control has no unrolls_evicted_full).
            "ledger": ledger(last),
        }


def ledger(st):
    """Unrolls received, batched, evicted (and of which for room) and
    dropped on arrival (by reason, nonzero only) from one /status."""
    if not st:
        return None
    return {"received": st.get("unrolls_received"), "batched": st.get("unrolls_batched"),
            "evicted": st.get("unrolls_evicted"),
            "evicted_full": st.get("unrolls_evicted_full"),
            "dropped": {k: v for k, v in st.get("dropped", {}).items() if v}}


def last_json(argv, timeout=120, env=None):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                       env=env)
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or not lines:
        return {"error": f"{os.path.basename(argv[0])} exited {r.returncode}"}
    return json.loads(lines[-1])


def breakdown(seconds, core):
    """The parts alone, on the OpenBLAS core the programs ran (the learner's
    start-up restart may have replaced OpenBLAS's own choice, common/blas.h;
    the benchmarks do not restart themselves)."""
    bench = os.path.join(BUILD, "tests", "bench")
    env = dict(os.environ)
    if core:
        env["OPENBLAS_CORETYPE"] = core
    act = last_json([os.path.join(bench, "bench_act"), "--seconds", str(seconds), "--k", "8"],
                    env=env)
    size = str(act.get("trajectory_bytes", 2513))
    tr = last_json([os.path.join(bench, "bench_transport"), "--seconds", str(seconds),
                    "--bytes", size])
    up = last_json([os.path.join(bench, "bench_update"), "--threads", "1", "--configs", "mlp64",
                    "--seconds", str(seconds)], env=env)
    upd = up.get("update", {}).get("mlp64", {}).get("1", {})
    return {
        "blas_core": up.get("blas_core"),
        "actor_one_core": {
            "k": act.get("k"),
            "act_frames_per_s": act.get("act_frames_per_s", {}).get("act"),
            "rollout_frames_per_s": act.get("rollout_frames_per_s"),
            "rollout_encode_frames_per_s": act.get("rollout_encode_frames_per_s"),
        },
        "transport": {"bytes": tr.get("bytes"), "msgs_per_s": tr.get("msgs_per_s"),
                      "frames_per_s": tr.get("frames_per_s"),
                      "learner_decode_validate_frames_per_s":
                          act.get("decode_validate_frames_per_s")},
        "learner_update_one_core": {"samples_per_s": upd.get("samples_per_s"),
                                    "updates_per_s": round(upd["samples_per_s"] / 2560, 1)
                                    if upd.get("samples_per_s") else None},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per seed")
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--part-seconds", type=float, default=0.5,
                    help="seconds per stage of the breakdown benchmarks (0: none)")
    a = ap.parse_args()
    for exe in ("learner/impala-learner", "actor/impala-actor"):
        if not os.path.exists(os.path.join(BUILD, exe)):
            print(json.dumps({"skipped": f"{exe} not built in {BUILD}"}))
            return 77
    runs = []
    for seed in [int(s) for s in a.seeds.split(",")]:
        r = run_seed(seed, a.timeout, a.warmup)
        runs.append(r)
        print(f"seed {seed}: solved {r['solved']} in {r['seconds_to_solve']} s, "
              f"{r['sustained_frames_per_s']} frames/s sustained "
              f"(actors sent {r['actor_frames_per_s']}/s), {r['updates_per_s']} updates/s, "
              f"CPU learner {r['learner_cpu_s']} s actors {r['actors_cpu_s']} s "
              f"over {r['wall_seconds']} s, OpenBLAS core {r['blas_core']}, "
              f"ledger {r['ledger']}", flush=True)
    parts = breakdown(a.part_seconds, runs[-1]["blas_core"]) if a.part_seconds > 0 else None
    fps = statistics.median(r["sustained_frames_per_s"] for r in runs)
    ups = statistics.median(r["updates_per_s"] for r in runs)
    solve = [r["seconds_to_solve"] if r["solved"] else float("inf") for r in runs]
    med_solve = statistics.median(solve)
    out = {
        "seeds": len(runs),
        "sustained_frames_per_s": round(fps),
        "updates_per_s": round(ups, 1),
        "seconds_to_solve": med_solve if med_solve != float("inf") else None,
        "solved": sum(r["solved"] for r in runs),
        "targets": {"frames_per_s": TARGET_FPS, "frames_met": fps >= TARGET_FPS,
                    "solve_s": TARGET_SOLVE_S, "solve_met": med_solve <= TARGET_SOLVE_S},
        "breakdown": parts,
        "runs": runs,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
