// The commands that read and tidy results files and feature caches: `hqsweep ls` and
// `hqsweep cache ls|rm|gc`.
#pragma once

#include <string>
#include <vector>

namespace hqsweep {

// Each returns the process exit code; bad input throws hqsweep::Error or a program_options error.
int ls_command(const std::string& name, const std::vector<std::string>& args);
int cache_command(const std::string& name, const std::vector<std::string>& args);

}  // namespace hqsweep
