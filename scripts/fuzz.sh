#!/usr/bin/env bash
# Runs the fuzz targets of the readers of untrusted files (tests/fuzz/) with libFuzzer and
# AddressSanitizer + UndefinedBehaviorSanitizer (clang from Debian), each for SECONDS (default
# 600), two at a time. Inputs that crash are copied into tests/fuzz/corpus/<target>/ as found-*
# (the regression tests replay them); new coverage stays in build-fuzz/corpus/<target>/.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]      (targets: sweep npy npz idx csv image)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(sweep npy npz idx csv image)
build=${HQSWEEP_FUZZ_BUILD_DIR:-$root/build-fuzz}
command -v clang++ > /dev/null || { echo "fuzz: clang++ is missing (apt-get install clang)" >&2; exit 1; }
cmake -S "$root/tests/fuzz" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$build" -j "$(nproc)" > /dev/null

run_one() {
  local target=$1 work=$build/corpus/$1 crashes=$build/crashes/$1
  mkdir -p "$work" "$crashes"
  cp -n "$root/tests/fuzz/corpus/$target"/* "$work"/ 2> /dev/null || true
  # -rss_limit_mb: the readers refuse what would not fit; a bigger allocation is a finding.
  "$build/${target}_fuzzer" "$work" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -max_len=65536 -artifact_prefix="$crashes/" -print_final_stats=1 \
    > "$build/$target.log" 2>&1 || true
  local found=0
  for crash in "$crashes"/*; do
    [ -f "$crash" ] || continue
    cp "$crash" "$root/tests/fuzz/corpus/$target/found-$(basename "$crash")"
    found=$((found + 1))
  done
  local runs
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$target.log" | tail -n 1)
  echo "$target: ${runs:-?} inputs in ${seconds} s, $found finding(s) (log: $build/$target.log)"
}

for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run_one "${targets[i]}" &
  if [ $((i + 1)) -lt ${#targets[@]} ]; then run_one "${targets[i + 1]}" & fi
  wait
done
