// `hqsweep-runner serve`: a worker's task process.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <iostream>
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

// Reads one task per line on stdin, writes one reply per line on its original stdout (everything
// else printed goes to stderr). Ignores SIGINT and SIGTERM (its worker decides) and dies with its
// parent.
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
  std::string line;
  while (std::getline(std::cin, line)) {
    json answer;
    try {
      const Task task = task_from_json(json::parse(line));
      if (task.kind == TaskKind::run) {
        const RunResult result = execute_run(task.config, options);
        answer = runner_reply(&result);
      } else {
        execute_extraction(task.config, options);
        answer = runner_reply(nullptr);
      }
    } catch (const std::exception& e) {
      answer = runner_error_reply(e.what());
    }
    if (!write_all(replies, answer.dump() + "\n")) return 1;
  }
  return 0;
}

}  // namespace

int serve_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options("The task process a worker starts (internal)");
  WorkerOptions worker;
  long parent = 0;
  options.add_options()("data-dir", po::value(&worker.data_directory))(
      "cache-dir", po::value(&worker.cache_directory))("checkpoint-interval",
                                                       po::value(&worker.checkpoint_interval))(
      "threads", po::value(&worker.threads))("rank", po::value(&worker.rank))("parent",
                                                                              po::value(&parent));
  po::variables_map vm;
  if (!parse_arguments(name, "(started by hqsweep run; not for users)", options, {}, args, vm))
    return 0;
  return serve(worker, static_cast<pid_t>(parent));
}

}  // namespace hqsweep
