#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Takes a screenshot of the dashboard of a real run (for the README):

    IMPALA_BUILD=build python3 tests/dash/screenshot.py OUT.png SECONDS -- LEARNER ARGS...

starts impala-learner with the arguments (plus loopback ports and a
temporary --logdir), lets it train for SECONDS, opens its status page in
headless Chromium, waits for the charts and saves the screenshot."""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from harness import ACTOR, Cluster  # noqa: E402
from webdriver import Chrome  # noqa: E402


def main(argv):
    if len(argv) < 4 or argv[3] != "--":
        sys.exit(__doc__)
    out, seconds, args = argv[1], float(argv[2]), argv[4:]
    with Cluster() as c:
        c.start_learner(*args, "--actor-bin", ACTOR)
        time.sleep(seconds)
        with Chrome(width=1280, height=1320) as b:
            b.get(f"http://127.0.0.1:{c.status_port}/")
            end = time.time() + 60
            while time.time() < end:
                n = b.run("const d = window.impalaDash; return d ? Object.keys(d.charts).length : 0")
                rows = b.run("return document.querySelectorAll('#actors tbody tr').length")
                if n == 9 and rows:
                    break
                time.sleep(0.5)
            time.sleep(2.5)
            b.screenshot(out)
            print(out, [e for e in b.console() if e.get("level") == "SEVERE"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
