// One run end to end: a config in, a RunResult out (data set, model, training or SHF extraction
// and head, metrics), or one SHF extraction. What `hqsweep train` and the runner processes call.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "store/run_result.h"
#include "worker/epoch_hooks.h"

namespace hqsweep {

struct WorkerOptions {
  std::string data_directory = "data";    // where dataset.path is looked up
  std::string cache_directory = "cache";  // SHF feature caches and checkpoints/
  // Seconds between mid-run checkpoints (cache_directory/checkpoints/<run_id>.pt); 0: every
  // epoch; < 0: none. A run that finds its checkpoint continues from it.
  double checkpoint_interval = 60;
  int threads = 1;    // torch and simulator threads
  double grace = 30;  // seconds a stopped program gets between SIGTERM and SIGKILL
  int rank = 0;       // recorded in the result
  std::function<void(const std::string&)> log;  // progress lines; may be empty
};

// Runs a config (canonicalised first). Returns status done or diverged; throws hqsweep::Error
// when the config or its data cannot be run (the caller records the run as failed).
// A program run (program.command) runs the user's program (worker/program_task.h).
// `model.backbone: probe` runs the scheduler probe task instead (probe.duration_ms, probe.failure,
// and with probe.epochs an objective reported per epoch). `hooks` report each epoch and may stop
// the run (status pruned).
RunResult execute_run(const nlohmann::json& config, const WorkerOptions& options,
                      const EpochHooks& hooks = {});

// The SHF extraction of an SHF config: its features extracted and written to the feature cache in
// options.cache_directory (nothing to do when they are there). Throws hqsweep::Error as above.
void execute_extraction(const nlohmann::json& config, const WorkerOptions& options);

}  // namespace hqsweep
