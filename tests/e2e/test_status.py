#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The status port and the per-run CSV under a running learner.

- /status is JSON with one row per connected actor holding exactly id,
  host, frames, unrolls, last_seen_s and lag, consistent with what the actors
  did (frames = unrolls x T, the actor's host name, seen recently);
- /metrics is valid Prometheus text (every sample has a TYPE, a number,
  well-formed labels) and agrees with /status (dropped reasons, counters
  that only grow);
- /healthz answers 200, an unknown path 404, a malformed request 400, and
  half-sent requests held open or a client that never reads its replies
  stall neither the status port nor training;
- <logdir>/<tag>/seed<seed>/metrics.csv has a header and one row per
  --log-interval, with counters that never go back.
"""
import csv
import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Cluster, http_get  # noqa: E402

T = 40
LOG_INTERVAL = 0.5
# --max-policy-lag 0: the test waits for both actors to be trained on,
# which at the vector default (20) a fast learner fed by one actor can
# prevent by dropping every unroll of the other as stale (under ASan the
# wait ran out).  It is about the status port, not staleness.
ARGS = ["--env", "CartPole-v1", "--hidden-dim", "32", "--feature-dim", "32",
        "--num-steps", str(T), "--batch-size", "8", "--num-storages", "32",
        "--num-learners", "1", "--num-train-steps", "1000000000", "--eval-interval", "0",
        "--save-interval", "0", "--log-interval", str(LOG_INTERVAL), "--tag", "statustest",
        "--seed", "7", "--max-policy-lag", "0"]
ROW_KEYS = {"id", "host", "frames", "unrolls", "last_seen_s", "lag"}

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*)?\})? '
                    r'(-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$')


def check_status(st):
    assert st["env"] == "CartPole-v1" and st["tag"] == "statustest", st
    assert re.fullmatch(r"[0-9a-f]{16}", st["run_id"]), st["run_id"]
    rows = {a["id"]: a for a in st["actors"]}
    assert set(rows) == {11, 12}, st["actors"]
    for a in st["actors"]:
        assert set(a) == ROW_KEYS, a
        assert a["host"] == socket.gethostname()[:63], a
        assert a["unrolls"] > 0 and a["frames"] == a["unrolls"] * T, a
        assert 0 <= a["last_seen_s"] < 5, a
        assert isinstance(a["lag"], int) and a["lag"] >= 0, a
    assert st["unrolls_received"] >= sum(a["unrolls"] for a in st["actors"]) > 0
    assert st["updates"] > 0 and st["frames"] == st["updates"] * 8 * T, st


def parse_prometheus(text):
    """{sample name with labels: value}; asserts the format as it goes."""
    typed, out = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            assert len(line.split(" ", 3)) == 4, line
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge"), line
            typed[name] = kind
            continue
        m = SAMPLE.match(line)
        assert m, f"not a Prometheus sample: {line!r}"
        assert m.group(1) in typed, f"sample before its TYPE: {line!r}"
        out[line.rpartition(" ")[0]] = float(line.rpartition(" ")[2])
    return out


def raw_http(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return reply.decode(errors="replace")
            reply += chunk


def check_csv(path, run_s):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    with open(path) as f:
        header = f.readline().strip().split(",")
    for col in ("time_s", "frames", "updates", "frames_per_s", "mean_return", "total_loss",
                "lag_mean", "store_depth", "actors", "dropped"):
        assert col in header, header
    times = [float(r["time_s"]) for r in rows]
    gaps = [b - a for a, b in zip(times, times[1:])]
    # One row per interval: never closer than the interval (less the 20 ms
    # tick of the main loop), never a whole interval skipped.  Rows start
    # one interval after the main loop does, which is after start-up (the
    # model, the sockets, the status port), and time_s counts from before
    # it: counted from process start, a start-up of ~1.5 s on a loaded
    # machine left 4 rows for a 3.76 s run where 6 were required.
    assert len(rows) >= (run_s - times[0]) / LOG_INTERVAL - 1, (len(rows), run_s, times)
    assert all(LOG_INTERVAL - 0.03 <= g <= 2 * LOG_INTERVAL for g in gaps), gaps
    for col in ("frames", "updates", "dropped"):
        vals = [int(r[col]) for r in rows]
        assert vals == sorted(vals), (col, vals)
    assert int(rows[-1]["updates"]) > 0 and all(len(r) == len(header) for r in rows)
    return len(rows)


def main():
    with Cluster() as c:
        t0 = time.time()
        c.start_learner(*ARGS)
        c.start_actor(11, 4)
        c.start_actor(12, 4)
        # Wait until both actors have been trained on: under load one actor
        # can feed the first ten updates alone while the other still waits
        # for its first broadcast.
        st = c.wait_for(lambda s: s["updates"] >= 10 and len(s["actors"]) == 2
                        and all(a["unrolls"] > 0 for a in s["actors"]), 30,
                        "updates from two actors")
        check_status(st)

        code, body = http_get(c.status_port, "/metrics")
        assert code == 200, code
        m = parse_prometheus(body)
        for name in ("impala_env_frames_total", "impala_updates_total",
                     "impala_unrolls_received_total", "impala_store_depth",
                     "impala_episode_return_mean", "impala_policy_lag_mean"):
            assert name in m, name
        reasons = {k[len('impala_dropped_messages_total{reason="'):-2]
                   for k in m if k.startswith("impala_dropped_messages_total{")}
        assert reasons == set(c.status()["dropped"]), reasons
        assert m["impala_updates_total"] >= st["updates"]
        assert m["impala_env_frames_total"] >= st["frames"]

        assert http_get(c.status_port, "/healthz") == (200, "ok\n")
        assert http_get(c.status_port, "/no-such-page")[0] == 404
        assert raw_http(c.status_port, b"NONSENSE\r\n\r\n").startswith("HTTP/1.1 400")
        assert raw_http(c.status_port, b"GET /status HTTP/1.1\r\nno colon here\r\n\r\n") \
            .startswith("HTTP/1.1 400")

        # Hostile clients: half-sent requests held open and a client that
        # asks for /metrics and never reads; the learner and the status
        # port go on serving.
        idle = []
        for _ in range(8):
            k = socket.create_connection(("127.0.0.1", c.status_port), timeout=5)
            k.sendall(b"GET /sta")
            idle.append(k)
        k = socket.create_connection(("127.0.0.1", c.status_port), timeout=5)
        k.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        k.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 200)
        idle.append(k)
        u = c.status()["updates"]
        t1 = time.time()
        assert http_get(c.status_port, "/healthz", timeout=3.0)[0] == 200
        c.wait_for(lambda s: s["updates"] > u + 10, 10, "updates beside hostile clients")
        assert time.time() - t1 < 10
        for k in idle:
            k.close()

        time.sleep(max(0.0, 4.0 - (time.time() - t0)))
        st2 = c.status()
        assert st2["updates"] > st["updates"], "training stalled"
        c.learner.signal(signal.SIGTERM)
        assert c.learner.wait(20) == 0, c.learner.text()[-2000:]
        run_s = st2["uptime_s"]
        path = os.path.join(c.tmp, "runs", "statustest", "seed7", "metrics.csv")
        n = check_csv(path, run_s)
        print(f"{n} CSV rows over {run_s:.1f} s", flush=True)
    print("ok")


if __name__ == "__main__":
    main()
