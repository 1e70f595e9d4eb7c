// Task isolation: a worker executes tasks in a long-lived child process (`hqsweep-runner serve`,
// spawned, not forked), so that a segfault, abort, OOM kill or hang ends only that task. The child
// is respawned when it dies and recycled after a number of tasks. This side holds no LibTorch: the
// runner executable does.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/dispatch/task_protocol.h"

namespace hqsweep {

struct RunnerOptions {
  std::string executable;  // the runner executable; "" = runner_executable()
  std::string data_directory = "data";
  std::string cache_directory = "cache";
  double checkpoint_interval = 60;  // seconds; see WorkerOptions
  int threads = 1;
  double grace = 30;             // seconds a stopped program task gets before SIGKILL
  double task_timeout = 0;       // seconds, from the runner's ready line; 0 = none
  double start_timeout = 120;    // seconds a new runner may take to say it is ready
  int max_tasks_per_runner = 0;  // 0 = never recycle
  int rank = 0;
};

// What a running task's caller hears and says besides its end.
struct TaskCallbacks {
  // Asked every 50 ms: when it says yes, the child is killed and the task reported cancelled.
  std::function<bool()> should_stop;
  // Each epoch report of a run, as the child writes it.
  std::function<void(const EpochReport&)> on_epoch;
  // Asked every 50 ms: runs to stop (the stopping rule's decisions), passed to the child.
  std::function<std::vector<std::string>()> take_prunes;
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
  TaskReport execute(const Task& task, const TaskCallbacks& callbacks, const Task* next);
  // Starts the child process now (execute starts it when needed).
  void start();
  // Processes started so far (for tests: one per runner life, not one per task).
  int spawned() const { return spawned_; }

 private:
  struct Attempt;
  void spawn();
  // Writes the task (unless it was queued already) and `next` behind it; false when the runner
  // cannot be written to even after a respawn.
  bool send(const Task& task, const Task* next);
  // Consumes the runner's ready line when it is the first line read; true when it did.
  bool take_ready_line();
  // Reads until a reply line is there (nullopt) or the attempt ends otherwise: the runner died,
  // did not start in time, the task timed out, or should_stop said stop.
  std::optional<TaskReport> wait_for_reply(Attempt& attempt, const TaskCallbacks& callbacks);
  // Hands complete epoch lines at the front of replies_ to on_epoch; true when a reply follows.
  bool take_epoch_lines(const Attempt& attempt, const TaskCallbacks& callbacks);
  TaskReport child_ended(Attempt& attempt);
  TaskReport read_reply(Attempt& attempt);
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
  int program_group_ = -1;  // the running program task's process group; -1 = none
};

// The runner executable: $HQSWEEP_RUNNER when set, else hqsweep-runner beside this process's own
// executable (both are built and installed into one directory).
std::string runner_executable();

}  // namespace hqsweep
