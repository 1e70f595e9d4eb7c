#!/usr/bin/env bash
# The main job in one command: installs what is missing, builds, fetches the real data sets from
# Debian packages, runs the default sweep (sweeps/tabular-fusion-quick.json: WDBC and Wine, mlp
# classical vs dhf, two seeds) into results/tabular-fusion-quick.h5 and prints its runs and the
# report table (hybrid against the classical control).
# Running it again resumes (done runs are skipped). Extra arguments go to `hqsweep run`
# (e.g. --set train.epochs=5 --workers 1). HQSWEEP_SWEEP picks another sweep file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HQSWEEP_BUILD_DIR:-$root/build}
sweep=${HQSWEEP_SWEEP:-$root/sweeps/tabular-fusion-quick.json}
bash "$root/scripts/install-deps.sh"
# shellcheck disable=SC2086
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release ${HQSWEEP_CMAKE_ARGS:-}
cmake --build "$build" -j "$(nproc)" --target hqsweep
bash "$root/scripts/fetch-data.sh"
name=$(basename "$sweep" .json)
out="$root/results/$name.h5"
cd "$root"
status=0
"$build/orchestrator/hqsweep" run "$sweep" --out "$out" --data-dir "$root/data" \
  --cache-dir "$root/cache" --progress-interval 10 "$@" || status=$?
"$build/orchestrator/hqsweep" ls "$out"
echo
# Compared with the classical control when the sweep has one; otherwise the plain report.
if ! "$build/orchestrator/hqsweep" report "$out" --compare fusion=classical 2>/dev/null; then
  "$build/orchestrator/hqsweep" report "$out" || status=1
fi
exit $status
