// The layout of the HDF5 results file (docs/hdf5-schema.md), for result_store.cpp only:
// /meta, /sweep, /runs/<run_id>, /index.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/hdf5.h"
#include "store/run_result.h"

namespace hqsweep::results_file {

struct Meta {
  int64_t schema_version = 0;
  std::string hqsweep_version;
  std::string created;
  std::string updated;
  uint64_t journal_identity = 0;  // which journal the file was built from
  uint64_t journal_bytes = 0;     // how much of it the file holds
};

// What a look at a path found, without changing it.
struct Inspection {
  enum class State { missing, unreadable, foreign, newer, ok } state = State::missing;
  std::string problem;  // for unreadable, foreign and newer: a sentence for the user
  Meta meta;
};
Inspection inspect(const std::string& path);

// Creates the groups and /meta of a new file.
void initialise(const hdf5::Handle& file, const Meta& meta);
void write_meta(const hdf5::Handle& file, const Meta& meta);
// Only what changes with every append: updated and journal_bytes.
void write_progress(const hdf5::Handle& file, const Meta& meta);
Meta read_meta(const hdf5::Handle& file);

// /sweep holds the latest record; /sweep/history/<n> every record in order.
void write_sweep(const hdf5::Handle& file, const SweepRecord& sweep, std::size_t number);
std::vector<SweepRecord> read_sweeps(const hdf5::Handle& file);

// Writes /runs/<run_id> under a temporary name and moves it into place, replacing an older one,
// so a reader of the file sees the run whole or not at all.
void write_run(const hdf5::Handle& file, const RunResult& result);
RunResult read_run(const hdf5::Handle& file, const std::string& run_id);
// A stored run's scalar metrics alone.
std::map<std::string, double> read_metrics(const hdf5::Handle& file, const std::string& run_id);

// /index: one row per run; the varying keys of the sweeps become columns.
std::vector<hdf5::Column> index_columns(const std::vector<std::string>& varying_keys);
void write_index(const hdf5::Handle& file, const std::vector<hdf5::Column>& columns,
                 const std::vector<RunSummary>& runs);
void write_index_row(const hdf5::Handle& file, const std::vector<hdf5::Column>& columns,
                     std::size_t row, const RunSummary& run);
std::vector<RunSummary> read_index(const hdf5::Handle& file);

std::string iso_time(double unix_seconds);

}  // namespace hqsweep::results_file
