// The progress of a running sweep: the line `hqsweep run` prints on standard error (live on a
// terminal, a line every interval otherwise, messages of their own above it), and the same
// snapshot in a file beside the results file (RESULTS.h5.progress), which `hqsweep status` reads
// while the sweep runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hqsweep {

// A run being executed: its latest epoch report.
struct RunningRun {
  std::string run_id;
  int64_t epoch = 0;   // the last epoch it reported; 0: none yet
  int64_t epochs = 0;  // a full run's; 0: unknown
  std::string metric;  // its latest validation value, "" when it reported none
  double value = 0;
};

struct ProgressSnapshot {
  int64_t total = 0;   // runs this invocation runs
  int64_t done = 0;    // finished: done, diverged or pruned
  int64_t failed = 0;  // failed, timed out, or failed for their extraction
  int64_t running = 0, queued = 0, waiting = 0;  // executing; held by a worker; not handed out
  std::vector<RunningRun> running_runs;
  double elapsed = 0;       // seconds since the sweep started
  double eta_seconds = -1;  // < 0: not known yet
  double updated = 0;       // seconds since the Unix epoch
};

nlohmann::json to_json(const ProgressSnapshot& snapshot);
ProgressSnapshot progress_snapshot_from_json(const nlohmann::json& json);

// "3/60 done, 1 failed | 2 running, 2 queued, 53 waiting | a1b2c3d4 epoch 23/60 val_acc 0.8123
// | ETA 2.1h"; at most `shown_runs` running runs by name (0: none, the counts alone).
std::string progress_line(const ProgressSnapshot& snapshot, std::size_t shown_runs = 3);

// The time left: the estimated work left at the rate the work done so far took (estimates in
// any unit: the rate calibrates them). < 0 while nothing is done.
double estimated_seconds_left(double work_done, double work_left, double elapsed);

// RESULTS.h5.progress; written atomically, removed when the sweep ends.
std::string progress_path(const std::string& results_path);
void write_progress_file(const std::string& results_path, const ProgressSnapshot& snapshot);
void remove_progress_file(const std::string& results_path);
// The snapshot in the file, or nullopt when there is none or it cannot be read.
std::optional<ProgressSnapshot> read_progress_file(const std::string& results_path);

class Progress {
 public:
  // interval <= 0: a live line on a terminal (else every 30 s).
  explicit Progress(double interval);
  // Prints when the interval has passed since the last line, or when forced.
  void update(const ProgressSnapshot& snapshot, bool force = false);
  // Ends the live line.
  void finish();
  // A line of its own, above the live line on a terminal.
  void message(const std::string& text);

 private:
  bool live_;
  double interval_;
  double last_;
};

}  // namespace hqsweep
