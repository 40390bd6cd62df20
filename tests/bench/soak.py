#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Soak benchmark (issue 14): many actors against one learner for a long
time, with actors killed and started at random; does the learner's memory
stay flat, and is every unroll accounted for?

N actors (--actors, 64 by default; 1 environment each) train CartPole-v1
(MLP 2x64, scripts/run.sh's settings without a target return) against one
learner for --duration seconds (1800 by default).  Every --churn seconds
on average (exponential gaps) one actor chosen at random is killed
(SIGKILL or SIGTERM, half each) and a new one with a fresh id started, so
the learner keeps seeing Hellos, dying connections and Goodbyes.

Once in every --sample seconds (10), at a uniformly random instant of
the window (so that the RSS's sawtooth between two heap trims cannot
alias into a slope), the learner's RSS is read from /proc and from its
process_resident_memory_bytes gauge, with the RSS by kind of mapping
(smaps.py: main heap, thread arenas, stacks, other anonymous mappings,
libzmq, other files), the C heap in use and free and the trims
(impala_heap_*), its open descriptors and sockets, frames, updates and
the store.  After --warmup seconds (120, or a fifth of a shorter run)
the RSS samples are fitted with a least-squares line: its slope in KB/min
is the headline ("flat" when below --flat-kb-min, 64 by default: 1.9 MiB
over 30 minutes), with the slope of each third of that window beside it
(a leak keeps its slope; a heap still settling flattens), the same fits
for each kind of mapping ("rss_by_kind": where a growth is) and the slope
of the heap in use (live allocations: a leak shows there too; freed pages
the allocator keeps resident only in the RSS).  Reported, not asserted.

At the end every actor is stopped, the learner drains its store down to
less than one batch, and the accounting must close exactly:
    unrolls received (accepted) = trained (frames / T) + evicted + in store
with the rejected ones reported by reason next to it.  The learner runs
with the vector default --max-policy-lag 20: unrolls too old on arrival
are rejected ("policy_lag", dropped on arrival) and queued ones that grew
too old are evicted from the store (unrolls_evicted); so are the oldest
queued ones when a newcomer finds the store full (unrolls_evicted_full, a
part of unrolls_evicted: the receiver never stalls, issue 14); all are
counted.
An unroll unaccounted for makes the program exit 1; so does a learner that
died.

Prints one JSON object on its last line.
Usage: soak.py [--actors 64] [--duration 1800] [--churn 5] [--sample 10]
               [--warmup S] [--flat-kb-min 64] [--seed 1]
Needs IMPALA_BUILD (meson passes it) or a build at ../../build.
"""
import argparse
import json
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from harness import Cluster  # noqa: E402
import smaps  # noqa: E402  (beside this file)

T, B = 80, 32
CLK = os.sysconf("SC_CLK_TCK")
LEARNER = ["--env", "CartPole-v1", "--hidden-dim", "64", "--feature-dim", "64",
           "--num-steps", str(T), "--batch-size", str(B), "--num-storages", "96",
           "--num-learners", "2", "--num-train-steps", str(1 << 50),
           "--eval-interval", "0", "--save-interval", "0", "--log-interval", "10",
           "--actor-timeout", "15"]


def proc(pid):
    """RSS and peak RSS (bytes), the descriptor count of pid and its RSS by
    kind of mapping (smaps.py: main heap, thread arenas, stacks, other
    anonymous mappings, libzmq, other files), so that a growth shows
    where it is."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024
    out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    out["cpu_s"] = (int(fields[11]) + int(fields[12])) / CLK
    kinds = smaps.classify(pid)
    out["arena_list"] = kinds.pop("arena_list")
    out.update({"rss_" + k: v for k, v in kinds.items()})
    return out


def slope_kb_per_min(samples):
    """Least-squares slope of rss over t, in KB per minute."""
    n = len(samples)
    if n < 3:
        return None
    mt = sum(s["t"] for s in samples) / n
    mr = sum(s["rss"] for s in samples) / n
    var = sum((s["t"] - mt) ** 2 for s in samples)
    cov = sum((s["t"] - mt) * (s["rss"] - mr) for s in samples)
    return cov / var * 60 / 1024 if var else None


def by_thirds(after, warmup, span, key="rss"):
    """The slope of key over each third of the window after warm-up."""
    out = []
    for i in range(3):
        part = [{"t": s["t"], "rss": s[key]} for s in after
                if warmup + i * span <= s["t"] < warmup + (i + 1) * span]
        x = slope_kb_per_min(part)
        out.append(round(x, 1) if x is not None else None)
    return out


def by_kind(after, warmup, span):
    """The attribution: for each kind of mapping (smaps.py), its resident
    MB first and last after warm-up, its mean, and its slope over the
    window and by thirds, so that the headline slope splits by where it
    is."""
    if len(after) < 3:
        return None
    out = {}
    for k in smaps.KINDS:
        key = "rss_" + k
        x = slope_kb_per_min([{"t": s["t"], "rss": s[key]} for s in after])
        out[k] = {"mb_first": round(after[0][key] / 2**20, 2),
                  "mb_last": round(after[-1][key] / 2**20, 2),
                  "mb_mean": round(sum(s[key] for s in after) / len(after) / 2**20, 2),
                  "slope_kb_per_min": round(x, 1) if x is not None else None,
                  "by_third": by_thirds(after, warmup, span, key)}
    return out


class Soak:
    def __init__(self, c, args):
        self.c = c
        self.args = args
        self.rng = random.Random(args.seed)
        self.next_id = 1
        self.live = []
        self.churn = {"sigkill": 0, "sigterm": 0, "started": 0}
        self.status_errors = []

    def start_actor(self):
        a = self.c.start_actor(self.next_id, 1, "--learner-timeout", "10")
        self.next_id += 1
        self.live.append(a)
        self.churn["started"] += 1

    def churn_one(self):
        victim = self.live.pop(self.rng.randrange(len(self.live)))
        if self.rng.random() < 0.5:
            victim.signal(signal.SIGKILL)
            self.churn["sigkill"] += 1
        else:
            victim.signal(signal.SIGTERM)
            self.churn["sigterm"] += 1
        try:
            victim.wait(10)
        except Exception:  # noqa: BLE001 - a stuck actor: make sure it goes
            victim.signal(signal.SIGKILL)
        victim.log.close()
        self.c.actors.remove(victim)
        self.start_actor()

    def sample(self, t0):
        s = self.c.status()
        m = self.c.metrics()
        p = proc(self.c.learner.p.pid)
        return {"t": round(time.time() - t0, 1), "rss": p["VmRSS"], "hwm": p["VmHWM"],
                "rss_gauge": m.get("process_resident_memory_bytes"), "fds": p["fds"],
                "cpu_s": p["cpu_s"],
                **{"rss_" + k: p["rss_" + k] for k in smaps.KINDS},
                "arenas": len(p["arena_list"]), "actors_started": self.churn["started"],
                "heap_in_use": m.get("impala_heap_in_use_bytes"),
                "heap_free": m.get("impala_heap_free_bytes"),
                "heap_trims": m.get("impala_heap_trims_total"),
                "heap_trim_s": m.get("impala_heap_trim_seconds_total"),
                "sockets": m.get("impala_open_sockets"), "frames": s["frames"],
                "updates": s["updates"], "store": s["store"]["depth"],
                "actors": len(s["actors"])}

    def run(self):
        a = self.args
        for _ in range(a.actors):
            self.start_actor()
        t0 = time.time()
        # One sample at a uniformly random instant of each --sample window
        # (its own generator: the churn stays the same sequence per seed).
        # The learner trims its heap every --heap-trim-interval seconds and
        # the RSS climbs by about 1 MB between trims; samples on a fixed
        # grid of nearly the same period meet that sawtooth at a slowly
        # drifting phase, which a fit reads as a slope.  Jittered, the
        # sawtooth is noise around its mean (README, "soak").
        jitter = random.Random(a.seed + 1)
        window = t0
        next_sample = window + jitter.uniform(0, a.sample)
        next_churn = t0 + self.rng.expovariate(1.0 / a.churn)
        samples = []
        while time.time() < t0 + a.duration:
            if not self.c.learner.alive():
                raise RuntimeError("learner died: " + self.c.learner.text()[-2000:])
            now = time.time()
            if now >= next_sample:
                try:
                    samples.append(self.sample(t0))
                    print(json.dumps(samples[-1]), flush=True)
                except (OSError, ValueError) as e:
                    # Counted and reported: on a loaded machine a status
                    # request can fail without the learner being at fault.
                    self.status_errors.append(f"{time.time() - t0:.0f}s: {e}")
                window += a.sample
                next_sample = window + jitter.uniform(0, a.sample)
            if now >= next_churn:
                self.churn_one()
                next_churn = now + self.rng.expovariate(1.0 / a.churn)
            time.sleep(0.05)
        return samples

    def drain(self):
        """Stops every actor, then waits until the learner has trained all
        it can (fewer than B unrolls left) and its counters stand still."""
        for x in self.live:
            x.stop()
        self.live = []
        last, end = None, time.time() + 120
        while time.time() < end:
            s = self.c.status()
            key = (s["unrolls_received"], s["frames"], s["store"]["depth"])
            if s["store"]["depth"] < B and key == last:
                return s
            last = key
            time.sleep(2.0)
        raise RuntimeError("the learner did not drain its store")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--actors", type=int, default=64)
    ap.add_argument("--duration", type=float, default=1800)
    ap.add_argument("--churn", type=float, default=5.0, help="mean seconds between kills")
    ap.add_argument("--sample", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=None)
    ap.add_argument("--flat-kb-min", type=float, default=64.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    warmup = args.warmup if args.warmup is not None else min(120.0, args.duration / 5)
    load0 = os.getloadavg()
    with Cluster() as c:
        c.start_learner(*LEARNER)
        soak = Soak(c, args)
        try:
            samples = soak.run()
            end = soak.drain()
        except (RuntimeError, OSError) as e:
            # A learner that died is the finding: say how, as JSON too.
            tail = c.learner.text().strip().splitlines()[-3:]
            print(json.dumps({"bench": "soak", "error": str(e).splitlines()[0][:200],
                              "learner_alive": c.learner.alive(), "learner_log_tail": tail,
                              "churn": soak.churn, "loadavg": os.getloadavg()}))
            sys.exit(1)
        c.learner.signal(signal.SIGTERM)
        rc = c.learner.wait(60)
    load1 = os.getloadavg()
    after = [s for s in samples if s["t"] >= warmup]
    slope = slope_kb_per_min(after)
    # The same fit over each third of the window: a leak keeps its slope,
    # a heap still settling (allocator arenas, connection churn) flattens.
    span = (args.duration - warmup) / 3
    thirds = by_thirds(after, warmup, span)
    # What the heap holds (live allocations: mostly unrolls queued in
    # ZeroMQ's pipes) fitted the same way: a leak shows here too, while a
    # heap that keeps freed pages resident shows only in the RSS.
    in_use = slope_kb_per_min([{"t": s["t"], "rss": s["heap_in_use"]}
                               for s in after if s.get("heap_in_use") is not None])
    received = end["unrolls_received"]
    trained = end["frames"] // T
    evicted = end["unrolls_evicted"]
    in_store = end["store"]["depth"]
    unaccounted = received - trained - evicted - in_store
    dropped = {k: v for k, v in end["dropped"].items() if v}
    result = {
        "bench": "soak", "actors": args.actors, "envs_per_actor": 1,
        "duration_s": args.duration, "warmup_s": warmup, "samples": len(samples),
        "churn": soak.churn,
        "rss_mb_first_after_warmup": round(after[0]["rss"] / 2**20, 1) if after else None,
        "rss_mb_last": round(samples[-1]["rss"] / 2**20, 1) if samples else None,
        "rss_mb_peak": round(max(s["hwm"] for s in samples) / 2**20, 1) if samples else None,
        "rss_slope_kb_per_min": round(slope, 1) if slope is not None else None,
        "rss_slope_kb_per_min_by_third": thirds,
        "flat": slope is not None and slope < args.flat_kb_min,
        "rss_by_kind": by_kind(after, warmup, span),
        "arenas_first_last": [after[0]["arenas"], samples[-1]["arenas"]] if after else None,
        "heap_in_use_slope_kb_per_min": round(in_use, 1) if in_use is not None else None,
        "heap_in_use_mb_mean": (round(sum(s["heap_in_use"] for s in after) / len(after) / 2**20, 1)
                                if after and all(s.get("heap_in_use") is not None for s in after)
                                else None),
        "heap_trims": samples[-1].get("heap_trims") if samples else None,
        "heap_trim_ms_mean": (round(samples[-1]["heap_trim_s"] * 1e3 / samples[-1]["heap_trims"], 2)
                              if samples and samples[-1].get("heap_trims") else None),
        "fds_first_last": [after[0]["fds"], samples[-1]["fds"]] if after else None,
        "frames": end["frames"], "updates": end["updates"],
        # The learner's CPU per frame trained after warm-up: what a change
        # to its memory handling costs, measured under the same load.
        "learner_cpu_us_per_frame": (round(1e6 * (samples[-1]["cpu_s"] - after[0]["cpu_s"])
                                           / (samples[-1]["frames"] - after[0]["frames"]), 3)
                                     if after and samples[-1]["frames"] > after[0]["frames"]
                                     else None),
        "frames_per_s_after_warmup": (round((samples[-1]["frames"] - after[0]["frames"])
                                            / (samples[-1]["t"] - after[0]["t"]))
                                      if after and samples[-1]["t"] > after[0]["t"] else None),
        "unrolls_received": received, "unrolls_trained": trained,
        "unrolls_batched": end["unrolls_batched"], "unrolls_evicted": evicted,
        "unrolls_evicted_full": end.get("unrolls_evicted_full"),
        "in_store": in_store,
        "dropped_by_reason": dropped, "unaccounted": unaccounted,
        "learner_exit": rc, "status_errors": soak.status_errors,
        "loadavg_start": [round(x, 2) for x in load0],
        "loadavg_end": [round(x, 2) for x in load1],
    }
    print(json.dumps(result))
    sys.exit(0 if unaccounted == 0 and rc == 0 else 1)


if __name__ == "__main__":
    main()
