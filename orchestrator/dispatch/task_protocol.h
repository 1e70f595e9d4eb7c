// The messages between rank 0, its workers and their runner processes: a Task goes out, a
// TaskReport comes back, both as one line of JSON (pipes) or one MPI message.
#pragma once

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
