// `hqsweep-runner serve`: a worker's task process.
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <map>
#include <set>
#include <string>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/posix_io.h"
#include "orchestrator/cli/command_line.h"
#include "orchestrator/dispatch/task_protocol.h"
#include "orchestrator/runner/runner_commands.h"
#include "worker/run.h"

namespace hqsweep {

namespace {

namespace po = boost::program_options;
using nlohmann::json;

// The runner's input: tasks, and decisions of the stopping rule ({"prune": RUN_ID}) that may
// arrive while a task runs. Read from fd 0 directly, so that a running task can look for a
// decision without blocking and without losing the tasks queued behind it.
class TaskInput {
 public:
  // The next task line, waiting for it; false at the end of input.
  bool next_task(std::string& line) {
    for (;;) {
      if (!tasks_.empty()) {
        line = std::move(tasks_.front());
        tasks_.pop_front();
        return true;
      }
      if (closed_ || !read_some(-1)) return false;
    }
  }

  // Whether a prune for `run_id` has arrived; never waits.
  bool prune_arrived(const std::string& run_id) {
    while (read_some(0)) {
    }
    return pruned_.count(run_id) > 0;
  }

 private:
  // Reads what is there (waiting up to `timeout_ms`, -1: for ever) and sorts complete lines.
  bool read_some(int timeout_ms) {
    if (closed_) return false;
    pollfd input{0, POLLIN, 0};
    if (poll(&input, 1, timeout_ms) <= 0) return false;
    char buffer[65536];
    const ssize_t got = read(0, buffer, sizeof buffer);
    if (got <= 0) {
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) return true;
      closed_ = true;
      return false;
    }
    pending_.append(buffer, static_cast<std::size_t>(got));
    for (std::size_t end; (end = pending_.find('\n')) != std::string::npos;) {
      std::string line = pending_.substr(0, end);
      pending_.erase(0, end + 1);
      const json message = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (message.is_object() && message.contains("prune") && message["prune"].is_string()) {
        pruned_.insert(message["prune"].get<std::string>());
      } else {
        tasks_.push_back(std::move(line));
      }
    }
    return true;
  }

  std::deque<std::string> tasks_;
  std::set<std::string> pruned_;
  std::string pending_;
  bool closed_ = false;
};

// Reads tasks from stdin, writes one reply per line on its original stdout, and before a run's
// reply its per-epoch reports ({"epoch": N, "values": {...}}); everything else printed goes to
// stderr. Ignores SIGINT and SIGTERM (its worker decides) and dies with its parent.
int serve(const WorkerOptions& options, pid_t parent) {
  // Die with the worker that started us, and leave signals to it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (parent > 0 && getppid() != parent) return 1;
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGUSR1, SIG_IGN);
  // Replies go to the original stdout; anything else printed lands in stderr.
  const int replies = dup(1);
  dup2(2, 1);
  if (!write_all(replies, std::string(kRunnerReadyLine) + "\n")) return 1;
  TaskInput input;
  std::string line;
  bool written = true;
  while (written && input.next_task(line)) {
    json answer;
    try {
      const Task task = task_from_json(json::parse(line));
      if (task.kind == TaskKind::run) {
        EpochHooks hooks;
        hooks.on_epoch = [&](int64_t epoch, const std::map<std::string, double>& values) {
          written = written && write_all(replies, epoch_report_line(epoch, values) + "\n");
        };
        hooks.should_stop = [&, id = task.id] { return input.prune_arrived(id); };
        hooks.on_process_group = [&](int group) {
          written = written && write_all(replies, process_group_line(group) + "\n");
        };
        const RunResult result = execute_run(task.config, options, hooks);
        answer = runner_reply(&result);
      } else {
        execute_extraction(task.config, options);
        answer = runner_reply(nullptr);
      }
    } catch (const std::exception& e) {
      answer = runner_error_reply(e.what());
    }
    written = written && write_all(replies, answer.dump() + "\n");
  }
  return written ? 0 : 1;
}

}  // namespace

int serve_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options("The task process a worker starts (internal)");
  WorkerOptions worker;
  long parent = 0;
  options.add_options()("data-dir", po::value(&worker.data_directory))(
      "cache-dir", po::value(&worker.cache_directory))("checkpoint-interval",
                                                       po::value(&worker.checkpoint_interval))(
      "threads", po::value(&worker.threads))("rank", po::value(&worker.rank))(
      "grace", po::value(&worker.grace))("parent", po::value(&parent));
  po::variables_map vm;
  if (!parse_arguments(name, "(started by hqsweep run; not for users)", options, {}, args, vm))
    return 0;
  return serve(worker, static_cast<pid_t>(parent));
}

}  // namespace hqsweep
