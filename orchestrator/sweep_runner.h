// Running a sweep: rank 0's loop (expand, resume from the results file, schedule, append every
// result as it arrives, progress, stop on signals) over a pool of workers, which are local
// threads with their runner processes (embedded) or MPI ranks 1..K-1.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "orchestrator/sweep.h"
#include "orchestrator/task_runner.h"

namespace hqsweep {

struct SweepRunOptions {
  std::string sweep_path;
  std::vector<std::string> overrides;
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

// Exit codes of `hqsweep run`.
constexpr int kRunAllDone = 0;
constexpr int kRunSomeFailed = 3;
constexpr int kRunStopped = 4;  // a signal stopped it; running the same command again resumes

// Workers as rank 0 sees them.
class WorkerPool {
 public:
  virtual ~WorkerPool() = default;
  virtual int size() const = 0;
  virtual void assign(int worker, const Task& task) = 0;
  // The next report and the worker that sent it, waiting at most `seconds`.
  virtual std::optional<std::pair<int, TaskReport>> wait(double seconds) = 0;
  // Stops every worker, killing running tasks; returns the reports that arrived meanwhile.
  virtual std::vector<TaskReport> stop() = 0;
};

// Rank 0's loop over any pool. Installs SIGINT/SIGTERM/SIGUSR1 handlers for its duration.
int coordinate_sweep(const SweepRunOptions& options, WorkerPool& pool);

// The embedded mode: options.workers threads, each with its runner process.
int run_sweep_embedded(const SweepRunOptions& options);

// Under mpirun with two or more ranks: rank 0 coordinates, the others work. Every rank calls it.
int run_sweep_mpi(const SweepRunOptions& options);
// Whether this process was started by mpirun (Open MPI's or PMIx's environment).
bool launched_by_mpirun();

}  // namespace hqsweep
