#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian package that impala's build, tests and benchmarks
# need.  libjs-dygraphs is a build dependency (the learner's status page
# embeds it); python3-protobuf, chromium and chromium-driver are for the
# dashboard's tests (tests/dash/); clang-format (14, Debian's) is for
# scripts/format.sh, which CI runs (scripts/test.sh).  Idempotent: packages
# already installed are not touched, and apt is not called at all when
# nothing is missing.
# Runs as root, or through sudo.
#
#   scripts/install-deps.sh           build + tests
#   scripts/install-deps.sh --bench   also the PyTorch reference (large)
#   scripts/install-deps.sh --fuzz    also clang and libFuzzer (tests/fuzz/)
#
# The sanitizer step of scripts/test.sh builds with gcc, whose ASan, UBSan
# and TSan runtimes come with gcc itself; clang is needed only to fuzz.
set -euo pipefail

pkgs=(
  gcc libc6-dev pkg-config meson ninja-build python3
  protobuf-c-compiler libprotobuf-c-dev
  libzmq3-dev libopenblas-dev libuv1-dev libcmocka-dev
  iproute2 systemd curl procps
  libpython3-dev python3-numpy
  libjs-dygraphs
  python3-protobuf chromium chromium-driver
  python3-zmq
  clang-format
)
if [[ "${1:-}" == "--bench" ]]; then
  pkgs+=(python3-torch)
fi
if [[ "${1:-}" == "--fuzz" ]]; then
  pkgs+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q </dev/null
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
