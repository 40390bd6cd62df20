#!/usr/bin/env bash
# Installs what the tests need, builds, runs every test, and ends with the
# line "N passed, N failed, N skipped".  Exits non-zero if any test failed.
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

python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
with open(sys.argv[1]) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            counts["passed"] += 1
        elif r == "SKIP":
            counts["skipped"] += 1
        else:
            counts["failed"] += 1
print(f'{counts["passed"]} passed, {counts["failed"]} failed, {counts["skipped"]} skipped')
PY
exit $rc
