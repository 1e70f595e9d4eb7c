#!/usr/bin/env python3
"""Optuna's TPE with its Hyperband pruner driving `hqsweep train`, for the side-by-side study
benchmark (scripts/bench-study.sh, docs/benchmarks.md).

Usage: optuna_study.py HQSWEEP SWEEP DATA_DIR OUT.json [--jobs 2]
Reads the study's base and space from the sweep file (the same search block hqsweep runs), runs
search.trials trials, each a `hqsweep train` process whose per-epoch lines on stderr are reported
to Optuna; a pruned trial's process is killed. Writes a JSON summary: every trial's number, state,
value (the study metric at its best epoch; for pruned trials the best value reported), test metric,
epochs trained and end time, and the wall time. Needs Debian's python3-optuna.
"""
import argparse
import json
import math
import re
import subprocess
import tempfile
import threading
import time

import optuna

EPOCH = re.compile(r"^epoch (\d+)/\d+: .*\| val loss ([0-9.naninf]+) acc ([0-9.naninf]+) auc ([0-9.naninf]+)")
COLUMNS = {"val_loss": 2, "val_acc": 3, "val_auc": 4}


def suggest(trial, space):
    """Choices first, then numbers, the qubits and layers only for fusions with a circuit."""
    values = {}
    items = sorted(space.items(), key=lambda kv: "choice" not in kv[1])
    for key, dist in items:
        if key.startswith("quantum.") and values.get("model.fusion") == "classical":
            continue
        kind, args = next(iter(dist.items()))
        if kind == "choice":
            values[key] = trial.suggest_categorical(key, args)
        elif kind in ("uniform", "loguniform"):
            values[key] = trial.suggest_float(key, args[0], args[1], log=kind == "loguniform")
        else:
            values[key] = trial.suggest_int(key, int(args[0]), int(args[1]), log=kind == "logint")
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hqsweep")
    parser.add_argument("sweep")
    parser.add_argument("data_dir")
    parser.add_argument("out")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    sweep = json.load(open(args.sweep))
    search, base = sweep["search"], sweep["base"]
    metric = search["metric"]
    maximise = search.get("mode", "min" if metric.endswith("_loss") else "max") == "max"
    epochs = base["train"]["epochs"]
    stopping = sweep.get("stopping", {})
    pruner = optuna.pruners.HyperbandPruner(min_resource=stopping.get("min_epochs", 1),
                                            max_resource=epochs,
                                            reduction_factor=stopping.get("reduction_factor", 3))
    study = optuna.create_study(direction="maximize" if maximise else "minimize",
                                sampler=optuna.samplers.TPESampler(seed=search.get("seed", 0)),
                                pruner=pruner)
    records, lock = [], threading.Lock()
    started = time.time()
    config_file = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(base, config_file)
    config_file.close()

    def objective(trial):
        values = suggest(trial, search["space"])
        command = [args.hqsweep, "train", config_file.name, "--data-dir", args.data_dir,
                   "--checkpoint-interval", "-1", "--cache-dir", tempfile.gettempdir()]
        for key, value in values.items():
            command += ["--set", f"{key}={json.dumps(value)}"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        best, reached, pruned = None, 0, False
        for line in process.stderr:
            match = EPOCH.match(line)
            if not match:
                continue
            reached = int(match.group(1))
            value = float(match.group(COLUMNS[metric]))
            if not math.isnan(value):
                best = value if best is None else (max(best, value) if maximise else min(best, value))
            trial.report(value, reached)
            if trial.should_prune():
                process.kill()
                pruned = True
                break
        output = process.communicate()[0]
        record = {"number": trial.number, "params": values, "epochs": reached, "end": time.time() - started}
        if pruned:
            record.update(state="pruned", value=best)
            with lock:
                records.append(record)
            raise optuna.TrialPruned()
        if process.returncode not in (0, 3):
            record.update(state="failed", value=None)
            with lock:
                records.append(record)
            raise RuntimeError(f"trial {trial.number}: hqsweep train exited {process.returncode}")
        result = json.loads(output)
        if result["metrics"].get(metric) is None:  # diverged: no metric
            record.update(state="failed", value=None)
            with lock:
                records.append(record)
            raise RuntimeError(f"trial {trial.number}: no {metric} (diverged)")
        record.update(state="complete", value=result["metrics"][metric],
                      test=result["metrics"].get(metric.replace("val_", "test_")),
                      epochs=int(result["metrics"].get("epochs_run", reached)))
        with lock:
            records.append(record)
        return record["value"]

    study.optimize(objective, n_trials=search["trials"], n_jobs=args.jobs, catch=(RuntimeError,))
    json.dump({"wall_seconds": time.time() - started, "trials": sorted(records, key=lambda r: r["number"])},
              open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
