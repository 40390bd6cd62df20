#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Independent reader of a safetensors checkpoint (python3 standard library
only: json and struct), used by tests/learn/test_ckpt.c as a cross-check of
the C writer.

Prints one line per tensor, in header order:
    <name> <shape as [a,b,...]> <sum of the float32 values, repr>
then one line per metadata entry:
    meta <key> <value as JSON>
The sum is taken left to right in double precision, as the C test does.
Exits 1 with a message on anything malformed."""
import json
import struct
import sys


def main(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        sys.exit("file too short")
    (hlen,) = struct.unpack("<Q", blob[:8])
    if hlen > len(blob) - 8:
        sys.exit("header length beyond the file")
    header = json.loads(blob[8:8 + hlen].decode("utf-8"))
    data = blob[8 + hlen:]
    meta = header.pop("__metadata__", {})
    covered = 0
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            sys.exit("%s: dtype %s" % (name, entry["dtype"]))
        begin, end = entry["data_offsets"]
        count = 1
        for d in entry["shape"]:
            count *= d
        if end - begin != 4 * count or end > len(data):
            sys.exit("%s: bad offsets" % name)
        covered += end - begin
        values = struct.unpack("<%df" % count, data[begin:end])
        total = 0.0
        for v in values:
            total += v
        shape = "[" + ",".join(str(d) for d in entry["shape"]) + "]"
        print(name, shape, repr(total))
    if covered != len(data):
        sys.exit("data section not covered exactly")
    for key, value in meta.items():
        print("meta", key, json.dumps(value))


if __name__ == "__main__":
    main(sys.argv[1])
