// The Slurm workflow's commands: `hqsweep submit` (write and submit a batch job), `hqsweep status`
// (Slurm's job state next to the results' progress) and `hqsweep merge` (a job array's shard
// files into one). docs/slurm.md.
#pragma once

#include <string>
#include <vector>

namespace hqsweep {

// Each returns the process exit code; bad input throws hqsweep::Error or a program_options error.
int submit_command(const std::string& name, const std::vector<std::string>& args);
int status_command(const std::string& name, const std::vector<std::string>& args);
int merge_command(const std::string& name, const std::vector<std::string>& args);

}  // namespace hqsweep
