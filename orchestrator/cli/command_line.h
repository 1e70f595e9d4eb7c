// What every command of both executables (hqsweep, hqsweep-runner) shares: a command table entry,
// option parsing, the error handling that turns exceptions into exit codes, and the defaults that
// several commands read from the environment.
#pragma once

#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace hqsweep {

struct Command {
  const char* name;
  const char* summary;
  int (*handler)(const std::string& name, const std::vector<std::string>& args);
};

// Runs a command's handler: a program_options error prints the usage hint and gives kExitUsage,
// hqsweep::Error or another exception prints "hqsweep NAME: error: ..." and gives kExitFailure.
int run_command_handler(const Command& command, const std::vector<std::string>& args);

// Parses a command's arguments into vm; prints "Usage: hqsweep COMMAND USAGE" and the options and
// returns false when --help was given. Bad options throw boost::program_options errors.
bool parse_arguments(const std::string& command, const std::string& usage,
                     const boost::program_options::options_description& options,
                     const boost::program_options::positional_options_description& positional,
                     const std::vector<std::string>& args,
                     boost::program_options::variables_map& vm);

// Throws a program_options error naming --OPTION and the allowed range when value is outside
// minimum..maximum.
void check_option_range(const std::string& option, double value, double minimum, double maximum);

// Where data sets and caches are looked up unless --data-dir/--cache-dir say otherwise:
// $HQSWEEP_DATA_DIR or "data", $HQSWEEP_CACHE_DIR or "cache".
std::string default_data_directory();
std::string default_cache_directory();

}  // namespace hqsweep
