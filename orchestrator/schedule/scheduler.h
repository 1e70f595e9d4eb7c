// Rank 0's scheduling decisions, without MPI or processes: which task an idle worker gets next.
// Longest estimated task first (estimates refined from measured durations), SHF heads after the
// one shared extraction of their features, one extraction at a time per classical model (the
// first trains and keeps it, the others load it), retries, and failure of a failed extraction's
// heads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/run_config.h"

namespace hqsweep {

enum class TaskKind { run, extract };

struct Task {
  TaskKind kind = TaskKind::run;
  std::string id;          // run_id, or the feature cache key of an extraction
  nlohmann::json config;   // canonical config (extraction: the config of one of its SHF runs)
  double estimate = 0;     // estimated seconds before refinement
  std::string cost_group;  // estimates are refined per group (backbone and image size)
  std::string model;       // extraction: run_id of the classical model it trains or loads
  int attempt = 1;
};

// Seconds one task is expected to take on one thread: nominal training samples x epochs x the
// backbone's cost per sample at the image size, plus the circuit's; a probe's own duration.
double estimate_seconds(const RunConfig& config, TaskKind kind = TaskKind::run);
std::string cost_group(const RunConfig& config);

// How many tasks a worker holds at once (running, queued in its runner, waiting), given the mean
// duration of recent tasks (negative before any has finished): at least three, so that nobody
// waits on a round trip to rank 0 between tasks; with short tasks up to eight, about 50 ms of
// them, so that rank 0 busy with reports does not leave workers idle. Long tasks stay unassigned
// until a worker nearly needs them, so that the longest-first order decides.
std::size_t tasks_held_per_worker(double recent_task_seconds);

struct SchedulerCounts {
  int64_t waiting = 0;  // ready or blocked on an extraction
  int64_t running = 0;
  int64_t done = 0;    // finished runs (any outcome reported by the worker)
  int64_t failed = 0;  // of done: failed, timed out, or failed for their extraction
};

class Scheduler {
 public:
  // `runs`: canonical configs to run (already done ones left out by the caller).
  // `cached`: feature cache keys that exist already, whose SHF heads need no extraction.
  Scheduler(const std::vector<nlohmann::json>& runs, const std::set<std::string>& cached,
            int retries);

  // More runs (a study's next trial), as the constructor takes them.
  void add_runs(const std::vector<nlohmann::json>& runs, const std::set<std::string>& cached);
  std::size_t ready_count() const;

  // The ready task with the largest refined estimate, now marked running; empty when none is
  // ready (all running, blocked, or finished).
  std::optional<Task> next();
  // A task ended. `succeeded`: done or diverged for runs, cache written for extractions.
  // `retryable` failures go back to the queue while attempts remain; returns true when requeued.
  bool finished(const Task& task, bool succeeded, bool retryable, double seconds);
  // SHF runs that will not run because their extraction failed for good, with the reason
  // given to finished_extraction_error; each returned once.
  std::vector<std::pair<Task, std::string>> take_blocked_failures();
  void set_extraction_error(const std::string& key, const std::string& error);
  // Puts a running task back (a worker stopped or died before reporting it).
  void requeue(const Task& task);

  bool finished_all() const;
  SchedulerCounts counts() const;
  // The estimates of the tasks not handed out yet (ready, or waiting for an extraction).
  double waiting_estimate() const;

 private:
  double refined(const Task& task) const;
  void make_ready(Task task);

  // Ready tasks per cost group, sorted by estimate ascending (the largest at the back).
  std::map<std::string, std::vector<Task>> ready_;
  std::map<std::string, std::vector<Task>> blocked_;  // extraction key -> its heads
  std::map<std::string, std::string> extraction_errors_;
  std::set<std::string> extracted_;  // extractions that succeeded here
  std::vector<std::pair<Task, std::string>> blocked_failures_;
  std::map<std::string, double> measured_, estimated_;  // per cost group, for refinement
  std::map<std::string, Task> running_;
  std::set<std::string> models_in_training_;  // of running extractions
  int retries_ = 0;
  int64_t done_ = 0, failed_ = 0, total_runs_ = 0;
};

}  // namespace hqsweep
