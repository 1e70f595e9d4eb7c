#!/usr/bin/env bash
# SlurmTest: `hqsweep submit`, the graceful stop at Slurm's signal (sent by scancel, and by Slurm
# itself before the time limit) with requeue or resubmission (both of a study, continued under the
# same trial numbers), and a job array with `hqsweep merge`, on a real one-node Slurm that this script starts (slurm_cluster.sh) and stops again.
# A program case runs users' program tasks (docs/programs.md) in a batch job.
# Usage: slurm_test.sh HQSWEEP [submit|program|requeue|resubmit|srun|timelimit|array]... (default: all).
# Exits 77 (skipped) without root or Slurm's daemons (install-deps installs slurm-wlm and munge).
set -euo pipefail
hqsweep=$(realpath "$1")
shift
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(submit program requeue resubmit srun timelimit array)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

for program in slurmctld slurmd munged sbatch; do
  if ! command -v "$program" >/dev/null; then
    echo "SlurmTest skipped: $program is not installed (scripts/install-deps.sh installs slurm-wlm munge)"
    exit 77
  fi
done
if [ "$(id -u)" -ne 0 ]; then
  echo "SlurmTest skipped: starting slurmctld, slurmd and munged needs root"
  exit 77
fi

work=$(mktemp -d /tmp/hqsweep-slurm.XXXXXX)
cleanup() {
  bash "$here/slurm_cluster.sh" stop "$work/cluster" || true
  rm -rf "$work"
}
trap cleanup EXIT
eval "$(bash "$here/slurm_cluster.sh" start "$work/cluster")"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # Open MPI refuses root otherwise
cd "$work"

fail() {
  echo "SlurmTest FAILED: $*" >&2
  grep -h "error" "$work/cluster/log/slurmd.log" "$work/cluster/log/slurmctld.log" 2>/dev/null |
    grep -v "state file\|backup state" | tail -10 >&2 || true
  echo "--- jobs" >&2
  scontrol --oneliner show job 2>/dev/null |
    grep -o 'JobId=[0-9]* \|JobState=[A-Z_]*\|Reason=[^ ]*\|Restarts=[0-9]*\|ExitCode=[^ ]*' |
    tr '\n' ' ' >&2 || true
  echo >&2
  echo "--- slurmctld and slurmd about jobs" >&2
  grep -h "JobId=\|job_complete\|Requeue\|requeue\|launch" "$work/cluster/log/slurmctld.log" \
    "$work/cluster/log/slurmd.log" 2>/dev/null | tail -25 >&2 || true
  for log in results/slurm/*.out; do
    [ -f "$log" ] && { echo "--- $log" >&2; tail -30 "$log" >&2; }
  done
  exit 1
}

# A probe sweep: RUNS runs of MS milliseconds each, no data needed.
write_sweep() {
  local name=$1 runs=$2 ms=$3
  cat >"$name.json" <<JSON
{"name": "$name",
 "base": {"model": {"backbone": "probe"}, "probe": {"duration_ms": $ms}},
 "seeds": $runs}
JSON
}

# A study of TRIALS TPE trials, each a probe task of MS milliseconds in 3 epochs that report
# Branin, no data needed.
write_study() {
  local name=$1 trials=$2 ms=$3
  cat >"$name.json" <<JSON
{"name": "$name",
 "base": {"model": {"backbone": "probe"},
          "probe": {"duration_ms": $ms, "epochs": 3, "objective": "branin"}},
 "search": {"trials": $trials, "metric": "probe_objective", "startup_trials": 4,
            "space": {"probe.x": {"uniform": [-5, 10]}, "probe.y": {"uniform": [0, 15]}}}}
JSON
}

# A study's file holds trials 0..N-1, each once.
check_trials() {
  "$hqsweep" ls "$1" --json | /usr/bin/python3 -c '
import json, sys
numbers = sorted(r["trial"] for r in json.load(sys.stdin))
assert numbers == list(range(int(sys.argv[1]))), numbers' "$2" ||
    fail "the study's trial numbers in $1 are not 0..$(($2 - 1))"
}

# Waits until every task of the job has ended (COMPLETED, FAILED, CANCELLED, TIMEOUT, ...), as
# `scontrol show job` says; a requeued job is PENDING in between, so it is waited for too.
wait_for_job() {
  local id=$1 seconds=$2 states
  for _ in $(seq $((seconds * 5))); do
    states=$(job_state "$id")
    if [ -n "$states" ] && ! grep -qE "PENDING|RUNNING|CONFIGURING|COMPLETING|REQUEUE|SUSPENDED" <<<"$states"; then
      return 0
    fi
    sleep 0.2
  done
  scontrol show job "$id" >&2 || true
  fail "job $id not ended after $seconds s ($states)"
}

# The job id `hqsweep submit` printed ("submitted job 12: ...") into submit.txt.
submitted_job_id() { awk '/^submitted job/ {sub(/:$/, "", $3); print $3}' submit.txt; }

# Waits (bounded) until the log has a line matching the pattern.
wait_for_log() {
  local log=$1 pattern=$2 seconds=$3
  for _ in $(seq $((seconds * 5))); do
    grep -q "$pattern" "$log" 2>/dev/null && return 0
    sleep 0.2
  done
}

# How many runs of a results file are done.
count_done() {
  "$hqsweep" ls "$1" --status done --json 2>/dev/null |
    /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo 0
}

job_state() { scontrol --oneliner show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | sort -u | tr '\n' ' '; }

# Python check of a results file: expected run count, every run done exactly once.
check_runs() {
  "$hqsweep" ls "$1" --json >runs.json
  /usr/bin/python3 - "$2" "$1" <<'PY' || fail "results in $1"
import collections, json, sys
runs = json.load(open("runs.json"))
expected = int(sys.argv[1])
ids = collections.Counter(r["run_id"] for r in runs)
assert len(ids) == expected, f"{sys.argv[2]}: {len(ids)} runs, expected {expected}"
assert all(n == 1 for n in ids.values()), f"a run listed twice: {ids}"
bad = [(r["run_id"], r["status"]) for r in runs if r["status"] != "done"]
assert not bad, f"{sys.argv[2]}: runs not done: {bad}"
PY
}

case_submit() {
  write_sweep probe 8 300
  "$hqsweep" submit probe.json --ntasks-per-node 2 --time 10 >submit.txt
  id=$(submitted_job_id)
  [ -n "$id" ] || fail "no job id in: $(cat submit.txt)"
  wait_for_job "$id" 120
  [[ $(job_state "$id") == "JobState=COMPLETED " ]] || fail "job $id ended $(job_state "$id")"
  check_runs results/probe.h5 8
  "$hqsweep" status probe.json >status.txt
  grep -q "8 of 8 runs finished" status.txt || fail "status: $(cat status.txt)"
  grep -q "^$id .*COMPLETED" status.txt || fail "status shows no completed job $id: $(cat status.txt)"
  grep -q -- "-np 3 " results/slurm/probe-"$id".out || fail "mpirun did not start 2 workers + rank 0"
  echo "SlurmTest submit: job $id ran 8 runs under mpirun; status shows it COMPLETED"
}

# Program tasks in a batch job: examples/programs/epochs.sh over a grid, under mpirun.
case_program() {
  cat >programs.json <<JSON
{"name": "programs",
 "base": {"program": {"command": ["$root/examples/programs/epochs.sh", "{params.lr}", "3", "0.1"]}},
 "grid": {"params.lr": [0.1, 0.2, 0.3, 0.4]}}
JSON
  "$hqsweep" submit programs.json --ntasks-per-node 2 --time 10 >submit.txt
  id=$(submitted_job_id)
  [ -n "$id" ] || fail "no job id in: $(cat submit.txt)"
  wait_for_job "$id" 120
  [[ $(job_state "$id") == "JobState=COMPLETED " ]] || fail "job $id ended $(job_state "$id")"
  check_runs results/programs.h5 4
  echo "SlurmTest program: job $id ran 4 program runs (epochs.sh) under mpirun"
}

# A study, stopped by the warning signal, requeued, and continued under the same trial numbers.
case_requeue() {
  write_study longer 16 1500
  "$hqsweep" submit longer.json --ntasks-per-node 2 --time 10 --requeue 1 >submit.txt
  id=$(submitted_job_id)
  log=results/slurm/longer-$id.out
  # The warning signal Slurm sends before the time limit, once some runs are stored.
  signal_mid_sweep "$id" longer 16
  wait_for_log "$log" requeueing 60
  grep -q "stopping the sweep gracefully" "$log" || fail "the job did not hear the signal"
  grep -q "hqsweep run exited with code 4" "$log" || fail "hqsweep run did not stop with code 4"
  grep -q "requeueing (1 of at most 1)" "$log" || fail "the job did not requeue itself"
  stopped_with=$(count_done results/longer.h5)
  [ "$stopped_with" -lt 16 ] || fail "the sweep finished before the stop took effect"
  # Requeued once Slurm counts the restart and the job is pending again (on a busy machine the old
  # run's COMPLETING state can outlast a fixed wait); a requeued job then waits for a begin time
  # about two minutes ahead, which is moved to now.
  moved=0
  for _ in $(seq 600); do
    # ... and the old incarnation's step daemon has gone: started while it is still being torn
    # down ("CANCELLED ... DUE TO JOB REQUEUE"), the new batch step failed at once, exit 1.
    if scontrol show job "$id" 2>/dev/null | grep -q "Restarts=1" &&
       [[ $(job_state "$id") == "JobState=PENDING " ]] &&
       ! pgrep -f "slurmstepd: \[$id\." >/dev/null; then
      # slurmd revoked the old credential with a time in whole seconds and refuses a new one made
      # in the same second ("Job credential revoked"): the begin time moves once a second has
      # turned since the old incarnation was seen gone.
      gone_at=$(date +%s)
      while [ "$(date +%s)" -le $((gone_at + 1)) ]; do sleep 0.1; done
      scontrol update JobId="$id" StartTime=now 2>/dev/null && moved=1
      break
    fi
    sleep 0.2
  done
  [ "$moved" -eq 1 ] || fail "job $id was not pending again after its requeue: $(job_state "$id")"
  wait_for_job "$id" 180
  check_runs results/longer.h5 16
  check_trials results/longer.h5 16
  "$hqsweep" status longer.json >status.txt
  grep -q "^$id .*COMPLETED .* 1 " status.txt || fail "status: $(cat status.txt)"
  echo "SlurmTest requeue: a study stopped gracefully with $stopped_with of 16 trials done, requeued, completed each trial once"
}

# Stops the job of results/NAME.h5 with Slurm's warning signal once some of its runs are stored;
# prints how many were.
signal_mid_sweep() {
  local id=$1 name=$2 total=$3 done_runs=0
  for _ in $(seq 300); do
    done_runs=$(count_done "results/$name.h5")
    [ "$done_runs" -ge 2 ] && break
    sleep 0.2
  done
  [ "$done_runs" -ge 2 ] || fail "no runs stored within 60 s"
  [ "$done_runs" -lt "$total" ] || fail "the sweep finished before the signal"
  scancel --signal=USR1 --batch "$id"
}

# A study stopped by the signal, resubmitted, and continued by the new job under the same trial
# numbers.
case_resubmit() {
  write_study again 16 1500
  "$hqsweep" submit again.json --ntasks-per-node 2 --time 10 --resubmit 1 >submit.txt
  id=$(submitted_job_id)
  signal_mid_sweep "$id" again 16
  wait_for_job "$id" 120
  log=results/slurm/again-$id.out
  grep -q "hqsweep run exited with code 4" "$log" || fail "hqsweep run did not stop with code 4"
  new_id=$(sed -n 's/.*resubmitted as job \([0-9]*\) (1 of at most 1)/\1/p' "$log")
  [ -n "$new_id" ] || fail "the job did not resubmit itself"
  wait_for_job "$new_id" 120
  check_runs results/again.h5 16
  check_trials results/again.h5 16
  "$hqsweep" status again.json >status.txt
  grep -q "^$id .*COMPLETED" status.txt && grep -q "^$new_id .*COMPLETED" status.txt ||
    fail "status does not show both jobs: $(cat status.txt)"
  grep -q "not requeued (limit reached)" "results/slurm/again-$new_id.out" &&
    fail "the resubmitted job stopped again"
  echo "SlurmTest resubmit: job $id stopped a study gracefully and resubmitted itself as $new_id, which completed its 16 trials"
}

# srun as the launcher (PMIx), stopped by the signal without requeue, then continued by hand by
# submitting the kept script again.
case_srun() {
  write_sweep launched 10 1500
  "$hqsweep" submit launched.json --ntasks-per-node 2 --time 10 --launcher srun >submit.txt
  id=$(submitted_job_id)
  signal_mid_sweep "$id" launched 10
  wait_for_job "$id" 120
  log=results/slurm/launched-$id.out
  grep -q "srun --mpi=pmix" "$log" || fail "the job did not use srun"
  grep -q "hqsweep run exited with code 4" "$log" || fail "hqsweep run did not stop with code 4"
  grep -q "not requeued (limit reached); submit .* again to continue" "$log" || fail "no hint to continue"
  script=$(ls results/slurm/launched-*.sbatch)
  again=$(sbatch --parsable "$script")
  wait_for_job "$again" 120
  check_runs results/launched.h5 10
  echo "SlurmTest srun: stopped under srun with code 4; the script submitted again by hand completed the sweep"
}

# Slurm's own warning: --time 2 with --signal-seconds 100 signals within the first 20 s or so
# (Slurm may signal up to a minute early); the sweep would take 100 s.
case_timelimit() {
  write_sweep limited 200 1000
  "$hqsweep" submit limited.json --ntasks-per-node 2 --time 2 --signal-seconds 100 --requeue 1 >submit.txt
  id=$(submitted_job_id)
  log=results/slurm/limited-$id.out
  grep -q "^#SBATCH --signal=B:USR1@100$" results/slurm/limited-*.sbatch || fail "no --signal line"
  wait_for_log "$log" requeueing 90
  grep -q "signal from Slurm" "$log" || fail "no warning signal from Slurm within 90 s"
  grep -q "hqsweep run exited with code 4" "$log" || fail "hqsweep run did not stop with code 4"
  grep -q "requeueing (1 of at most 1)" "$log" || fail "the job did not requeue itself"
  stored=$("$hqsweep" ls results/limited.h5 --json | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); print(sum(x["status"]=="done" for x in r), sum(x["status"]=="cancelled" for x in r))')
  scancel "$id"
  echo "SlurmTest timelimit: Slurm's warning before --time 2 stopped the sweep gracefully (done, cancelled: $stored) and the job requeued itself"
}

case_array() {
  write_sweep sharded 12 200
  "$hqsweep" submit sharded.json --array 3 --ntasks-per-node 1 --time 10 >submit.txt
  id=$(submitted_job_id)
  wait_for_job "$id" 180
  shards=(results/sharded.shard-{0,1,2}-of-3.h5)
  total=0
  for shard in "${shards[@]}"; do
    [ -f "$shard" ] || fail "no shard file $shard"
    n=$("$hqsweep" ls "$shard" --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
    total=$((total + n))
  done
  [ "$total" -eq 12 ] || fail "the shards hold $total runs, expected 12 (each run in one shard)"
  "$hqsweep" merge results/sharded.h5 >merge.txt || fail "merge: $(cat merge.txt)"
  grep -q "12 runs added from 3 files, 0 already there, 0 duplicate copies skipped, 0 conflicts" merge.txt ||
    fail "merge: $(cat merge.txt)"
  check_runs results/sharded.h5 12
  "$hqsweep" merge results/sharded.h5 >again.txt
  grep -q "0 runs added from 3 files, 12 already there" again.txt || fail "merge again: $(cat again.txt)"
  "$hqsweep" status results/sharded.h5 >file-status.txt
  grep -q "12 of 12 runs finished" file-status.txt || fail "status of the file: $(cat file-status.txt)"
  "$hqsweep" status sharded.json >status.txt
  grep -q "12 of 12 runs finished" status.txt || fail "status: $(cat status.txt)"
  [ "$(grep -c "^${id}_[0-2] .*COMPLETED" status.txt)" -eq 3 ] || fail "status: $(cat status.txt)"
  echo "SlurmTest array: 3 array tasks wrote 12 runs into 3 shards; merged once, again idempotent"
}

for c in "${cases[@]}"; do "case_$c"; done
