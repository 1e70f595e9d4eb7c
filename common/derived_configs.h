// Configs derived from a run's config: the classical model an SHF extraction trains, and the key of
// the features it caches. Torch-free, so that the scheduler can tell which SHF heads share one
// extraction before anything trains.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace hqsweep {

// The classical model that an SHF run's extraction trains: the run's data set, backbone and seed,
// with the default head and extract.* as its training settings, or with extract.training = run the
// run's own train.* (then it is the config of the classical control of that recipe and seed).
nlohmann::json shf_classical_config(const nlohmann::json& config);
// What determines an SHF config's features: the canonical config of the classical model the
// extraction trains (data set and preprocessing, backbone, seed, extract.* as its training) and
// the circuit (quantum.* except lr). Heads differing only in head or train.* keys share it (only
// in head keys with extract.training = run).
// Throws Error for a config that is not shf.
nlohmann::json extraction_config(const nlohmann::json& config);
// "shf-" + the run_id of extraction_config: the cache file's key.
std::string feature_cache_key(const nlohmann::json& config);

}  // namespace hqsweep
