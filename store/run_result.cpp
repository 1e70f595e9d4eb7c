// RunResult and SweepRecord to and from JSON (the journal stores them as CBOR).
#include "store/run_result.h"

#include <cmath>

#include "common/error.h"

namespace hqsweep {

namespace {

constexpr const char* kStatusNames[] = {"done",      "failed", "diverged", "timeout",
                                        "cancelled", "pruned", "proposed"};
constexpr int kStatusCount = sizeof kStatusNames / sizeof kStatusNames[0];

template <typename T>
T get_or(const nlohmann::json& json, const char* key, T fallback) {
  auto it = json.find(key);
  return it == json.end() || it->is_null() ? fallback : it->get<T>();
}

}  // namespace

std::string to_string(RunStatus status) {
  return kStatusNames[static_cast<int>(status)];
}

RunStatus parse_run_status(const std::string& text) {
  std::string names;
  for (int i = 0; i < kStatusCount; ++i) {
    if (text == kStatusNames[i]) return static_cast<RunStatus>(i);
    names += std::string(i > 0 ? ", " : "") + kStatusNames[i];
  }
  throw Error("unknown run status '" + text + "' (expected one of: " + names + ")");
}

namespace {

int standing(RunStatus status) {
  switch (status) {
    case RunStatus::done:
    case RunStatus::diverged:
    case RunStatus::pruned:
      return 3;
    case RunStatus::failed:
    case RunStatus::timeout:
      return 2;
    case RunStatus::cancelled:
      return 1;
    case RunStatus::proposed:
      return 0;
  }
  return 0;
}

}  // namespace

bool is_finished(RunStatus status) {
  return standing(status) == 3;
}

bool replaces_copy(RunStatus candidate, RunStatus kept) {
  return standing(candidate) > standing(kept);
}

nlohmann::json to_json(const RunResult& result) {
  nlohmann::json curves = nlohmann::json::object();
  for (const auto& [name, values] : result.curves) curves[name] = values;
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, value] : result.metrics) metrics[name] = value;
  return {{"run_id", result.run_id},
          {"config", result.config},
          {"status", to_string(result.status)},
          {"error", result.error},
          {"host", result.host},
          {"rank", result.rank},
          {"start_time", result.start_time},
          {"end_time", result.end_time},
          {"attempt", result.attempt},
          {"trial", result.trial},
          {"parameters_total", result.parameters_total},
          {"parameters_trainable", result.parameters_trainable},
          {"parameters_quantum", result.parameters_quantum},
          {"cache_key", result.cache_key},
          {"metrics", metrics},
          {"curves", curves},
          {"classes", result.classes},
          {"test_probabilities", result.test_probabilities},
          {"test_labels", result.test_labels},
          {"confusion_matrix", result.confusion_matrix}};
}

RunResult run_result_from_json(const nlohmann::json& json) {
  RunResult result;
  result.run_id = json.at("run_id").get<std::string>();
  result.config = json.value("config", nlohmann::json::object());
  result.status = parse_run_status(json.at("status").get<std::string>());
  result.error = get_or<std::string>(json, "error", "");
  result.host = get_or<std::string>(json, "host", "");
  result.rank = get_or<int>(json, "rank", 0);
  result.start_time = get_or<double>(json, "start_time", 0);
  result.end_time = get_or<double>(json, "end_time", 0);
  result.attempt = get_or<int>(json, "attempt", 1);
  result.trial = get_or<int64_t>(json, "trial", -1);  // absent before studies
  result.parameters_total = get_or<int64_t>(json, "parameters_total", 0);
  result.parameters_trainable = get_or<int64_t>(json, "parameters_trainable", 0);
  result.parameters_quantum = get_or<int64_t>(json, "parameters_quantum", 0);
  result.cache_key = get_or<std::string>(json, "cache_key", "");
  const nlohmann::json metrics = json.value("metrics", nlohmann::json::object());
  for (const auto& [name, value] : metrics.items())
    result.metrics[name] = value.is_null() ? std::nan("") : value.get<double>();
  const nlohmann::json curves = json.value("curves", nlohmann::json::object());
  for (const auto& [name, values] : curves.items()) {
    std::vector<double>& curve = result.curves[name];
    for (const auto& value : values)
      curve.push_back(value.is_null() ? std::nan("") : value.get<double>());
  }
  result.classes = get_or<int64_t>(json, "classes", 0);
  const nlohmann::json probabilities = json.value("test_probabilities", nlohmann::json::array());
  for (const auto& value : probabilities)
    result.test_probabilities.push_back(value.is_null() ? std::nanf("") : value.get<float>());
  result.test_labels =
      json.value("test_labels", nlohmann::json::array()).get<std::vector<int32_t>>();
  result.confusion_matrix =
      json.value("confusion_matrix", nlohmann::json::array()).get<std::vector<int64_t>>();
  return result;
}

nlohmann::json to_json(const SweepRecord& sweep) {
  return {{"name", sweep.name},
          {"source", sweep.source},
          {"text", sweep.text},
          {"run_count", sweep.run_count},
          {"command_line", sweep.command_line},
          {"overrides", sweep.overrides},
          {"varying_keys", sweep.varying_keys},
          {"recorded_time", sweep.recorded_time},
          {"shard_index", sweep.shard_index},
          {"shard_count", sweep.shard_count}};
}

SweepRecord sweep_record_from_json(const nlohmann::json& json) {
  SweepRecord sweep;
  sweep.name = get_or<std::string>(json, "name", "");
  sweep.source = get_or<std::string>(json, "source", "");
  sweep.text = get_or<std::string>(json, "text", "");
  sweep.run_count = get_or<int64_t>(json, "run_count", 0);
  sweep.command_line = get_or<std::string>(json, "command_line", "");
  sweep.varying_keys =
      json.value("varying_keys", nlohmann::json::array()).get<std::vector<std::string>>();
  sweep.overrides =  // absent before they were recorded
      json.value("overrides", nlohmann::json::array()).get<std::vector<std::string>>();
  sweep.recorded_time = get_or<double>(json, "recorded_time", 0);
  sweep.shard_index = get_or<int>(json, "shard_index", 0);  // absent before shards were recorded
  sweep.shard_count = get_or<int>(json, "shard_count", 1);
  return sweep;
}

RunSummary summarize(const RunResult& result) {
  return RunSummary{result.run_id,    result.config,  result.status, result.error,
                    result.host,      result.attempt, result.trial,  result.duration(),
                    result.cache_key, result.metrics};
}

}  // namespace hqsweep
