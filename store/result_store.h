// The HDF5 results file of a sweep, crash-safe through its journal (docs/hdf5-schema.md).
//
//   auto store = ResultStore::open_for_writing("results.h5");
//   store.append(result);              // durable when it returns
//   for (const RunSummary& run : store.list()) ...
//
// One writer at a time (rank 0); any number of readers, also while the writer is active.
#pragma once

#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/run_result.h"

namespace hqsweep {

enum class AppendMode { normal, retry };
// now: the HDF5 file shows the run when append returns; deferred: only the journal does (the run
// is just as safe), and the file follows at update_file(), record_sweep() or destruction.
enum class FileUpdate { now, deferred };

class ResultStore {
 public:
  // 2: runs carry a trial number (studies), in /index and as an attribute.
  static constexpr int kSchemaVersion = 2;

  // Creates the file when absent; otherwise checks it and recovers it from its journal when the
  // last writer died (missing, unreadable or stale HDF5 file). Throws, changing nothing, when the
  // file is not an hqsweep results file, has a newer schema, or another writer holds it.
  static ResultStore open_for_writing(const std::string& path);
  // Never changes anything. While a writer is active (or the HDF5 file is stale) it reads the
  // journal, so it sees every acknowledged run and no half-written one.
  static ResultStore open_for_reading(const std::string& path);

  ResultStore(ResultStore&&) noexcept;
  ResultStore& operator=(ResultStore&&) noexcept;
  ~ResultStore();

  // Records the sweep behind the next runs; a repeat of the latest record is not stored again.
  void record_sweep(const SweepRecord& sweep);
  // Stores a run; when it returns the run survives any crash. Sets result.attempt. Refuses a
  // run_id that is already `done` unless mode is retry.
  void append(RunResult result, AppendMode mode = AppendMode::normal);
  // Several runs with one journal fsync and one HDF5 update (results that arrived together).
  void append_all(std::vector<RunResult> results, AppendMode mode = AppendMode::normal,
                  FileUpdate update = FileUpdate::now);
  // Writes deferred runs into the HDF5 file. With a time budget it stops once that is spent (after
  // at least one run, oldest first), so that a busy writer can update the file in slices; returns
  // whether deferred runs are still waiting.
  bool update_file(double max_seconds = std::numeric_limits<double>::infinity());

  bool contains(const std::string& run_id) const;
  std::optional<RunStatus> status(const std::string& run_id) const;
  // Every run, in the order they were first stored.
  std::vector<RunSummary> list() const;
  // Every scalar metric of a run (list() carries only those with an /index column); throws when
  // absent.
  std::map<std::string, double> metrics(const std::string& run_id) const;
  // One run with its curves and arrays; throws when absent.
  RunResult get(const std::string& run_id) const;
  std::vector<SweepRecord> sweeps() const;
  const std::string& path() const;

 private:
  struct State;
  explicit ResultStore(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace hqsweep
