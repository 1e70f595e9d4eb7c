// One run end to end.
#include "worker/run.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>
#include <torch/torch.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/run_config.h"
#include "models/model_factory.h"
#include "worker/dataset.h"
#include "worker/feature_extraction.h"
#include "worker/program_task.h"
#include "worker/training.h"

namespace hqsweep {

using nlohmann::json;

namespace {

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

// The probe's objective: sphere x^2 + y^2, or Branin (minimum 0.397887 at three points).
double probe_objective(const ProbeConfig& probe) {
  const double x = probe.x, y = probe.y;
  if (probe.objective == "branin") {
    constexpr double pi = 3.14159265358979323846;
    const double b = 5.1 / (4 * pi * pi), c = 5 / pi, t = 1 / (8 * pi);
    return std::pow(y - b * x * x + c * x - 6, 2) + 10 * (1 - t) * std::cos(x) + 10;
  }
  return x * x + y * y;
}

using Clock = std::chrono::steady_clock;

// Sleeps until `until` in slices, asking `should_stop` between them; true when it said stop.
bool sleep_unless_stopped(Clock::time_point until, const EpochHooks& hooks) {
  for (;;) {
    if (hooks.should_stop && hooks.should_stop()) return true;
    const Clock::time_point now = Clock::now();
    if (now >= until) return false;
    const Clock::duration slice = std::chrono::milliseconds(5);
    std::this_thread::sleep_for(std::min(until - now, slice));
  }
}

// The probe's epochs: each ends at its share of probe.duration_ms from the start (deadlines, so
// that the sleeps' overshoots do not add up) and reports probe_objective, the objective plus
// 1/epoch (a curve that improves with training and keeps the objective's order), until the hooks
// stop it (pruned).
void run_probe_epochs(const ProbeConfig& probe, const EpochHooks& hooks, RunResult& result) {
  const Clock::time_point start = Clock::now();
  const double objective = probe_objective(probe) + probe.seed_shift;
  std::vector<double>& curve = result.curves["probe_objective"];
  for (int64_t epoch = 1; epoch <= probe.epochs; ++epoch) {
    const auto due =
        start +
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(
            probe.duration_ms * static_cast<double>(epoch) / static_cast<double>(probe.epochs)));
    const bool stop = sleep_unless_stopped(due, hooks) && epoch > 1;
    if (stop) {
      result.status = RunStatus::pruned;
      break;
    }
    curve.push_back(objective + 1.0 / static_cast<double>(epoch));
    if (hooks.on_epoch) hooks.on_epoch(epoch, {{"probe_objective", curve.back()}});
  }
  result.metrics["probe_objective"] = *std::min_element(curve.begin(), curve.end());
  result.metrics["epochs_run"] = static_cast<double>(curve.size());
}

// The probe task, a synthetic task for testing a scheduler, an allocation or a study: sleeps,
// then ends as probe.failure says. No data, no model.
void run_probe(const ProbeConfig& probe, const EpochHooks& hooks, RunResult& result) {
  if (probe.epochs > 0) {
    run_probe_epochs(probe, hooks, result);
  } else {
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(probe.duration_ms));
  }
  const std::string& failure = probe.failure;
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
  result.metrics["duration_ms"] = probe.duration_ms;
}

struct Trained {
  TrainingResult training;
  ModelSummary summary;
};

// Builds the model and trains it: on the data set's samples, or (SHF) its head on the cached
// features, extracted first when the cache has none.
Trained build_and_train(const RunConfig& config, const Dataset& data, const WorkerOptions& options,
                        const CheckpointOptions& checkpoint, const EpochHooks& hooks) {
  const InputShape input = input_shape(data);
  Trained out;
  if (config.caches_features()) {
    const ExtractionOutcome extraction =
        cached_features(config, data, FeatureCache(options.cache_directory), options.threads,
                        options.log, options.checkpoint_interval);
    torch::manual_seed(config.seed);
    BuiltModel built = build_model(config, input, options.threads);
    out.summary = built.summary;
    const Dataset features = features_dataset(extraction.features, data);
    out.training = train_and_evaluate(built.model, config, features, ModelInput::cached_features,
                                      options.log, checkpoint, hooks);
  } else {
    torch::manual_seed(config.seed);
    BuiltModel built = build_model(config, input, options.threads);
    out.summary = built.summary;
    out.training = train_and_evaluate(built.model, config, data, ModelInput::samples, options.log,
                                      checkpoint, hooks);
  }
  return out;
}

Dataset load_logged(const RunConfig& config, const WorkerOptions& options) {
  Dataset data = load_dataset(config, options.data_directory);
  if (options.log) {
    options.log(fmt::format("data: {} ({} classes; train {}, val {}, test {})", data.source,
                            data.classes(), data.train.rows(), data.val.rows(), data.test.rows()));
  }
  return data;
}

}  // namespace

RunResult execute_run(const json& config_json, const WorkerOptions& options,
                      const EpochHooks& hooks) {
  const RunConfig config = make_run_config(config_json);
  if (config.is_program) {
    RunResult result = run_program(config, options, hooks);
    result.host = host_name();
    result.rank = options.rank;
    return result;
  }
  RunResult result;
  result.run_id = config.run_id;
  result.config = config.canonical;
  result.host = host_name();
  result.rank = options.rank;
  result.start_time = wall_seconds();
  if (config.is_probe) {
    run_probe(config.probe, hooks, result);
    result.end_time = wall_seconds();
    return result;
  }

  torch::set_num_threads(options.threads);
  const Dataset data = load_logged(config, options);
  CheckpointOptions checkpoint;
  if (options.checkpoint_interval >= 0) {
    checkpoint.path = checkpoint_path(options.cache_directory, result.run_id);
    checkpoint.interval_seconds = options.checkpoint_interval;
  }
  Trained trained = build_and_train(config, data, options, checkpoint, hooks);
  // The result leaves this process next; a crash before it is kept costs one evaluation's rerun.
  if (!checkpoint.path.empty()) remove_checkpoint(checkpoint.path);

  if (config.caches_features()) result.cache_key = feature_cache_key(config.canonical);
  result.status = trained.training.status;
  result.error = trained.training.error;
  result.parameters_trainable = trained.summary.trainable();
  result.parameters_total = trained.summary.trainable() + trained.summary.frozen_parameters;
  result.parameters_quantum = trained.summary.quantum_parameters;
  result.metrics = std::move(trained.training.metrics);
  result.curves = std::move(trained.training.curves);
  result.classes = data.classes();
  result.test_probabilities = std::move(trained.training.test_probabilities);
  result.test_labels.assign(trained.training.test_labels.begin(),
                            trained.training.test_labels.end());
  result.confusion_matrix = std::move(trained.training.confusion);
  result.end_time = wall_seconds();
  return result;
}

void execute_extraction(const json& config_json, const WorkerOptions& options) {
  const RunConfig config = make_run_config(config_json);
  torch::set_num_threads(options.threads);
  const Dataset data = load_logged(config, options);
  cached_features(config, data, FeatureCache(options.cache_directory), options.threads, options.log,
                  options.checkpoint_interval);
}

}  // namespace hqsweep
