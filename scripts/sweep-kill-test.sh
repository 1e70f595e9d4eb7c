#!/bin/sh
# SIGKILLs a whole `hqsweep run` job (rank 0 and its runners) at random moments while it stores
# many short runs, 300 times by default, then runs it to the end and checks that the HDF5 file
# agrees with its journal in every run (tests/orchestrator/sweep_run_test.cpp).
#   scripts/sweep-kill-test.sh [KILLS]      (build first: scripts/test.sh or cmake --build build)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${HQSWEEP_BUILD_DIR:-$here/build}
HQSWEEP_SWEEP_KILLS=${1:-300} exec "$build/tests/orchestrator/orchestrator_tests" \
  --gtest_filter='SweepRunTest.SigkillAtRandomMomentsLeavesAFileThatAgreesWithItsJournal'
