#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An independent reader of TensorBoard event files, for the tests: the
TFRecord framing and CRC-32C here in plain Python, the Event messages
decoded by Debian's python3-protobuf from a schema built below with
TensorBoard's field numbers (tensorboard/compat/proto/event.proto and
summary.proto), not from our proto/tb_event.proto.

    read_tfevents.py FILE     prints one JSON object per event; exits 1
                              with the offset on the first bad record

read_events(path) returns [{"wall_time", "step", "kind", ...}] and raises
BadRecord on a CRC mismatch, a truncated record or an undecodable Event."""
import json
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


class BadRecord(Exception):
    pass


def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(blob):
    """(offset, data) of each record; BadRecord on anything wrong."""
    off = 0
    while off < len(blob):
        if off + 12 > len(blob):
            raise BadRecord(f"offset {off}: truncated header")
        head = blob[off:off + 8]
        (n,) = struct.unpack("<Q", head)
        (hcrc,) = struct.unpack("<I", blob[off + 8:off + 12])
        if masked_crc(head) != hcrc:
            raise BadRecord(f"offset {off}: length CRC mismatch")
        end = off + 12 + n + 4
        if end > len(blob):
            raise BadRecord(f"offset {off}: truncated record of {n} bytes")
        data = blob[off + 12:off + 12 + n]
        (dcrc,) = struct.unpack("<I", blob[end - 4:end])
        if masked_crc(data) != dcrc:
            raise BadRecord(f"offset {off}: data CRC mismatch")
        yield off, data
        off = end


def _schema():
    F = descriptor_pb2.FieldDescriptorProto
    fd = descriptor_pb2.FileDescriptorProto(name="tb_reader_test.proto", package="tbreader",
                                            syntax="proto3")

    def field(msg, name, number, ftype, label=F.LABEL_OPTIONAL, type_name=None, oneof=None):
        f = msg.field.add(name=name, number=number, type=ftype, label=label)
        if type_name:
            f.type_name = type_name
        if oneof is not None:
            f.oneof_index = oneof

    summary = fd.message_type.add(name="Summary")
    value = summary.nested_type.add(name="Value")
    value.oneof_decl.add(name="value")
    field(value, "tag", 1, F.TYPE_STRING)
    field(value, "simple_value", 2, F.TYPE_FLOAT, oneof=0)
    field(summary, "value", 1, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".tbreader.Summary.Value")
    slog = fd.message_type.add(name="SessionLog")
    status = slog.enum_type.add(name="SessionStatus")
    for i, n in enumerate(["STATUS_UNSPECIFIED", "START", "STOP", "CHECKPOINT"]):
        status.value.add(name=n, number=i)
    field(slog, "status", 1, F.TYPE_ENUM, type_name=".tbreader.SessionLog.SessionStatus")
    field(slog, "checkpoint_path", 2, F.TYPE_STRING)
    field(slog, "msg", 3, F.TYPE_STRING)
    event = fd.message_type.add(name="Event")
    event.oneof_decl.add(name="what")
    field(event, "wall_time", 1, F.TYPE_DOUBLE)
    field(event, "step", 2, F.TYPE_INT64)
    field(event, "file_version", 3, F.TYPE_STRING, oneof=0)
    field(event, "graph_def", 4, F.TYPE_BYTES, oneof=0)
    field(event, "summary", 5, F.TYPE_MESSAGE, type_name=".tbreader.Summary", oneof=0)
    field(event, "session_log", 7, F.TYPE_MESSAGE, type_name=".tbreader.SessionLog", oneof=0)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    desc = pool.FindMessageTypeByName("tbreader.Event")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


Event = _schema()


def decode(data, off=0):
    ev = Event()
    try:
        ev.ParseFromString(data)
    except Exception as e:  # protobuf raises DecodeError and others
        raise BadRecord(f"offset {off}: not an Event: {e}")
    if ev.UnknownFields() if hasattr(ev, "UnknownFields") else False:
        raise BadRecord(f"offset {off}: fields TensorBoard does not define")
    out = {"wall_time": ev.wall_time, "step": ev.step, "kind": ev.WhichOneof("what")}
    if out["kind"] == "file_version":
        out["file_version"] = ev.file_version
    elif out["kind"] == "session_log":
        out["status"] = ev.session_log.SessionStatus.Name(ev.session_log.status)
    elif out["kind"] == "summary":
        values = {}
        for v in ev.summary.value:
            if v.WhichOneof("value") != "simple_value":
                raise BadRecord(f"offset {off}: {v.tag} is not a simple_value")
            if v.tag in values:
                raise BadRecord(f"offset {off}: {v.tag} twice in one summary")
            values[v.tag] = v.simple_value
        out["values"] = values
    return out


def read_events(path):
    with open(path, "rb") as f:
        blob = f.read()
    return [decode(data, off) for off, data in records(blob)]


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    try:
        for ev in read_events(argv[1]):
            print(json.dumps(ev))
    except BadRecord as e:
        print(f"{argv[1]}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
