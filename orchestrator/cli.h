// The hqsweep command line: `hqsweep <command> [options]`.
#pragma once

namespace hqsweep {

// Exit codes: 0 success, 1 bad input or a failed operation, 2 usage error or a command that is
// not available in this build.
int run_cli(int argc, char** argv);

}  // namespace hqsweep
