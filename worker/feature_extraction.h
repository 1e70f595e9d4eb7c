// Static Hybrid Fusion's feature extraction: train (or load) the classical model whose backbone
// gives the classical features, run the fixed circuit on them, and cache both for every split,
// so that many SHF heads reuse one extraction.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "store/feature_cache.h"
#include "worker/dataset.h"

namespace hqsweep {

// What determines an SHF config's features: the canonical config of the classical model the
// extraction trains (data set and preprocessing, backbone, seed, extract.* as its training) and
// the circuit (quantum.* except lr). Heads differing only in head or train.* keys share it.
nlohmann::json extraction_config(const nlohmann::json& config);
// "shf-" + the run_id of extraction_config: the cache file's key.
std::string feature_cache_key(const nlohmann::json& config);

struct ExtractionOutcome {
  CachedFeatures features;
  bool reused = false;  // read from the cache rather than extracted now
};

// The cached features of an SHF config, extracted and written first when the cache has none.
// `data` is the config's data set (load_dataset). The extraction's training keeps a checkpoint
// in the cache directory every `checkpoint_interval` seconds (< 0: none; see training.h).
ExtractionOutcome cached_features(const nlohmann::json& config, const Dataset& data,
                                  const FeatureCache& cache, int threads,
                                  const std::function<void(const std::string&)>& log = {},
                                  double checkpoint_interval = -1);

// The cached features as a data set of rows [classical ; quantum], for training a head.
Dataset features_dataset(const CachedFeatures& features, const Dataset& data);

}  // namespace hqsweep
