#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Multi-host: a learner and two actor hosts in network namespaces joined
by veth links through a bridge in the learner's namespace (netns.py), over
real IP addresses (10.213.0.0/24, private, existing only inside the
namespaces this test makes).

The learner binds 10.213.0.1 (with --insecure: no CURVE keys in this test)
and serves its status port on the loopback of its own namespace, queried
from inside it.  One actor runs on each actor host.  Then actor host 1's
link is cut for CUT_S seconds (its bridge port set down) and restored.

Checked:
* both actors join over the network and training runs (updates grow);
* during the cut training goes on with host 2 (updates and actor 21's
  frames grow), actor 11's frames stop, and the learner drops actor 11 from
  /status after --actor-timeout of silence (measured on the learner's
  clock: /status uptime_s and the row's last_seen_s);
* after the restore, without any restart (the same actor processes, still
  running), actor 11 is back in /status and its frames grow again, and the
  learner keeps updating;
* SIGTERM then ends every process with exit code 0, and the learner never
  counted more unrolls (received plus dropped) than the actors say they
  sent; those in flight when the link died may be lost (IMPALA needs no
  particular unroll), and how many is printed.

Needs root and `ip` (iproute2) with network namespaces, veth and bridge
support; elsewhere it exits 77 with the reason, which meson counts as a
skip.  Every namespace, interface and process is removed at the end, even
on failure; leftovers of an earlier killed run (names carry the owner's
pid) are removed at the start.
"""
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import netns
from util import dropped_total, harness, paced_env, unrolls_sent

CUT_S = 10.0
ACTOR_TIMEOUT = 5.0    # learner: --actor-timeout (shorter than the cut)
LEARNER_TIMEOUT = 3.0  # actors: --learner-timeout
RECOVER_S = 60.0       # bound on the actors' recovery after the restore
BASE_PORT = 5555       # inside the learner's namespace: all ports are free
STATUS_PORT = 8089
ACTOR_IDS = (11, 21)   # actor 11 on host 1, actor 21 on host 2

GET = ("import sys, urllib.request\n"
       "with urllib.request.urlopen(sys.argv[1], timeout=5) as r:\n"
       "    sys.stdout.write(r.read().decode())\n")


class Run:
    def __init__(self, hosts, tmp):
        self.hosts = hosts
        self.tmp = tmp
        self.learner = None
        self.actors = {}

    def status(self):
        r = subprocess.run(["ip", "netns", "exec", self.hosts.learner,
                            sys.executable, "-c", GET,
                            f"http://127.0.0.1:{STATUS_PORT}/status"],
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise OSError(r.stderr.strip()[-300:])
        return json.loads(r.stdout)

    def wait_for(self, pred, timeout, what):
        end = time.time() + timeout
        last = None
        while time.time() < end:
            try:
                last = self.status()
                if pred(last):
                    return last
            except (OSError, ValueError):
                pass
            time.sleep(0.3)
        raise AssertionError(f"timed out waiting for {what}; last status: "
                             f"{json.dumps(last)[:1500] if last else None}")

    def start_learner(self):
        argv = ["ip", "netns", "exec", self.hosts.learner, harness.LEARNER,
                "train", "--env", paced_env(2000),
                "--hidden-dim", "16", "--feature-dim", "16",
                "--num-steps", "20", "--batch-size", "4",
                "--num-storages", "64", "--num-learners", "1",
                "--eval-interval", "0", "--save-interval", "0",
                "--num-train-steps", "1000000000",
                # The test is about membership across a cut link, not
                # staleness: at the vector default --max-policy-lag 20 a
                # loaded actor's unrolls (and actor 11's first ones after
                # the restore) can all be dropped as stale, and the waits
                # on its frames would measure that instead.
                "--max-policy-lag", "0",
                "--actor-timeout", str(ACTOR_TIMEOUT),
                "--bind", f"tcp://{netns.LEARNER_IP}:{BASE_PORT}", "--insecure",
                "--status-addr", f"127.0.0.1:{STATUS_PORT}",
                "--logdir", f"{self.tmp}/runs"]
        self.learner = harness.Proc(argv, f"{self.tmp}/learner.log")
        self.wait_for(lambda s: True, 20, "the learner's status port")

    def start_actor(self, host_index, aid):
        ns = self.hosts.actor_hosts[host_index - 1]
        argv = ["ip", "netns", "exec", ns, harness.ACTOR,
                "--learner", f"tcp://{netns.LEARNER_IP}:{BASE_PORT}",
                "--actor-id", str(aid), "--num-envs", "2",
                "--learner-timeout", str(LEARNER_TIMEOUT)]
        self.actors[aid] = harness.Proc(argv, f"{self.tmp}/actor{aid}.log")

    def stop_all(self):
        for p in list(self.actors.values()) + [self.learner]:
            if p:
                p.stop(grace=15.0)


def row(st, aid):
    for a in st["actors"]:
        if a["id"] == aid:
            return a
    return None


def frames_of(st, aid):
    r = row(st, aid)
    return r["frames"] if r else None


def scenario(run):
    run.start_learner()
    run.start_actor(1, ACTOR_IDS[0])
    run.start_actor(2, ACTOR_IDS[1])
    st = run.wait_for(lambda s: all((row(s, a) or {}).get("unrolls", 0) > 0
                                    for a in ACTOR_IDS) and s["updates"] >= 5,
                      30, "both actors to train over the network")
    hosts_seen = sorted(row(st, a)["host"] for a in ACTOR_IDS)
    print(f"joined: {hosts_seen}, updates {st['updates']}", flush=True)
    pids = {a: p.p.pid for a, p in run.actors.items()}

    # Cut host 1's link for CUT_S seconds, watching the status port.
    before = run.status()
    run.hosts.link(1, up=False)
    t_cut = time.time()
    seen = []  # (seconds into the cut, status)
    while CUT_S - (time.time() - t_cut) > 2.0:
        try:
            seen.append((time.time() - t_cut, run.status()))
        except (OSError, ValueError):
            pass
        time.sleep(0.3)
    time.sleep(max(0.0, CUT_S - (time.time() - t_cut)))
    run.hosts.link(1, up=True)
    t_up = time.time()
    cut_s = t_up - t_cut
    end = seen[-1][1]
    absent = [t for t, st in seen if row(st, ACTOR_IDS[0]) is None]
    assert absent, "the learner kept listing actor 11 through the cut"
    assert all(row(st, ACTOR_IDS[0]) is None for t, st in seen if t >= absent[0]), \
        "actor 11 reappeared while its link was down"
    # Silence is measured on the learner's clock, from the last unroll it
    # had from actor 11 (a listed row's uptime_s - last_seen_s) to the
    # first snapshot without it.  Measured from the cut on this process's
    # clock instead, it failed under load (dropped "after 3.9 s"): the
    # loaded actor had been silent (re-handshaking) since before the cut,
    # and each status read here (a Python started in the namespace) took
    # seconds, so a sample's time was not the time of its snapshot.
    heard = max(st["uptime_s"] - row(st, ACTOR_IDS[0])["last_seen_s"]
                for st in [before] + [st for t, st in seen]
                if row(st, ACTOR_IDS[0]) is not None)
    gone = next(st for t, st in seen if row(st, ACTOR_IDS[0]) is None)
    silent = gone["uptime_s"] - heard
    assert silent >= ACTOR_TIMEOUT - 0.01, \
        f"actor 11 dropped after {silent:.2f} s of silence, before --actor-timeout"
    assert end["updates"] > before["updates"], "training stopped during the cut"
    assert frames_of(end, ACTOR_IDS[1]) > frames_of(before, ACTOR_IDS[1]), \
        "actor 21 stopped during host 1's cut"
    print(f"cut {cut_s:.1f} s: updates {before['updates']} -> {end['updates']}, "
          f"actor 11 dropped from the status list {absent[0]:.1f} s into it, "
          f"after {silent:.2f} s of silence", flush=True)
    # Only a lower bound: a status read that took seconds on a loaded
    # machine makes the cut longer, which changes nothing checked here.
    assert cut_s >= CUT_S, f"the cut lasted {cut_s:.1f} s"

    # Restored: the same actor process comes back by itself.
    back = run.wait_for(lambda s: (frames_of(s, ACTOR_IDS[0]) or 0) > 0,
                        RECOVER_S, "actor 11 to come back after the restore")
    print(f"actor 11 back {time.time() - t_up:.1f} s after the restore",
          flush=True)
    time.sleep(2.0)
    later = run.status()
    assert frames_of(later, ACTOR_IDS[0]) > frames_of(back, ACTOR_IDS[0]), \
        "actor 11's frames do not grow after the restore"
    assert later["updates"] > back["updates"] > end["updates"], \
        "training did not continue after the restore"
    for aid, p in run.actors.items():
        assert p.alive() and p.p.pid == pids[aid], f"actor {aid} was restarted"
    print(f"after the restore: updates {later['updates']}, actor 11 frames "
          f"{frames_of(later, ACTOR_IDS[0])}, seq gaps "
          f"{later['unroll_seq_gaps']}, repeats {later['unroll_seq_repeats']}",
          flush=True)
    assert later["unroll_seq_repeats"] == 0, "unrolls duplicated on reconnect"

    # Orderly end, and the unrolls: the ones in flight when the link died
    # may be lost (the learner needs no particular unroll), but the learner
    # never counts more than the actors sent.
    sent = 0
    for aid, p in run.actors.items():
        p.signal(signal.SIGTERM)
        assert p.wait(15) == 0, f"actor {aid}: {p.text()[-1500:]}"
        n = unrolls_sent(p.text())
        assert n, f"actor {aid} did not log its unrolls sent"
        sent += n
    final = settle(run)
    got = final["unrolls_received"] + dropped_total(final)
    print(f"unrolls sent {sent}, received {final['unrolls_received']}, "
          f"dropped {dropped_total(final)}: {sent - got} lost with the link",
          flush=True)
    assert got <= sent, "the learner counted more unrolls than were sent"
    assert final["unrolls_received"] == (final["unrolls_batched"] + final["unrolls_evicted"]
                                         + final["store"]["depth"]), "store ledger does not add up"
    run.learner.signal(signal.SIGTERM)
    assert run.learner.wait(20) == 0, run.learner.text()[-2000:]


def settle(run):
    """The learner's status once its counters stopped moving."""
    last, st = None, None
    end = time.time() + 20
    while time.time() < end:
        st = run.status()
        key = (st["unrolls_received"], dropped_total(st), st["unrolls_batched"],
               st["unrolls_evicted"], st["store"]["depth"])
        if key == last:
            return st
        last = key
        time.sleep(1.0)
    raise AssertionError("learner counters kept moving after the actors stopped")


def on_term(signum, frame):
    # meson's timeout sends SIGTERM: unwind through the finally blocks.
    raise KeyboardInterrupt(f"signal {signum}")


def main():
    reason = netns.why_unsupported()
    if reason:
        print(f"SKIP: {reason}")
        return 77
    signal.signal(signal.SIGTERM, on_term)
    netns.cleanup_leftovers()
    hosts = netns.Hosts()
    run = None
    try:
        try:
            hosts.build()
        except netns.Unsupported as e:
            print(f"SKIP: {e}")
            return 77
        run = Run(hosts, tempfile.mkdtemp(prefix="impala-multihost-"))
        try:
            scenario(run)
        except BaseException:
            for name in ["learner"] + [f"actor{a}" for a in ACTOR_IDS]:
                try:
                    with open(f"{run.tmp}/{name}.log") as f:
                        print(f"--- {name}.log (tail) ---\n{f.read()[-3000:]}")
                except OSError:
                    pass
            raise
    finally:
        if run:
            run.stop_all()
        hosts.close()
    left = [ns for ns in netns.namespaces() if ns.startswith(hosts.tag + "-")]
    assert not left, f"namespaces left behind: {left}"
    shutil.rmtree(run.tmp, ignore_errors=True)  # kept when the test fails
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
