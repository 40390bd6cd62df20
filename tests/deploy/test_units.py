#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`systemd-analyze verify` accepts the installed units with no complaint at
all, and `systemd-analyze security --offline=yes` rates each unit's
exposure at 2.0 or better (lower is safer, 10 is an unprotected service);
the figures are printed.  Exit 77 (skipped) without systemd-analyze; the
security part is skipped, with a note, on a systemd without --offline."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from install_tree import find, install  # noqa: E402

UNITS = ("impala-learner.service", "impala-actor@.service")
MAX_EXPOSURE = 20  # systemd's --threshold scale: 20 is an exposure of 2.0


def verify_copies(dest, prefix):
    """Copies of the installed units whose ExecStart names the programs
    inside dest: verify checks that ExecStart is executable, and the units
    name the programs' final place under the prefix, not yet there.  The
    copy differs in nothing else."""
    d = tempfile.mkdtemp(prefix="impala-units-")
    for u in UNITS:
        (src,) = find(dest, u)
        text = open(src).read()
        text = re.sub(r"^ExecStart=" + re.escape(prefix),
                      "ExecStart=" + dest.rstrip("/") + prefix, text, flags=re.M)
        with open(os.path.join(d, u), "w") as f:
            f.write(text)
    return d


def main():
    sa = shutil.which("systemd-analyze")
    if not sa:
        print("systemd-analyze not installed: skipped")
        return 77
    dest, opt = install(sys.argv[1])
    d = verify_copies(dest, opt["prefix"])
    try:
        for u in UNITS:
            r = subprocess.run([sa, "verify", "--man=no", os.path.join(d, u)],
                               capture_output=True, text=True, timeout=60)
            out = (r.stdout + r.stderr).strip()
            assert r.returncode == 0 and not out, f"{u}: rc {r.returncode}\n{out}"
            print(f"{u}: systemd-analyze verify: clean")
        for u in UNITS:
            r = subprocess.run([sa, "security", "--offline=yes", "--no-pager",
                                f"--threshold={MAX_EXPOSURE}", os.path.join(d, u)],
                               capture_output=True, text=True, timeout=60)
            if "offline" in r.stderr and "unrecognized" in r.stderr:
                print("systemd-analyze security has no --offline here: exposure not rated")
                break
            m = re.search(r"Overall exposure level for (\S+): ([0-9.]+) (\S+)", r.stdout)
            assert m, r.stdout[-2000:] + r.stderr
            print(f"{u}: exposure {m.group(2)} {m.group(3)}")
            assert r.returncode == 0, f"{u}: exposure above {MAX_EXPOSURE / 10}:\n{r.stdout}"
    finally:
        shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(dest, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
