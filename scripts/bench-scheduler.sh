#!/usr/bin/env bash
# Scheduling benchmarks of `hqsweep run` with probe tasks (no training), written for
# docs/benchmarks.md:
#   1. overhead: probe tasks of 0 ms, 10 ms and 1 s under mpirun with 2, 4, 8 and 16 ranks:
#      tasks per second, and the share of worker time not spent in tasks;
#   2. makespan of a heterogeneous sweep (log-uniform 20 ms .. 4 s) on 4 workers against the lower
#      bound max(total / workers, longest) and against a static round-robin split of the same tasks;
#   3. the embedded mode with 2 workers on 0 ms tasks.
# Usage: scripts/bench-scheduler.sh [build dir]   (oversubscribes this machine's cores on purpose)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
hqsweep=${1:-$root/build}/orchestrator/hqsweep
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mpi=(mpirun --allow-run-as-root --oversubscribe)

# Prints: tasks/s and overhead share, from the run's own timing line and the stored durations.
measure() {  # results_file log_file workers
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import re, sys
import h5py
results, log, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
wall = float(re.search(r"in ([0-9.]+) s on", open(log).read()).group(1))
spans = {}  # rank -> (first start, last end, busy seconds)
with h5py.File(results, "r") as f:
    for run_id, run in f["runs"].items():
        a = run.attrs
        first, last, busy = spans.get(int(a["rank"]), (float("inf"), 0.0, 0.0))
        spans[int(a["rank"])] = (min(first, a["start_unix"]), max(last, a["end_unix"]),
                                 busy + a["end_unix"] - a["start_unix"])
    runs = len(f["runs"])
    ends = sorted(float(run.attrs["end_unix"]) for run in f["runs"].values())
    intervals = [(float(run.attrs["start_unix"]), float(run.attrs["end_unix"])) for run in f["runs"].values()]
busy = sum(s[2] for s in spans.values())
# Steady rate: results between the 10% and 90% completion marks over the time between them, which
# leaves out each runner's start (LibTorch loads) and the last stragglers.
lo, hi = int(0.1 * (len(ends) - 1)), int(0.9 * (len(ends) - 1))
steady_rate = (hi - lo) / (ends[hi] - ends[lo]) if ends[hi] > ends[lo] else float("nan")
# Steady state (MPI only: ranks 1.. are the workers; embedded runs all record rank 0): each worker's time between its first task's start and
# its last task's end that is not spent in tasks; excludes runner start-up and the last stragglers.
steady = [1 - s[2] / (s[1] - s[0]) for s in spans.values() if s[1] > s[0]] if 0 not in spans else []
# Window: between the 10% and 90% completion marks, the share of all workers' time not in tasks
# (by then every runner has started, even when early workers began while others still loaded).
window = ends[hi] - ends[lo]
in_window = sum(max(0.0, min(e, ends[hi]) - max(b, ends[lo])) for b, e in intervals)
window_share = 1 - in_window / (workers * window) if window > 0 else float("nan")
line = (f"{runs} tasks in {wall:.2f} s: {runs / wall:.0f} tasks/s ({steady_rate:.0f}/s steady); worker time outside tasks "
        f"{100 * (1 - busy / (workers * wall)):.1f}% of the wall time")
if steady:
    line += f", {100 * sum(steady) / len(steady):.1f}% in steady state"
line += f", {100 * window_share:.1f}% between the 10% and 90% marks"
print(line)
PY
}

echo "== 1. overhead (mpirun; workers = ranks - 1)"
for ranks in 2 4 8 16; do
  workers=$((ranks - 1))
  for ms in 0 10 1000; do
    case $ms in 0) count=10000 ;; 10) count=$((workers * 300)) ;; 1000) count=$((workers * 3)) ;; esac
    echo "{\"name\": \"b$ranks-$ms\", \"base\": {\"model\": {\"backbone\": \"probe\"}, \"probe\": {\"duration_ms\": $ms}}, \"seeds\": {\"count\": $count}}" > "$work/s.json"
    "${mpi[@]}" -np "$ranks" "$hqsweep" run "$work/s.json" --out "$work/b$ranks-$ms.h5" \
      --progress-interval 1000 > "$work/log" 2>&1
    printf "ranks %2d, %4d ms: " "$ranks" "$ms"
    measure "$work/b$ranks-$ms.h5" "$work/log" "$workers"
  done
done

echo "== 3. embedded, 2 workers, 0 ms"
echo '{"name": "e", "base": {"model": {"backbone": "probe"}}, "seeds": {"count": 10000}}' > "$work/e.json"
"$hqsweep" run "$work/e.json" --out "$work/e.h5" --workers 2 --progress-interval 1000 > "$work/log" 2>&1
printf "embedded 2 workers, 0 ms: "
measure "$work/e.h5" "$work/log" 2

echo "== 2. makespan, 4 workers (mpirun -np 5), 80 tasks of log-uniform 20 ms .. 4 s"
cat > "$work/m.json" <<'JSON'
{"name": "m", "base": {"model": {"backbone": "probe"}},
 "random": {"samples": 80, "seed": 5, "params": {"probe.duration_ms": {"loguniform": [20, 4000]}}}}
JSON
"$hqsweep" validate "$work/m.json" --json > "$work/m-runs.json"
job_start=$(date +%s.%N)
"${mpi[@]}" -np 5 "$hqsweep" run "$work/m.json" --out "$work/m.h5" --progress-interval 1000 > "$work/log" 2>&1
job_end=$(date +%s.%N)
/usr/bin/python3 - "$work/m.h5" "$work/log" "$work/m-runs.json" "$hqsweep" "$job_start" "$job_end" <<'PY'
import json, re, subprocess, sys
results, log, order, hqsweep = sys.argv[1:5]
job = float(sys.argv[6]) - float(sys.argv[5])
wall = float(re.search(r"in ([0-9.]+) s on", open(log).read()).group(1))
runs = {r["run_id"]: r for r in json.loads(subprocess.run([hqsweep, "ls", results, "--json"], capture_output=True, check=True).stdout)}
durations = [runs[r["run_id"]]["duration_s"] for r in json.load(open(order))]
workers = 4
bound = max(sum(durations) / workers, max(durations))
loads = [0.0] * workers
for i, d in enumerate(durations):  # static round-robin in sweep order, same measured durations
    loads[i % workers] += d
print(f"total work {sum(durations):.2f} s, longest {max(durations):.2f} s, lower bound {bound:.2f} s")
import h5py
with h5py.File(results, "r") as f:
    starts = [float(r.attrs["start_unix"]) for r in f["runs"].values()]
    ends = [float(r.attrs["end_unix"]) for r in f["runs"].values()]
span = max(ends) - min(starts)  # from the first task's start: without the first runner's start-up
print(f"hqsweep makespan {wall:.2f} s = {wall / bound:.3f} x bound (from the first task's start: "
      f"{span:.2f} s = {span / bound:.3f} x); "
      f"static round-robin {max(loads):.2f} s = {max(loads) / bound:.3f} x bound")
print(f"whole job (mpirun to exit: every rank's start, MPI_Init, expansion, the file) {job:.2f} s = "
      f"{job / bound:.3f} x bound")
PY
