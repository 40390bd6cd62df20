# SPDX-License-Identifier: Apache-2.0
"""Shared by the install and units tests: `meson install --destdir` of the
build under test into a fresh directory, and where things landed."""
import json
import os
import subprocess
import tempfile

BUILD = os.environ.get("IMPALA_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))


def options(meson):
    out = subprocess.run([meson, "introspect", "--buildoptions", BUILD], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return {o["name"]: o["value"] for o in json.loads(out)}


def install(meson):
    """(destdir, build options) after installing the build into destdir."""
    dest = tempfile.mkdtemp(prefix="impala-install-")
    r = subprocess.run([meson, "install", "-C", BUILD, "--destdir", dest, "--no-rebuild",
                        "--quiet"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return dest, options(meson)


def under(dest, path):
    """dest + an absolute install path."""
    return os.path.join(dest, path.lstrip("/"))


def find(dest, name):
    """Every installed file called name, as paths inside dest."""
    return [os.path.join(d, name) for d, _, files in os.walk(dest) if name in files]
