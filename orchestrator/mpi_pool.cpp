// The MPI protocol: rank 0 sends tasks (JSON text) to ranks 1..K-1, which answer with reports.
// Nobody waits in a blocking receive: Open MPI busy-polls there, taking a core from the tasks
// (../shared/notes/mpi-on-few-cores.md). Waiting ranks probe and sleep with a growing back-off.
#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <iterator>
#include <list>
#include <memory>
#include <thread>

#include "common/error.h"
#include "orchestrator/sweep_runner.h"

namespace hqsweep {

using nlohmann::json;

namespace {

enum Tag { kTask = 1, kReport = 2, kStop = 3, kBye = 4 };

void send_text(const std::string& text, int rank, int tag) {
  MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, rank, tag, MPI_COMM_WORLD);
}

std::string receive_text(const MPI_Status& probed) {
  int count = 0;
  MPI_Get_count(&probed, MPI_CHAR, &count);
  std::string text(static_cast<std::size_t>(count), '\0');
  MPI_Recv(text.data(), count, MPI_CHAR, probed.MPI_SOURCE, probed.MPI_TAG, MPI_COMM_WORLD,
           MPI_STATUS_IGNORE);
  return text;
}

// Probes for a message until `seconds` pass, sleeping 20 us doubling up to 1 ms between probes.
bool probe_for(int source, int tag, double seconds, MPI_Status* status) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::chrono::microseconds pause(20);
  for (;;) {
    int flag = 0;
    MPI_Iprobe(source, tag, MPI_COMM_WORLD, &flag, status);
    if (flag) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(1000));
  }
}

class MpiPool : public WorkerPool {
 public:
  explicit MpiPool(int ranks) : ranks_(ranks) {}
  int size() const override { return ranks_ - 1; }

  // Non-blocking: a worker's further tasks wait in MPI until the worker takes them,
  // and a large task must not block rank 0 until then.
  void assign(int worker, const Task& task) override {
    sends_.emplace_back();
    sends_.back().first = to_json(task).dump();
    MPI_Isend(sends_.back().first.data(), static_cast<int>(sends_.back().first.size()), MPI_CHAR,
              worker + 1, kTask, MPI_COMM_WORLD, &sends_.back().second);
  }

  std::optional<std::pair<int, TaskReport>> wait(double seconds) override {
    complete_sends(false);
    MPI_Status status;
    if (!probe_for(MPI_ANY_SOURCE, kReport, seconds, &status)) return std::nullopt;
    const std::string text = receive_text(status);
    return std::make_pair(status.MPI_SOURCE - 1, task_report_from_json(json::parse(text)));
  }

  std::vector<TaskReport> stop() override {
    if (stopped_) return {};
    stopped_ = true;
    for (int rank = 1; rank < ranks_; ++rank) send_text("", rank, kStop);
    // Reports sent before a worker saw the stop still count; then each worker says goodbye.
    std::vector<TaskReport> reports;
    int byes = 0;
    while (byes < ranks_ - 1) {
      MPI_Status status;
      if (!probe_for(MPI_ANY_SOURCE, MPI_ANY_TAG, 1.0, &status)) continue;
      const std::string text = receive_text(status);
      if (status.MPI_TAG == kBye) {
        ++byes;
      } else if (status.MPI_TAG == kReport) {
        reports.push_back(task_report_from_json(json::parse(text)));
      }
    }
    complete_sends(true);
    return reports;
  }

 private:
  void complete_sends(bool all) {
    for (auto it = sends_.begin(); it != sends_.end();) {
      int done = 0;
      if (all) {
        MPI_Wait(&it->second, MPI_STATUS_IGNORE);
        done = 1;
      } else {
        MPI_Test(&it->second, &done, MPI_STATUS_IGNORE);
      }
      it = done ? sends_.erase(it) : std::next(it);
    }
  }

  std::list<std::pair<std::string, MPI_Request>> sends_;  // text stays alive until sent
  int ranks_;
  bool stopped_ = false;
};

// This process's rank as the launcher's environment gives it before MPI_Init, or -1.
int rank_from_environment() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}) {
    if (const char* value = std::getenv(name)) return std::atoi(value);
  }
  return -1;
}

// Ranks 1..K-1: take a task, run it in the runner process, report, until told to stop.
void work(TaskRunner& runner) {
  std::deque<Task> tasks;  // received, in order; the second is queued in the runner
  for (;;) {
    // Take every task that has arrived; wait (probing) only when there is none.
    bool stop = false;
    for (;;) {
      MPI_Status status;
      int arrived = 0;
      MPI_Iprobe(0, kTask, MPI_COMM_WORLD, &arrived, &status);
      if (arrived) {
        tasks.push_back(task_from_json(json::parse(receive_text(status))));
        continue;
      }
      if (!tasks.empty()) break;
      if (!probe_for(0, MPI_ANY_TAG, 1.0, &status) || status.MPI_TAG == kTask) continue;
      receive_text(status);  // the stop
      stop = true;
      break;
    }
    if (stop) break;
    const Task task = std::move(tasks.front());
    tasks.pop_front();
    const TaskReport report = runner.execute(
        task,
        [&] {
          int flag = 0;
          MPI_Status probed;
          MPI_Iprobe(0, kStop, MPI_COMM_WORLD, &flag, &probed);
          return flag != 0;
        },
        tasks.empty() ? nullptr : &tasks.front());
    send_text(to_json(report).dump(), 0, kReport);
    if (report.result.status == RunStatus::cancelled) {
      // Rank 0 is stopping: tasks queued behind this one are dropped (it records them), up to
      // its stop message.
      for (;;) {
        MPI_Status next;
        if (!probe_for(0, MPI_ANY_TAG, 1.0, &next)) continue;
        receive_text(next);
        if (next.MPI_TAG == kStop) break;
      }
      break;
    }
  }
  send_text("", 0, kBye);
}

}  // namespace

bool launched_by_mpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

int run_sweep_mpi(const SweepRunOptions& options) {
  // A worker's runner process starts loading LibTorch (about 0.4 s of CPU) before MPI_Init, so
  // that the load overlaps MPI's start-up and rank 0's sweep expansion instead of following them.
  std::unique_ptr<TaskRunner> runner;
  auto make_runner = [&](int rank) {
    RunnerOptions runner_options = options.runner;
    runner_options.rank = rank;
    runner = std::make_unique<TaskRunner>(runner_options);
    runner->start();
  };
  const int environment_rank = rank_from_environment();
  if (environment_rank > 0) make_runner(environment_rank);
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (runner && (rank != environment_rank || size < 2)) runner.reset();  // not a worker after all
  int code = 0;
  if (size < 2) {
    if (rank == 0) std::cerr << "hqsweep run: one MPI rank; running embedded\n";
    code = run_sweep_embedded(options);
  } else if (rank == 0) {
    MpiPool pool(size);
    try {
      code = coordinate_sweep(options, pool);
    } catch (...) {
      pool.stop();  // release the workers before the error reaches the command line
      MPI_Finalize();
      throw;
    }
    pool.stop();
  } else {
    // Workers leave signals to rank 0, which stops them through the protocol.
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    if (!runner) make_runner(rank);
    work(*runner);
  }
  MPI_Finalize();
  return code;
}

}  // namespace hqsweep
