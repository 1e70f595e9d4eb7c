#!/usr/bin/env bash
# The test suite under AddressSanitizer and UndefinedBehaviorSanitizer (HQSWEEP_SANITIZE=ON: our
# code instrumented, any undefined behaviour fatal), in its own build folder. CI runs it after the
# README's test command. Left out: the real-Slurm test (it tests daemons and the batch script, not
# our memory use, and needs every core for minutes). LibTorch, OpenBLAS and Open MPI are not
# instrumented; the MPI tests run without leak detection (Open MPI keeps allocations of its
# components until exit, in frames the sanitizer cannot unwind to suppress them).
# handle_segv=0: the probe task's deliberate segfault must kill its runner by the signal, as in
# production, for the crash-isolation tests; a real one still fails its test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HQSWEEP_SANITIZE_BUILD_DIR:-$root/build-asan}
bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHQSWEEP_SANITIZE=ON \
  -DHQSWEEP_BUILD_BENCH=OFF
cmake --build "$build" -j "$(nproc)"

asan=handle_segv=0:strict_string_checks=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$build"
mpi_tests='MpiSweepTest|StudyTest.EmbeddedAndMpi|ProgramTest.EmbeddedAndMpi'
ASAN_OPTIONS=$asan:detect_leaks=0 ctest --output-on-failure -j "$(nproc)" -R "$mpi_tests"
# Last, so that the run's closing line counts the whole suite.
ASAN_OPTIONS=$asan ctest --output-on-failure -j "$(nproc)" -E "SlurmTest|$mpi_tests"
