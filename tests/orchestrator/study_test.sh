#!/usr/bin/env bash
# StudyTest: a TPE study with ASHA over probe tasks that report Branin each epoch.
#   study_test.sh HQSWEEP kill N   SIGKILLs the study N times at random moments once it has stored
#                                  something, resumes it each time, then checks the finished study:
#                                  exactly `trials` trials, numbers 0..trials-1 once each, no run
#                                  twice, none left proposed, some pruned
#   study_test.sh HQSWEEP mpi      the same study embedded and under `mpirun -np 3`: both valid
set -euo pipefail
hqsweep=$(realpath "$1")
mode=$2
kills=${3:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
trials=30
cat > study.json <<JSON
{"name": "study-check",
 "base": {"model": {"backbone": "probe"},
          "probe": {"duration_ms": 90, "epochs": 9, "objective": "branin"}},
 "search": {"algorithm": "tpe", "trials": $trials, "metric": "probe_objective",
            "startup_trials": 5, "seed": 1,
            "space": {"probe.x": {"uniform": [-5, 10]}, "probe.y": {"uniform": [0, 15]}}},
 "stopping": {"algorithm": "asha", "min_epochs": 1, "reduction_factor": 3}}
JSON

check() {  # FILE: a finished study of $trials trials
  "$hqsweep" ls "$1" --json > runs.json
  python3 - runs.json "$trials" "$1" <<'PY'
import collections, json, sys
runs = json.load(open(sys.argv[1]))
trials, name = int(sys.argv[2]), sys.argv[3]
numbers = sorted(r["trial"] for r in runs)
assert numbers == list(range(trials)), f"{name}: trial numbers {numbers}"
ids = collections.Counter(r["run_id"] for r in runs)
assert max(ids.values()) == 1, f"{name}: runs stored twice: {[i for i, n in ids.items() if n > 1]}"
states = collections.Counter(r["status"] for r in runs)
assert set(states) <= {"done", "pruned"}, f"{name}: states {dict(states)}"
assert states["pruned"] > 0, f"{name}: ASHA pruned nothing: {dict(states)}"
print(f"{name}: {trials} trials, numbers contiguous, {dict(states)}")
PY
}

if [ "$mode" = kill ]; then
  for i in $(seq "$kills"); do
    setsid "$hqsweep" run study.json --out killed.h5 --workers 2 --progress-interval 100 \
      >/dev/null 2>"run-$i.err" &
    pid=$!
    # Once the journal exists (the study has stored its first proposals), kill within 0-0.6 s.
    until [ -s killed.h5.journal ] || ! kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
    sleep "0.$((RANDOM % 7))"
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  "$hqsweep" run study.json --out killed.h5 --workers 2 --progress-interval 100 2>final.err ||
    { cat final.err >&2; exit 1; }
  check killed.h5
  echo "StudyTest: killed $kills times at random moments, resumed each time"
elif [ "$mode" = mpi ]; then
  "$hqsweep" run study.json --out embedded.h5 --workers 2 --progress-interval 100
  mpirun --allow-run-as-root --oversubscribe -np 3 \
    "$hqsweep" run study.json --out mpi.h5 --progress-interval 100
  check embedded.h5
  check mpi.h5
else
  echo "study_test.sh: unknown mode $mode" >&2
  exit 2
fi
