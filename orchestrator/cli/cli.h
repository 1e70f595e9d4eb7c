// The hqsweep command line: `hqsweep <command> [options]`.
#pragma once

namespace hqsweep {

// Returns the exit code (common/exit_codes.h).
int run_cli(int argc, char** argv);

}  // namespace hqsweep
