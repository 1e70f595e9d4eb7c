// Option parsing shared by every command's handler.
#pragma once

#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace hqsweep {

// Parses a command's arguments into vm; prints "Usage: hqsweep COMMAND USAGE" and the options and
// returns false when --help was given. Bad options throw boost::program_options errors.
bool parse_arguments(const std::string& command, const std::string& usage,
                     const boost::program_options::options_description& options,
                     const boost::program_options::positional_options_description& positional,
                     const std::vector<std::string>& args,
                     boost::program_options::variables_map& vm);

}  // namespace hqsweep
