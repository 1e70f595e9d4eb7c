// The commands of the torch-free `hqsweep` executable, one file each (cli/<name>_command.cpp).
// Each returns the process exit code (common/exit_codes.h); bad input throws hqsweep::Error or a
// program_options error, which run_command_handler turns into a message and an exit code.
#pragma once

#include <string>
#include <vector>

namespace hqsweep {

int validate_command(const std::string& name, const std::vector<std::string>& args);
int run_command(const std::string& name, const std::vector<std::string>& args);
int report_command(const std::string& name, const std::vector<std::string>& args);
int submit_command(const std::string& name, const std::vector<std::string>& args);
int status_command(const std::string& name, const std::vector<std::string>& args);
int merge_command(const std::string& name, const std::vector<std::string>& args);
int ls_command(const std::string& name, const std::vector<std::string>& args);
int cache_command(const std::string& name, const std::vector<std::string>& args);
// `train` and `describe` need LibTorch: they execute hqsweep-runner with the same arguments.
int runner_executable_command(const std::string& name, const std::vector<std::string>& args);

}  // namespace hqsweep
