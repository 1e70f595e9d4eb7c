#!/usr/bin/env bash
# Per-task overhead of program tasks (docs/benchmarks.md, docs/programs.md): RUNS tasks of
# MS milliseconds on 2 embedded workers, as the built-in probe task, as a shell program that
# sleeps as long (/bin/sh: fork + exec, run directory, config file, output read, the group killed)
# and as a Python program of the same length (examples/programs/objective.py, Python's start-up
# included), median of 3 runs each. The overhead per task is the wall time's increase over the
# probe's times workers / runs. (Braces in a command are placeholders: the shell's JSON doubles them.) Usage: scripts/bench-program-tasks.sh [build dir] [runs] [ms]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
hqsweep=$(realpath "${1:-$root/build}")/orchestrator/hqsweep
runs=${2:-200}
ms=${3:-100}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
seconds=$(awk "BEGIN{print $ms / 1000}")
cat > probe.json <<JSON
{"name": "probe", "base": {"model": {"backbone": "probe"}, "probe": {"duration_ms": $ms}}, "seeds": $runs}
JSON
cat > shell.json <<JSON
{"name": "shell", "base": {"program": {"command": ["/bin/sh", "-c",
   "sleep $seconds; echo 'hqsweep: {{\"final\": {{\"x\": 1}}}}'"]}}, "seeds": $runs}
JSON
cat > python.json <<JSON
{"name": "python", "base": {"program": {"command": ["/usr/bin/python3", "$root/examples/programs/objective.py", "branin"]},
   "params": {"x0": 1, "x1": 2, "epochs": 1, "epoch_seconds": $seconds}}, "seeds": $runs}
JSON
wall() { grep -o 'in [0-9.]* s on' "$1" | grep -o '[0-9.]*' | head -1; }
for repeat in 1 2 3; do
  for name in probe shell python; do
    rm -rf "$name.h5"* cache
    "$hqsweep" run "$name.json" --out "$name.h5" --workers 2 --cache-dir cache \
      --progress-interval 1000 2>log
    echo "$name $(wall log)"
  done
done | /usr/bin/python3 -c '
import collections, statistics, sys
runs, ms = int(sys.argv[1]), float(sys.argv[2])
walls = collections.defaultdict(list)
for line in sys.stdin:
    name, seconds = line.split()
    walls[name].append(float(seconds))
probe = statistics.median(walls["probe"])
print(f"{runs} tasks of {ms:g} ms on 2 workers, median of 3 runs (walls: {dict(walls)})")
print("| task | wall s | per task ms | overhead over the probe per task ms |")
print("|---|---|---|---|")
for name in ("probe", "shell", "python"):
    wall = statistics.median(walls[name])
    per_task = wall * 2 / runs * 1000
    print(f"| {name} | {wall:.2f} | {per_task:.1f} | {(wall - probe) * 2 / runs * 1000:+.1f} |")
' "$runs" "$ms"
