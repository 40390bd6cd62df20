#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Where a process's resident memory is, by kind of mapping, read from
/proc/PID/smaps (issue 14's soak: which mapping grows?).

Kinds (glibc on Linux, x86-64):
  heap          the main arena ([heap], the brk segment)
  arenas        the other threads' malloc arenas: anonymous read-write
                mappings starting on a 64 MiB boundary (glibc reserves each
                arena heap as an aligned 64 MiB region and opens its start)
  stacks        thread stacks: anonymous read-write mappings right above a
                4 KiB no-access guard page (pthread's layout), and [stack]
  anon_other    every other anonymous mapping: blocks malloc serves with
                mmap (above its mmap threshold), OpenBLAS's buffers, ...
  file_zmq      libzmq's mappings (code and data)
  file_other    every other file-backed mapping
The arenas are also listed one by one (start address: resident KB), so a
growth can be pinned to one arena.

Usage as a tracer: smaps.py --pid PID [--every 0.5] [--port STATUS_PORT]
prints one JSON object a line: t, VmRSS, the kinds, the arenas and, with
--port, the learner's heap gauges and trim counter (to tell samples taken
just after a trim from samples taken just before the next).
"""
import argparse
import json
import time
import urllib.request

ARENA_ALIGN = 64 << 20
KINDS = ("heap", "arenas", "stacks", "anon_other", "file_zmq", "file_other")


def _mappings(pid):
    """(start, end, perms, name, rss bytes) per mapping of pid."""
    out = []
    cur = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if not head:
                continue
            if "-" in head[0] and not head[0].endswith(":"):
                lo, hi = (int(x, 16) for x in head[0].split("-"))
                cur = [lo, hi, head[1], head[5] if len(head) > 5 else "", 0]
                out.append(cur)
            elif head[0] == "Rss:" and cur is not None:
                cur[4] = int(head[1]) * 1024
    return out


def classify(pid):
    """{kind: resident bytes} of pid, plus "arena_list": {hex start: KB}."""
    kinds = dict.fromkeys(KINDS, 0)
    arenas = {}
    maps = _mappings(pid)
    prev = None
    for lo, hi, perms, name, rss in maps:
        if name == "[heap]":
            kind = "heap"
        elif name == "[stack]":
            kind = "stacks"
        elif name.startswith("/"):
            kind = "file_zmq" if "libzmq" in name else "file_other"
        elif name:
            kind = "anon_other"  # [vdso], [vvar], ...
        elif perms.startswith("rw") and lo % ARENA_ALIGN == 0:
            kind = "arenas"
            arenas[hex(lo)] = rss // 1024
        elif (perms.startswith("rw") and prev is not None and prev[1] == lo
              and prev[2].startswith("---") and prev[1] - prev[0] == 4096):
            kind = "stacks"
        else:
            kind = "anon_other"
        kinds[kind] += rss
        prev = (lo, hi, perms)
    kinds["arena_list"] = arenas
    return kinds


def vmrss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


def heap_gauges(port):
    """The learner's impala_heap_* gauges and trim counter, or {}."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith("impala_heap_"):
            k, _, v = line.partition(" ")
            out[k[len("impala_heap_"):]] = float(v)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--every", type=float, default=0.5)
    ap.add_argument("--port", type=int, default=None)
    args = ap.parse_args()
    t0 = time.time()
    while True:
        try:
            s = {"t": round(time.time() - t0, 2), "rss": vmrss(args.pid)}
            s.update(classify(args.pid))
        except (OSError, ValueError):
            return
        if args.port:
            s.update(heap_gauges(args.port))
        print(json.dumps(s), flush=True)
        time.sleep(args.every)


if __name__ == "__main__":
    main()
