#!/usr/bin/env bash
# A real study side by side (docs/benchmarks.md): sweeps/breastmnist-study.json (a hybrid CNN on
# BreastMNIST, 60 trials of up to 27 epochs) run as
#   1. hqsweep TPE + ASHA (the file as it is),
#   2. hqsweep random search at full length (algorithm random, no stopping),
#   3. hqsweep TPE at full length (no stopping: for the trials TPE needs against random's),
#   4. Optuna's TPE + Hyperband pruner driving `hqsweep train` (scripts/optuna_study.py),
# each on 2 workers, one after the other. Prints, for each, the best validation AUC, the test AUC of
# the trial it chose, the epochs trained, the wall time, and the trial at which it first reached
# random search's final best.
# Usage: scripts/bench-study.sh [build dir] [data dir] [trials]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
data=$(realpath "${2:-$root/../shared/data}")
trials=${3:-60}
hqsweep=$build/orchestrator/hqsweep
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$root/sweeps/breastmnist-study.json" "$work" "$trials" <<'PY'
import json, sys
sweep = json.load(open(sys.argv[1]))
sweep["search"]["trials"] = int(sys.argv[3])
json.dump(sweep, open(f"{sys.argv[2]}/tpe-asha.json", "w"))
del sweep["stopping"]
sweep["name"] += "-full"
json.dump(sweep, open(f"{sys.argv[2]}/tpe-full.json", "w"))
sweep["search"]["algorithm"] = "random"
sweep["name"] += "-random"
json.dump(sweep, open(f"{sys.argv[2]}/random.json", "w"))
PY
for name in tpe-asha random tpe-full; do
  "$hqsweep" run "$work/$name.json" --out "$work/$name.h5" --workers 2 --data-dir "$data" \
    --cache-dir "$work/cache-$name" --progress-interval 60 2> "$work/$name.log"
  tail -3 "$work/$name.log" >&2
done
/usr/bin/python3 "$root/scripts/optuna_study.py" "$hqsweep" "$work/tpe-asha.json" "$data" \
  "$work/optuna.json" --jobs 2
/usr/bin/python3 - "$work" <<'PY'
import json, re, sys
import h5py
work = sys.argv[1]

def hqsweep_trials(name):
    trials = []
    with h5py.File(f"{work}/{name}.h5", "r") as f:
        for run in f["runs"].values():
            metrics = {k: float(run["metrics"][k][0]) for k in run["metrics"].dtype.names} if "metrics" in run else {}
            trials.append({"number": int(run.attrs["trial"]), "state": run.attrs["status"],
                           "value": metrics.get("val_auc"), "test": metrics.get("test_auc"),
                           "epochs": int(metrics.get("epochs_run", 0))})
    wall = float(re.search(r"in ([0-9.]+) s on", open(f"{work}/{name}.log").read()).group(1))
    return sorted(trials, key=lambda t: t["number"]), wall

studies = {"hqsweep TPE + ASHA": hqsweep_trials("tpe-asha"), "hqsweep random, full length": hqsweep_trials("random"),
           "hqsweep TPE, full length": hqsweep_trials("tpe-full")}
optuna = json.load(open(f"{work}/optuna.json"))
studies["Optuna TPE + Hyperband (driving hqsweep train)"] = (optuna["trials"], optuna["wall_seconds"])

def best_complete(trials):
    done = [t for t in trials if t["state"] in ("done", "complete") and t["value"] is not None]
    return max(done, key=lambda t: t["value"]) if done else None

random_best = best_complete(studies["hqsweep random, full length"][0])["value"]
print("| study | trials | best val AUC | its test AUC | epochs trained | wall time | first trial at random's final best |")
print("|---|---|---|---|---|---|---|")
for name, (trials, wall) in studies.items():
    best = best_complete(trials)
    epochs = sum(t["epochs"] for t in trials)
    reached = next((t["number"] + 1 for t in trials
                    if t["state"] in ("done", "complete") and t["value"] is not None and t["value"] >= random_best), None)
    print(f"| {name} | {len(trials)} | {best['value']:.4f} | {best['test']:.4f} | {epochs} | {wall:.0f} s | "
          f"{reached if reached else 'not reached'} |")
PY
