// Workers as MPI ranks: rank 0 holds an MpiPool of ranks 1..K-1, each of which serves tasks in its
// runner process until told to stop. The protocol (JSON messages, no blocking receives) is in
// docs/orchestrator.md.
#pragma once

#include <memory>

#include "orchestrator/dispatch/task_runner.h"
#include "orchestrator/dispatch/worker_pool.h"

namespace hqsweep {

// Whether this process was started by mpirun (Open MPI's or PMIx's environment).
bool launched_by_mpirun();
// This process's rank as the launcher's environment gives it before MPI_Init, or -1.
int rank_from_environment();

// MPI's lifetime in this process: MPI_Init_thread (funneled) to MPI_Finalize.
class MpiSession {
 public:
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0, size_ = 1;
};

// Rank 0's pool over ranks 1..ranks-1.
std::unique_ptr<WorkerPool> make_mpi_pool(int ranks);
// Ranks 1..K-1: take a task, run it in `runner`, report, until rank 0 says stop.
void serve_as_mpi_worker(TaskRunner& runner);

}  // namespace hqsweep
