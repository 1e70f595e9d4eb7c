// The hqsweep executable's command table and dispatch. No LibTorch here: `train` and `describe`
// execute hqsweep-runner, which holds the worker.
#include "orchestrator/cli/cli.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/exit_codes.h"
#include "orchestrator/cli/command_line.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/dispatch/task_runner.h"

#ifndef HQSWEEP_VERSION
#define HQSWEEP_VERSION "unknown"
#endif

namespace hqsweep {

namespace {

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"run", "Run a sweep or a study: embedded, or under mpirun with rank 0 scheduling",
       run_command},
      {"validate", "Expand a sweep file, check it, and show its runs", validate_command},
      {"train", "Run one resolved config and print its metrics as JSON", runner_executable_command},
      {"report", "Tables of metrics per group, with comparisons, from results files",
       report_command},
      {"submit", "Write and submit a Slurm batch job for a sweep", submit_command},
      {"status", "A sweep's progress next to the state of its Slurm jobs", status_command},
      {"merge", "Combine results files (a job array's shards) into one", merge_command},
      {"describe", "Show a model's architecture and parameter counts", runner_executable_command},
      {"ls", "List the runs of a results file with status and metrics", ls_command},
      {"cache", "List, remove and garbage-collect SHF feature caches", cache_command},
  };
  return list;
}

void print_help(std::ostream& out) {
  out << "hqsweep " << HQSWEEP_VERSION
      << ": hyperparameter sweeps over hybrid quantum-classical classifiers\n\n"
         "Usage: hqsweep <command> [options]\n"
         "       hqsweep <command> --help\n\n"
         "Commands:\n";
  for (const Command& c : commands()) {
    std::string line = std::string("  ") + c.name;
    line.resize(14, ' ');
    out << line << c.summary << "\n";
  }
  out << "\nOptions:\n"
         "  -h, --help    show this help\n"
         "  --version     print the version\n\n"
         "Exit codes: 0 success; 1 bad input or a failed operation; 2 usage error. `run` adds 3\n"
         "(some runs failed) and 4 (stopped by a signal; run it again to resume).\n";
}

}  // namespace

int runner_executable_command(const std::string& name, const std::vector<std::string>& args) {
  const std::string runner = runner_executable();
  std::vector<std::string> words = {runner, name};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  std::cout.flush();
  execv(runner.c_str(), argv.data());
  throw Error("cannot execute " + runner + " (hqsweep " + name + " needs it; it is built and " +
              "installed beside hqsweep, or named by $HQSWEEP_RUNNER): " + std::strerror(errno));
}

int run_cli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_help(std::cerr);
    return kExitUsage;
  }
  const std::string& first = args.front();
  if (first == "--help" || first == "-h" || first == "help") {
    print_help(std::cout);
    return kExitOk;
  }
  if (first == "--version") {
    std::cout << "hqsweep " << HQSWEEP_VERSION << "\n";
    return kExitOk;
  }
  for (const Command& command : commands()) {
    if (first != command.name) continue;
    return run_command_handler(command, std::vector<std::string>(args.begin() + 1, args.end()));
  }
  std::cerr << "hqsweep: unknown command \"" << first << "\"\n\n";
  print_help(std::cerr);
  return kExitUsage;
}

}  // namespace hqsweep
