// Commands that run configs: `hqsweep train` (one run, in this process).
#pragma once

#include <string>
#include <vector>

namespace hqsweep {

int train_command(const std::string& name, const std::vector<std::string>& args);

}  // namespace hqsweep
