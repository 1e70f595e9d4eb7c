// Option parsing and the commands' error handling.
#include "orchestrator/cli/command_line.h"

#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "common/error.h"
#include "common/exit_codes.h"

namespace hqsweep {

namespace po = boost::program_options;

namespace {

std::string environment_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

int run_command_handler(const Command& command, const std::vector<std::string>& args) {
  try {
    return command.handler(command.name, args);
  } catch (const po::error& e) {
    std::cerr << "hqsweep " << command.name << ": " << e.what() << "\n"
              << "See: hqsweep " << command.name << " --help\n";
    return kExitUsage;
  } catch (const Error& e) {
    std::cerr << "hqsweep " << command.name << ": error: " << e.what() << "\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "hqsweep " << command.name << ": unexpected error: " << e.what() << "\n";
    return kExitFailure;
  }
}

bool parse_arguments(const std::string& command, const std::string& usage,
                     const po::options_description& options,
                     const po::positional_options_description& positional,
                     const std::vector<std::string>& args, po::variables_map& vm) {
  po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
  if (vm.count("help")) {
    std::cout << "Usage: hqsweep " << command << " " << usage << "\n\n" << options;
    return false;
  }
  po::notify(vm);
  return true;
}

void check_option_range(const std::string& option, double value, double minimum, double maximum) {
  if (value >= minimum && value <= maximum) return;
  throw po::error(
      fmt::format("the argument ('{:g}') for option '--{}' is invalid: expected {:g}..{:g}", value,
                  option, minimum, maximum));
}

std::string default_data_directory() {
  return environment_or("HQSWEEP_DATA_DIR", "data");
}

std::string default_cache_directory() {
  return environment_or("HQSWEEP_CACHE_DIR", "cache");
}

}  // namespace hqsweep
