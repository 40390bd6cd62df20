#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Build step: writes a text file (pyenv_boot.py) as a C header holding one
NUL-terminated char array (bytes, not a string literal: ISO C bounds the
length of those), so the Python half of the bridge is compiled into the
binaries and cannot go missing or get out of step with the C half.

    pyenv_embed.py INPUT OUTPUT"""
import sys


def main(src, dst):
    with open(src, "rb") as f:
        data = f.read() + b"\0"
    lines = ['/* Generated from pyenv_boot.py by pyenv_embed.py; do not edit. */',
             'static const char im_pyenv_boot_src[] = {']
    for i in range(0, len(data), 16):
        lines.append("\t" + ", ".join(str(b) for b in data[i:i + 16]) + ",")
    lines.append("};")
    with open(dst, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
