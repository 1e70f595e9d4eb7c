#!/usr/bin/env bash
# Installs the Debian packages hqsweep needs to build, test and analyse results.
# Idempotent: only packages that are missing are installed. Run as root on Debian 12.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config clang-format
  # core libraries
  libtorch-dev libopenblas0-pthread
  libopenmpi-dev openmpi-bin
  libhdf5-dev
  libeigen3-dev nlohmann-json3-dev libboost-program-options-dev libboost-dev
  libzip-dev zlib1g-dev libspdlog-dev libfmt-dev libpng-dev libjpeg-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # a real one-node Slurm for SlurmTest (tests/orchestrator/slurm_test.sh)
  slurm-wlm munge
  # Python clients of the results file (scripts/load_results.py, scripts/plot.py; SciPy for the
  # test that recomputes `hqsweep report`)
  python3 python3-h5py python3-pandas python3-matplotlib python3-scipy
  # Optuna, for the side-by-side sampler and study benchmarks (scripts/bench-samplers.py);
  # scikit-learn for the study figures' importances; PyTorch for the example program task
  # (examples/programs/torch_wdbc.py)
  python3-optuna python3-sklearn python3-torch
  # a real browser for the HTML report's test (tests/orchestrator/html_report_test.sh)
  chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or install them with sudo apt-get install)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
