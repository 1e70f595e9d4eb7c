#!/usr/bin/env bash
# ProgramTest: users' own programs as tasks, run by the real hqsweep (docs/programs.md).
#   program_test.sh HQSWEEP resume   a sweep of shell programs that checkpoint in their run
#                                    directory, SIGKILLed as a whole job mid-run and run again:
#                                    every run done, a killed one continued from its checkpoint,
#                                    its curve whole
#   program_test.sh HQSWEEP timeout  a program that hangs with a child past --task-timeout: the
#                                    run is `timeout` and the child is gone
#   program_test.sh HQSWEEP mpi      the same program sweep embedded and under `mpirun -np 3`
#   program_test.sh HQSWEEP study    examples/programs/objective.py searched with TPE + ASHA:
#                                    a valid study with pruned trials; ls, report, report
#                                    --study, the pandas loader and the plots on program runs
#   program_test.sh HQSWEEP torch    examples/programs/torch_wdbc.py (PyTorch) searched with TPE
#                                    + ASHA on the real WDBC; skipped (77) without python3-torch
#                                    or data/breast_cancer.csv
set -euo pipefail
hqsweep=$(realpath "$1")
mode=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'pkill -KILL -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

cat > grid.json <<JSON
{"name": "program-grid",
 "base": {"program": {"command": ["$root/examples/programs/epochs.sh", "{params.lr}", "{params.epochs}", "{params.step}"],
                      "epochs": 6},
          "params": {"epochs": 6, "step": 0.25}},
 "grid": {"params.lr": [0.1, 0.2, 0.3, 0.4]}}
JSON

runs_json() { "$hqsweep" ls "$1" --json; }

if [ "$mode" = resume ]; then
  setsid "$hqsweep" run grid.json --out grid.h5 --workers 2 --cache-dir cache \
    --progress-interval 100 >first.log 2>&1 &
  pid=$!
  # Killed as a whole job once some run is past its second epoch.
  until grep -qs '^[3-6]$' cache/runs/*/epoch || ! kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
  kill -KILL -- "-$pid"
  wait "$pid" 2>/dev/null || true
  "$hqsweep" run grid.json --out grid.h5 --workers 2 --cache-dir cache --progress-interval 100 \
    2>second.log || { cat second.log >&2; exit 1; }
  grep -l "continuing after epoch [1-5]" cache/runs/*/output.log > continued.txt ||
    { echo "no killed run continued from its run directory" >&2; cat second.log >&2; exit 1; }
  runs_json grid.h5 > runs.json
  /usr/bin/python3 - runs.json <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))
assert len(runs) == 4 and all(r["status"] == "done" for r in runs), [(r["run_id"], r["status"]) for r in runs]
PY
  /usr/bin/python3 - grid.h5 continued.txt "$root/scripts" <<'PY'
import sys
sys.path.insert(0, sys.argv[3])
import load_results
continued = [line.split("/")[-2] for line in open(sys.argv[2])]
for run_id in continued:
    curve = load_results.load_curves(sys.argv[1], run_id)["val_loss"]
    assert len(curve) == 6 and curve.notna().all(), f"{run_id}: curve {list(curve)}"
print(f"ProgramTest resume: 4 runs done; {len(continued)} continued from their run directory with whole curves")
PY
elif [ "$mode" = timeout ]; then
  cat > hang.sh <<'SH'
#!/bin/sh
sleep 600 &
echo $! > "$HQSWEEP_RUN_DIR/child.pid"
echo 'hqsweep: {"epoch": 1, "val_loss": 1}'
wait
SH
  chmod +x hang.sh
  echo "{\"name\": \"hang\", \"base\": {\"program\": {\"command\": [\"$work/hang.sh\"]}}}" > hang.json
  if "$hqsweep" run hang.json --out hang.h5 --workers 1 --cache-dir cache --task-timeout 2 \
    --progress-interval 100 2>hang.err; then
    echo "a hanging program did not fail the sweep" >&2; exit 1
  fi
  runs_json hang.h5 | /usr/bin/python3 -c '
import json, sys
runs = json.load(sys.stdin)
assert [r["status"] for r in runs] == ["timeout"], runs'
  child=$(cat cache/runs/*/child.pid)
  # Gone (or a zombie nobody reaps in this container), within a minute on a busy machine.
  for _ in $(seq 3000); do
    state=$(awk '{print $3}' "/proc/$child/stat" 2>/dev/null || echo gone)
    [ "$state" = gone ] || [ "$state" = Z ] && break
    sleep 0.02
  done
  [ "$state" = gone ] || [ "$state" = Z ] || { echo "the timed-out program's child $child lives on" >&2; exit 1; }
  echo "ProgramTest timeout: the run is timeout and the program's child is gone"
elif [ "$mode" = mpi ]; then
  "$hqsweep" run grid.json --out embedded.h5 --workers 2 --cache-dir cache-e --progress-interval 100 2>/dev/null
  mpirun --allow-run-as-root --oversubscribe -np 3 \
    "$hqsweep" run grid.json --out mpi.h5 --cache-dir cache-m --progress-interval 100 2>/dev/null
  runs_json embedded.h5 > embedded.json
  runs_json mpi.h5 > mpi.json
  /usr/bin/python3 - embedded.json mpi.json <<'PY'
import json, sys
def table(path):
    return {r["run_id"]: (r["status"], r["metrics"]["val_loss"], r["metrics"]["test_loss"])
            for r in json.load(open(path))}
a, b = table(sys.argv[1]), table(sys.argv[2])
assert len(a) == 4 and a == b, (a, b)
assert {s for s, _, _ in a.values()} == {"done"}
print("ProgramTest mpi: the same 4 program runs, done, with the same metrics embedded and under mpirun -np 3")
PY
elif [ "$mode" = study ]; then
  cat > study.json <<JSON
{"name": "objective-study",
 "base": {"program": {"command": ["/usr/bin/python3", "$root/examples/programs/objective.py", "branin"],
                      "epochs": 9},
          "params": {"epochs": 9, "epoch_seconds": 0.02}},
 "search": {"algorithm": "tpe", "trials": 24, "metric": "objective", "mode": "min",
            "startup_trials": 6, "seed": 2,
            "space": {"params.x0": {"uniform": [-5, 10]}, "params.x1": {"uniform": [0, 15]}}},
 "stopping": {"algorithm": "asha", "min_epochs": 1, "reduction_factor": 3}}
JSON
  "$hqsweep" validate study.json > validate.txt
  "$hqsweep" run study.json --out study.h5 --workers 2 --cache-dir cache --progress-interval 100 2>run.err ||
    { cat run.err >&2; exit 1; }
  runs_json study.h5 > runs.json
  /usr/bin/python3 - runs.json <<'PY'
import collections, json, sys
runs = json.load(open(sys.argv[1]))
numbers = sorted(r["trial"] for r in runs)
assert numbers == list(range(24)), numbers
states = collections.Counter(r["status"] for r in runs)
assert set(states) <= {"done", "pruned"} and states["pruned"] > 0, dict(states)
print(f"ProgramTest study: 24 trials of objective.py, {dict(states)}")
PY
  "$hqsweep" ls study.h5 | grep -q " pruned " || { echo "ls shows no pruned program run" >&2; exit 1; }
  "$hqsweep" report study.h5 --study > study.txt
  grep -q "study of 24 trials (tpe min of objective); 24 trials stored" study.txt &&
    grep -q "^epochs trained: [0-9]* of the 216" study.txt || { cat study.txt >&2; exit 1; }
  "$hqsweep" report study.h5 --metrics objective --by params.x0 > report.txt
  grep -q "objective" report.txt || { cat report.txt >&2; exit 1; }
  /usr/bin/python3 - study.h5 "$root/scripts" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
import load_results
index = load_results.load_index(sys.argv[1])
assert "params.x0" in index.columns and (index.status == "pruned").any(), index.columns
print(f"ProgramTest study: pandas reads {len(index)} program runs with their params")
PY
  /usr/bin/python3 "$root/scripts/plot.py" study.h5 --out figures --kind study > figures.txt
  /usr/bin/python3 "$root/scripts/plot.py" study.h5 --out figures --kind curves --metric objective >> figures.txt
  ls figures/*.png > /dev/null
  echo "ProgramTest study: ls, report, report --study, pandas and $(ls figures | wc -l) figures"
elif [ "$mode" = torch ]; then
  data=${HQSWEEP_DATA_DIR:-$root/data}/breast_cancer.csv
  /usr/bin/python3 -c "import torch" 2>/dev/null || { echo "skipped: python3-torch is not installed"; exit 77; }
  [ -s "$data" ] || { echo "skipped: $data is missing (scripts/fetch-data.sh)"; exit 77; }
  sed -e 's/"trials": 40/"trials": 10/' -e 's/"epochs": 30/"epochs": 9/g' \
    -e "s|\"examples/programs/torch_wdbc.py\", \"data/breast_cancer.csv\"|\"$root/examples/programs/torch_wdbc.py\", \"$data\"|" \
    -e 's/"startup_trials": 10/"startup_trials": 4/' -e 's/"min_epochs": 3/"min_epochs": 1/' \
    "$root/sweeps/program-wdbc-study.json" > wdbc.json
  "$hqsweep" run wdbc.json --out wdbc.h5 --workers 2 --cache-dir cache --progress-interval 100 2>run.err ||
    { cat run.err >&2; exit 1; }
  runs_json wdbc.h5 | /usr/bin/python3 -c '
import collections, json, sys
runs = json.load(sys.stdin)
states = collections.Counter(r["status"] for r in runs)
assert len(runs) == 10 and set(states) <= {"done", "pruned"}, dict(states)
best = max(r["metrics"]["val_auc"] for r in runs)
assert best > 0.9, f"best val_auc {best}: the MLP did not learn WDBC"
print(f"ProgramTest torch: 10 trials of a PyTorch MLP on WDBC, {dict(states)}, best val_auc {best:.3f}")'
  "$hqsweep" report wdbc.h5 --study | grep -q "test_auc beside" || { echo "report --study failed" >&2; exit 1; }
else
  echo "program_test.sh: unknown mode $mode" >&2
  exit 2
fi
