# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the cluster tests: the e2e harness imported by path,
the paced environment plugin, rate sampling and log parsing."""
import importlib.util
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_harness():
    path = os.path.join(HERE, "..", "e2e", "harness.py")
    spec = importlib.util.spec_from_file_location("impala_e2e_harness", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


harness = _load_harness()


def paced_env(step_us):
    """The --env value of the paced plugin (meson passes its path in
    IMPALA_PACED_ENV) with steps of step_us microseconds."""
    path = os.environ.get("IMPALA_PACED_ENV") or os.path.join(
        harness.BUILD, "tests", "cluster", "libpaced_env.so")
    if not os.path.exists(path):
        raise SystemExit(f"paced environment plugin not found at {path} "
                         "(build it, or set IMPALA_PACED_ENV)")
    return f"plugin:{os.path.abspath(path)}?step_us={step_us}"


def unrolls_sent(log_text):
    """N of the actor's last 'stopping: N unrolls sent' line, or None."""
    found = re.findall(r"stopping: (\d+) unrolls sent", log_text)
    return int(found[-1]) if found else None


def median_rate(read, windows, seconds):
    """Median over `windows` back-to-back windows of about `seconds` each
    of the growth per second of a counter; read() returns (time in
    seconds, value) of one observation (the learner's status snapshot
    carries its own time, uptime_s, which is what makes the rates exact
    even though a snapshot is up to 200 ms old when read).  Returns the
    median and the samples."""
    rates = []
    t0, v0 = read()
    for _ in range(windows):
        time.sleep(seconds)
        t1, v1 = read()
        if t1 > t0:
            rates.append((v1 - v0) / (t1 - t0))
        t0, v0 = t1, v1
    return statistics.median(rates), rates


def dropped_total(status):
    return sum(status["dropped"].values())
