// Training and evaluation of one model with the train.* settings of a config: optimiser,
// schedule, class balancing, early stopping with best-epoch restore, divergence, per-epoch
// curves, and validation/test metrics with a tuned binary threshold.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/run_config.h"
#include "models/model_factory.h"
#include "store/run_result.h"
#include "worker/dataset.h"
#include "worker/epoch_hooks.h"

namespace hqsweep {

struct TrainingResult {
  RunStatus status = RunStatus::done;  // done, diverged or pruned
  std::string error;                   // why it diverged
  int epochs_run = 0;
  int best_epoch = 0;  // 1-based; the weights restored before evaluation
  std::map<std::string, double> metrics;
  std::map<std::string, std::vector<double>> curves;
  std::vector<float> test_probabilities;  // [samples][classes]
  std::vector<int64_t> test_labels;
  std::vector<int64_t> confusion;  // [true][predicted] at threshold 0.5 (argmax)
};

// The model input a data set gives (images or feature rows, and the class count).
InputShape input_shape(const Dataset& data);

// What the model reads: the data set's samples (forward), or cached SHF features (the head
// alone, head_forward; no augmentation).
enum class ModelInput { samples, cached_features };

// Mid-run checkpoints: at the end of an epoch, when `interval_seconds` have passed since the last
// one (0: every epoch), the whole training state (weights, optimiser, best epoch, curves, random
// generators) is written to `path` atomically. A later call with the same path and config
// continues from the last saved epoch and gives the result an uninterrupted run would have.
// Empty path: no checkpoints. The caller removes the file once the result is kept.
struct CheckpointOptions {
  std::string path;
  double interval_seconds = 60;
};

// Where a run (or an SHF extraction) keeps its checkpoint: DIRECTORY/checkpoints/NAME.pt.
std::string checkpoint_path(const std::string& cache_directory, const std::string& name);
// Removes a checkpoint and the temporary file a writer killed mid-save leaves beside it.
void remove_checkpoint(const std::string& path);

// The per-epoch values a run reports: the validation curves of that epoch.
std::map<std::string, double> epoch_values(const std::map<std::string, std::vector<double>>& curves,
                                           std::size_t epoch_index);

// Trains `model` on data.train, picks the best epoch on data.val by train.monitor, evaluates on
// data.test. Deterministic for a given config seed (the caller seeds torch before building the
// model). `log` receives one line per epoch.
TrainingResult train_and_evaluate(HybridModel& model, const RunConfig& config, const Dataset& data,
                                  ModelInput input,
                                  const std::function<void(const std::string&)>& log = {},
                                  const CheckpointOptions& checkpoint = {},
                                  const EpochHooks& hooks = {});

}  // namespace hqsweep
