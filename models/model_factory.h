// Builds the model a run config describes, for the data it will see.
#pragma once

#include <cstdint>

#include "common/run_config.h"
#include "models/hybrid_model.h"

namespace hqsweep {

// What the data looks like: images (channels x image_size x image_size) or tabular rows
// (features > 0), and the number of classes.
struct InputShape {
  int64_t channels = 0;
  int64_t image_size = 0;
  int64_t features = 0;
  int64_t classes = 2;
  bool tabular() const { return features > 0; }
};

struct BuiltModel {
  HybridModel model{nullptr};
  ModelSummary summary;
};

// Validates the model part of `config` against the input, with errors naming the key: an image
// backbone on tabular data, mlp on images, fewer than two classes, a probe, ...
HybridModelOptions model_options(const RunConfig& config, const InputShape& input);
// model_options, then the module (which refuses shf with a trainable circuit and images it
// cannot take) with model.weights loaded (a checkpoint that does not fit is refused), and its
// summary. `threads`: the simulator's threads over a batch.
BuiltModel build_model(const RunConfig& config, const InputShape& input, int threads = 1);

}  // namespace hqsweep
