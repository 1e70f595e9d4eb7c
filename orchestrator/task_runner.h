// Task isolation: a worker executes tasks in a long-lived child process ("hqsweep runner", spawned
// from our own executable, not forked), so that a segfault, abort, OOM kill or hang ends only that
// task. The child is respawned when it dies and recycled after a number of tasks.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "orchestrator/scheduler.h"
#include "store/run_result.h"
#include "worker/run.h"

namespace hqsweep {

// How a task ended, as its worker reports it to the scheduler.
struct TaskReport {
  Task task;
  bool succeeded = false;  // runs: done or diverged; extractions: the cache is written
  bool retryable = false;  // failed, timed out or crashed (not diverged, not cancelled)
  RunResult result;        // runs: the result, or a failed/timeout/cancelled one made here
  std::string error;
  double seconds = 0;
};

nlohmann::json to_json(const TaskReport& report);
TaskReport task_report_from_json(const nlohmann::json& json);
nlohmann::json to_json(const Task& task);
Task task_from_json(const nlohmann::json& json);

struct RunnerOptions {
  std::string executable;  // hqsweep itself; "" = /proc/self/exe
  std::string data_directory = "data";
  std::string cache_directory = "cache";
  double checkpoint_interval = 60;  // seconds; see WorkerOptions
  int threads = 1;
  double task_timeout = 0;       // seconds, from the runner's ready line; 0 = none
  double start_timeout = 120;    // seconds a new runner may take to say it is ready
  int max_tasks_per_runner = 0;  // 0 = never recycle
  int rank = 0;
};

class TaskRunner {
 public:
  explicit TaskRunner(RunnerOptions options);
  ~TaskRunner();
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // Executes one task in the child process (spawning it first when needed). While waiting it
  // sleeps in poll(); `should_stop` is asked every 50 ms, and when it says yes the child is killed
  // and the task reported cancelled. `next`, when given, is sent behind `task`: the child starts it
  // the moment `task` ends, without waiting for this process to read the reply and send it, and
  // the following execute(*next) collects it. A child that dies takes its queued task along; the
  // following execute sends it again.
  TaskReport execute(const Task& task, const std::function<bool()>& should_stop,
                     const Task* next = nullptr);
  // Starts the child process now (execute starts it when needed).
  void start();
  // Processes started so far (for tests: one per runner life, not one per task).
  int spawned() const { return spawned_; }

 private:
  void spawn();
  // Ends the child (closing its input, or SIGKILL) and returns its wait status.
  int stop_child(bool kill_now);

  RunnerOptions options_;
  pid_t child_ = -1;
  int to_child_ = -1, from_child_ = -1, child_errors_ = -1;
  int tasks_in_child_ = 0;
  bool child_ready_ = false;  // the child has written its ready line
  std::string queued_id_;     // the task sent to the child behind the running one; "" = none
  std::string replies_;  // read from the child beyond the last complete reply (the queued one's)
  int spawned_ = 0;
};

// The child's side (`hqsweep runner`): reads one task per line on stdin, writes one reply per line
// on its original stdout (everything else printed goes to stderr). Ignores SIGINT and SIGTERM (its
// worker decides) and dies with its parent.
int runner_main(const WorkerOptions& options, pid_t parent);

}  // namespace hqsweep
