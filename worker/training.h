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

#include "models/model_factory.h"
#include "store/run_result.h"
#include "worker/dataset.h"

namespace hqsweep {

struct TrainingResult {
  RunStatus status = RunStatus::done;  // done or diverged
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

// Trains `model` on data.train, picks the best epoch on data.val by train.monitor, evaluates on
// data.test. Deterministic for a given config seed (the caller seeds torch before building the
// model). `log` receives one line per epoch.
TrainingResult train_and_evaluate(HybridModel& model, const nlohmann::json& config,
                                  const Dataset& data, ModelInput input,
                                  const std::function<void(const std::string&)>& log = {});

}  // namespace hqsweep
