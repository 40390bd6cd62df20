#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job: installs what is needed, builds, and trains an IMPALA agent
# on CartPole-v1 with a learner and two local actors on loopback until the
# mean return of the last 100 episodes reaches 475 (solved).  Progress lines
# go to stderr; the final summary (JSON) to stdout.  The run directory is
# runs/cartpole/seed<seed>/ (checkpoint.safetensors, metrics.csv).
# Extra arguments are passed to impala-learner (e.g. --seed 2).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build=${IMPALA_BUILD_DIR:-build}
if [[ -d "$build" ]]; then
  meson setup --reconfigure "$build" -Dtests=false >/dev/null
else
  meson setup "$build" -Dtests=false >/dev/null
fi
meson compile -C "$build" >/dev/null

exec "$build/learner/impala-learner" train \
  --env CartPole-v1 --tag cartpole \
  --spawn-actors 2 --num-actors 16 \
  --hidden-dim 64 --feature-dim 64 \
  --num-steps 80 --batch-size 32 --num-storages 96 --num-learners 2 \
  --lr 0.0004 --num-train-steps 50000000 --target-return 475 \
  --eval-interval 2000 --save-interval 2000 --log-interval 1 \
  --status-addr 127.0.0.1:0 \
  "$@"
