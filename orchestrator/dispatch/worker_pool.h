// Workers as rank 0 sees them: hand a worker a task, hear its reports, stop them all. Two kinds:
// local threads, each with its runner process (embedded), and MPI ranks (dispatch/mpi_pool.h).
#pragma once

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "orchestrator/dispatch/task_protocol.h"
#include "orchestrator/dispatch/task_runner.h"

namespace hqsweep {

class WorkerPool {
 public:
  virtual ~WorkerPool() = default;
  virtual int size() const = 0;
  // Tasks given to one worker run in the order given.
  virtual void assign(int worker, const Task& task) = 0;
  // The next report and the worker that sent it, waiting at most `seconds`.
  virtual std::optional<std::pair<int, TaskReport>> wait(double seconds) = 0;
  // Stops every worker, killing running tasks; returns the reports that arrived meanwhile.
  virtual std::vector<TaskReport> stop() = 0;
};

// `workers` threads in this process, each with its runner process started at once.
std::unique_ptr<WorkerPool> make_embedded_pool(int workers, const RunnerOptions& runner);

}  // namespace hqsweep
