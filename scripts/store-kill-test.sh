#!/bin/sh
# Kills a results-store writer with SIGKILL at random moments, 60 times by default, and checks
# after each kill that every acknowledged run is there exactly once (tests/store/crash_test.cpp).
#   scripts/store-kill-test.sh [KILLS]      (build first: scripts/test.sh or cmake --build build)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${HQSWEEP_BUILD_DIR:-$here/build}
HQSWEEP_STORE_KILLS=${1:-60} exec "$build/tests/store/store_tests" \
  --gtest_filter='*StoreCrashTest.*:WriterRaceTest.*'
