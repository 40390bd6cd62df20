# SPDX-License-Identifier: Apache-2.0
"""Hosts made of Linux network namespaces, for the multi-host test.

Topology (everything inside namespaces this module creates, so no traffic
and no interface touches the machine's own network):

    <prefix>-a1                <prefix>-l                  <prefix>-a2
    eth0 10.213.0.2/24 ---- h1 -+- br0 10.213.0.1/24 -+- h2 ---- eth0 10.213.0.3/24
                     veth pair   (bridge)            veth pair

Names carry a unique prefix with the owner's pid ("imclu<pid>-"), so
cleanup_leftovers() can remove what an earlier, killed run left behind
without touching a run still in progress.  Needs root and `ip`.
"""
import os
import re
import shutil
import subprocess
import sys

PREFIX = "imclu"
SUBNET = "10.213.0"
LEARNER_IP = SUBNET + ".1"


class Unsupported(Exception):
    """Namespaces cannot be made here (the test skips)."""


def ip(*args, check=True, timeout=10):
    r = subprocess.run(["ip", *args], capture_output=True, text=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r


def namespaces():
    r = ip("netns", "list", check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def pids_in(ns):
    r = ip("netns", "pids", ns, check=False)
    return [int(p) for p in r.stdout.split()]


def delete(ns):
    """Kills whatever still runs in ns, then deletes it (its interfaces go
    with it)."""
    for pid in pids_in(ns):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    ip("netns", "del", ns, check=False)


def cleanup_leftovers():
    """Deletes namespaces of earlier runs whose owner process is gone."""
    for ns in namespaces():
        m = re.fullmatch(PREFIX + r"(\d+)-\w+", ns)
        if not m:
            continue
        owner = int(m.group(1))
        if owner != os.getpid() and os.path.exists(f"/proc/{owner}"):
            continue
        delete(ns)


def why_unsupported():
    """None when this process can build namespaces, else the reason."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "needs root (creates network namespaces and veth links)"
    if not shutil.which("ip"):
        return "the `ip` tool (iproute2) is not installed"
    return None


class Hosts:
    """The learner host and two actor hosts; close() removes them."""

    def __init__(self):
        self.tag = f"{PREFIX}{os.getpid()}"
        self.learner = f"{self.tag}-l"
        self.actor_hosts = [f"{self.tag}-a1", f"{self.tag}-a2"]
        self.made = []

    def _add(self, ns):
        r = ip("netns", "add", ns, check=False)
        if r.returncode != 0:
            raise Unsupported(f"cannot create a network namespace: {r.stderr.strip()}")
        self.made.append(ns)
        ip("-n", ns, "link", "set", "lo", "up")

    def build(self):
        self._add(self.learner)
        r = ip("-n", self.learner, "link", "add", "br0", "type", "bridge",
               check=False)
        if r.returncode != 0:
            raise Unsupported(f"cannot create a bridge: {r.stderr.strip()}")
        ip("-n", self.learner, "addr", "add", LEARNER_IP + "/24", "dev", "br0")
        ip("-n", self.learner, "link", "set", "br0", "up")
        for i, ns in enumerate(self.actor_hosts, start=1):
            self._add(ns)
            r = ip("-n", self.learner, "link", "add", f"h{i}", "type", "veth",
                   "peer", "name", "eth0", "netns", ns, check=False)
            if r.returncode != 0:
                raise Unsupported(f"cannot create a veth pair: {r.stderr.strip()}")
            ip("-n", self.learner, "link", "set", f"h{i}", "master", "br0")
            ip("-n", self.learner, "link", "set", f"h{i}", "up")
            ip("-n", ns, "addr", "add", f"{SUBNET}.{i + 1}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
        return self

    def actor_ip(self, i):
        return f"{SUBNET}.{i + 1}"

    def link(self, i, up):
        """Brings actor host i's link (its bridge port) up or down."""
        ip("-n", self.learner, "link", "set", f"h{i}", "up" if up else "down")

    def close(self):
        for ns in reversed(self.made):
            delete(ns)
        self.made = []
