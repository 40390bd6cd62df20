#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The learner update, ours against PyTorch, side by side in one run.

Runs the C benchmark (bench_update) and the PyTorch script
(torch_update.py, same shapes and the same work: forward over T+1 by B,
V-trace, loss, backward, gradient clipping, RMSprop) alternately, C then
torch, for each thread count and each round, so that load from other
processes on the machine hits both alike.  Each run reports its own median
over repeated timed updates; this driver takes the median over rounds of
each side and quotes their ratio.

--cores measures under several OpenBLAS kernels in the same run: each
value is put in OPENBLAS_CORETYPE for BOTH programs (torch links the same
Debian OpenBLAS), "default" leaves the environment as it is.  bench_update
reports the core it ran (openblas_get_corename()); the figures are keyed by
it.  Both sides always run the same kernels: the ratio measures our code,
not the kernel choice.  (impala-learner itself replaces a generic fallback
core, README "OpenBLAS kernels"; "default" shows what a program that does
not, such as this PyTorch, gets on this machine.)

Prints one JSON object on its last line; exits 77 (meson: skipped) when
torch cannot be imported by the PyTorch interpreter.

Usage: compare_update.py --bench BUILD/tests/bench/bench_update
           [--python /usr/bin/python3] [--threads 1,2] [--rounds 3]
           [--seconds 0.5] [--configs mlp64,mlp512,lstm256,nature,impala,minatar]
           [--cores default,SkylakeX,Haswell]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Targets from issues 3 and 10 (reported, never asserted): C / torch
# samples/s, at every thread count measured or per thread count.
TARGETS = {"mlp512": 1.5, "mlp64": 5.0, "nature": {1: 1.0, 2: 1.5},
           "impala": {1: 1.0, 2: 1.5}, "minatar": {1: 3.0}}
IMAGES = ("nature", "impala", "minatar")


NEEDS = {"haswell": {"avx2", "fma"}, "zen": {"avx2", "fma"},
         "skylakex": {"avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"},
         "cooperlake": {"avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq",
                        "avx512vl", "avx512_bf16"}}


def runnable(core):
    """Whether this CPU has the instructions of core (else OpenBLAS dies of SIGILL)."""
    need = NEEDS.get(core.lower(), set())
    if not need:
        return True
    with open("/proc/cpuinfo") as f:
        flags = next((ln.split(":", 1)[1].split() for ln in f if ln.startswith("flags")), [])
    return need <= set(flags)


def core_env(core):
    """The environment for OPENBLAS_CORETYPE=core ("default": unchanged)."""
    env = dict(os.environ)
    if core != "default":
        env["OPENBLAS_CORETYPE"] = core
    return env


def last_json(argv, timeout, env=None):
    """The JSON object on the last line of argv's stdout."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout, check=False, env=env)
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
    ap.add_argument("--configs", default="mlp64,mlp512,lstm256,nature,impala,minatar")
    ap.add_argument("--cores", default="default",
                    help="OPENBLAS_CORETYPE values to measure, 'default' = as set")
    a = ap.parse_args()
    if not torch_works(a.python):
        print(json.dumps({"skipped": f"torch cannot be imported by {a.python}"}))
        return 77
    threads = [int(t) for t in a.threads.split(",")]
    configs = a.configs.split(",")
    cores = [k for k in a.cores.split(",") if runnable(k)]
    for k in set(a.cores.split(",")) - set(cores):
        print(f"core {k}: this CPU lacks its instructions; not measured")
    runs = {k: {c: {t: {"c": [], "torch": [], "frac": []} for t in threads}
                for c in configs} for k in cores}
    ran = {}
    # An image update takes 0.1-1 s alone, ten times that at load 20.
    timeout = 120 + 20 * a.seconds * len(configs) + 600 * sum(c in IMAGES for c in configs)
    for rnd in range(a.rounds):
        for k in cores:
            env = core_env(k)
            for t in threads:
                ours = last_json([a.bench, "--threads", str(t), "--seconds", str(a.seconds),
                                  "--configs", a.configs], timeout, env)
                theirs = last_json([a.python, os.path.join(HERE, "torch_update.py"),
                                    "--threads", str(t), "--seconds", str(a.seconds),
                                    "--configs", a.configs], timeout, env)
                ran[k] = ours.get("blas_core", "?")
                for c in configs:
                    fig = ours["update"][c][str(t)]
                    runs[k][c][t]["c"].append(fig["samples_per_s"])
                    runs[k][c][t]["frac"].append(fig["ratio_to_sgemm"])
                    runs[k][c][t]["torch"].append(theirs[c])
                line = ", ".join(f"{c} C {ours['update'][c][str(t)]['samples_per_s']:.0f} "
                                 f"torch {theirs[c]:.0f}" for c in configs)
                print(f"round {rnd + 1} core {ran[k]} threads {t}: {line}", flush=True)
    out = {"rounds": a.rounds, "seconds": a.seconds, "T": 80, "B": 32,
           "T_images": {"nature": 20, "impala": 20, "minatar": 80}, "results": {},
           "targets": {}}
    for k in cores:
        name = ran[k] if k != "default" else f"default ({ran[k]})"
        res = out["results"][name] = {}
        for c in configs:
            res[c] = {}
            for t in threads:
                r = runs[k][c][t]
                mc, mt = statistics.median(r["c"]), statistics.median(r["torch"])
                res[c][str(t)] = {
                    "c_samples_per_s": round(mc), "torch_samples_per_s": round(mt),
                    "ratio": round(mc / mt, 3),
                    "c_ratio_to_sgemm": round(statistics.median(r["frac"]), 3)}
                print(f"{name:20s} {c:8s} threads {t}: C {mc:10.0f}  torch {mt:10.0f} "
                      f"samples/s  ratio {mc / mt:5.2f}")
            if c in TARGETS:
                want = TARGETS[c]
                if not isinstance(want, dict):
                    want = {t: want for t in threads}
                met = [res[c][str(t)]["ratio"] >= want[t] for t in threads if t in want]
                out["targets"].setdefault(c, {"want_ratio": {str(t): w for t, w in want.items()},
                                              "met": {}})
                out["targets"][c]["met"][name] = bool(met) and all(met)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
