// The exit codes of every hqsweep command (docs/design.md has the table).
#pragma once

namespace hqsweep {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // bad input, or a failed operation
constexpr int kExitUsage = 2;    // unknown command or option, missing argument
// train: the run diverged; run: finished, but some runs failed or timed out; merge: conflicts.
constexpr int kExitSomeFailed = 3;
// run: stopped by SIGINT/SIGTERM/SIGUSR1; the same command resumes (the Slurm script requeues).
constexpr int kExitStopped = 4;

}  // namespace hqsweep
