#!/usr/bin/env bash
# StudyTest: a TPE study with ASHA over probe tasks that report Branin each epoch.
#   study_test.sh HQSWEEP kill N [TRIALS]  SIGKILLs the study (30 trials) N times at random moments once it has stored
#                                  something, resumes it each time, then checks the finished study:
#                                  exactly `trials` trials, numbers 0..trials-1 once each, no run
#                                  twice, none left proposed, some pruned
#   study_test.sh HQSWEEP resume N with one worker, a study killed N times and resumed proposes
#                                  the trials a study that ran through proposed
#   study_test.sh HQSWEEP mpi      the same study embedded and under `mpirun -np 3`: both valid
#   study_test.sh HQSWEEP analysis `hqsweep ls`, `report --study`, the pandas loader and
#                                  `plot.py --kind study` on a finished study with pruned runs
#   study_test.sh HQSWEEP seeds    a study of 3 seeds per trial whose seeds differ: ASHA judges each
#                                  trial as one (its seeds do not compete), so the first trial runs
#                                  through and a stopped trial stops all its runs
set -euo pipefail
hqsweep=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
mode=$2
kills=${3:-10}
trials=${4:-30}  # kill N TRIALS: a longer study for many kills
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
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

# Runs the study into FILE with WORKERS workers N times, each time SIGKILLing the whole process
# group within 0-0.8 s of the journal's existence (the study has stored its first proposals).
kill_at_random_moments() {  # FILE WORKERS N
  for _ in $(seq "$3"); do
    setsid "$hqsweep" run study.json --out "$1" --workers "$2" --progress-interval 100 \
      >/dev/null 2>&1 &
    pid=$!
    until [ -s "$1.journal" ] || ! kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
    sleep "0.$((RANDOM % 9))"
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

if [ "$mode" = kill ]; then
  kill_at_random_moments killed.h5 2 "$kills"
  "$hqsweep" run study.json --out killed.h5 --workers 2 --progress-interval 100 2>final.err ||
    { cat final.err >&2; exit 1; }
  check killed.h5
  echo "StudyTest: killed $kills times at random moments, resumed each time"
elif [ "$mode" = resume ]; then
  # One worker makes the study's order deterministic: killed and resumed, it must propose the
  # same trials (the same values under the same numbers) and end them the same way as a study
  # that ran through.
  "$hqsweep" run study.json --out straight.h5 --workers 1 --progress-interval 100 2>/dev/null
  kill_at_random_moments resumed.h5 1 "$kills"
  "$hqsweep" run study.json --out resumed.h5 --workers 1 --progress-interval 100 2>/dev/null
  check straight.h5
  check resumed.h5
  "$hqsweep" ls straight.h5 --json > straight.json
  "$hqsweep" ls resumed.h5 --json > resumed.json
  python3 - straight.json resumed.json <<'PY'
import json, sys
def trials(path):
    return {r["trial"]: (r["config"]["probe"]["x"], r["config"]["probe"]["y"], r["status"])
            for r in json.load(open(path))}
a, b = trials(sys.argv[1]), trials(sys.argv[2])
differ = [n for n in a if a[n] != b.get(n)]
assert not differ, f"trials differ after resume: {[(n, a[n], b.get(n)) for n in differ[:5]]}"
print(f"StudyTest resume: {len(a)} trials, the same values and states as a study that ran through")
PY
elif [ "$mode" = seeds ]; then
  # 3 workers for 3 seeds: a trial's runs start together, and the next trial's cannot all reach a
  # rung before this one's have ended, so trial 0 is the first at every rung and goes on.
  cat > seeds.json <<'JSON'
{"name": "study-seeds",
 "base": {"model": {"backbone": "probe"},
          "probe": {"duration_ms": 1350, "epochs": 9, "objective": "branin", "seed_offset": 4}},
 "seeds": 3,
 "search": {"algorithm": "tpe", "trials": 8, "metric": "probe_objective", "startup_trials": 4,
            "seed": 2, "space": {"probe.x": {"uniform": [-5, 10]}, "probe.y": {"uniform": [0, 15]}}},
 "stopping": {"algorithm": "asha", "min_epochs": 1, "reduction_factor": 3}}
JSON
  "$hqsweep" run seeds.json --out seeds.h5 --workers 3 --progress-interval 100 2>seeds.err ||
    { cat seeds.err >&2; exit 1; }
  "$hqsweep" ls seeds.h5 --json | /usr/bin/python3 -c '
import collections, json, sys
runs = json.load(sys.stdin)
by_trial = collections.defaultdict(list)
for r in runs:
    by_trial[r["trial"]].append(r["status"])
assert sorted(by_trial) == list(range(8)) and all(len(s) == 3 for s in by_trial.values()), by_trial
# Alone, seeds 1 and 2 (4 and 8 worse than seed 0) would be stopped at the first rung by seed 0.
assert by_trial[0] == ["done"] * 3, f"trial 0 (first at every rung) was stopped: {by_trial[0]}"
stopped = [t for t, s in by_trial.items() if "pruned" in s]
assert stopped, f"ASHA stopped no trial: {dict(by_trial)}"
mixed = [t for t in stopped if set(by_trial[t]) != {"pruned"}]
assert not mixed, f"trials stopped for some seeds only: {[(t, by_trial[t]) for t in mixed]}"
print(f"StudyTest seeds: 8 trials x 3 seeds, trials {stopped} stopped with all their runs")'
elif [ "$mode" = mpi ]; then
  "$hqsweep" run study.json --out embedded.h5 --workers 2 --progress-interval 100
  mpirun --allow-run-as-root --oversubscribe -np 3 \
    "$hqsweep" run study.json --out mpi.h5 --progress-interval 100
  check embedded.h5
  check mpi.h5
elif [ "$mode" = analysis ]; then
  "$hqsweep" run study.json --out study.h5 --workers 2 --progress-interval 100 2>/dev/null
  check study.h5
  "$hqsweep" ls study.h5 > ls.txt
  grep -q "^run_id  *status  *try  *trial" ls.txt || { cat ls.txt >&2; exit 1; }
  grep -q " pruned " ls.txt || { echo "ls shows no pruned run" >&2; exit 1; }
  "$hqsweep" status study.json --out study.h5 > status.txt 2>&1 || true
  grep -q "study.json: $trials of $trials runs finished (100%): [0-9]* done, 0 diverged, [1-9][0-9]* pruned" status.txt ||
    { cat status.txt >&2; exit 1; }
  "$hqsweep" report study.h5 --study > report.txt
  grep -q "study of $trials trials (tpe min of probe_objective); $trials trials stored" report.txt &&
    grep -q "^pruned  *[1-9]" report.txt && grep -q "^epochs trained: [0-9]* of the $((trials * 9))" report.txt ||
    { cat report.txt >&2; exit 1; }
  "$hqsweep" report study.h5 --study --format markdown > report.md
  grep -q "^| pruned | [1-9][0-9]* |$" report.md && grep -q "^| trial | probe_objective | - | epochs | values |$" report.md ||
    { cat report.md >&2; exit 1; }
  "$hqsweep" report study.h5 --study --format json > report.json
  /usr/bin/python3 - report.json study.h5 "$here/../../scripts" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[3])
import load_results
report = json.load(open(sys.argv[1]))
index = load_results.load_index(sys.argv[2])
assert set(index.status) <= {"done", "pruned"} and (index.status == "pruned").any(), set(index.status)
assert sorted(index.trial) == list(range(len(index))), list(index.trial)
states = {t["state"] for t in report["trials"]}
assert states <= {"complete", "pruned"}, states
best = [t["best_so_far"] for t in report["trials"] if t["best_so_far"] is not None]
assert all(b >= a for a, b in zip(best[1:], best)), "best so far must not get worse (min mode)"
print(f"report --study: {len(report['trials'])} trials, pandas sees {int((index.status == 'pruned').sum())} pruned")
PY
  /usr/bin/python3 "$here/../../scripts/plot.py" study.h5 --out figures --kind study > figures.txt
  for figure in history intermediate parallel; do
    [ -s "figures/study_study_$figure.png" ] || { echo "no $figure figure" >&2; ls figures >&2; exit 1; }
  done
  echo "StudyTest analysis: ls, report --study, pandas and $(wc -l < figures.txt) figures"
  # ASHA over an ordinary random sweep: every run stored once, done or pruned, some pruned. (A
  # grid that runs from its worst point to its best would prune none: each run beats the earlier.)
  cat > grid.json <<'JSON'
{"name": "grid-asha",
 "base": {"model": {"backbone": "probe"}, "probe": {"duration_ms": 90, "epochs": 9}},
 "random": {"samples": 30, "seed": 3,
            "params": {"probe.x": {"uniform": [0, 9]}, "probe.y": {"uniform": [0, 2]}}},
 "stopping": {"algorithm": "asha", "metric": "probe_objective"}}
JSON
  "$hqsweep" run grid.json --out grid.h5 --workers 2 --progress-interval 100 2>/dev/null
  "$hqsweep" ls grid.h5 --json | /usr/bin/python3 -c '
import collections, json, sys
runs = json.load(sys.stdin)
states = collections.Counter(r["status"] for r in runs)
assert len(runs) == 30 and set(states) <= {"done", "pruned"} and states["pruned"] > 0, dict(states)
print(f"StudyTest analysis: ASHA over a random sweep of 30 runs: {dict(states)}")'
  # A space with two points: the study ends after them, saying so, instead of running one twice.
  cat > small.json <<'JSON'
{"name": "small",
 "base": {"model": {"backbone": "probe"}, "probe": {"duration_ms": 10, "epochs": 2}},
 "search": {"trials": 5, "metric": "probe_objective", "startup_trials": 1,
            "space": {"probe.objective": {"choice": ["sphere", "branin"]}}}}
JSON
  "$hqsweep" run small.json --out small.h5 --workers 2 --progress-interval 100 2>small.err
  grep -q "the search space has no new point after 2 trials" small.err || { cat small.err >&2; exit 1; }
  [ "$("$hqsweep" ls small.h5 --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 2 ] ||
    { echo "the exhausted study does not hold its 2 trials" >&2; exit 1; }
  # A study is one file: shards and job arrays are refused with the reason.
  if "$hqsweep" run study.json --out shard.h5 --shard 0/2 2>shard.err; then
    echo "--shard was accepted for a study" >&2; exit 1
  fi
  grep -q "a study is one file and cannot be split into shards" shard.err || { cat shard.err >&2; exit 1; }
  if "$hqsweep" submit study.json --array 2 --dry-run >/dev/null 2>array.err; then
    echo "--array was accepted for a study" >&2; exit 1
  fi
  grep -q "a study is one results file and cannot run as a job array" array.err || { cat array.err >&2; exit 1; }
  if "$hqsweep" report grid.h5 --study 2>notstudy.err; then echo "--study read a grid" >&2; exit 1; fi
  grep -q "grid.h5: the sweep it records (grid.json) has no search block" notstudy.err ||
    { cat notstudy.err >&2; exit 1; }
  if "$hqsweep" report study.h5 grid.h5 --study 2>two.err; then echo "--study read two" >&2; exit 1; fi
  grep -q "study reads one results file" two.err || { cat two.err >&2; exit 1; }
  if "$hqsweep" report study.h5 --study --format latex 2>format.err; then echo "--study took latex" >&2; exit 1; fi
  grep -q -- "--study: the formats are table, markdown and json" format.err || { cat format.err >&2; exit 1; }
  echo "StudyTest analysis: an exhausted space ends the study; shards and arrays are refused"
else
  echo "study_test.sh: unknown mode $mode" >&2
  exit 2
fi
