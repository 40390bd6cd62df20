# SPDX-License-Identifier: Apache-2.0
"""The protobuf wire format of proto/impala.proto, written by hand (python3
standard library only), so the tests build exact messages, valid or broken,
and read the learner's replies without protoc or the C code under test.

Encoding follows proto3: scalar fields equal to their default are left out,
repeated scalars are packed.  Decoding returns {field number: [values]}:
varints as int, length-delimited fields as bytes, fixed32/fixed64 as bytes.
"""
import random
import struct

PROTOCOL_VERSION = 2
# Hello.instance of this process: one test program is one actor process, so
# its Hellos for an id re-bind it (a learner refuses another instance's
# Hello for an id that is live: REFUSAL_ACTOR_ID_IN_USE).
INSTANCE = random.SystemRandom().getrandbits(64) | 1
DTYPE_FLOAT32, DTYPE_UINT8, DTYPE_INT32 = 0, 1, 2

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


def varint(n):
    if n < 0:
        n += 1 << 64  # int32/int64 negatives are ten-byte varints
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def f_varint(field, n):
    return key(field, _VARINT) + varint(n) if n else b""


def f_bytes(field, data):
    return key(field, _LEN) + varint(len(data)) + data if data else b""


def f_msg(field, body):
    """An embedded message; written even when empty (it is then present)."""
    return key(field, _LEN) + varint(len(body)) + body


def f_float(field, x):
    return key(field, _I32) + struct.pack("<f", x) if x != 0.0 else b""


def f_packed_varints(field, values):
    return f_bytes(field, b"".join(varint(v) for v in values))


def f_packed_floats(field, values):
    return f_bytes(field, struct.pack("<%df" % len(values), *values))


def floats(values):
    return struct.pack("<%df" % len(values), *values)


def int32s(values):
    return struct.pack("<%di" % len(values), *values)


def tensor(shape, dtype, data):
    return f_packed_varints(1, shape) + f_varint(2, dtype) + f_bytes(3, data)


def hello(actor_id, env_name="", host="e2e-test", pid=1, num_envs=1,
          version=PROTOCOL_VERSION, instance=INSTANCE):
    h = (f_varint(1, version) + f_varint(2, actor_id) + f_bytes(3, host.encode())
         + f_varint(4, pid) + f_bytes(5, env_name.encode()) + f_varint(6, num_envs)
         + f_varint(9, instance))
    return f_msg(1, h)  # Control.hello


def goodbye(run_id, actor_id, reason="", unrolls_sent=0, instance=INSTANCE):
    g = (f_varint(1, run_id) + f_varint(2, actor_id) + f_varint(3, unrolls_sent)
         + f_bytes(4, reason.encode()) + f_varint(5, instance))
    return f_msg(3, g)  # Control.goodbye


def episode(ret, length, truncated=False):
    return f_float(1, ret) + f_varint(2, length) + f_varint(3, int(truncated))


def trajectory(f):
    """Encodes a Trajectory from a dict of its fields (names as in the
    proto).  Tensors are (shape, dtype, data) triples; `episodes` a list of
    encoded Episode bodies; `extra` raw bytes appended as they are."""
    out = [f_varint(1, f.get("protocol_version", 0)), f_varint(2, f.get("run_id", 0)),
           f_varint(3, f.get("actor_id", 0)), f_varint(4, f.get("env_index", 0)),
           f_varint(5, f.get("unroll_seq", 0)), f_varint(6, f.get("param_version", 0)),
           f_varint(7, f.get("num_steps", 0))]
    for num, name in ((8, "obs"), (9, "actions")):
        if f.get(name) is not None:
            out.append(f_msg(num, tensor(*f[name])))
    for num, name in ((10, "rewards"), (11, "terminated"), (12, "truncated"),
                      (13, "behaviour_logp")):
        out.append(f_bytes(num, f.get(name, b"")))
    if f.get("final_obs") is not None:
        out.append(f_msg(14, tensor(*f["final_obs"])))
    out.append(f_bytes(15, f.get("lstm_h", b"")))
    out.append(f_bytes(16, f.get("lstm_c", b"")))
    if f.get("prev_action") is not None:
        out.append(f_msg(17, tensor(*f["prev_action"])))
    out.append(f_float(18, f.get("prev_reward", 0.0)))
    for e in f.get("episodes", []):
        out.append(f_msg(19, e))
    out.append(f.get("extra", b""))
    return b"".join(out)


def decode(buf):
    """{field number: [values]} of one message; raises ValueError when the
    buffer is not a valid encoding."""
    out = {}
    i = 0

    def read_varint():
        nonlocal i
        n = shift = 0
        while True:
            if i >= len(buf) or shift > 63:
                raise ValueError("bad varint")
            b = buf[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    while i < len(buf):
        k = read_varint()
        field, wire = k >> 3, k & 7
        if wire == _VARINT:
            v = read_varint()
        elif wire == _LEN:
            n = read_varint()
            if i + n > len(buf):
                raise ValueError("length beyond the buffer")
            v = bytes(buf[i:i + n])
            i += n
        elif wire in (_I32, _I64):
            n = 4 if wire == _I32 else 8
            if i + n > len(buf):
                raise ValueError("fixed field beyond the buffer")
            v = bytes(buf[i:i + n])
            i += n
        else:
            raise ValueError("wire type %d" % wire)
        out.setdefault(field, []).append(v)
    return out


def first(msg, field, default=None):
    return msg.get(field, [default])[0]


def packed_varints(data):
    """The values of a packed repeated varint field's bytes."""
    vals, i = [], 0
    while i < len(data):
        n = shift = 0
        while True:
            b = data[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        vals.append(n)
    return vals


def welcome(control_bytes):
    """The parts of a Control{Welcome} the tests use: refusal, reason, the
    run id, observation shape, number of actions, action dim, num_steps,
    lstm_hidden and the Params (version, count, data bytes, checksum)."""
    c = decode(control_bytes)
    if 2 not in c:
        raise ValueError("not a Welcome: fields %s" % sorted(c))
    w = decode(c[2][0])
    spec = decode(first(w, 4, b""))
    model = decode(first(spec, 12, b""))
    params = decode(first(w, 5, b""))
    return {
        "refusal": first(w, 2, 0),
        "reason": first(w, 3, b"").decode(),
        "run_id": first(spec, 1, 0),
        "env_name": first(spec, 2, b"").decode(),
        "num_steps": first(spec, 4, 0),
        "obs_shape": packed_varints(first(spec, 5, b"")),
        "action_kind": first(spec, 7, 0),
        "num_actions": first(spec, 8, 0),
        "action_dim": first(spec, 9, 0),
        "use_lstm": first(model, 5, 0),
        "lstm_hidden": first(model, 6, 0),
        "param_version": first(params, 2, 0),
        "param_count": first(params, 3, 0),
        "params": first(params, 4, b""),
        "checksum": first(params, 5, 0),
    }
