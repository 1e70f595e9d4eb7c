#!/usr/bin/env bash
# Start-up cost of the commands that do not train (docs/benchmarks.md, "Start-up"): wall time and
# peak resident memory of `hqsweep --help`, `validate` of the largest example sweep, `ls` and
# `report` of a 200-run results file (made here from probe tasks), and the peak resident memory
# of rank 0 and of a worker rank of `mpirun -np 3 hqsweep run` (read from /proc while it runs).
# Each command runs five times; the median is printed. With a second argument (an older build
# directory) the same commands run with its hqsweep too, side by side.
# Usage: scripts/bench-startup.sh [build dir] [older build dir]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
older=${2:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

cat > "$work/probes.json" <<'JSON'
{"name": "probes-200", "base": {"model": {"backbone": "probe"}, "probe": {"duration_ms": 0}},
 "seeds": 200}
JSON
cat > "$work/probes-mpi.json" <<'JSON'
{"name": "probes-mpi", "base": {"model": {"backbone": "probe"}, "probe": {"duration_ms": 20}},
 "seeds": 100}
JSON
"$build/orchestrator/hqsweep" run "$work/probes.json" --out "$work/probes.h5" --workers 2 \
  --progress-interval 1000 2> /dev/null
largest=$(ls -S "$root"/sweeps/*.json | head -n 1)
for s in "$root"/sweeps/*.json; do  # the sweep with the most runs, not the longest file
  n=$("$build/orchestrator/hqsweep" validate "$s" --json | grep -c '"run_id"')
  if [ "$n" -gt "${most:-0}" ]; then most=$n; largest=$s; fi
done

median_of() {  # command...: the medians of five runs' wall time and peak resident memory
  for _ in 1 2 3 4 5; do
    /usr/bin/time -f "%e %M" "$@" 2>&1 > /dev/null | tail -n 1
  done | /usr/bin/python3 -c '
import statistics, sys
rows = [line.split() for line in sys.stdin if line.strip()]
wall = statistics.median(float(r[0]) for r in rows)
rss = statistics.median(float(r[1]) for r in rows)
shown = "< 10" if wall < 0.01 else f"{1000 * wall:.0f}"  # /usr/bin/time counts in 10 ms
print(f"{shown} ms wall, {rss / 1024:.1f} MB resident")'
}

report() {  # label hqsweep
  local hq=$2
  echo "$1"
  printf '  %-44s %s\n' "hqsweep --help" "$(median_of "$hq" --help)"
  printf '  %-44s %s\n' "hqsweep validate $(basename "$largest") ($most runs)" \
    "$(median_of "$hq" validate "$largest")"
  printf '  %-44s %s\n' "hqsweep ls (200 runs)" "$(median_of "$hq" ls "$work/probes.h5")"
  printf '  %-44s %s\n' "hqsweep report (200 runs)" \
    "$(median_of "$hq" report "$work/probes.h5" --metrics probe_value)"
}

# Peak resident memory (VmHWM) of each rank's hqsweep process, sampled while the sweep runs.
mpi_ranks() {  # hqsweep
  rm -f "$work/probes-mpi.h5"*
  /usr/bin/python3 - "$1" "$work" <<'PY'
import os, subprocess, sys, time
hqsweep, work = sys.argv[1], sys.argv[2]
launcher = subprocess.Popen(
    ["mpirun", "--oversubscribe", "-np", "3", hqsweep, "run", f"{work}/probes-mpi.json",
     "--out", f"{work}/probes-mpi.h5", "--progress-interval", "1000"],
    stderr=subprocess.DEVNULL)
peak = {}
while launcher.poll() is None:
    for pid in os.listdir("/proc"):
        try:
            if not pid.isdigit() or open(f"/proc/{pid}/comm").read().strip() != "hqsweep":
                continue
            environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
            rank = next((e.split(b"=", 1)[1].decode() for e in environ
                         if e.startswith(b"OMPI_COMM_WORLD_RANK=")), None)
            hwm = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM"))
        except (OSError, StopIteration):
            continue
        if rank is not None:
            peak[rank] = max(peak.get(rank, 0), hwm)
    time.sleep(0.05)
for rank in sorted(peak):
    print(f"  mpirun -np 3: rank {rank} (hqsweep itself, its runner aside) {peak[rank] / 1024:.1f} MB resident (peak)")
PY
}

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
report "this build ($build)" "$build/orchestrator/hqsweep"
mpi_ranks "$build/orchestrator/hqsweep"
if [ -n "$older" ]; then
  report "older build ($older)" "$older/orchestrator/hqsweep"
  mpi_ranks "$older/orchestrator/hqsweep"
fi
