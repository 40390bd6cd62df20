#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""TensorBoard event files of a real run, read by read_tfevents.py (our
own framing and CRC-32C code, Debian's protobuf with TensorBoard's field
numbers), not by the C code that wrote them:

- a learner with two spawned actors writes exactly one
  events.out.tfevents.<time>.<host> in its run directory; every record's
  two CRCs hold and every record decodes; the first event is file_version
  "brain.Event:2", then SessionLog START at step 0, then one summary per
  metrics.csv row with step = the row's frames and each scalar equal to the
  CSV's (within the CSV's printed digits and float32), non-finite ones
  absent, and the evaluation return present after an evaluation;
- a restart with --auto-resume appends to the same file (file_version
  still once) with a START at the checkpoint's frames and steps from there,
  and its dashboard's /history starts with the first run's rows (refilled
  from metrics.csv);
- half a record left at the end (a learner killed mid-write) is cut off at
  the next start, which says so, and the file reads cleanly again;
- a copy with one flipped byte, or cut short, is refused by the reader;
- --no-tensorboard writes no event file."""
import csv
import glob
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from harness import ACTOR, Cluster, checkpoint_header, http_get  # noqa: E402

try:
    from read_tfevents import BadRecord, read_events  # noqa: E402
except ImportError as e:  # python3-protobuf missing
    print(f"SKIP: {e} (scripts/install-deps.sh installs python3-protobuf)")
    sys.exit(77)

ARGS = ["--env", "CartPole-v1", "--spawn-actors", "2", "--num-actors", "4",
        "--actor-bin", ACTOR, "--hidden-dim", "32", "--feature-dim", "32",
        "--num-steps", "20", "--batch-size", "8", "--num-storages", "32",
        "--num-learners", "1", "--num-train-steps", "1000000000000",
        "--log-interval", "0.3", "--eval-interval", "150", "--num-eval-episodes", "2",
        "--save-interval", "0", "--seed", "5"]

# CSV column -> (tag, absolute error of the CSV's printf format, relative).
COLUMNS = {
    "time_s": ("perf/uptime_s", 5e-4, 0), "frames": ("train/frames", 0, 0),
    "updates": ("train/updates", 0, 0), "frames_per_s": ("perf/frames_per_s", 0.05, 0),
    "episodes": ("train/episodes", 0, 0), "mean_return": ("train/episode_return", 5e-5, 0),
    "mean_length": ("train/episode_length", 5e-3, 0), "total_loss": ("loss/total", 0, 5e-6),
    "pg_loss": ("loss/policy", 0, 5e-6), "baseline_loss": ("loss/baseline", 0, 5e-6),
    "entropy_loss": ("loss/entropy", 0, 5e-6), "grad_norm": ("optim/grad_norm", 0, 5e-6),
    "lr": ("optim/learning_rate", 0, 5e-6), "lag_mean": ("policy_lag/mean", 5e-4, 0),
    "lag_max": ("policy_lag/max", 0.5, 0), "store_depth": ("store/depth", 0, 0),
    "actors": ("actors/connected", 0, 0), "dropped": ("dropped/total", 0, 0),
}
FLOAT32_REL = 2.0 ** -23
LIBZMQ_ABORT = "Assertion failed: !_io_error (src/stream_engine_base.cpp:331)"


def run_dir(c, tag):
    return os.path.join(c.tmp, "runs", tag, "seed5")


def csv_rows(c, tag):
    path = os.path.join(run_dir(c, tag), "metrics.csv")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def event_files(c, tag):
    return sorted(glob.glob(os.path.join(run_dir(c, tag), "events.out.tfevents.*")))


def run(c, tag, *extra, rows=6, evals=True, name="learner", during=None):
    """Starts a learner, waits for `rows` more CSV rows (and an
    evaluation), calls during(c), stops it with SIGTERM; its log text."""
    before = len(csv_rows(c, tag))
    c.start_learner(*ARGS, "--tag", tag, *extra, name=name)
    c.wait_for(lambda s: len(s["actors"]) == 2, 60, "two actors")
    end = time.time() + 90
    while time.time() < end:
        done = len(csv_rows(c, tag)) >= before + rows
        if done and (not evals or "eval at" in c.learner.text()):
            break
        assert c.learner.alive(), c.learner.text()[-2000:]
        time.sleep(0.2)
    else:
        raise AssertionError("no rows: " + c.learner.text()[-2000:])
    if during:
        during(c)
    c.learner.signal(signal.SIGTERM)
    code = c.learner.wait(60)
    c.learner.stop()
    text = c.learner.text()
    if code == -signal.SIGABRT and LIBZMQ_ABORT in text and "done (stopped)" in text:
        # Debian's libzmq 4.3.4 sometimes aborts in zmq_ctx_term, after
        # the learner finished (event file closed, checkpoint written,
        # summary printed), when its spawned actors go at the same time.
        # Not what this test is about; reported, not hidden.
        print(f"note: {name}: libzmq aborted at exit ({LIBZMQ_ABORT})")
    else:
        assert code == 0, (code, text[-2000:])
    return text


def check_against_csv(summaries, rows):
    assert len(summaries) == len(rows), (len(summaries), len(rows))
    for ev, row in zip(summaries, rows):
        assert ev["step"] == int(row["frames"]), (ev["step"], row["frames"])
        vals = ev["values"]
        for col, (tag, abs_err, rel_err) in COLUMNS.items():
            want = float(row[col])
            if not math.isfinite(want):
                assert tag not in vals, (tag, vals.get(tag))
                continue
            got = vals[tag]
            tol = abs_err + (rel_err + FLOAT32_REL) * abs(want) + 1e-12
            assert abs(got - want) <= tol, f"{tag}: {got} vs CSV {col} {want} (step {ev['step']})"
        for tag, v in vals.items():
            assert math.isfinite(v), (tag, v)
        assert "train/entropy" in vals and "loss/entropy" in vals, sorted(vals)
        # A reason appears once it drops something, and the reasons add up
        # to the total.
        reasons = {t: v for t, v in vals.items() if t.startswith("dropped/") and t != "dropped/total"}
        assert all(v > 0 for v in reasons.values()), vals
        assert sum(reasons.values()) == vals.get("dropped/total", 0.0), vals


def first_run(c):
    run(c, "tb")
    files = event_files(c, "tb")
    assert len(files) == 1, files
    name = os.path.basename(files[0])
    assert name.startswith("events.out.tfevents.") and name.endswith("." + socket.gethostname()), name
    evs = read_events(files[0])
    assert evs[0]["kind"] == "file_version" and evs[0]["file_version"] == "brain.Event:2", evs[0]
    assert evs[1]["kind"] == "session_log" and evs[1]["status"] == "START" and evs[1]["step"] == 0
    summaries = evs[2:]
    assert all(e["kind"] == "summary" for e in summaries)
    check_against_csv(summaries, csv_rows(c, "tb"))
    evals = [e["values"]["eval/episode_return"] for e in summaries if "eval/episode_return" in e["values"]]
    assert evals and all(0 < v <= 500 for v in evals), evals
    walls = [e["wall_time"] for e in evs]
    assert walls == sorted(walls) and abs(walls[-1] - time.time()) < 120, walls[-3:]
    return files[0], len(evs)


def resumed_run(c, path, n_before):
    frames = int(checkpoint_header(os.path.join(run_dir(c, "tb"), "checkpoint.safetensors"))
                 ["__metadata__"]["frames"])
    first = csv_rows(c, "tb")

    def dashboard_has_the_whole_run(c):
        code, body = http_get(c.status_port, "/history")
        h = json.loads(body)
        fx = h["columns"].index("frames")
        got = [r[fx] for r in h["rows"]]
        want = [int(r["frames"]) for r in first if int(r["frames"]) <= frames]
        assert code == 200 and got[:len(want)] == want, (got[:20], want[:20])

    text = run(c, "tb", "--auto-resume", evals=False, name="resumed",
               during=dashboard_has_the_whole_run)
    assert "appending to " + path in text, text[-2000:]
    assert event_files(c, "tb") == [path]
    evs = read_events(path)
    assert [e["kind"] for e in evs].count("file_version") == 1
    start = evs[n_before]
    assert start["kind"] == "session_log" and start["status"] == "START", start
    assert start["step"] == frames, (start["step"], frames)
    later = evs[n_before + 1:]
    assert later and all(e["kind"] == "summary" and e["step"] >= frames for e in later)
    check_against_csv([e for e in evs if e["kind"] == "summary"], csv_rows(c, "tb"))


def torn_tail(c, path):
    with open(path, "ab") as f:
        f.write(b"\x2a\x00\x00\x00\x00\x00\x00")  # 7 bytes of a header
    try:
        read_events(path)
        raise AssertionError("the reader took a torn record")
    except BadRecord:
        pass
    text = run(c, "tb", "--auto-resume", rows=2, evals=False, name="repaired")
    assert "cut a torn last record (7 bytes)" in text, text[-2000:]
    evs = read_events(path)
    assert [e.get("status") for e in evs].count("START") == 3


def corrupted_copies(c, path):
    with open(path, "rb") as f:
        blob = f.read()
    reader = os.path.join(HERE, "read_tfevents.py")
    for what, bad in [("a flipped data byte", blob[:len(blob) // 2] + bytes([blob[len(blob) // 2] ^ 1])
                       + blob[len(blob) // 2 + 1:]),
                      ("a flipped length byte", bytes([blob[0] ^ 4]) + blob[1:]),
                      ("a cut end", blob[:-3])]:
        copy = os.path.join(c.tmp, "corrupt.tfevents")
        with open(copy, "wb") as f:
            f.write(bad)
        try:
            read_events(copy)
            raise AssertionError(f"the reader missed {what}")
        except BadRecord as e:
            print(f"{what}: {e}")
        r = subprocess.run([sys.executable, reader, copy], capture_output=True, text=True)
        assert r.returncode == 1 and "offset" in r.stderr, (r.returncode, r.stderr)


def main():
    with Cluster() as c:
        path, n = first_run(c)
        resumed_run(c, path, n)
        torn_tail(c, path)
        corrupted_copies(c, path)
        run(c, "notb", "--no-tensorboard", rows=2, evals=False, name="notb")
        assert event_files(c, "notb") == [] and csv_rows(c, "notb")
        shutil.rmtree(c.tmp, ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
