#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what the tests need, builds, runs every test, checks the tree's
# habits (CONTRIBUTING.md: formatting, licence identifiers, commit
# messages), and ends with the line "N passed, N failed, N skipped".  Exits
# non-zero if any test or check failed.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
build=${IMPALA_BUILD_DIR:-build}
if [[ -d "$build" ]]; then
  meson setup --reconfigure "$build" -Dtests=true >/dev/null || meson setup --wipe "$build" -Dtests=true >/dev/null
else
  meson setup "$build" -Dtests=true >/dev/null
fi || { echo "0 passed, 1 failed"; exit 1; }
if ! meson compile -C "$build"; then
  echo "0 passed, 1 failed"
  exit 1
fi

meson test -C "$build" --print-errorlogs --num-processes 2 "$@"
rc=$?

# The sanitize step (scripts/sanitize.sh): the suite again, built with
# ASan+UBSan.  IMPALA_SANITIZE=0 leaves it out (a quick local run); CI
# always runs it.
logs=("$build/meson-logs/testlog.json")
if [[ ${IMPALA_SANITIZE:-1} != 0 ]]; then
  asan=${IMPALA_ASAN_DIR:-build-asan}
  rm -f "$asan/meson-logs/testlog.json" "$asan/meson-logs/sanitize-extra.json"
  scripts/sanitize.sh asan "$@" || rc=1
  logs+=("$asan/meson-logs/testlog.json" "$asan/meson-logs/sanitize-extra.json")
fi

# The habits (CONTRIBUTING.md), each one more test in the count: a tree
# that clang-format would change, a source without its SPDX line or a
# commit message without its why fails CI with the script's message.
habits="$build/meson-logs/habits.json"
: >"$habits"
for check in "format scripts/format.sh --check" "spdx scripts/spdx.sh --check" \
             "commits scripts/check-commits.sh"; do
  read -r name cmd <<<"$check"
  echo "== habit: $name ($cmd)"
  if $cmd; then result=OK; else result=FAIL; rc=1; fi
  printf '{"name": "habit_%s", "result": "%s"}\n' "$name" "$result" >>"$habits"
done
logs+=("$habits")

# One count over every run: a test that passed in the plain build and under
# ASan counts twice.  A missing log (a build that failed) counts as a
# failure.
python3 - "${logs[@]}" <<'PY'
import json, os, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
parts = []
for path in sys.argv[1:]:
    c = {"passed": 0, "failed": 0, "skipped": 0}
    if not os.path.exists(path):
        c["failed"] += 1
    else:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                r = json.loads(line).get("result")
                if r in ("OK", "EXPECTEDFAIL"):
                    c["passed"] += 1
                elif r == "SKIP":
                    c["skipped"] += 1
                else:
                    c["failed"] += 1
    parts.append(f'{path}: {c["passed"]} passed, {c["failed"]} failed, {c["skipped"]} skipped')
    for k in counts:
        counts[k] += c[k]
for p in parts:
    print(p)
print(f'{counts["passed"]} passed, {counts["failed"]} failed, {counts["skipped"]} skipped')
PY
exit $rc
