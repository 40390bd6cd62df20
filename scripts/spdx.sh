#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# SPDX licence identifiers in the project's sources (the licence: LICENSE,
# Apache-2.0).
#
#   scripts/spdx.sh --check   list the sources whose first line is not the
#                             identifier; exit 1 if there is any (CI:
#                             scripts/test.sh)
#   scripts/spdx.sh --fix     put it there (replacing another SPDX line)
#
# The line is "SPDX-License-Identifier: Apache-2.0" in the comment syntax of
# the file: "// " for C, protobuf and JavaScript, "/* ... */" for CSS,
# "# " for Python, shell, meson, systemd units, environment files and
# sanitizer suppressions, "<!-- ... -->" for HTML.  It is the first line,
# or the second after a line that must stay first: a shebang ("#!"), a
# Python encoding declaration's shebang, an HTML doctype.  The sources are
# the files git tracks (outside a git checkout: the files under the source
# folders) with those names; documentation, data, test corpora and images
# carry no identifier.
set -euo pipefail
cd "$(dirname "$0")/.."

# The whole script is one block, read before it runs: --fix rewrites this
# very file, and bash reads a script as it goes.
{

usage() {
  echo "usage: scripts/spdx.sh --check|--fix [FILE...]" >&2
  exit 2
}
(($# >= 1)) || usage
mode=$1
shift
[[ $mode == --check || $mode == --fix ]] || usage

if (($# == 0)); then
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files)
  else
    mapfile -t files < <(find . -path ./.git -prune -o -path './build*' -prune -o -type f -print | sed 's|^\./||' | sort)
  fi
else
  files=("$@")
fi

printf '%s\0' "${files[@]}" | python3 -c '
import os, re, sys

ID = "SPDX-License-Identifier: Apache-2.0"
STYLES = [  # (pattern on the path, line)
    (r"\.(c|h|proto|js)$", "// " + ID),
    (r"\.css$", "/* " + ID + " */"),
    (r"\.html$", "<!-- " + ID + " -->"),
    (r"(\.(py|sh|env|service|supp)|(^|/)meson\.build|(^|/)meson_options\.txt)$", "# " + ID),
]
# First lines that must stay first.
KEEP_FIRST = re.compile(r"^(#!|<!doctype|<!DOCTYPE)")
ANY_SPDX = re.compile(r"SPDX-License-Identifier:")

def line_for(path):
    if path.startswith(("build", "tests/fuzz/corpus/")) or path.endswith((".pb-c.c", ".pb-c.h")):
        return None
    for pat, line in STYLES:
        if re.search(pat, path):
            return line
    return None

def where(lines):
    """Index the identifier belongs at."""
    return 1 if lines and KEEP_FIRST.match(lines[0]) else 0

def fixed(text, want):
    lines = text.split("\n")
    i = where(lines)
    if i < len(lines) and ANY_SPDX.search(lines[i]):
        lines[i] = want
    else:
        lines.insert(i, want)
    return "\n".join(lines)

mode = sys.argv[1]
paths = [p for p in sys.stdin.read().split("\0") if p]
bad = []
for path in paths:
    want = line_for(path)
    if want is None or not os.path.isfile(path):
        continue
    with open(path, encoding="utf-8") as f:
        text = f.read()
    lines = text.split("\n")
    i = where(lines)
    if i < len(lines) and lines[i] == want:
        continue
    if mode == "--fix":
        with open(path, "w", encoding="utf-8") as f:
            f.write(fixed(text, want))
    else:
        bad.append(path)
if bad:
    print(f"spdx.sh: {len(bad)} file(s) lack the licence identifier on their first line:", file=sys.stderr)
    for p in bad:
        print("  " + p, file=sys.stderr)
    print("spdx.sh: run scripts/spdx.sh --fix", file=sys.stderr)
    sys.exit(1)
if mode == "--check":
    print(f"spdx.sh: every source carries {ID}")
' "$mode"
exit
}
