// One run end to end.
#include "worker/run.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>
#include <torch/torch.h>

#include "common/config_schema.h"
#include "common/error.h"
#include "models/model_factory.h"
#include "worker/dataset.h"
#include "worker/feature_extraction.h"
#include "worker/training.h"

namespace hqsweep {

using nlohmann::json;

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

// The scheduler's test task: sleeps, then ends as probe.failure says. No data, no model.
void run_probe(const json& config, RunResult& result) {
  const json probe = config.value("probe", json::object());
  const double milliseconds = probe.value("duration_ms", 0.0);
  std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(milliseconds));
  const std::string failure = probe.value("failure", "none");
  if (failure == "error") throw Error("probe: failed as configured (probe.failure: error)");
  if (failure == "segfault") std::raise(SIGSEGV);
  if (failure == "abort") std::abort();
  if (failure == "hang") {
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }
  if (failure == "diverge") {
    result.status = RunStatus::diverged;
    result.error = "probe: diverged as configured (probe.failure: diverge)";
    return;
  }
  // A value derived from the run id, so that tests can check which result landed where.
  result.metrics["probe_value"] =
      static_cast<double>(std::stoull(result.run_id.substr(0, 8), nullptr, 16)) / 4294967296.0;
  result.metrics["duration_ms"] = milliseconds;
}

}  // namespace

RunResult execute_run(const json& config, const WorkerOptions& options) {
  const json canonical = canonical_config(config);
  RunResult result;
  result.run_id = run_id(canonical);
  result.config = canonical;
  result.host = host_name();
  result.rank = options.rank;
  result.start_time = now_seconds();

  if (canonical.at("model").value("backbone", "") == "probe") {
    run_probe(canonical, result);
    result.end_time = now_seconds();
    return result;
  }

  torch::set_num_threads(options.threads);
  const uint64_t seed = canonical.at("seed");
  const Dataset data = load_dataset(canonical, options.data_directory);
  if (options.log) {
    options.log(fmt::format("data: {} ({} classes; train {}, val {}, test {})", data.source,
                            data.classes(), data.train.rows(), data.val.rows(), data.test.rows()));
  }
  const InputShape input = input_shape(data);
  const bool shf = canonical.at("model").at("fusion") == "shf";

  CheckpointOptions checkpoint;
  if (options.checkpoint_interval >= 0) {
    checkpoint.path = checkpoint_path(options.cache_directory, result.run_id);
    checkpoint.interval_seconds = options.checkpoint_interval;
  }
  TrainingResult trained;
  ModelSummary summary;
  if (shf) {
    FeatureCache cache(options.cache_directory);
    ExtractionOutcome extraction = cached_features(canonical, data, cache, options.threads,
                                                   options.log, options.checkpoint_interval);
    result.cache_key = feature_cache_key(canonical);
    torch::manual_seed(seed);
    BuiltModel built = build_model(canonical, input, options.threads);
    summary = built.summary;
    const Dataset features = features_dataset(extraction.features, data);
    trained = train_and_evaluate(built.model, canonical, features, ModelInput::cached_features,
                                 options.log, checkpoint);
  } else {
    torch::manual_seed(seed);
    BuiltModel built = build_model(canonical, input, options.threads);
    summary = built.summary;
    trained = train_and_evaluate(built.model, canonical, data, ModelInput::samples, options.log,
                                 checkpoint);
  }

  // The result leaves this process next; a crash before it is kept costs one evaluation's rerun.
  if (!checkpoint.path.empty()) remove_checkpoint(checkpoint.path);
  result.status = trained.status;
  result.error = trained.error;
  result.parameters_trainable = summary.trainable();
  result.parameters_total = summary.trainable() + summary.frozen_parameters;
  result.parameters_quantum = summary.quantum_parameters;
  result.metrics = std::move(trained.metrics);
  result.curves = std::move(trained.curves);
  result.classes = data.classes();
  result.test_probabilities = std::move(trained.test_probabilities);
  result.test_labels.assign(trained.test_labels.begin(), trained.test_labels.end());
  result.confusion_matrix = std::move(trained.confusion);
  result.end_time = now_seconds();
  return result;
}

}  // namespace hqsweep
