#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`meson install` puts everything a deployment needs under the prefix: the
three programs, the systemd units (in systemd's unit directory for the
prefix, with ExecStart naming the installed programs), the example
environment files, the plugin header and the documentation.  And every
IMPALA_* variable that the example files and the units set is a real flag
of the program they configure, so the examples cannot drift from --help."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from install_tree import find, install, under  # noqa: E402


def flag_vars(program):
    out = subprocess.run([program, "--help"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    return set(re.findall(r"\((IMPALA_[A-Z0-9_]+),", out))


def set_vars(path):
    """IMPALA_* names assigned in path, commented-out examples included."""
    names = set()
    for line in open(path):
        m = re.match(r"\s*#?\s*(?:Environment=)?(IMPALA_[A-Z0-9_]+)=", line)
        if m:
            names.add(m.group(1))
    return names


def main():
    dest, opt = install(sys.argv[1])
    try:
        prefix = opt["prefix"]
        bindir = os.path.join(prefix, opt["bindir"])
        for prog in ("impala-learner", "impala-actor", "impala-keygen"):
            p = under(dest, os.path.join(bindir, prog))
            assert os.access(p, os.X_OK), p
        units = {}
        for u in ("impala-learner.service", "impala-actor@.service"):
            hits = find(dest, u)
            assert len(hits) == 1, (u, hits)
            rel = "/" + os.path.relpath(hits[0], dest)
            assert rel.startswith(prefix) and rel.endswith("lib/systemd/system/" + u), rel
            text = open(hits[0]).read()
            assert "@bindir@" not in text and "@docdir@" not in text, u
            prog = "impala-learner" if "learner" in u else "impala-actor"
            assert re.search(r"^ExecStart=" + re.escape(os.path.join(bindir, prog)) + r"\b",
                             text, re.M), text
            units[prog] = hits[0]
        data = os.path.join(prefix, opt["datadir"])
        examples = under(dest, os.path.join(data, "impala", "examples"))
        for f in ("learner.env", "actor.env"):
            assert os.path.isfile(os.path.join(examples, f)), f
        assert os.path.isfile(under(dest, os.path.join(prefix, opt["includedir"], "impala",
                                                        "impala_env_plugin.h")))
        doc = under(dest, os.path.join(data, "doc", "impala"))
        assert os.path.isfile(os.path.join(doc, "README.md"))
        assert os.path.isfile(os.path.join(doc, "deploy", "README.md"))

        for prog, env in (("impala-learner", "learner.env"), ("impala-actor", "actor.env")):
            known = flag_vars(under(dest, os.path.join(bindir, prog)))
            for path in (os.path.join(examples, env), units[prog]):
                unknown = set_vars(path) - known
                assert not unknown, (path, sorted(unknown))
    finally:
        shutil.rmtree(dest, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
