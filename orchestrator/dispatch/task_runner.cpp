// The worker's side of its runner process: spawn, pipes, poll, timeouts, recycling.
#include "orchestrator/dispatch/task_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/posix_io.h"

extern char** environ;

namespace hqsweep {

using nlohmann::json;

namespace {

constexpr std::size_t kErrorTail = 2000;  // characters of the task's stderr kept for its error

std::string describe_wait_status(int status) {
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    return fmt::format("killed by signal {} ({}){}", signal, strsignal(signal),
                       signal == SIGKILL ? "; out of memory?" : "");
  }
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  return "ended";
}

// The result recorded for a run that produced none.
RunResult failed_result(const Task& task, RunStatus status, const std::string& error, int rank,
                        double start) {
  RunResult result;
  result.run_id = task.id;
  result.config = task.config;
  result.status = status;
  result.error = error;
  result.rank = rank;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  result.host = host;
  result.start_time = start;
  result.end_time = wall_seconds();
  return result;
}

}  // namespace

std::string runner_executable() {
  const char* chosen = std::getenv("HQSWEEP_RUNNER");
  if (chosen != nullptr && *chosen != '\0') return chosen;
  return (std::filesystem::path(self_executable()).parent_path() / "hqsweep-runner").string();
}

TaskRunner::TaskRunner(RunnerOptions options) : options_(std::move(options)) {
  if (options_.executable.empty()) options_.executable = runner_executable();
  // Writing to a runner that just died must fail with EPIPE (and be reported), not kill us.
  signal(SIGPIPE, SIG_IGN);
}

TaskRunner::~TaskRunner() {
  stop_child(/*kill_now=*/true);
}

void TaskRunner::start() {
  if (child_ < 0) spawn();
}

void TaskRunner::spawn() {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    throw Error(std::string("cannot create pipes for the runner: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  const std::vector<std::string> args = {options_.executable,
                                         "serve",
                                         "--data-dir",
                                         options_.data_directory,
                                         "--cache-dir",
                                         options_.cache_directory,
                                         "--checkpoint-interval",
                                         fmt::format("{}", options_.checkpoint_interval),
                                         "--threads",
                                         std::to_string(options_.threads),
                                         "--rank",
                                         std::to_string(options_.rank),
                                         "--grace",
                                         fmt::format("{}", options_.grace),
                                         "--parent",
                                         std::to_string(getpid())};
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int code =
      posix_spawn(&pid, options_.executable.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (code != 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    throw Error("cannot start the runner " + options_.executable + ": " + std::strerror(code));
  }
  child_ = pid;
  to_child_ = in[1];
  from_child_ = out[0];
  child_errors_ = err[0];
  tasks_in_child_ = 0;
  child_ready_ = false;
  ++spawned_;
}

int TaskRunner::stop_child(bool kill_now) {
  if (child_ < 0) return 0;
  if (to_child_ >= 0) ::close(to_child_);  // end of input: the runner exits by itself
  if (kill_now) ::kill(child_, SIGKILL);
  // A program task's processes live in their own group; they go with the runner.
  if (kill_now && program_group_ > 0) ::killpg(program_group_, SIGKILL);
  program_group_ = -1;
  int status = 0;
  while (waitpid(child_, &status, 0) < 0 && errno == EINTR) {
  }
  if (from_child_ >= 0) ::close(from_child_);
  if (child_errors_ >= 0) ::close(child_errors_);
  child_ = -1;
  to_child_ = from_child_ = child_errors_ = -1;
  queued_id_.clear();
  replies_.clear();
  return status;
}

// One task's attempt in the runner: its clocks and the report of a failure.
struct TaskRunner::Attempt {
  Attempt(const Task& task, int rank) : task(task), rank(rank) { report.task = task; }

  // The runner's start (LibTorch loading, seconds on a busy node) is not the task's time and does
  // not count against --task-timeout: the clocks restart at its ready line.
  void restart_clocks() {
    started = std::chrono::steady_clock::now();
    start_time = wall_seconds();
  }

  TaskReport fail(RunStatus status, const std::string& error, bool retryable) {
    report.succeeded = false;
    report.retryable = retryable;
    report.error = error;
    report.seconds = seconds_since(started);
    if (task.kind == TaskKind::run) {
      report.result = failed_result(task, status, error, rank, start_time);
    }
    return report;
  }

  const Task& task;
  int rank;
  TaskReport report;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  double start_time = wall_seconds();
  std::string errors;  // the runner's stderr since the task was sent, its tail kept

  std::string error_tail() const {
    return errors.size() > kErrorTail ? errors.substr(errors.size() - kErrorTail) : errors;
  }
  std::string with_tail(const std::string& message) const {
    const std::string tail = error_tail();
    return tail.empty() ? message : message + "; its stderr ended with:\n" + tail;
  }
};

TaskReport TaskRunner::execute(const Task& task, const std::function<bool()>& should_stop,
                               const Task* next) {
  TaskCallbacks callbacks;
  callbacks.should_stop = should_stop;
  return execute(task, callbacks, next);
}

TaskReport TaskRunner::execute(const Task& task, const TaskCallbacks& callbacks, const Task* next) {
  Attempt attempt(task, options_.rank);
  if (child_ < 0) spawn();
  if (!send(task, next)) {
    return attempt.fail(RunStatus::failed, "cannot send the task to the runner process", true);
  }
  if (std::optional<TaskReport> ended = wait_for_reply(attempt, callbacks)) return *ended;
  return read_reply(attempt);
}

bool TaskRunner::send(const Task& task, const Task* next) {
  const bool already_sent = !queued_id_.empty() && queued_id_ == task.id;
  queued_id_.clear();
  if (!already_sent && !write_all(to_child_, to_json(task).dump() + "\n")) {
    stop_child(true);
    spawn();
    if (!write_all(to_child_, to_json(task).dump() + "\n")) return false;
  }
  // Not behind the child's last task before recycling: it would run it instead of exiting.
  const bool recycles_after_this =
      options_.max_tasks_per_runner > 0 && tasks_in_child_ + 1 >= options_.max_tasks_per_runner;
  if (next != nullptr && !recycles_after_this &&
      write_all(to_child_, to_json(*next).dump() + "\n")) {
    queued_id_ = next->id;  // a failed write shows as the child's end below
  }
  return true;
}

bool TaskRunner::take_ready_line() {
  const std::size_t end_of_line = replies_.find('\n');
  if (end_of_line == std::string::npos || child_ready_) return false;
  child_ready_ = true;  // a first line that is not the ready line fails as an unreadable reply
  if (replies_.compare(0, end_of_line, kRunnerReadyLine) != 0) return false;
  replies_.erase(0, end_of_line + 1);
  return true;
}

bool TaskRunner::take_epoch_lines(const Attempt& attempt, const TaskCallbacks& callbacks) {
  static const std::string kEpochStart = R"({"epoch":)";  // a reply starts {"ok":
  static const std::string kGroupStart = R"({"group":)";
  for (std::size_t end; (end = replies_.find('\n')) != std::string::npos;) {
    const bool group = replies_.compare(0, kGroupStart.size(), kGroupStart) == 0;
    if (!group && replies_.compare(0, kEpochStart.size(), kEpochStart) != 0) return true;
    const json line = json::parse(replies_.substr(0, end), nullptr, /*allow_exceptions=*/false);
    replies_.erase(0, end + 1);
    if (group) {
      if (std::optional<int> g = parse_process_group_line(line)) program_group_ = *g;
      continue;
    }
    if (callbacks.on_epoch && attempt.task.kind == TaskKind::run) {
      if (std::optional<EpochReport> report = parse_epoch_report_line(line, attempt.task.id)) {
        callbacks.on_epoch(*report);
      }
    }
  }
  return false;
}

std::optional<TaskReport> TaskRunner::wait_for_reply(Attempt& attempt,
                                                     const TaskCallbacks& callbacks) {
  const std::function<bool()>& should_stop = callbacks.should_stop;
  for (;;) {
    if (take_ready_line()) attempt.restart_clocks();
    if (child_ready_ && take_epoch_lines(attempt, callbacks)) return std::nullopt;
    if (callbacks.take_prunes) {
      for (const std::string& id : callbacks.take_prunes()) {
        // Only the running task can be stopped; a decision about another one is stale.
        if (id == attempt.task.id) write_all(to_child_, prune_line(id) + "\n");
      }
    }
    pollfd fds[2] = {{from_child_, POLLIN, 0}, {child_errors_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, 50);
    if (ready < 0 && errno != EINTR) throw Error(std::string("poll: ") + std::strerror(errno));
    char buffer[8192];
    if (ready > 0 && (fds[1].revents & (POLLIN | POLLHUP))) {
      const ssize_t n = ::read(child_errors_, buffer, sizeof buffer);
      if (n > 0) {
        attempt.errors.append(buffer, static_cast<std::size_t>(n));
        if (attempt.errors.size() > 4 * kErrorTail) {
          attempt.errors.erase(0, attempt.errors.size() - kErrorTail);
        }
      }
    }
    if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP))) {
      const ssize_t n = ::read(from_child_, buffer, sizeof buffer);
      if (n <= 0) return child_ended(attempt);
      replies_.append(buffer, static_cast<std::size_t>(n));
    }
    if (!child_ready_ && seconds_since(attempt.started) > options_.start_timeout) {
      stop_child(true);
      return attempt.fail(
          RunStatus::failed,
          attempt.with_tail(fmt::format("the runner process ({}) did not start "
                                        "within {:g} s",
                                        options_.executable, options_.start_timeout)),
          true);
    }
    if (child_ready_ && options_.task_timeout > 0 &&
        seconds_since(attempt.started) > options_.task_timeout) {
      stop_child(true);
      return attempt.fail(RunStatus::timeout,
                          attempt.with_tail(fmt::format("timed out after {:g} s (--task-timeout)",
                                                        options_.task_timeout)),
                          true);
    }
    if (should_stop && should_stop()) {
      stop_child(true);
      return attempt.fail(RunStatus::cancelled, "stopped before it finished (signal)", false);
    }
  }
}

TaskReport TaskRunner::child_ended(Attempt& attempt) {
  // Collect the rest of its stderr, then its exit status.
  char buffer[8192];
  ssize_t n;
  while ((n = ::read(child_errors_, buffer, sizeof buffer)) > 0) {
    attempt.errors.append(buffer, static_cast<std::size_t>(n));
  }
  const int status = stop_child(/*kill_now=*/false);
  return attempt.fail(RunStatus::failed,
                      attempt.with_tail("the task's process " + describe_wait_status(status)),
                      true);
}

TaskReport TaskRunner::read_reply(Attempt& attempt) {
  program_group_ = -1;  // the task ended, and its program with it
  const std::size_t end_of_reply = replies_.find('\n');
  const std::string line = replies_.substr(0, end_of_reply);
  replies_.erase(0, end_of_reply + 1);  // what stays is the queued task's reply, or part of it
  json answer;
  try {
    answer = json::parse(line);
  } catch (const json::exception& e) {
    stop_child(true);
    return attempt.fail(RunStatus::failed,
                        std::string("unreadable reply from the runner: ") + e.what(), true);
  }
  ++tasks_in_child_;
  if (options_.max_tasks_per_runner > 0 && tasks_in_child_ >= options_.max_tasks_per_runner) {
    stop_child(false);
  }
  if (!answer.value("ok", false)) {
    return attempt.fail(RunStatus::failed, answer.value("error", std::string("unknown error")),
                        false);
  }
  TaskReport& report = attempt.report;
  report.seconds = seconds_since(attempt.started);
  if (attempt.task.kind == TaskKind::run) report.result = run_result_from_json(answer.at("result"));
  report.succeeded = true;  // runs: done or diverged, both are results
  return report;
}

}  // namespace hqsweep
