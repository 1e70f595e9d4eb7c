// Task and TaskReport as JSON.
#include "orchestrator/dispatch/task_protocol.h"

#include <cmath>

namespace hqsweep {

using nlohmann::json;

json to_json(const Task& task) {
  return {{"kind", task.kind == TaskKind::run ? "run" : "extract"},
          {"id", task.id},
          {"config", task.config},
          {"estimate", task.estimate},
          {"cost_group", task.cost_group},
          {"attempt", task.attempt}};
}

Task task_from_json(const json& j) {
  Task task;
  task.kind = j.at("kind") == "run" ? TaskKind::run : TaskKind::extract;
  task.id = j.at("id");
  task.config = j.at("config");
  task.estimate = j.value("estimate", 0.0);
  task.cost_group = j.value("cost_group", "");
  task.attempt = j.value("attempt", 1);
  return task;
}

json to_json(const TaskReport& report) {
  json j = {{"task", to_json(report.task)},
            {"succeeded", report.succeeded},
            {"retryable", report.retryable},
            {"error", report.error},
            {"seconds", report.seconds}};
  if (report.task.kind == TaskKind::run) j["result"] = to_json(report.result);
  return j;
}

TaskReport task_report_from_json(const json& j) {
  TaskReport report;
  report.task = task_from_json(j.at("task"));
  report.succeeded = j.at("succeeded");
  report.retryable = j.at("retryable");
  report.error = j.value("error", "");
  report.seconds = j.value("seconds", 0.0);
  if (j.contains("result")) report.result = run_result_from_json(j.at("result"));
  return report;
}

json to_json(const EpochReport& report) {
  return {{"run_id", report.run_id}, {"epoch", report.epoch}, {"values", report.values}};
}

EpochReport epoch_report_from_json(const json& j) {
  EpochReport report;
  report.run_id = j.at("run_id").get<std::string>();
  report.epoch = j.at("epoch").get<int64_t>();
  for (const auto& [name, value] : j.at("values").items())
    report.values[name] = value.is_number() ? value.get<double>() : std::nan("");
  return report;
}

std::string epoch_report_line(int64_t epoch, const std::map<std::string, double>& values) {
  json numbers = json::object();
  for (const auto& [name, value] : values) {
    if (std::isfinite(value)) numbers[name] = value;  // JSON has no NaN; absent means unknown
  }
  return json{{"epoch", epoch}, {"values", numbers}}.dump();
}

std::optional<EpochReport> parse_epoch_report_line(const json& line, const std::string& run_id) {
  if (!line.is_object() || !line.contains("epoch") || line.contains("ok")) return std::nullopt;
  json j = line;
  j["run_id"] = run_id;
  return epoch_report_from_json(j);
}

std::string process_group_line(int group) {
  return json{{"group", group}}.dump();
}

std::optional<int> parse_process_group_line(const json& line) {
  if (!line.is_object() || !line.contains("group") || !line["group"].is_number_integer())
    return std::nullopt;
  const int64_t group = line["group"].get<int64_t>();
  if (group <= 1 || group > 1 << 30) return std::nullopt;  // never 0, 1 or a negative group
  return static_cast<int>(group);
}

std::string prune_line(const std::string& run_id) {
  return json{{"prune", run_id}}.dump();
}

json runner_reply(const RunResult* result) {
  json reply = {{"ok", true}};
  if (result != nullptr) reply["result"] = to_json(*result);
  return reply;
}

json runner_error_reply(const std::string& error) {
  return {{"ok", false}, {"error", error}};
}

}  // namespace hqsweep
