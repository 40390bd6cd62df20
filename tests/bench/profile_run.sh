#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Where a training run's CPU goes (issue 11): starts impala-learner with a
# preset and 2 spawned actors on loopback, waits WARM seconds, then over
# SECONDS measures the frames the learner consumed (/status) and the CPU
# time of the learner and of its actors (/proc/PID/stat), and prints the
# CPU microseconds per frame of each side; with PERF_OUT it also records
# `perf record -e cpu-clock -g` of those processes over the same window
# (read it with `perf report -i PERF_OUT --no-children --sort comm,sym`).
# Per thread (the learner names its threads: im-learnN, im-publish, ...)
# it also prints where the window went, from /proc/PID/task/TID/schedstat:
# running, runnable (waiting for a core: the machine's load) and blocked
# (waiting for work, a lock or a message: the program's own waits).
# Blocked is the figure that says who waits on whom, whatever the load.
# The learner is stopped (SIGTERM, by its pid) at the end; its actors stop
# with it.  CPU per frame is the figure to compare on a shared machine:
# frames/s moves with the load, CPU per frame much less.
#
# Usage: tests/bench/profile_run.sh BUILD PRESET [WARM] [SECONDS] [PERF_OUT] [-- learner flags]
#   e.g. tests/bench/profile_run.sh build presets/minatar-breakout.env 5 20 /tmp/run.perf
set -eu
BUILD=${1:?build directory}; PRESET=${2:?preset file}
WARM=${3:-5}; SECS=${4:-20}; PERF_OUT=${5:-}
shift $(($# < 5 ? $# : 5)); [ "${1:-}" = "--" ] && shift
DIR=$(mktemp -d /tmp/profile_run.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
status_frames() { python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen("http://127.0.0.1:'"$1"'/status", timeout=5))["frames"])'; }
status_summary() { python3 -c 'import json,sys,urllib.request; s=json.load(urllib.request.urlopen("http://127.0.0.1:'"$1"'/status", timeout=5)); print("at the end: policy lag mean %.1f max %.0f, store %d/%d; since the start: %d unrolls dropped for policy lag, %d evicted from a full store, %d batched" % (s["policy_lag"]["mean"], s["policy_lag"]["max"], s["store"]["depth"], s["store"]["capacity"], s["dropped"]["policy_lag"], s["unrolls_evicted_full"], s["unrolls_batched"]))'; }
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
# "role tid comm run_ns runqueue_ns" for every thread of the learner
# (role L) and of the actors (role A).
sched_snap() {
	local p t role=L
	echo "T $(date +%s.%N)"
	for p in "$@"; do
		for t in /proc/$p/task/*; do
			[ -r "$t/schedstat" ] || continue
			echo "$role ${t##*/} $(tr ' ' '_' <"$t/comm") $(cut -d' ' -f1-2 "$t/schedstat")"
		done 2>/dev/null
		role=A
	done
}

# The learner's bind takes 3 ports from its base: retry on a collision.
BASE=$(free_port); SP=$(free_port)
"$BUILD/learner/impala-learner" train --config "$PRESET" --spawn-actors 2 \
	--actor-bin "$BUILD/actor/impala-actor" --bind "tcp://127.0.0.1:$BASE" \
	--status-addr "127.0.0.1:$SP" --logdir "$DIR" --eval-interval 0 \
	--save-interval 0 --no-tensorboard "$@" >"$DIR/learner.log" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null' EXIT
sleep "$WARM"
KIDS=$(cat /proc/$PID/task/*/children | xargs)
[ -n "$KIDS" ] || { echo "no actors running; learner log:"; tail "$DIR/learner.log"; exit 1; }
echo "learner $PID, actors $KIDS; load $(cut -d' ' -f1-3 /proc/loadavg)"
F0=$(status_frames "$SP"); L0=$(cpu_ticks $PID); A0=$(cpu_ticks $KIDS)
sched_snap $PID $KIDS >"$DIR/sched0"
if [ -n "$PERF_OUT" ]; then
	perf record -q -e cpu-clock -g -o "$PERF_OUT" -p "$PID,${KIDS// /,}" -- sleep "$SECS" 2>/dev/null
else
	sleep "$SECS"
fi
F1=$(status_frames "$SP"); L1=$(cpu_ticks $PID); A1=$(cpu_ticks $KIDS)
sched_snap $PID $KIDS >"$DIR/sched1"
status_summary "$SP"
HZ=$(getconf CLK_TCK)
python3 - "$F0" "$F1" "$L0" "$L1" "$A0" "$A1" "$HZ" "$SECS" <<'PY'
import json, sys
f0, f1, l0, l1, a0, a1, hz, s = map(float, sys.argv[1:])
f, lc, ac = f1 - f0, (l1 - l0) / hz, (a1 - a0) / hz
print(f"{f:.0f} frames in {s:.0f} s: {f / s:,.0f} frames/s; learner {lc:.2f} CPU s "
      f"({lc / s:.2f} cores), actors {ac:.2f} CPU s ({ac / s:.2f} cores)")
print(f"CPU per frame: learner {lc / f * 1e6:.2f} us, actors {ac / f * 1e6:.2f} us; "
      f"{f / (lc + ac):,.0f} frames per CPU-second")
print(json.dumps({"frames": f, "seconds": s, "learner_cpu_s": lc, "actors_cpu_s": ac,
                  "learner_us_per_frame": lc / f * 1e6, "actors_us_per_frame": ac / f * 1e6}))
PY
python3 - "$DIR/sched0" "$DIR/sched1" <<'PY'
import sys
def read(path):
    out = {}
    for line in open(path):
        if line.startswith("T "):
            out["T"] = float(line.split()[1])
            continue
        role, tid, comm, run, rq = line.split()
        out[tid] = (role, comm, int(run), int(rq))
    return out
# The window between the two snapshots, not SECONDS: reading /status and
# /proc around the sleep takes time of its own on a loaded machine.
a, b = read(sys.argv[1]), read(sys.argv[2])
secs = b.pop("T") - a.pop("T")
rows = []
for tid, (role, comm, run, rq) in b.items():
    if tid in a:
        run, rq = (run - a[tid][2]) / 1e9 / secs, (rq - a[tid][3]) / 1e9 / secs
        rows.append((run, rq, "learner" if role == "L" else "actors", comm, tid))
print(f"per thread, share of the {secs:.1f} s between the snapshots: running / runnable (no free core) / blocked")
for run, rq, side, comm, tid in sorted(rows, reverse=True):
    if run >= 0.005:
        print(f"  {side:7s} {comm:15s} {tid:>7s}: {run:6.1%} {rq:6.1%} {max(0.0, 1 - run - rq):6.1%}")
PY
echo "load $(cut -d' ' -f1-3 /proc/loadavg); run directory $DIR"
