#!/usr/bin/env bash
# TPE against random search in trials on a real study, over several study seeds
# (docs/benchmarks.md): sweeps/breastmnist-study.json at full length (no stopping), once with
# hqsweep's TPE and once with random search per study seed, each on 2 workers. Prints, per seed,
# each study's best validation AUC with the trial that first reached it, and the trial at which
# TPE first reached random search's final best (the issue's "in at most half the trials").
# Usage: scripts/bench-study-seeds.sh [build dir] [data dir] [trials] [seed...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
data=$(realpath "${2:-$root/../shared/data}")
trials=${3:-60}
if (($# > 3)); then seeds=("${@:4}"); else seeds=(0 1 2); fi
hqsweep=$build/orchestrator/hqsweep
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for seed in "${seeds[@]}"; do
  for algorithm in tpe random; do
    name=$algorithm-$seed
    python3 - "$root/sweeps/breastmnist-study.json" "$work/$name.json" "$trials" "$algorithm" \
      "$seed" <<'PY'
import json, sys
sweep = json.load(open(sys.argv[1]))
sweep["search"].update(trials=int(sys.argv[3]), algorithm=sys.argv[4], seed=int(sys.argv[5]))
sweep.pop("stopping", None)
sweep["name"] += f"-{sys.argv[4]}-{sys.argv[5]}"
json.dump(sweep, open(sys.argv[2], "w"))
PY
    "$hqsweep" run "$work/$name.json" --out "$work/$name.h5" --workers 2 --data-dir "$data" \
      --cache-dir "$work/cache" --progress-interval 600 2>"$work/$name.log"
    tail -1 "$work/$name.log" >&2
  done
done
/usr/bin/python3 - "$work" "$trials" "${seeds[@]}" <<'PY'
import sys
import h5py
work, trials, seeds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def values(name):  # validation AUC by trial number, complete trials only
    out = {}
    with h5py.File(f"{work}/{name}.h5", "r") as f:
        for run in f["runs"].values():
            if run.attrs["status"] == "done" and "metrics" in run:
                out[int(run.attrs["trial"])] = float(run["metrics"]["val_auc"][0])
    return [out.get(n) for n in range(trials)]

def first_at(vals, target):
    return next((n + 1 for n, v in enumerate(vals) if v is not None and v >= target), None)

print("| study seed | random: best val AUC (first at trial) | TPE: best val AUC (first at trial) "
      "| TPE first at random's final best |")
print("|---|---|---|---|")
within_half = 0
for seed in seeds:
    random, tpe = values(f"random-{seed}"), values(f"tpe-{seed}")
    best_random = max(v for v in random if v is not None)
    best_tpe = max(v for v in tpe if v is not None)
    reached = first_at(tpe, best_random)
    within_half += reached is not None and reached <= trials // 2
    print(f"| {seed} | {best_random:.4f} ({first_at(random, best_random)}) | "
          f"{best_tpe:.4f} ({first_at(tpe, best_tpe)}) | {reached or 'not reached'} |")
print(f"\nTPE reached random search's final best within {trials // 2} trials in {within_half} of "
      f"{len(seeds)} study seeds.")
PY
