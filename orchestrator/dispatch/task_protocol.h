// The messages between rank 0, its workers and their runner processes: a Task goes out, a
// TaskReport comes back, both as one line of JSON (pipes) or one MPI message; while a run trains,
// an EpochReport comes back after every epoch and a prune decision may go out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "orchestrator/schedule/scheduler.h"
#include "store/run_result.h"

namespace hqsweep {

// How a task ended, as its worker reports it to the scheduler.
struct TaskReport {
  Task task;
  bool succeeded = false;  // runs: done or diverged; extractions: the cache is written
  bool retryable = false;  // failed, timed out or crashed (not diverged, not cancelled)
  RunResult result;        // runs: the result, or a failed/timeout/cancelled one made here
  std::string error;
  double seconds = 0;
};

// A run's validation values at the end of one of its epochs (1-based).
struct EpochReport {
  std::string run_id;
  int64_t epoch = 0;
  std::map<std::string, double> values;
};

nlohmann::json to_json(const EpochReport& report);
EpochReport epoch_report_from_json(const nlohmann::json& json);
// The runner's line for an epoch of the run it executes: {"epoch": N, "values": {...}}.
std::string epoch_report_line(int64_t epoch, const std::map<std::string, double>& values);
// The epoch report in a runner's line, or nullopt when the line is a reply.
std::optional<EpochReport> parse_epoch_report_line(const nlohmann::json& line,
                                                   const std::string& run_id);
// The process group of the program a program run started, on the runner's reply channel before
// its reply: {"group": PGID}. The worker kills that group when it has to kill the runner.
std::string process_group_line(int group);
std::optional<int> parse_process_group_line(const nlohmann::json& line);
// The decision to stop a run, as its runner reads it: {"prune": RUN_ID}.
std::string prune_line(const std::string& run_id);

nlohmann::json to_json(const TaskReport& report);
TaskReport task_report_from_json(const nlohmann::json& json);
nlohmann::json to_json(const Task& task);
Task task_from_json(const nlohmann::json& json);

// A runner's first line on its reply channel, once it has started (LibTorch loaded) and reads
// tasks; a task's clock starts when it arrives.
inline constexpr const char* kRunnerReadyLine = R"({"ready":true})";

// The runner's answer to one task: {"ok": true, "result": RunResult} for a run, {"ok": true} for
// an extraction, {"ok": false, "error": "..."} when the task threw.
nlohmann::json runner_reply(const RunResult* result);
nlohmann::json runner_error_reply(const std::string& error);

}  // namespace hqsweep
