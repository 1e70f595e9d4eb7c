// Commands that run configs: `hqsweep train` (one run, in this process), `hqsweep run` (a
// sweep, embedded or under mpirun) and the internal `hqsweep runner` (a worker's task process).
#pragma once

#include <string>
#include <vector>

namespace hqsweep {

int train_command(const std::string& name, const std::vector<std::string>& args);
int run_command(const std::string& name, const std::vector<std::string>& args);
int runner_command(const std::string& name, const std::vector<std::string>& args);

}  // namespace hqsweep
