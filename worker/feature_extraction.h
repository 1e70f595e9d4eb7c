// Static Hybrid Fusion's feature extraction: train (or load) the classical model whose backbone
// gives the classical features, run the fixed circuit on them, and cache both for every split,
// so that many SHF heads reuse one extraction.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/derived_configs.h"
#include "common/run_config.h"
#include "store/feature_cache.h"
#include "worker/dataset.h"

namespace hqsweep {

struct ExtractionOutcome {
  CachedFeatures features;
  bool reused = false;  // read from the cache rather than extracted now
};

// The cached features of an SHF config, extracted and written first when the cache has none.
// `data` is the config's data set (load_dataset). The extraction's training keeps a checkpoint
// in the cache directory every `checkpoint_interval` seconds (< 0: none; see training.h).
ExtractionOutcome cached_features(const RunConfig& config, const Dataset& data,
                                  const FeatureCache& cache, int threads,
                                  const std::function<void(const std::string&)>& log = {},
                                  double checkpoint_interval = -1);

// The cached features as a data set of rows [classical ; quantum], for training a head.
Dataset features_dataset(const CachedFeatures& features, const Dataset& data);

}  // namespace hqsweep
