#!/usr/bin/env bash
# The test suite under AddressSanitizer and UndefinedBehaviorSanitizer (HQSWEEP_SANITIZE=ON: our
# code instrumented, any undefined behaviour fatal), in its own build folder. CI runs it after the
# README's test command. Left out: the real-Slurm test (it tests daemons and the batch script, not
# our memory use, and needs every core for minutes). LibTorch and OpenBLAS are not instrumented;
# leaks that they (and Open MPI) keep until exit are suppressed in scripts/lsan.supp.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HQSWEEP_SANITIZE_BUILD_DIR:-$root/build-asan}
bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHQSWEEP_SANITIZE=ON \
  -DHQSWEEP_BUILD_BENCH=OFF
cmake --build "$build" -j "$(nproc)"
export ASAN_OPTIONS=abort_on_error=0:detect_stack_use_after_return=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$root/scripts/lsan.supp:print_suppressions=0
cd "$build"
ctest --output-on-failure -j "$(nproc)" -E 'SlurmTest'
