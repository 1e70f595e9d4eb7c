// The two-way line between a training run and a study's stopping rule, without LibTorch.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace hqsweep {

// What a study's stopping rule needs from a training run (execute_run passes them through):
// each epoch's validation values as the epoch ends, and a question, asked between batches,
// whether to stop now. A stopped run ends pruned: the best epoch so far restored and evaluated,
// as early stopping does; an epoch cut short is discarded.
struct EpochHooks {
  std::function<void(int64_t epoch, const std::map<std::string, double>& values)> on_epoch;
  std::function<bool()> should_stop;
  // A program run's process group, once its program started: the runner's parent kills that
  // group too when it has to kill the runner, so that no process of the task outlives it.
  std::function<void(int process_group)> on_process_group;
};

}  // namespace hqsweep
