#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fuzzes one target for a given time with libFuzzer, then merges what it
# found into the committed corpus: only inputs that add coverage are
# added.  See tests/fuzz/README.md.
#
#   tests/fuzz/fuzz.sh TARGET SECONDS [libFuzzer flags]
#   tests/fuzz/fuzz.sh trajectory 1800 -jobs=2 -workers=2
#
# Builds build-fuzz (clang, ASan+UBSan, -Dfuzz=true) when needed.  Crash
# inputs are written to build-fuzz/fuzz-artifacts/TARGET/.  The last lines
# printed are libFuzzer's final statistics (execs, coverage) and the
# corpus size before and after the merge.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?target: trajectory control params ckpt json http flags}
seconds=${2:?seconds}
shift 2
build=${IMPALA_FUZZ_DIR:-build-fuzz}
if [[ ! -d $build ]]; then
  CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined \
    -Db_lundef=false --buildtype=debugoptimized >/dev/null
fi
meson compile -C "$build" "tests/fuzz/fuzz-$target" >/dev/null
corpus=tests/fuzz/corpus/$target
work=$build/fuzz-work/$target
art=$build/fuzz-artifacts/$target/
mkdir -p "$work" "$art"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
prog=$build/tests/fuzz/fuzz-$target
# Fuzz into a scratch directory seeded by the committed corpus.
"$prog" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
  -timeout=10 -artifact_prefix="$art" "$@" "$work" "$corpus" 2>&1 |
  grep -E '^#[0-9]+.*(INITED|DONE)|^stat::|ERROR|SUMMARY|Test unit written' || true
before=$(ls "$corpus" | wc -l)
# Keep the committed inputs (the seeds among them are the shapes of past
# defects) and add only those of the run that reach new coverage.
"$prog" -merge=1 "$corpus" "$work" 2>&1 | grep -E 'MERGE-OUTER: [0-9]+ new files' || true
echo "corpus $target: $before -> $(ls "$corpus" | wc -l) files, $(du -sk "$corpus" | cut -f1) KB"
