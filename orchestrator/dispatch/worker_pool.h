// Workers as rank 0 sees them: hand a worker a task, hear its reports (and its runs' epochs), stop
// a run early, stop them all. Two kinds:
// local threads, each with its runner process (embedded), and MPI ranks (dispatch/mpi_pool.h).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "orchestrator/dispatch/task_protocol.h"
#include "orchestrator/dispatch/task_runner.h"

namespace hqsweep {

// What a worker said: a task's end, or an epoch of the run it executes.
struct PoolEvent {
  int worker = 0;
  std::optional<TaskReport> report;
  std::optional<EpochReport> epoch;
};

class WorkerPool {
 public:
  virtual ~WorkerPool() = default;
  virtual int size() const = 0;
  // Tasks given to one worker run in the order given.
  virtual void assign(int worker, const Task& task) = 0;
  // The next event, waiting at most `seconds`.
  virtual std::optional<PoolEvent> wait(double seconds) = 0;
  // Stops the run `run_id` that `worker` executes (it ends pruned); without effect once it ended.
  virtual void prune(int worker, const std::string& run_id) = 0;
  // Stops every worker, killing running tasks; returns the reports that arrived meanwhile.
  virtual std::vector<TaskReport> stop() = 0;
};

// `workers` threads in this process, each with its runner process started at once.
std::unique_ptr<WorkerPool> make_embedded_pool(int workers, const RunnerOptions& runner);

}  // namespace hqsweep
