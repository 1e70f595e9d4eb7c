// The commands of hqsweep-runner, the one executable that loads LibTorch: `serve` (a worker's task
// process), `train` (one run in this process) and `describe` (the models a config builds). The
// torch-free `hqsweep` executes hqsweep-runner for `train` and `describe` with the same arguments.
#pragma once

#include <string>
#include <vector>

namespace hqsweep {

// Each returns the exit code; bad input throws hqsweep::Error or a program_options error.
int serve_command(const std::string& name, const std::vector<std::string>& args);
int train_command(const std::string& name, const std::vector<std::string>& args);
int describe_command(const std::string& name, const std::vector<std::string>& args);

}  // namespace hqsweep
