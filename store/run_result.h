// What one run produced, as the store keeps it: plain data, no LibTorch, no HDF5.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hqsweep {

// pruned: stopped early by the study's stopping rule (a finished run, its metrics at the best
// epoch so far); proposed: a study's trial handed to a worker, no result yet (replaced by any
// result of the run).
enum class RunStatus { done, failed, diverged, timeout, cancelled, pruned, proposed };

std::string to_string(RunStatus status);
// Throws hqsweep::Error naming the allowed values.
RunStatus parse_run_status(const std::string& text);

// The one rule for copies of a run (merge, report, resume): a finished copy (done, diverged or
// pruned) counts over one that ended without a result (failed, timeout), which counts over a
// cancelled one, which counts over a proposed one; among copies that stand alike the first one
// found counts.
bool is_finished(RunStatus status);
// Whether a copy with status `candidate` replaces the one kept so far, with status `kept`.
bool replaces_copy(RunStatus candidate, RunStatus kept);

struct RunResult {
  std::string run_id;
  nlohmann::json config;  // the canonical config (common/config_schema.h)
  RunStatus status = RunStatus::done;
  std::string error;  // why it failed, with the tail of the task's stderr; empty when done
  std::string host;
  int rank = 0;
  double start_time = 0;  // seconds since the Unix epoch
  double end_time = 0;
  int attempt = 1;     // set by ResultStore::append: 1 + earlier attempts of this run_id
  int64_t trial = -1;  // the study's trial number (0, 1, ...); -1 when not a study's run
  int64_t parameters_total = 0;
  int64_t parameters_trainable = 0;
  int64_t parameters_quantum = 0;
  std::string cache_key;  // the SHF feature cache this run read; empty when none

  // Final metrics by name: "val_acc", "val_loss", "test_acc", "test_f1", "test_auc", ...
  std::map<std::string, double> metrics;
  // Per-epoch curves by name ("train_loss", "val_acc", "lr", ...), one value per epoch.
  std::map<std::string, std::vector<double>> curves;
  // Test set: probabilities row-major [samples][classes], true labels, and the confusion
  // matrix row-major [true class][predicted class].
  int64_t classes = 0;
  std::vector<float> test_probabilities;
  std::vector<int32_t> test_labels;
  std::vector<int64_t> confusion_matrix;

  double duration() const { return end_time - start_time; }
};

// What ResultStore::list gives for each run: enough for tables, without the arrays.
struct RunSummary {
  std::string run_id;
  nlohmann::json config;
  RunStatus status = RunStatus::done;
  std::string error;
  std::string host;
  int attempt = 1;
  int64_t trial = -1;
  double duration = 0;
  std::string cache_key;
  std::map<std::string, double> metrics;
};

// One recording of the sweep that produced runs in a results file.
struct SweepRecord {
  std::string name;
  std::string source;  // the sweep file's path as given
  std::string text;    // the sweep file's text
  int64_t run_count = 0;
  std::string command_line;
  std::vector<std::string> varying_keys;
  double recorded_time = 0;  // seconds since the Unix epoch
  // The part of the sweep this file holds (hqsweep run --shard I/N); 0 of 1 = all of it.
  int shard_index = 0;
  int shard_count = 1;
  std::vector<std::string> overrides;  // its --set KEY=VALUE, so that readers expand it alike
};

// Serialisation used by the journal and by `hqsweep ls --json`.
nlohmann::json to_json(const RunResult& result);
RunResult run_result_from_json(const nlohmann::json& json);
nlohmann::json to_json(const SweepRecord& sweep);
SweepRecord sweep_record_from_json(const nlohmann::json& json);
RunSummary summarize(const RunResult& result);

}  // namespace hqsweep
