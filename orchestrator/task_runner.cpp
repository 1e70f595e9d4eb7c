// The runner child process and the worker's side of it: spawn, pipes, poll, timeouts, recycling.
#include "orchestrator/task_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>

#include <fmt/format.h>

#include "common/config_schema.h"
#include "common/error.h"
#include "store/feature_cache.h"
#include "worker/dataset.h"
#include "worker/feature_extraction.h"

extern char** environ;

namespace hqsweep {

using nlohmann::json;

namespace {

constexpr std::size_t kErrorTail = 2000;  // characters of the task's stderr kept for its error
// A runner's first line, once it has started (LibTorch loaded) and reads tasks.
constexpr const char* kReadyLine = R"({"ready":true})";

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string self_executable() {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) throw Error(std::string("cannot find our own executable: ") + std::strerror(errno));
  return std::string(path, static_cast<std::size_t>(n));
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

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
  result.end_time = now_seconds();
  return result;
}

}  // namespace

json to_json(const Task& task) {
  return {{"kind", task.kind == TaskKind::run ? "run" : "extract"},
          {"id", task.id},
          {"config", task.config},
          {"estimate", task.estimate},
          {"cost_group", task.cost_group},
          {"attempt", task.attempt}};
}

Task task_from_json(const json& j) {
  Task task;
  task.kind = j.at("kind") == "run" ? TaskKind::run : TaskKind::extract;
  task.id = j.at("id");
  task.config = j.at("config");
  task.estimate = j.value("estimate", 0.0);
  task.cost_group = j.value("cost_group", "");
  task.attempt = j.value("attempt", 1);
  return task;
}

json to_json(const TaskReport& report) {
  json j = {{"task", to_json(report.task)},
            {"succeeded", report.succeeded},
            {"retryable", report.retryable},
            {"error", report.error},
            {"seconds", report.seconds}};
  if (report.task.kind == TaskKind::run) j["result"] = to_json(report.result);
  return j;
}

TaskReport task_report_from_json(const json& j) {
  TaskReport report;
  report.task = task_from_json(j.at("task"));
  report.succeeded = j.at("succeeded");
  report.retryable = j.at("retryable");
  report.error = j.value("error", "");
  report.seconds = j.value("seconds", 0.0);
  if (j.contains("result")) report.result = run_result_from_json(j.at("result"));
  return report;
}

TaskRunner::TaskRunner(RunnerOptions options) : options_(std::move(options)) {
  if (options_.executable.empty()) options_.executable = self_executable();
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
                                         "runner",
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

TaskReport TaskRunner::execute(const Task& task, const std::function<bool()>& should_stop,
                               const Task* next) {
  // Restarted when a new runner says it is ready: its start (LibTorch loading, seconds on a busy
  // node) is not the task's time and does not count against --task-timeout.
  auto started = std::chrono::steady_clock::now();
  double start_time = now_seconds();
  TaskReport report;
  report.task = task;
  auto fail = [&](RunStatus status, const std::string& error, bool retryable) {
    report.succeeded = false;
    report.retryable = retryable;
    report.error = error;
    report.seconds = seconds_since(started);
    if (task.kind == TaskKind::run) {
      report.result = failed_result(task, status, error, options_.rank, start_time);
    }
    return report;
  };

  if (child_ < 0) spawn();
  std::string errors;
  const bool already_sent = !queued_id_.empty() && queued_id_ == task.id;
  queued_id_.clear();
  if (!already_sent && !write_all(to_child_, to_json(task).dump() + "\n")) {
    stop_child(true);
    spawn();
    if (!write_all(to_child_, to_json(task).dump() + "\n")) {
      return fail(RunStatus::failed, "cannot send the task to the runner process", true);
    }
  }
  // Not behind the child's last task before recycling: it would run it instead of exiting.
  const bool recycles_after_this =
      options_.max_tasks_per_runner > 0 && tasks_in_child_ + 1 >= options_.max_tasks_per_runner;
  if (next != nullptr && !recycles_after_this &&
      write_all(to_child_, to_json(*next).dump() + "\n")) {
    queued_id_ = next->id;  // a failed write shows as the child's end below
  }
  std::string& reply = replies_;
  for (;;) {
    const std::size_t end_of_line = reply.find('\n');
    if (end_of_line != std::string::npos && !child_ready_) {
      if (reply.compare(0, end_of_line, kReadyLine) == 0) {
        reply.erase(0, end_of_line + 1);
        child_ready_ = true;
        started = std::chrono::steady_clock::now();
        start_time = now_seconds();
        continue;
      }
      child_ready_ = true;  // not ours: left to fail as an unreadable reply
    }
    if (end_of_line != std::string::npos) break;
    pollfd fds[2] = {{from_child_, POLLIN, 0}, {child_errors_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, 50);
    if (ready < 0 && errno != EINTR) throw Error(std::string("poll: ") + std::strerror(errno));
    char buffer[8192];
    if (ready > 0 && (fds[1].revents & (POLLIN | POLLHUP))) {
      const ssize_t n = ::read(child_errors_, buffer, sizeof buffer);
      if (n > 0) {
        errors.append(buffer, static_cast<std::size_t>(n));
        if (errors.size() > 4 * kErrorTail) errors.erase(0, errors.size() - kErrorTail);
      }
    }
    bool ended = false;
    if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP))) {
      const ssize_t n = ::read(from_child_, buffer, sizeof buffer);
      if (n > 0) {
        reply.append(buffer, static_cast<std::size_t>(n));
      } else {
        ended = true;
      }
    }
    const std::string tail =
        errors.size() > kErrorTail ? errors.substr(errors.size() - kErrorTail) : errors;
    if (ended) {
      // Collect the rest of its stderr, then its exit status.
      ssize_t n;
      while ((n = ::read(child_errors_, buffer, sizeof buffer)) > 0) {
        errors.append(buffer, static_cast<std::size_t>(n));
      }
      const int status = stop_child(/*kill_now=*/false);
      const std::string last =
          errors.size() > kErrorTail ? errors.substr(errors.size() - kErrorTail) : errors;
      return fail(RunStatus::failed,
                  "the task's process " + describe_wait_status(status) +
                      (last.empty() ? "" : "; its stderr ended with:\n" + last),
                  true);
    }
    if (!child_ready_ && seconds_since(started) > options_.start_timeout) {
      stop_child(true);
      return fail(RunStatus::failed,
                  fmt::format("the runner process ({}) did not start within {:g} s{}",
                              options_.executable, options_.start_timeout,
                              tail.empty() ? "" : "; its stderr ended with:\n" + tail),
                  true);
    }
    if (child_ready_ && options_.task_timeout > 0 &&
        seconds_since(started) > options_.task_timeout) {
      stop_child(true);
      return fail(RunStatus::timeout,
                  fmt::format("timed out after {:g} s (--task-timeout){}", options_.task_timeout,
                              tail.empty() ? "" : "; its stderr ended with:\n" + tail),
                  true);
    }
    if (should_stop && should_stop()) {
      stop_child(true);
      return fail(RunStatus::cancelled, "stopped before it finished (signal)", false);
    }
  }

  const std::size_t end_of_reply = reply.find('\n');
  const std::string line = reply.substr(0, end_of_reply);
  reply.erase(0, end_of_reply + 1);  // what stays is the queued task's reply, or part of it
  json answer;
  try {
    answer = json::parse(line);
  } catch (const json::exception& e) {
    stop_child(true);
    return fail(RunStatus::failed, std::string("unreadable reply from the runner: ") + e.what(),
                true);
  }
  ++tasks_in_child_;
  if (options_.max_tasks_per_runner > 0 && tasks_in_child_ >= options_.max_tasks_per_runner) {
    stop_child(false);
  }
  if (!answer.value("ok", false)) {
    return fail(RunStatus::failed, answer.value("error", std::string("unknown error")), false);
  }
  report.seconds = seconds_since(started);
  if (task.kind == TaskKind::run) {
    report.result = run_result_from_json(answer.at("result"));
    report.succeeded = true;  // done or diverged: both are results
  } else {
    report.succeeded = true;
  }
  return report;
}

int runner_main(const WorkerOptions& options, pid_t parent) {
  // Die with the worker that started us, and leave signals to it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (parent > 0 && getppid() != parent) return 1;
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGUSR1, SIG_IGN);
  // Replies go to the original stdout; anything else printed lands in stderr.
  const int replies = dup(1);
  dup2(2, 1);
  if (!write_all(replies, std::string(kReadyLine) + "\n")) return 1;
  std::string line;
  while (std::getline(std::cin, line)) {
    json answer;
    try {
      const Task task = task_from_json(json::parse(line));
      if (task.kind == TaskKind::run) {
        WorkerOptions run_options = options;
        answer = {{"ok", true}, {"result", to_json(execute_run(task.config, run_options))}};
      } else {
        const Dataset data = load_dataset(task.config, options.data_directory);
        cached_features(task.config, data, FeatureCache(options.cache_directory), options.threads,
                        options.log, options.checkpoint_interval);
        answer = {{"ok", true}};
      }
    } catch (const std::exception& e) {
      answer = {{"ok", false}, {"error", e.what()}};
    }
    if (!write_all(replies, answer.dump() + "\n")) return 1;
  }
  return 0;
}

}  // namespace hqsweep
