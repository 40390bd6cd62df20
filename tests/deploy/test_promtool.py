#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The learner's /metrics passes `promtool check metrics` (the Prometheus
project's own exposition-format checker and linter), both before any
actor joined and while one trains, so every metric family is present.
promtool comes from $IMPALA_PROMTOOL or PATH; without it the test exits 77
(skipped): Debian ships it only inside the ~100 MB `prometheus` package,
which scripts/install-deps.sh does not install."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import Cluster, http_get  # noqa: E402


def check(promtool, text, when):
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, f"promtool check metrics ({when}) failed:\n{r.stdout}{r.stderr}"
    print(f"promtool check metrics ({when}): ok, {len(text.splitlines())} lines")


def main():
    promtool = os.environ.get("IMPALA_PROMTOOL") or shutil.which("promtool")
    if not promtool:
        print("promtool not installed: skipped")
        return 77
    with Cluster() as c:
        c.start_learner("--env", "CartPole-v1", "--hidden-dim", "32", "--feature-dim", "32",
                        "--num-steps", "20", "--batch-size", "4", "--num-storages", "16",
                        "--num-learners", "1", "--eval-interval", "0", "--save-interval", "0")
        code, text = http_get(c.status_port, "/metrics")
        assert code == 200, code
        check(promtool, text, "no actors")
        c.start_actor(9, 4)
        c.wait_for(lambda s: s["updates"] >= 5 and s["actors"], 30, "updates from actor 9")
        code, text = http_get(c.status_port, "/metrics")
        assert code == 200, code
        check(promtool, text, "training")
    return 0


if __name__ == "__main__":
    sys.exit(main())
