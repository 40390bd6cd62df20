#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Bad input at a live learner (issue 4, "Bad input").

A learner runs with no actors, so it never updates.  Hand-built messages
(tests/e2e/pbwire.py encodes proto/impala.proto itself) go to its
trajectory socket (PUSH to base+1) and handshake socket (DEALER to base)
through tests/e2e/zmq_peer.  For each bad message:
  - impala_dropped_messages_total{reason=...} of its reason rises by exactly
    one and no other reason moves, nothing is accepted;
  - the learner keeps running (/healthz answers, the process lives);
  - the parameters handed out in a Welcome are bit-identical to those before
    it, at the same version, and no update happened.
A valid unroll built the same way is accepted before and after the bad ones,
so each bad case differs from an acceptable message in the one way it names.

The learner starts from the weights of a checkpoint of an earlier run (a new
run id), so an unroll carrying that earlier run's id is "stale_run_id" and
any other id is "foreign_run_id".
"""
import math
import os
import signal
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import pbwire as pb  # noqa: E402
from harness import Cluster, checkpoint_header, http_get  # noqa: E402

T = 20             # --num-steps of the learner under test
ACTOR_ID = 4242
DROPPED = 'impala_dropped_messages_total{reason="%s"}'


def earlier_checkpoint(tmp):
    """Trains a tiny run briefly and returns (checkpoint path, its run id)."""
    os.makedirs(os.path.join(tmp, "earlier"))
    with Cluster(os.path.join(tmp, "earlier")) as c:
        c.start_learner("--env", "CartPole-v1", "--hidden-dim", "16", "--feature-dim", "16",
                        "--num-steps", str(T), "--batch-size", "2", "--num-storages", "8",
                        "--num-learners", "1", "--eval-interval", "0", "--save-interval", "0")
        c.start_actor(1, 2)
        c.wait_for(lambda s: s["updates"] >= 3, 30, "a few updates of the earlier run")
        c.learner.signal(signal.SIGTERM)
        assert c.learner.wait(20) == 0, c.learner.text()[-2000:]
        path = os.path.join(c.tmp, "runs", "default", "seed1", "checkpoint.safetensors")
    meta = checkpoint_header(path)["__metadata__"]
    return path, int(meta["run_id"], 16)


def valid_fields(w, **over):
    """A valid unroll for the Welcome w (CartPole: obs (4,), Discrete(2)):
    one episode ends at step 9 (terminated, with its record), the rest runs
    on; every array has the run's shape and finite values."""
    obs_dim = w["obs_shape"][0]
    obs = [0.01 * ((i * 7) % 13 - 6) for i in range((T + 1) * obs_dim)]
    term = bytearray(T)
    term[9] = 1
    f = {
        "protocol_version": pb.PROTOCOL_VERSION,
        "run_id": w["run_id"],
        "actor_id": ACTOR_ID,
        "param_version": w["param_version"],
        "num_steps": T,
        "obs": ([T + 1, obs_dim], pb.DTYPE_FLOAT32, pb.floats(obs)),
        "actions": ([T], pb.DTYPE_INT32, pb.int32s([t % 2 for t in range(T)])),
        "rewards": pb.floats([1.0] * T),
        "terminated": bytes(term),
        "truncated": bytes(T),
        "behaviour_logp": pb.floats([math.log(0.5)] * T),
        "episodes": [pb.episode(10.0, 10)],
    }
    f.update(over)
    return f


def bad_cases(w, stale_run_id):
    """(name, reason, message bytes) for every kind of bad input."""
    obs_dim = w["obs_shape"][0]
    ok = valid_fields(w)

    def traj(**over):
        return pb.trajectory(valid_fields(w, **over))

    def rewards_with(x):
        r = [1.0] * T
        r[3] = x
        return pb.floats(r)

    valid = pb.trajectory(ok)
    obs_bytes = ok["obs"][2]
    inf_obs = bytearray(obs_bytes)
    inf_obs[4 * 5:4 * 6] = struct.pack("<f", math.inf)
    truncated = valid[:len(valid) // 2]
    try:
        pb.decode(truncated)
        raise AssertionError("the truncated case must cut a field short")
    except ValueError:
        pass
    # The run's bound on one unroll (T=20, 4 floats per observation) is a few
    # KB; 60 KB of an unknown field is far above it and below the PULL
    # socket's ZMQ_MAXMSGSIZE, so the learner itself must refuse it.
    oversized = valid + pb.f_bytes(99, bytes(60000))
    return [
        ("not a protobuf", "decode_error", b"\xff" * 64),
        ("truncated", "decode_error", truncated),
        ("oversized", "oversized", oversized),
        ("the previous protocol version", "bad_protocol_version",
         traj(protocol_version=pb.PROTOCOL_VERSION - 1)),
        ("the next protocol version", "bad_protocol_version",
         traj(protocol_version=pb.PROTOCOL_VERSION + 1)),
        ("protocol version missing", "bad_protocol_version", traj(protocol_version=0)),
        ("foreign run id", "foreign_run_id", traj(run_id=w["run_id"] ^ 0x5A5A5A5A)),
        ("stale run id", "stale_run_id", traj(run_id=stale_run_id)),
        ("num_steps T-1", "bad_num_steps", traj(num_steps=T - 1)),
        ("obs shape [T+1, d+1]", "bad_shape",
         traj(obs=([T + 1, obs_dim + 1], pb.DTYPE_FLOAT32,
                   pb.floats([0.0] * ((T + 1) * (obs_dim + 1)))))),
        ("obs missing", "bad_shape", traj(obs=None)),
        ("obs one float short", "bad_length",
         traj(obs=([T + 1, obs_dim], pb.DTYPE_FLOAT32, obs_bytes[:-4]))),
        ("actions as float32", "bad_dtype",
         traj(actions=([T], pb.DTYPE_FLOAT32, pb.floats([0.0] * T)))),
        ("rewards T-1 floats", "bad_length", traj(rewards=pb.floats([1.0] * (T - 1)))),
        ("terminated T+1 bytes", "bad_length", traj(terminated=bytes(T + 1))),
        ("reward NaN", "non_finite", traj(rewards=rewards_with(math.nan))),
        ("reward +inf", "non_finite", traj(rewards=rewards_with(math.inf))),
        ("obs -inf", "non_finite",
         traj(obs=([T + 1, obs_dim], pb.DTYPE_FLOAT32, bytes(inf_obs)))),
        ("behaviour_logp NaN", "non_finite",
         traj(behaviour_logp=pb.floats([math.nan] + [math.log(0.5)] * (T - 1)))),
        ("action 2 of Discrete(2)", "bad_action",
         traj(actions=([T], pb.DTYPE_INT32, pb.int32s([0] * (T - 1) + [2])))),
        ("action -1", "bad_action",
         traj(actions=([T], pb.DTYPE_INT32, pb.int32s([-1] + [0] * (T - 1))))),
        ("done flag 2", "bad_flag", traj(terminated=bytes([2]) + bytes(T - 1))),
        ("log-probability above 0", "bad_logp",
         traj(behaviour_logp=pb.floats([0.5] + [math.log(0.5)] * (T - 1)))),
        ("truncated step without final_obs", "bad_final_obs",
         traj(truncated=bytes(T - 1) + b"\x01")),
        ("LSTM state without an LSTM", "bad_lstm_state", traj(lstm_h=pb.floats([0.0] * 4))),
        ("future parameter version", "future_param_version",
         traj(param_version=w["param_version"] + 1000)),
        ("more episodes than episode ends", "too_many_episodes",
         traj(episodes=[pb.episode(10.0, 10), pb.episode(5.0, 5)])),
    ]


class Checker:
    def __init__(self, c, w0):
        self.c = c
        self.w0 = w0

    def snapshot(self):
        m = self.c.metrics()
        return {k: v for k, v in m.items()
                if k.startswith("impala_dropped_messages_total")}, m

    def params_unchanged(self, what):
        w = welcome(self.c)
        assert w["params"] == self.w0["params"], f"{what}: parameters changed"
        assert w["param_version"] == self.w0["param_version"], f"{what}: version moved"
        assert w["run_id"] == self.w0["run_id"], what

    def expect_one(self, what, reason, send):
        """Sends (send()) and checks the counters: exactly reason += 1."""
        before, mb = self.snapshot()
        key = DROPPED % reason
        assert key in before, f"/metrics has no {key}"
        send()
        end = time.time() + 10
        while time.time() < end:
            after, ma = self.snapshot()
            if after[key] != before[key]:
                break
            time.sleep(0.05)
        # Two more status periods (200 ms each), so a late double count shows.
        time.sleep(0.5)
        after, ma = self.snapshot()
        moved = {k: after[k] - before[k] for k in before if after[k] != before[k]}
        assert moved == {key: 1}, f"{what}: counters moved {moved}, expected {key} += 1"
        for k in ("impala_unrolls_received_total", "impala_updates_total"):
            assert ma[k] == mb[k], f"{what}: {k} {mb[k]} -> {ma[k]}"
        assert self.c.learner.alive(), f"{what}: learner exited: {self.c.learner.text()[-2000:]}"
        assert http_get(self.c.status_port, "/healthz")[0] == 200, what
        self.params_unchanged(what)

    def expect_accepted(self, msg):
        before, mb = self.snapshot()
        self.c.push(msg)
        n = mb["impala_unrolls_received_total"] + 1
        self.c.wait_for(lambda s: s["unrolls_received"] == n, 10,
                        "the valid unroll to be accepted")
        after, _ = self.snapshot()
        assert after == before, f"a valid unroll was counted as dropped: {before} -> {after}"


def welcome(c):
    reply = c.request(pb.hello(ACTOR_ID), timeout_ms=10000)
    assert reply is not None, "no Welcome"
    w = pb.welcome(reply)
    assert w["refusal"] == 0, w["reason"]
    assert len(w["params"]) == 4 * w["param_count"] > 0, "Welcome without parameters"
    return w


def main():
    with Cluster() as c:
        ckpt, stale = earlier_checkpoint(c.tmp)
        c.start_learner("--env", "CartPole-v1", "--hidden-dim", "16", "--feature-dim", "16",
                        "--num-steps", str(T), "--batch-size", "8", "--num-storages", "8",
                        "--num-learners", "1", "--eval-interval", "0", "--save-interval", "0",
                        "--init-model-path", ckpt)
        w0 = welcome(c)
        assert w0["run_id"] != stale, "a weights-only start must begin a new run"
        assert w0["num_steps"] == T and w0["obs_shape"] == [4] and w0["num_actions"] == 2, w0
        chk = Checker(c, w0)
        valid = pb.trajectory(valid_fields(w0))
        chk.expect_accepted(valid)
        chk.params_unchanged("after a valid unroll (batch not full)")

        for what, reason, msg in bad_cases(w0, stale):
            chk.expect_one(what, reason, lambda m=msg: c.push(m))

        # Far above the socket's ZMQ_MAXMSGSIZE (twice the run's bound plus
        # 64 KiB): ZeroMQ cuts the sender off before the learner sees a byte,
        # so nothing is counted (learner/receiver.h), and nothing changes.
        before, mb = chk.snapshot()
        c.push(valid + pb.f_bytes(99, bytes(4 << 20)))
        time.sleep(1.0)
        after, ma = chk.snapshot()
        assert after == before and ma["impala_unrolls_received_total"] == \
            mb["impala_unrolls_received_total"], (before, after)
        assert c.learner.alive() and http_get(c.status_port, "/healthz")[0] == 200
        chk.params_unchanged("after a 4 MiB message")

        # A burst: 200 bad unrolls at once are all counted, and the warnings
        # about them are rate-limited (a burst of at most 5 per 5 s).
        nan = pb.trajectory(valid_fields(w0, rewards=pb.floats([math.nan] * T)))
        key = DROPPED % "non_finite"
        before = c.metrics()[key]
        lines = c.learner.text().count("rejected a message")
        c.push(*([nan] * 200))
        c.wait_for(lambda s: s["dropped"]["non_finite"] == before + 200, 20,
                   "200 non_finite drops")
        time.sleep(0.5)
        assert c.metrics()[key] == before + 200
        logged = c.learner.text().count("rejected a message") - lines
        assert 0 <= logged <= 5, f"{logged} warnings for a burst of 200: not rate-limited"
        assert lines >= 5 and "not a valid protobuf encoding" in c.learner.text(), \
            "rejections must be logged, with their reason"
        chk.params_unchanged("after a burst")

        # The handshake socket: garbage, a Welcome sent by a "peer", and a
        # two-frame message; none gets a reply.
        bad_hs = os.path.join(c.tmp, "hs.bin")
        with open(bad_hs, "wb") as f:
            f.write(b"\xff" * 64)
        chk.expect_one("handshake: not a protobuf", "decode_error",
                       lambda: assertion(c.request(b"\xff" * 64, 1000) is None, "reply to garbage"))
        chk.expect_one("handshake: a Welcome from a peer", "wrong_message",
                       lambda: assertion(c.request(pb.f_msg(2, b""), 1000) is None,
                                         "reply to a Welcome"))
        chk.expect_one("handshake: two frames", "wrong_message",
                       lambda: assertion(c.peer("dealer2", c.address, bad_hs) == 0,
                                         "two-frame message got a reply"))
        hs_warnings = c.learner.text().count("rejected a handshake message")
        assert hs_warnings == 3, f"{hs_warnings} warnings for 3 bad handshake messages"
        # Another protocol version in Hello (the previous one, or any other)
        # is refused with a reason naming both.
        for v in (pb.PROTOCOL_VERSION - 1, 7):
            reply = c.request(pb.hello(ACTOR_ID + 1, version=v))
            r = pb.welcome(reply)
            want = f"learner speaks protocol version {pb.PROTOCOL_VERSION}, actor {v}"
            assert r["refusal"] == 1 and r["reason"] == want, r
            assert not r["params"], "a refused Hello must not carry parameters"

        # The receiver still takes good unrolls after all that.
        chk.expect_accepted(valid)
        chk.params_unchanged("at the end")
        c.learner.signal(signal.SIGTERM)
        assert c.learner.wait(20) == 0, c.learner.text()[-2000:]
    print("ok")


def assertion(cond, msg):
    assert cond, msg


if __name__ == "__main__":
    main()
