// SHF feature extraction through the feature cache.
#include "worker/feature_extraction.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include <torch/torch.h>

#include "common/config_schema.h"
#include "common/derived_configs.h"
#include "common/error.h"
#include "models/model_factory.h"
#include "worker/training.h"

namespace hqsweep {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

FeatureSplit extract_split(HybridModel& model, const DataSplit& split,
                           const std::vector<int64_t>& sample_shape, int64_t classical_width) {
  torch::NoGradGuard no_gradient;
  model->eval();
  std::vector<int64_t> shape{split.rows()};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
  torch::Tensor samples =
      torch::from_blob(const_cast<float*>(split.values.data()), shape, torch::kFloat32);
  FeatureSplit out;
  out.rows = split.rows();
  out.labels = split.labels;
  for (int64_t start = 0; start < split.rows(); start += 256) {
    torch::Tensor z = model->extract_features(samples.slice(0, start, start + 256)).contiguous();
    out.classical_width = classical_width;
    out.quantum_width = z.size(1) - classical_width;
    torch::Tensor f = z.slice(1, 0, classical_width).contiguous();
    torch::Tensor q = z.slice(1, classical_width).contiguous();
    out.classical.insert(out.classical.end(), f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
    out.quantum.insert(out.quantum.end(), q.data_ptr<float>(), q.data_ptr<float>() + q.numel());
  }
  return out;
}

std::string metrics_path(const std::string& model_path) {
  return fs::path(model_path).replace_extension(".json").string();
}

// Loads the kept model into `model` and returns its metrics; empty when none is kept.
std::optional<json> load_trained(HybridModel& model, const std::string& path) {
  if (!fs::exists(path)) return std::nullopt;
  const std::string metrics_file = metrics_path(path);
  std::ifstream in(metrics_file);
  json metrics = json::parse(in, nullptr, false);
  if (!in || !metrics.is_object()) {
    throw Error(metrics_file + ": expected the metrics of the trained classical model " + path +
                " as a JSON object (remove both files to train it again)");
  }
  load_model(model, path);
  return metrics;
}

// The metrics first, then the model, each by rename: a kept model always has its metrics.
void keep_trained(const HybridModel& model, const json& metrics, const std::string& path) {
  fs::create_directories(fs::path(path).parent_path());
  const std::string metrics_file = metrics_path(path);
  const std::string metrics_temporary = FeatureCache::temporary_for(metrics_file);
  {
    std::ofstream out(metrics_temporary);
    out << metrics.dump();
    if (!out) throw Error("cannot write " + metrics_temporary);
  }
  fs::rename(metrics_temporary, metrics_file);
  const std::string model_temporary = FeatureCache::temporary_for(path);
  save_model(model, model_temporary);
  fs::rename(model_temporary, path);
}

}  // namespace

ExtractionOutcome cached_features(const RunConfig& config, const Dataset& data,
                                  const FeatureCache& cache, int threads,
                                  const std::function<void(const std::string&)>& log,
                                  double checkpoint_interval) {
  const json& canonical = config.canonical;
  const std::string key = feature_cache_key(canonical);
  ExtractionOutcome outcome;
  if (std::optional<CachedFeatures> found = cache.read(key)) {
    outcome.features = std::move(*found);
    outcome.reused = true;
    if (log) log("SHF features from cache " + cache.path_for(key));
    return outcome;
  }

  const uint64_t seed = config.seed;
  const RunConfig classical = run_config_from_canonical(shf_classical_config(canonical));
  const InputShape input = input_shape(data);
  torch::manual_seed(seed);
  BuiltModel backbone_model = build_model(classical, input, threads);
  json extraction_metrics = json::object();
  CheckpointOptions training_checkpoint;
  if (checkpoint_interval >= 0) {
    training_checkpoint.path = checkpoint_path(cache.directory(), key);
    training_checkpoint.interval_seconds = checkpoint_interval;
  }
  if (config.extract.trains_like_run || config.extract.epochs > 0) {
    const std::string kept = cache.trained_model_path(run_id(classical.canonical));
    if (std::optional<json> metrics = load_trained(backbone_model.model, kept)) {
      if (log) log("SHF extraction: the classical model as trained before (" + kept + ")");
      extraction_metrics = std::move(*metrics);
    } else {
      if (log) log("SHF extraction: training the classical model (" + key + ")");
      TrainingResult trained = train_and_evaluate(backbone_model.model, classical, data,
                                                  ModelInput::samples, log, training_checkpoint);
      if (trained.status != RunStatus::done) {
        throw Error("SHF extraction: the classical model diverged: " + trained.error);
      }
      for (const auto& [name, value] : trained.metrics) extraction_metrics[name] = value;
      keep_trained(backbone_model.model, extraction_metrics, kept);
    }
  }

  // The SHF model takes the trained backbone; its projection and circuit come from the seed.
  torch::manual_seed(seed);
  BuiltModel shf = build_model(config, input, threads);
  fs::create_directories(cache.directory());
  const std::string checkpoint = (fs::path(cache.directory()) /
                                  (".backbone-" + key + "-" + std::to_string(::getpid()) + ".pt"))
                                     .string();
  save_model(backbone_model.model, checkpoint);
  try {
    load_backbone_weights(shf.model, checkpoint);
  } catch (...) {
    fs::remove(checkpoint);
    throw;
  }
  fs::remove(checkpoint);

  const int64_t width = shf.summary.backbone_features;
  CachedFeatures& features = outcome.features;
  features.config = extraction_config(canonical);
  features.config["extraction_metrics"] = extraction_metrics;
  features.train = extract_split(shf.model, data.train, data.sample_shape, width);
  features.val = extract_split(shf.model, data.val, data.sample_shape, width);
  features.test = extract_split(shf.model, data.test, data.sample_shape, width);
  cache.write(key, features);
  if (!training_checkpoint.path.empty()) remove_checkpoint(training_checkpoint.path);
  if (log) log("SHF features written to " + cache.path_for(key));
  return outcome;
}

Dataset features_dataset(const CachedFeatures& features, const Dataset& data) {
  Dataset out;
  out.source = data.source;
  out.class_names = data.class_names;
  const int64_t width = features.train.classical_width + features.train.quantum_width;
  out.sample_shape = {width};
  const std::pair<const FeatureSplit*, DataSplit*> splits[] = {
      {&features.train, &out.train}, {&features.val, &out.val}, {&features.test, &out.test}};
  for (const auto& [from, to] : splits) {
    if (from->classical_width + from->quantum_width != width) {
      throw Error("feature cache: splits differ in width");
    }
    to->labels = from->labels;
    to->values.reserve(static_cast<std::size_t>(from->rows * width));
    for (int64_t r = 0; r < from->rows; ++r) {
      to->values.insert(to->values.end(), from->classical.begin() + r * from->classical_width,
                        from->classical.begin() + (r + 1) * from->classical_width);
      to->values.insert(to->values.end(), from->quantum.begin() + r * from->quantum_width,
                        from->quantum.begin() + (r + 1) * from->quantum_width);
    }
  }
  return out;
}

}  // namespace hqsweep
