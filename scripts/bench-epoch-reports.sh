#!/usr/bin/env bash
# The scheduler's cost of per-epoch reports (docs/benchmarks.md): 10 ms probe tasks without
# reports, and the same 10 ms split into 10 epochs that each report to rank 0 and are judged by a
# stopping rule that never stops (median with min_epochs 1000: every report takes the decision
# path), embedded with 2 workers and under `mpirun -np 3`. The overhead is the wall time's
# increase. Usage: scripts/bench-epoch-reports.sh [build dir] [runs]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
hqsweep=$(realpath "${1:-$root/build}")/orchestrator/hqsweep
runs=${2:-600}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
write() {  # NAME EPOCHS STOPPING
  cat > "$1.json" <<JSON
{"name": "$1", "base": {"model": {"backbone": "probe"}, "probe": {"duration_ms": 10, "epochs": $2}},
 "seeds": $runs $3}
JSON
}
write plain 0 ""
write reports 10 ', "stopping": {"algorithm": "median", "metric": "probe_objective", "min_epochs": 1000}'
wall() { grep -o 'in [0-9.]* s on' "$1" | grep -o '[0-9.]*' | head -1; }
for mode in embedded mpi; do
  for name in plain reports; do
    for repeat in 1 2 3; do
      rm -f "$name-$mode.h5"*
      if [ "$mode" = embedded ]; then
        "$hqsweep" run "$name.json" --out "$name-$mode.h5" --workers 2 --progress-interval 1000 2>log
      else
        mpirun --allow-run-as-root --oversubscribe -np 3 \
          "$hqsweep" run "$name.json" --out "$name-$mode.h5" --progress-interval 1000 2>log
      fi
      echo "$mode $name $(wall log)"
    done
  done
done | /usr/bin/python3 -c '
import collections, statistics, sys
walls = collections.defaultdict(list)
for line in sys.stdin:
    mode, name, seconds = line.split()
    walls[mode, name].append(float(seconds))
print("| mode | 10 ms tasks, no reports | the same with 10 reports each | overhead |")
print("|---|---|---|---|")
for mode in ("embedded", "mpi"):
    a, b = statistics.median(walls[mode, "plain"]), statistics.median(walls[mode, "reports"])
    print(f"| {mode} | {a:.2f} s | {b:.2f} s | {100 * (b / a - 1):+.1f}% |")
'
