#!/usr/bin/env bash
# MpiSweepTest: a small real sweep (tabular, classical/dhf/shf, two seeds) run embedded and under
# `mpirun -np N` gives the same run_ids and the same metrics. Usage: mpi_sweep_test.sh HQSWEEP N
set -euo pipefail
hqsweep=$1
ranks=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/blobs.csv" <<'PY'
import random, sys
random.seed(3)
with open(sys.argv[1], "w") as f:
    f.write("120,4,a,b\n")
    for i in range(120):
        c = i % 2
        f.write(",".join(f"{random.gauss(1.2 * c, 1):.5f}" for _ in range(4)) + f",{c}\n")
PY
cat > "$work/sweep.json" <<'JSON'
{"name": "mpi-check",
 "base": {"dataset": {"name": "csv", "path": "blobs.csv"},
          "model": {"backbone": "mlp", "hidden": [8]},
          "quantum": {"qubits": 3, "trainable": false},
          "extract": {"epochs": 2}, "train": {"epochs": 3}},
 "grid": {"model.fusion": ["classical", "dhf", "shf"]},
 "include": [{"model": {"backbone": "probe"}, "probe": {"duration_ms": 50}}],
 "seeds": [0, 1]}
JSON
common=(--data-dir "$work" --progress-interval 100)
"$hqsweep" run "$work/sweep.json" --out "$work/embedded.h5" --workers 2 --cache-dir "$work/c1" "${common[@]}"
mpirun --allow-run-as-root --oversubscribe -np "$ranks" \
  "$hqsweep" run "$work/sweep.json" --out "$work/mpi.h5" --cache-dir "$work/c2" "${common[@]}"
"$hqsweep" ls "$work/embedded.h5" --json > "$work/embedded.json"
"$hqsweep" ls "$work/mpi.h5" --json > "$work/mpi.json"
python3 - "$work/embedded.json" "$work/mpi.json" <<'PY'
import json, sys
a = {r["run_id"]: r for r in json.load(open(sys.argv[1]))}
b = {r["run_id"]: r for r in json.load(open(sys.argv[2]))}
assert len(a) == 8, f"expected 8 runs, got {len(a)}"
assert a.keys() == b.keys(), f"run_ids differ: {sorted(a.keys() ^ b.keys())}"
for run_id in a:
    assert a[run_id]["status"] == b[run_id]["status"] == "done", (run_id, a[run_id]["error"], b[run_id]["error"])
    for name in ("test_acc", "test_auc", "val_loss"):
        if name in a[run_id]["metrics"]:
            assert a[run_id]["metrics"][name] == b[run_id]["metrics"][name], (run_id, name)
print(f"MpiSweepTest: {len(a)} runs, same run_ids and metrics embedded and under mpirun")
PY
