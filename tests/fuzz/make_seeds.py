#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed inputs of the fuzz corpora (tests/fuzz/corpus/<target>/)
from messages and files the project itself produces, plus the shapes of
the inputs that broke or nearly broke it (issue 14): a Welcome and its
Params and a checkpoint from a real, briefly run learner; hand-built
Trajectories (valid for each of the target's three runs, and each defect's
shape); HTTP heads; flag lines from deploy/env/learner.env.

    IMPALA_BUILD=build python3 tests/fuzz/make_seeds.py

Each seed is named by the SHA-1 of its bytes, as libFuzzer names corpus
files, so rerunning adds nothing twice.  After fuzzing, the corpus is
minimised with libFuzzer's -merge=1 (tests/fuzz/README.md)."""
import hashlib
import math
import os
import signal
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import pbwire as pb  # noqa: E402
from harness import Cluster  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
RUN_ID, ACTOR = 0x1234, 1  # the fuzz targets' run and a known actor


def put(target, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def traj(T, obs_shape, obs_dtype, obs_elem, actions, **over):
    n_obs = T + 1
    for s in obs_shape:
        n_obs *= s
    obs = bytes(n_obs) if obs_dtype == pb.DTYPE_UINT8 else pb.floats([0.25] * n_obs)
    term = bytearray(T)
    term[1] = 1
    f = {"protocol_version": pb.PROTOCOL_VERSION, "run_id": RUN_ID, "actor_id": ACTOR,
         "unroll_seq": 1, "param_version": 8, "num_steps": T,
         "obs": ([T + 1, *obs_shape], obs_dtype, obs), "actions": actions,
         "rewards": pb.floats([1.0] * T), "terminated": bytes(term),
         "truncated": bytes(T), "behaviour_logp": pb.floats([-0.5] * T),
         "episodes": [pb.episode(2.0, 2)]}
    f.update(over)
    return pb.trajectory(f)


def trajectories():
    disc = ([5], pb.DTYPE_INT32, pb.int32s([0, 1, 0, 1, 1]))
    cart = lambda **o: traj(5, [4], pb.DTYPE_FLOAT32, 4, disc, **o)  # noqa: E731
    put("trajectory", cart())
    trunc = bytearray(5)
    trunc[3] = 1
    put("trajectory", cart(truncated=bytes(trunc),
                           final_obs=([1, 4], pb.DTYPE_FLOAT32, pb.floats([0.5] * 4))))
    box = ([4, 2], pb.DTYPE_FLOAT32, pb.floats([0.1] * 8))
    put("trajectory", traj(4, [3], pb.DTYPE_FLOAT32, 4, box,
                           lstm_h=pb.floats([0.0] * 8), lstm_c=pb.floats([0.0] * 8),
                           prev_action=([2], pb.DTYPE_FLOAT32, pb.floats([0.0, 0.0])),
                           behaviour_logp=pb.floats([-1.0] * 4)))
    put("trajectory", traj(3, [4, 4, 2], pb.DTYPE_UINT8, 1,
                           ([3], pb.DTYPE_INT32, pb.int32s([0, 1, 2]))))
    # The shapes of issue 14's defects and of the validator's rejections.
    put("trajectory", cart(unroll_seq=(1 << 64) - 1))
    put("trajectory", cart(actor_id=2, episodes=[pb.episode(1e6, 10**9)]))
    put("trajectory", cart(env_index=(1 << 32) - 1))
    put("trajectory", cart(rewards=pb.floats([1.0, math.nan, 1.0, math.inf, 1.0])))
    put("trajectory", cart(obs=([6, 5], pb.DTYPE_FLOAT32, pb.floats([0.0] * 30))))
    put("trajectory", cart(extra=pb.f_bytes(99, bytes(64))))
    put("trajectory", b"\xff" * 16)


def learner_files(tmp):
    """A Welcome (and its Params) from CartPole and from Pendulum with an
    LSTM, and the final checkpoint of the first."""
    runs = [("CartPole-v1", []), ("Pendulum-v1", ["--use-lstm"])]
    for i, (env, extra) in enumerate(runs):
        with Cluster(os.path.join(tmp, str(i))) as c:
            os.makedirs(c.tmp, exist_ok=True)
            c.start_learner("--env", env, "--hidden-dim", "4", "--feature-dim", "4",
                            "--num-steps", "5", "--batch-size", "1", "--num-storages", "2",
                            "--num-learners", "1", "--eval-interval", "0", *extra)
            w = c.request(pb.hello(77, env))
            put("control", w)
            params = pb.first(pb.decode(pb.decode(w)[2][0]), 5)
            put("params", params)
            if i == 0:
                c.start_actor(5, 1)
                c.wait_for(lambda st: st["updates"] >= 2, 30, "two updates")
            c.learner.signal(signal.SIGTERM)
            c.learner.wait(20)
            ckpt = os.path.join(c.tmp, "runs", "default", "seed1", "checkpoint.safetensors")
            if i == 0:
                with open(ckpt, "rb") as f:
                    data = f.read()
                put("ckpt", data)
                (n,) = struct.unpack("<Q", data[:8])
                put("json", data[8:8 + n])


def controls():
    put("control", pb.hello(1, "CartPole-v1"))
    put("control", pb.hello(2, "CartPole-v1\n", host="evil\r\n\x1b[31m", version=2))
    goodbye = (pb.f_varint(1, RUN_ID) + pb.f_varint(2, 3) + pb.f_varint(3, 10)
               + pb.f_bytes(4, b"stopping\n"))
    put("control", pb.f_msg(3, goodbye))
    put("params", pb.f_varint(1, RUN_ID) + pb.f_varint(2, 3) + pb.f_varint(3, 4)
        + pb.f_bytes(4, pb.floats([1.0, 2.0, math.nan, 4.0])) + pb.f_varint(5, 12345))


def checkpoints():
    hdr = b'{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},' \
          b'"__metadata__":{"frames":"12","run_spec":"{}"}}'
    hdr += b" " * (-len(hdr) % 8)
    put("ckpt", struct.pack("<Q", len(hdr)) + hdr + bytes(24))
    put("ckpt", struct.pack("<Q", 1 << 40) + b"{}")
    put("json", b'{"a":[1,-2.5e3,true,null,"\\u00e9\\ud83d\\ude00"],"b":{}}')
    put("json", b"[" * 40 + b"]" * 40)
    put("json", b'{"a":1,"a":2}')


def http():
    for head in [b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                 b"GET /status?x=1 HTTP/1.0\r\n\r\n",
                 b"GET /metrics HTTP/1.1\nAccept: */*\n\n",
                 b"POST /status HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
                 b"GET  /x HTTP/1.1\r\n\r\n",
                 b"GET /\x7f HTTP/1.1\r\n\r\n",
                 b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
                 b"GET /healthz HTTP/1.1\r\nX-A: " + b"a" * 9000 + b"\r\n\r\n",
                 b"GET /healthz HTTP/1.1\r\n"]:
        put("http", head)


def zmtp():
    """A peer's byte stream to the trajectory port, after one byte that
    picks the chunk size the target feeds it in (0: whole)."""
    def greeting(major=3, minor=1, mech=b"NULL"):
        return b"\xff" + bytes(8) + b"\x7f" + bytes([major, minor]) + mech.ljust(20, b"\0") + bytes(32)

    def frame(flags, body):
        if len(body) > 255:
            return bytes([flags | 2]) + struct.pack(">Q", len(body)) + body
        return bytes([flags, len(body)]) + body

    def command(name, body=b""):
        return frame(4, bytes([len(name)]) + name + body)

    def ready(kind=b"PUSH", extra=b""):
        return command(b"READY", extra + b"\x0bSocket-Type" + struct.pack(">I", len(kind)) + kind)

    ping = command(b"PING", b"\x00\x0actx")
    ok = greeting() + ready()
    for chunk, stream in [
            (0, ok + frame(0, b"hello") + ping + frame(0, b"x" * 1000)),
            (1, ok + frame(1, b"a") + frame(0, b"bc") + frame(0, b"")),
            (7, ok + (frame(0, b"t" * 300) + ping) * 4),
            (0, greeting(3, 0) + ready(extra=b"\x08Identity\x00\x00\x00\x00") + frame(0, b"q")),
            (3, ok + frame(0, b"y" * 4097)),
            (0, ok + bytes([2]) + b"\xff" * 8),
            (0, greeting(1, 0)),
            (0, greeting(mech=b"CURVE")),
            (0, greeting() + ready(b"PUB")),
            (0, greeting() + frame(0, b"early")),
            (0, greeting() + command(b"ERROR", b"\x03bad")),
            (0, ok + frame(5, b"\x04PING")),
            (0, ok + frame(8, b"no")),
            (5, b"GET /status HTTP/1.1\r\n\r\n"),
            (0, ok + frame(0, b"z" * 10)[:6])]:
        put("zmtp", bytes([chunk]) + stream)


def flags():
    with open(os.path.join(HERE, "..", "..", "deploy", "env", "learner.env"), "rb") as f:
        env = b"\n".join(l for l in f.read().splitlines() if l.startswith(b"IMPALA_"))
    put("flags", env)
    for args in [b"train\n--env\nCartPole-v1\n--num-steps\n80\n--lr=0.0004",
                 b"--status-addr\n127.0.0.1:99999",
                 b"--tag\n../../x\n--logdir\n/tmp/x",
                 b"IMPALA_NUM_STORAGES=1000000\n--batch-size\n4",
                 b"IMPALA_USE_LSTM=maybe\n--use-lstm",
                 b"eval\n--init-model-path\nx.safetensors\n--resume",
                 b"--network-init-method\northogonal\n--seed\n-1\n--no-use-lstm"]:
        put("flags", args)


def main():
    import tempfile
    trajectories()
    controls()
    checkpoints()
    http()
    flags()
    zmtp()
    learner_files(tempfile.mkdtemp(prefix="impala-seeds-"))
    for t in sorted(os.listdir(CORPUS)):
        print(t, len(os.listdir(os.path.join(CORPUS, t))))


if __name__ == "__main__":
    main()
