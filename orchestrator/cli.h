// The hqsweep command line: `hqsweep <command> [options]`.
#pragma once

namespace hqsweep {

// Exit codes: 0 success, 1 bad input or a failed operation, 2 usage error; `run` adds 3 and 4,
// `merge` 3 (conflicts).
int run_cli(int argc, char** argv);

}  // namespace hqsweep
