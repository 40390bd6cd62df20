#!/usr/bin/env python3
"""The learner update, ours against PyTorch, side by side in one run.

Runs the C benchmark (bench_update) and the PyTorch script
(torch_update.py, same shapes and the same work: forward over T+1 by B,
V-trace, loss, backward, gradient clipping, RMSprop) alternately, C then
torch, for each thread count and each round, so that load from other
processes on the machine hits both alike.  Each run reports its own median
over repeated timed updates; this driver takes the median over rounds of
each side and quotes their ratio.

Prints one JSON object on its last line; exits 77 (meson: skipped) when
torch cannot be imported by the PyTorch interpreter.

Usage: compare_update.py --bench BUILD/tests/bench/bench_update
           [--python /usr/bin/python3] [--threads 1,2] [--rounds 3]
           [--seconds 0.5] [--configs mlp64,mlp512,lstm256]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Targets from issue 3 (reported, never asserted): C / torch samples/s.
TARGETS = {"mlp512": 1.5, "mlp64": 5.0}


def last_json(argv, timeout):
    """The JSON object on the last line of argv's stdout."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout, check=False)
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"{argv[0]} exited {r.returncode}: {r.stderr[-1500:]}")
    return json.loads(lines[-1])


def torch_works(python):
    try:
        r = subprocess.run([python, "-c", "import torch"], capture_output=True, timeout=120,
                           check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True, help="path of the bench_update executable")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=0.5)
    ap.add_argument("--configs", default="mlp64,mlp512,lstm256")
    a = ap.parse_args()
    if not torch_works(a.python):
        print(json.dumps({"skipped": f"torch cannot be imported by {a.python}"}))
        return 77
    threads = [int(t) for t in a.threads.split(",")]
    configs = a.configs.split(",")
    runs = {c: {t: {"c": [], "torch": [], "frac": []} for t in threads} for c in configs}
    timeout = 120 + 20 * a.seconds * len(configs)
    for rnd in range(a.rounds):
        for t in threads:
            ours = last_json([a.bench, "--threads", str(t), "--seconds", str(a.seconds),
                              "--configs", a.configs], timeout)
            theirs = last_json([a.python, os.path.join(HERE, "torch_update.py"), "--threads",
                                str(t), "--seconds", str(a.seconds), "--configs", a.configs],
                               timeout)
            for c in configs:
                fig = ours["update"][c][str(t)]
                runs[c][t]["c"].append(fig["samples_per_s"])
                runs[c][t]["frac"].append(fig["ratio_to_sgemm"])
                runs[c][t]["torch"].append(theirs[c])
            line = ", ".join(f"{c} C {ours['update'][c][str(t)]['samples_per_s']:.0f} "
                             f"torch {theirs[c]:.0f}" for c in configs)
            print(f"round {rnd + 1} threads {t}: {line}", flush=True)
    out = {"rounds": a.rounds, "seconds": a.seconds, "T": 80, "B": 32, "results": {},
           "targets": {}}
    for c in configs:
        out["results"][c] = {}
        for t in threads:
            r = runs[c][t]
            mc, mt = statistics.median(r["c"]), statistics.median(r["torch"])
            out["results"][c][str(t)] = {
                "c_samples_per_s": round(mc), "torch_samples_per_s": round(mt),
                "ratio": round(mc / mt, 3),
                "c_ratio_to_sgemm": round(statistics.median(r["frac"]), 3)}
            print(f"{c:8s} threads {t}: C {mc:10.0f}  torch {mt:10.0f} samples/s  "
                  f"ratio {mc / mt:5.2f}")
        if c in TARGETS:
            ratios = [out["results"][c][str(t)]["ratio"] for t in threads]
            out["targets"][c] = {"want_ratio": TARGETS[c], "met": min(ratios) >= TARGETS[c]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
