// The hqsweep-runner executable: the commands that load LibTorch. Users reach `train` and
// `describe` through hqsweep, which executes this program with the same arguments; `serve` is the
// task process a worker starts.
#include <iostream>
#include <string>
#include <vector>

#include "common/exit_codes.h"
#include "orchestrator/cli/command_line.h"
#include "orchestrator/runner/runner_commands.h"

int main(int argc, char** argv) {
  using namespace hqsweep;
  static const std::vector<Command> commands = {
      {"serve", "a worker's task process (started by hqsweep run)", serve_command},
      {"train", "one resolved config end to end", train_command},
      {"describe", "the models a config or sweep builds", describe_command},
  };
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty()) {
    for (const Command& command : commands) {
      if (args.front() == command.name) {
        return run_command_handler(command, std::vector<std::string>(args.begin() + 1, args.end()));
      }
    }
  }
  std::cerr << "hqsweep-runner: the LibTorch side of hqsweep; use it through hqsweep.\n"
               "Usage: hqsweep-runner serve|train|describe [options]\n";
  return kExitUsage;
}
