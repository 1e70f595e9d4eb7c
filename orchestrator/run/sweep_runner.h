// Running a sweep: rank 0's loop (expand, resume from the results file, schedule, append every
// result as it arrives, progress, stop on signals) over a pool of workers, which are local
// threads with their runner processes (embedded) or MPI ranks 1..K-1.
#pragma once

#include <string>
#include <vector>

#include "orchestrator/dispatch/task_runner.h"
#include "orchestrator/dispatch/worker_pool.h"
#include "orchestrator/sweep/sweep.h"

namespace hqsweep {

struct SweepRunOptions {
  std::string sweep_path;
  std::vector<std::string> overrides;
  std::size_t max_runs = kDefaultMaxRuns;  // refuse larger sweeps (--max-runs)
  std::string out;  // results file; "" = results/<sweep name>.h5 (with a shard: its shard file)
  Shard shard;      // run only this part of the sweep (a job array's task); 0/1 = all
  int workers = 1;  // embedded: concurrent tasks
  bool retry_failed = false;
  int retries = 0;
  double grace = 30;             // seconds running tasks get after the first signal
  double progress_interval = 0;  // seconds between progress lines; 0 = live line on a terminal
  std::string command_line;
  RunnerOptions runner;
};

// Each returns the exit code of `hqsweep run` (common/exit_codes.h): kExitOk, kExitSomeFailed, or
// kExitStopped after a signal.

// `hqsweep run`: installs the stop signals first, then under mpirun (launched_by_mpirun) rank 0
// coordinates and ranks 1..K-1 work (every rank calls it; one rank runs embedded), otherwise
// options.workers threads work here, each with its runner process.
int run_sweep(const SweepRunOptions& options);

// Rank 0's loop over any pool; the caller has installed StopSignals (run/stop_signals.h).
int coordinate_sweep(const SweepRunOptions& options, WorkerPool& pool);

}  // namespace hqsweep
