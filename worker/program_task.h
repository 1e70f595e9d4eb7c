// A program run: the user's own training script as a task (docs/programs.md). Starts the
// command in its own process group with its config file, run directory and metrics file; reads
// its reports ("hqsweep: {...}" lines or the metrics file) as they come; stops it when the
// stopping rule says so (SIGTERM, SIGKILL after the grace); holds its memory limit. No LibTorch.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/run_config.h"
#include "store/run_result.h"
#include "worker/run.h"

namespace hqsweep {

// One report of a program: an epoch's values ({"epoch": 3, "val_acc": 0.8}) or its final
// metrics ({"final": {"test_acc": 0.86}}).
struct ProgramReport {
  bool final = false;
  int64_t epoch = 0;  // 1-based; 0 for the final report
  std::map<std::string, double> values;
};

// The prefix of a report line on the program's standard output.
inline constexpr const char* kProgramReportPrefix = "hqsweep:";

// The report in one JSON text (a report line after its prefix, or a line of the metrics file);
// nullopt with `problem` set when it is not a well-formed report.
std::optional<ProgramReport> parse_program_report(const std::string& text, std::string& problem);

// The run's directory, kept across attempts of the run: CACHE_DIR/runs/<run_id>.
std::string program_run_directory(const std::string& cache_directory, const std::string& run_id);

// Runs a program run to its end. Returns status done or pruned; throws Error when the program
// cannot start, fails, exits without a final report or exceeds its memory limit, the error
// ending with its output's tail.
RunResult run_program(const RunConfig& config, const WorkerOptions& options,
                      const EpochHooks& hooks);

}  // namespace hqsweep
