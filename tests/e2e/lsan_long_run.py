#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A long run under LeakSanitizer (issue 14, defect 10): not a meson test
(minutes long, and it needs a build with -Db_sanitize=address).

    meson setup build-lsan -Db_sanitize=address -Dtests=false
    meson compile -C build-lsan learner/impala-learner actor/impala-actor
    ASAN_OPTIONS=detect_leaks=1:handle_abort=1:log_path=/tmp/lsan/asan \
        python3 tests/e2e/lsan_long_run.py build-lsan 300 /tmp/lsan

A Pendulum learner (parameters broadcast after every update, at most every
2 ms) and two external actors (8 environments each); after SECONDS the
actors get SIGTERM (each exits, and LeakSanitizer checks it), then the
learner.  Prints every exit status and the learner's summary.  Nothing
leaked when no OUTDIR/asan.* file exists (each process that finds a leak
or dies writes one) and every exit status is 0."""
import os, random, signal, socket, subprocess, sys, time
B, S, D = sys.argv[1], float(sys.argv[2]), sys.argv[3]
os.makedirs(D, exist_ok=True)
def port():
    for base in random.sample(range(48000, 60000, 7), 500):
        ok = True
        for p in range(base, base + 3):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            s.close()
        if ok:
            return base
base = port()
ep = f"tcp://127.0.0.1:{base}"
L = subprocess.Popen([f"{B}/learner/impala-learner", "--env", "Pendulum-v1",
    "--num-steps", "5", "--batch-size", "32", "--hidden-dim", "64", "--feature-dim", "64",
    "--max-policy-lag", "4", "--activation", "tanh", "--num-train-steps", "1000000000",
    "--bind", ep, "--status-addr", "127.0.0.1:0", "--log-interval", "60",
    "--eval-interval", "0", "--save-interval", "0", "--logdir", os.path.join(D, "runs")],
    stdout=open(os.path.join(D, "learner.out"), "w"),
    stderr=open(os.path.join(D, "learner.err"), "w"))
time.sleep(2)
A = [subprocess.Popen([f"{B}/actor/impala-actor", "--learner", ep, "--actor-id", str(i),
    "--num-envs", "8"], stdout=subprocess.DEVNULL,
    stderr=open(os.path.join(D, f"actor{i}.err"), "w")) for i in (1, 2)]
time.sleep(S)
for a in A:
    a.send_signal(signal.SIGTERM)
for i, a in enumerate(A, 1):
    print(f"actor {i} exit status {a.wait(120)}", flush=True)
L.send_signal(signal.SIGTERM)
print(f"learner exit status {L.wait(120)}", flush=True)
print(open(os.path.join(D, "learner.out")).read().strip())
