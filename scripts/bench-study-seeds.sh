#!/usr/bin/env bash
# TPE against random search in trials on a real study, over several study seeds
# (docs/benchmarks.md): a study sweep (default sweeps/breastmnist-study.json; SWEEP=file for
# another) at full length (no stopping), once with hqsweep's TPE and once with random search per
# study seed, each on $WORKERS workers (default 2). Prints, per seed, each study's best value of the
# sweep's own search metric with the trial that first reached it, and the trial at which TPE first
# reached random search's final best (the issue's "in at most half the trials").
# Usage: [SWEEP=file] [WORKERS=n] scripts/bench-study-seeds.sh [build dir] [data dir] [trials] [seed...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
data=$(realpath "${2:-$root/../shared/data}")
trials=${3:-60}
if (($# > 3)); then seeds=("${@:4}"); else seeds=(0 1 2); fi
sweep_file=$(realpath "${SWEEP:-$root/sweeps/breastmnist-study.json}")
workers=${WORKERS:-2}
hqsweep=$build/orchestrator/hqsweep
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for seed in "${seeds[@]}"; do
  for algorithm in tpe random; do
    name=$algorithm-$seed
    python3 - "$sweep_file" "$work/$name.json" "$trials" "$algorithm" \
      "$seed" <<'PY'
import json, sys
sweep = json.load(open(sys.argv[1]))
sweep["search"].update(trials=int(sys.argv[3]), algorithm=sys.argv[4], seed=int(sys.argv[5]))
sweep.pop("stopping", None)
sweep["name"] += f"-{sys.argv[4]}-{sys.argv[5]}"
json.dump(sweep, open(sys.argv[2], "w"))
PY
    "$hqsweep" run "$work/$name.json" --out "$work/$name.h5" --workers "$workers" --data-dir "$data" \
      --cache-dir "$work/cache" --progress-interval 600 2>"$work/$name.log"
    tail -1 "$work/$name.log" >&2
  done
done
/usr/bin/python3 - "$sweep_file" "$work" "$trials" "${seeds[@]}" <<'PY'
import json, statistics, sys
import h5py
search = json.load(open(sys.argv[1]))["search"]
metric, sign = search["metric"], (-1 if search.get("mode", "max") == "min" else 1)
work, trials, seeds = sys.argv[2], int(sys.argv[3]), sys.argv[4:]

def values(name):  # the study metric by trial number, signed so that larger is better
    out = {}
    with h5py.File(f"{work}/{name}.h5", "r") as f:
        for run in f["runs"].values():
            if run.attrs["status"] == "done" and "metrics" in run:
                out[int(run.attrs["trial"])] = sign * float(run["metrics"][metric][0])
    return [out.get(n) for n in range(trials)]

def first_at(vals, target):
    return next((n + 1 for n, v in enumerate(vals) if v is not None and v >= target), None)

print(f"| study seed | random: best {metric} (first at trial) | TPE: best {metric} (first at trial) "
      "| TPE first at random's final best |")
print("|---|---|---|---|")
within_half = 0
for seed in seeds:
    random, tpe = values(f"random-{seed}"), values(f"tpe-{seed}")
    best_random = max(v for v in random if v is not None)
    best_tpe = max(v for v in tpe if v is not None)
    reached = first_at(tpe, best_random)
    within_half += reached is not None and reached <= trials // 2
    print(f"| {seed} | {sign * best_random:.4f} ({first_at(random, best_random)}) | "
          f"{sign * best_tpe:.4f} ({first_at(tpe, best_tpe)}) | {reached or 'not reached'} |")
print(f"\nTPE reached random search's final best within {trials // 2} trials in {within_half} of "
      f"{len(seeds)} study seeds.")

def best_within(vals, n):
    return max(v for v in vals[:n] if v is not None)

half = trials // 2
tpe_half = statistics.median(best_within(values(f"tpe-{s}"), half) for s in seeds)
random_full = statistics.median(best_within(values(f"random-{s}"), trials) for s in seeds)
tpe_full = statistics.median(best_within(values(f"tpe-{s}"), trials) for s in seeds)
print(f"Medians over study seeds of the best {metric}: TPE after {half} trials {sign * tpe_half:.4f}, "
      f"after {trials} {sign * tpe_full:.4f}; random after {trials} {sign * random_full:.4f}.")
PY
