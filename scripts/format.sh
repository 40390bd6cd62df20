#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The project's C sources against .clang-format (clang-format 14, Debian's).
#
#   scripts/format.sh --check   list the files clang-format would change;
#                               exit 1 if there is any (CI: scripts/test.sh)
#   scripts/format.sh --fix     rewrite them in place
#   scripts/format.sh --check FILE...   only those files
#
# The sources are the *.c and *.h files git tracks (or, outside a git
# checkout, those under the source folders), never build directories nor
# the C that protoc-c generates (*.pb-c.[ch], which live in the build
# directory anyway).  Exit 2 when clang-format is missing or the
# arguments are wrong.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: scripts/format.sh --check|--fix [FILE...]" >&2
  exit 2
}
(($# >= 1)) || usage
mode=$1
shift
[[ $mode == --check || $mode == --fix ]] || usage

clang_format=${CLANG_FORMAT:-clang-format}
if ! command -v "$clang_format" >/dev/null; then
  echo "format.sh: $clang_format not found (apt-get install clang-format; scripts/install-deps.sh does)" >&2
  exit 2
fi

sources() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -- '*.c' '*.h'
  else
    find actor common learner deploy examples proto tests -name '*.[ch]' 2>/dev/null | sort
  fi | grep -v '\.pb-c\.[ch]$' || true
}

if (($# > 0)); then
  files=("$@")
else
  mapfile -t files < <(sources)
fi

if [[ $mode == --fix ]]; then
  printf '%s\0' "${files[@]}" | xargs -0 -r -n 32 "$clang_format" -i --style=file
  exit 0
fi

bad=()
for f in "${files[@]}"; do
  if ! "$clang_format" --style=file "$f" | cmp -s - "$f"; then
    bad+=("$f")
  fi
done
if ((${#bad[@]})); then
  echo "format.sh: ${#bad[@]} file(s) differ from .clang-format:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "format.sh: run scripts/format.sh --fix (and review the diff)" >&2
  exit 1
fi
echo "format.sh: ${#files[@]} files formatted"
