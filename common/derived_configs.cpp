// Configs derived from a run's config.
#include "common/derived_configs.h"

#include <algorithm>

#include "common/config_schema.h"
#include "common/error.h"

namespace hqsweep {

using nlohmann::json;

namespace {

bool trains_like_run(const json& canonical) {
  return canonical.value("extract", json::object()).value("training", "extract") == "run";
}

}  // namespace

json shf_classical_config(const json& config) {
  const json canonical = canonical_config(config);
  json classical = json::object();
  classical["seed"] = canonical.at("seed");
  classical["dataset"] = canonical.at("dataset");
  for (const char* key : {"backbone", "width", "small_input", "hidden", "weights"}) {
    if (canonical.at("model").contains(key)) classical["model"][key] = canonical["model"][key];
  }
  classical["model"]["fusion"] = "classical";
  const json extract = canonical.value("extract", json::object());
  if (trains_like_run(canonical)) {
    classical["train"] = canonical.at("train");
    return canonical_config(classical);
  }
  classical["train"]["epochs"] = std::max<int64_t>(1, extract.value("epochs", 10));
  classical["train"]["lr"] = extract.value("lr", 1e-3);
  classical["train"]["batch_size"] = extract.value("batch_size", 32);
  return canonical_config(classical);
}

json extraction_config(const json& config) {
  const json canonical = canonical_config(config);
  if (canonical.value("model", json::object()).value("fusion", "") != "shf") {
    throw Error("model.fusion: feature caches are for shf runs, not \"" +
                canonical.value("model", json::object()).value("fusion", "") + "\"");
  }
  json quantum = canonical.at("quantum");
  quantum.erase("lr");
  json key = json::object();
  key["classical"] = shf_classical_config(canonical);
  // extract.epochs 0 (no training) and 1 train differently but give the same classical config.
  if (!trains_like_run(canonical))
    key["classical"]["train"]["epochs"] = canonical.at("extract").at("epochs");
  key["quantum"] = quantum;
  return key;
}

std::string feature_cache_key(const json& config) {
  return "shf-" + run_id(extraction_config(config));
}

}  // namespace hqsweep
