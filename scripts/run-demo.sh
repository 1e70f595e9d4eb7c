#!/usr/bin/env bash
# The main job in one command: installs what is missing, builds, fetches the real data sets from
# Debian packages, and expands the default sweep (sweeps/tabular-fusion-quick.json) into its runs.
# Running the sweep and printing its results table arrive with the orchestrator; until then the
# demo shows what the sweep will run. Extra arguments go to hqsweep (e.g. --set train.epochs=5).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HQSWEEP_BUILD_DIR:-$root/build}
sweep=${HQSWEEP_SWEEP:-$root/sweeps/tabular-fusion-quick.json}
bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release ${HQSWEEP_CMAKE_ARGS:-}
cmake --build "$build" -j "$(nproc)" --target hqsweep
bash "$root/scripts/fetch-data.sh"
"$build/orchestrator/hqsweep" validate "$sweep" "$@"
