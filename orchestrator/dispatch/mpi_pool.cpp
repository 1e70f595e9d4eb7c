// The MPI pool and the workers' loop: rank 0 sends tasks (JSON text) to ranks 1..K-1, which answer
// with reports. Nobody waits in a blocking receive: Open MPI busy-polls there, taking a core from
// the tasks
// (../shared/notes/mpi-on-few-cores.md). Waiting ranks probe and sleep with a growing back-off.
#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <initializer_list>
#include <iostream>
#include <iterator>
#include <list>
#include <memory>
#include <thread>

#include "common/error.h"
#include "orchestrator/dispatch/mpi_pool.h"

namespace hqsweep {

using nlohmann::json;

namespace {

enum Tag { kTask = 1, kReport = 2, kStop = 3, kBye = 4, kEpoch = 5, kPrune = 6 };

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

// Probes for a message with any of `tags` until `seconds` pass, sleeping 20 us doubling up to 1 ms
// between probes.
bool probe_for(int source, std::initializer_list<int> tags, double seconds, MPI_Status* status) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::chrono::microseconds pause(20);
  for (;;) {
    for (int tag : tags) {
      int flag = 0;
      MPI_Iprobe(source, tag, MPI_COMM_WORLD, &flag, status);
      if (flag) return true;
    }
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

  std::optional<PoolEvent> wait(double seconds) override {
    complete_sends(false);
    MPI_Status status;
    if (!probe_for(MPI_ANY_SOURCE, {kReport, kEpoch}, seconds, &status)) return std::nullopt;
    const std::string text = receive_text(status);
    PoolEvent event;
    event.worker = status.MPI_SOURCE - 1;
    if (status.MPI_TAG == kEpoch) {
      event.epoch = epoch_report_from_json(json::parse(text));
    } else {
      event.report = task_report_from_json(json::parse(text));
    }
    return event;
  }

  void prune(int worker, const std::string& run_id) override {
    sends_.emplace_back();
    sends_.back().first = run_id;
    MPI_Isend(sends_.back().first.data(), static_cast<int>(sends_.back().first.size()), MPI_CHAR,
              worker + 1, kPrune, MPI_COMM_WORLD, &sends_.back().second);
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
      if (!probe_for(MPI_ANY_SOURCE, {MPI_ANY_TAG}, 1.0, &status)) continue;
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

}  // namespace

int rank_from_environment() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}) {
    if (const char* value = std::getenv(name)) return std::atoi(value);
  }
  return -1;
}

void serve_as_mpi_worker(TaskRunner& runner) {
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
      if (!probe_for(0, {MPI_ANY_TAG}, 1.0, &status) || status.MPI_TAG == kTask) continue;
      receive_text(status);
      if (status.MPI_TAG == kPrune) continue;  // for a run that has ended already
      stop = true;                             // the stop
      break;
    }
    if (stop) break;
    const Task task = std::move(tasks.front());
    tasks.pop_front();
    TaskCallbacks callbacks;
    callbacks.should_stop = [] {
      int flag = 0;
      MPI_Status probed;
      MPI_Iprobe(0, kStop, MPI_COMM_WORLD, &flag, &probed);
      return flag != 0;
    };
    callbacks.on_epoch = [](const EpochReport& epoch) {
      send_text(to_json(epoch).dump(), 0, kEpoch);
    };
    callbacks.take_prunes = [] {
      std::vector<std::string> ids;
      for (;;) {
        int flag = 0;
        MPI_Status probed;
        MPI_Iprobe(0, kPrune, MPI_COMM_WORLD, &flag, &probed);
        if (!flag) return ids;
        ids.push_back(receive_text(probed));
      }
    };
    const TaskReport report =
        runner.execute(task, callbacks, tasks.empty() ? nullptr : &tasks.front());
    send_text(to_json(report).dump(), 0, kReport);
    if (report.result.status == RunStatus::cancelled) {
      // Rank 0 is stopping: tasks queued behind this one are dropped (it records them), up to
      // its stop message.
      for (;;) {
        MPI_Status next;
        if (!probe_for(0, {MPI_ANY_TAG}, 1.0, &next)) continue;
        receive_text(next);
        if (next.MPI_TAG == kStop) break;
      }
      break;
    }
  }
  send_text("", 0, kBye);
}

bool launched_by_mpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

MpiSession::MpiSession() {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() {
  MPI_Finalize();
}

std::unique_ptr<WorkerPool> make_mpi_pool(int ranks) {
  return std::make_unique<MpiPool>(ranks);
}

}  // namespace hqsweep
