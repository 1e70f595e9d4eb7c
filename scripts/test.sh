#!/usr/bin/env bash
# The test command: installs what is missing, configures, builds (Release, all cores) and runs
# every test with ctest. Set HQSWEEP_BUILD_DIR for another build folder and HQSWEEP_CMAKE_ARGS
# for extra CMake options (e.g. -DHQSWEEP_SANITIZE=ON).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HQSWEEP_BUILD_DIR:-$root/build}
bash "$root/scripts/install-deps.sh"
# The real data sets Debian ships (tests that need them skip when this fails, e.g. offline).
bash "$root/scripts/fetch-data.sh" || echo "test: could not fetch the Debian data sets; their tests skip" >&2
# shellcheck disable=SC2086
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release ${HQSWEEP_CMAKE_ARGS:-}
cmake --build "$build" -j "$(nproc)"
cd "$build"
ctest --output-on-failure -j "$(nproc)"
