// ResultStore: the journal is the truth, the HDF5 file a view of it kept current after every
// append. Files next to RESULTS.h5: RESULTS.h5.lock (the writer lock, store/writer_lock.h),
// RESULTS.h5.journal (records; its own lock tells readers a writer is active) and
// RESULTS.h5.writing (present while the writer changes the HDF5 file; found at open, it means
// the writer died mid-write and the HDF5 file is rebuilt from the journal).
#include "store/result_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>

#include "common/clock.h"
#include "common/error.h"
#include "store/journal.h"
#include "store/results_file.h"
#include "store/results_paths.h"
#include "store/writer_lock.h"

#ifndef HQSWEEP_VERSION
#define HQSWEEP_VERSION "unknown"
#endif

namespace hqsweep {

namespace {

bool exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

uint64_t size_of(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? static_cast<uint64_t>(info.st_size) : 0;
}

void create_marker(const std::string& path) {
  int fd = ::open(writer_marker_path(path).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw Error("cannot create " + writer_marker_path(path) + ": " + std::strerror(errno));
  }
  ::close(fd);
}

void remove_marker(const std::string& path) {
  ::unlink(writer_marker_path(path).c_str());
}

// A writer died while changing the HDF5 file: whatever the file looks like now (even missing its
// /meta), it is ours and the journal rebuilds it.
bool died_mid_update(const std::string& path, bool have_journal) {
  return have_journal && exists(writer_marker_path(path));
}

void sync_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    int error = errno;
    if (fd >= 0) ::close(fd);
    throw Error("cannot sync " + path + ": " + std::strerror(error));
  }
  ::close(fd);
}

std::string encode(const nlohmann::json& json) {
  std::vector<std::uint8_t> bytes = nlohmann::json::to_cbor(json);
  return std::string(bytes.begin(), bytes.end());
}

nlohmann::json decode(const JournalRecord& record, const std::string& path) {
  try {
    return nlohmann::json::from_cbor(record.payload);
  } catch (const nlohmann::json::exception& error) {
    throw Error("journal " + path + ": record at byte " + std::to_string(record.offset) +
                " does not decode: " + error.what());
  }
}

}  // namespace

struct ResultStore::State {
  std::string path;
  bool writable = false;
  std::optional<WriterLock> lock;  // writers only, taken before anything else
  bool read_from_journal = false;  // readers: the HDF5 file was stale or a writer was active
  std::optional<Journal> journal;  // writers only
  hdf5::Handle file;               // open HDF5 file (writers: read-write)
  results_file::Meta meta;

  std::vector<RunSummary> runs;  // in order of first append
  std::unordered_map<std::string, std::size_t> position;
  std::vector<uint64_t> record_offsets;  // latest journal record of each run
  std::vector<SweepRecord> sweep_records;
  std::vector<std::string> varying_keys;  // union over sweep_records, in first-seen order
  std::vector<hdf5::Column> columns;
  // Runs safe in the journal whose HDF5 update was deferred (FileUpdate::deferred), in journal
  // order, each with its index row and the journal offset just past its record.
  struct Unwritten {
    RunResult result;
    std::size_t row;
    uint64_t journal_end;
  };
  std::vector<Unwritten> unwritten;

  // Writes the deferred runs in order, stopping once `max_seconds` are spent (after at least
  // one run); returns whether some are still waiting. The file then records the journal offset
  // up to which it holds every record, so that a writer killed before the next slice leaves a
  // file that the next open replays from there (and readers read the journal meanwhile).
  bool write_unwritten(double max_seconds = std::numeric_limits<double>::infinity()) {
    if (unwritten.empty()) return false;
    const auto started = std::chrono::steady_clock::now();
    std::size_t written = 0;
    update_file(unwritten.size() == 1 ? "run " + unwritten[0].result.run_id + " is"
                                      : std::to_string(unwritten.size()) + " runs are",
                [&] {
                  for (const Unwritten& run : unwritten) {
                    results_file::write_run(file, run.result);
                    results_file::write_index_row(file, columns, run.row, runs[run.row]);
                    ++written;
                    if (seconds_since(started) >= max_seconds) break;
                  }
                  return written == unwritten.size() ? journal->size()
                                                     : unwritten[written - 1].journal_end;
                });
    unwritten.erase(unwritten.begin(), unwritten.begin() + static_cast<std::ptrdiff_t>(written));
    return !unwritten.empty();
  }

  // Applies one journal record to the in-memory view; returns whether the varying keys grew.
  bool absorb(const JournalRecord& record) {
    nlohmann::json json = decode(record, journal_path(path));
    if (record.type == JournalRecordType::sweep) {
      sweep_records.push_back(sweep_record_from_json(json));
      return merge_varying_keys(sweep_records.back().varying_keys);
    }
    if (record.type != JournalRecordType::run) return false;
    RunResult result = run_result_from_json(json);
    remember(summarize(result), record.offset);
    return false;
  }

  bool merge_varying_keys(const std::vector<std::string>& keys) {
    bool grew = false;
    for (const std::string& key : keys) {
      if (std::find(varying_keys.begin(), varying_keys.end(), key) == varying_keys.end()) {
        varying_keys.push_back(key);
        grew = true;
      }
    }
    return grew;
  }

  std::size_t remember(RunSummary summary, uint64_t offset) {
    auto it = position.find(summary.run_id);
    if (it != position.end()) {
      runs[it->second] = std::move(summary);
      record_offsets[it->second] = offset;
      return it->second;
    }
    position[summary.run_id] = runs.size();
    runs.push_back(std::move(summary));
    record_offsets.push_back(offset);
    return runs.size() - 1;
  }

  void load_journal() {
    Journal::scan(journal_path(path), [this](const JournalRecord& record) { absorb(record); });
    columns = results_file::index_columns(varying_keys);
  }

  // Writes the whole HDF5 file from the journal under a temporary name and renames it into
  // place: the old file, whatever its state, is replaced in one step.
  void rebuild() {
    const std::string temporary = path + ".rebuild";
    try {
      write_rebuilt(temporary);
    } catch (const Error&) {
      std::remove(temporary.c_str());  // a full disk must not keep a half-written copy
      throw;
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0)
      throw Error("cannot move " + temporary + " to " + path + ": " + std::strerror(errno));
  }

  void write_rebuilt(const std::string& temporary) {
    std::string created =
        meta.created.empty() ? results_file::iso_time(wall_seconds()) : meta.created;
    {
      hdf5::Handle fresh = hdf5::create_file(temporary);
      results_file::Meta fresh_meta{ResultStore::kSchemaVersion,
                                    HQSWEEP_VERSION,
                                    created,
                                    results_file::iso_time(wall_seconds()),
                                    journal->identity(),
                                    journal->size()};
      results_file::initialise(fresh, fresh_meta);
      for (std::size_t i = 0; i < sweep_records.size(); ++i)
        results_file::write_sweep(fresh, sweep_records[i], i + 1);
      // One pass over the journal, writing each run's latest record only.
      Journal::scan(journal->path(), [&](const JournalRecord& record) {
        if (record.type != JournalRecordType::run) return;
        RunResult result = run_result_from_json(decode(record, journal->path()));
        if (record_offsets[position.at(result.run_id)] == record.offset)
          results_file::write_run(fresh, result);
      });
      results_file::write_index(fresh, columns, runs);
      fresh.close("rebuilt results file " + temporary);
      meta = fresh_meta;
    }
    sync_file(temporary);
  }

  // Brings the HDF5 file up to the journal's end, rebuilding when it cannot be trusted.
  void recover(const results_file::Inspection& inspection) {
    // A file of an older schema is rebuilt from its journal in the current one.
    bool trusted = inspection.state == results_file::Inspection::State::ok &&
                   inspection.meta.schema_version == ResultStore::kSchemaVersion &&
                   !exists(writer_marker_path(path)) &&
                   inspection.meta.journal_identity == journal->identity() &&
                   inspection.meta.journal_bytes <= journal->size();
    if (inspection.state == results_file::Inspection::State::ok) meta = inspection.meta;
    if (trusted) {
      file = hdf5::open_file(path, hdf5::Access::read_write);
      if (meta.journal_bytes < journal->size()) {
        // Records acknowledged after the last HDF5 update: replay them.
        create_marker(path);
        rewrite_index_and_tail(meta.journal_bytes);
        remove_marker(path);
      }
      return;
    }
    create_marker(path);
    file = hdf5::Handle();
    rebuild();
    file = hdf5::open_file(path, hdf5::Access::read_write);
    remove_marker(path);
  }

  void rewrite_index_and_tail(uint64_t from) {
    std::size_t sweeps_before = 0;
    Journal::scan(journal->path(), [&](const JournalRecord& record) {
      if (record.type == JournalRecordType::sweep && record.offset < from) ++sweeps_before;
      if (record.offset < from) return;
      nlohmann::json json = decode(record, journal->path());
      if (record.type == JournalRecordType::sweep) {
        results_file::write_sweep(file, sweep_record_from_json(json), ++sweeps_before);
      } else if (record.type == JournalRecordType::run) {
        results_file::write_run(file, run_result_from_json(json));
      }
    });
    results_file::write_index(file, columns, runs);
    meta.journal_bytes = journal->size();
    meta.updated = results_file::iso_time(wall_seconds());
    results_file::write_progress(file, meta);
    hdf5::flush_file(file, path);
  }

  // Runs `change` on the HDF5 file between the marker's creation and removal; `change` returns
  // the journal offset up to which the file now holds every record. A failure leaves the marker,
  // so the next open rebuilds the file from the journal.
  template <typename Change>
  void update_file(const std::string& what, Change change) {
    try {
      create_marker(path);
      meta.journal_bytes = change();
      meta.updated = results_file::iso_time(wall_seconds());
      results_file::write_progress(file, meta);
      hdf5::flush_file(file, path);
      remove_marker(path);
    } catch (const Error& error) {
      throw Error("cannot update the HDF5 file " + path + " (" + error.what() + "); " + what +
                  " safe in the journal " + journal->path() +
                  ", and the next open rebuilds the file from it");
    }
  }
};

ResultStore::ResultStore(std::unique_ptr<State> state) : state_(std::move(state)) {}
ResultStore::ResultStore(ResultStore&&) noexcept = default;
ResultStore& ResultStore::operator=(ResultStore&&) noexcept = default;
ResultStore::~ResultStore() {
  if (!state_ || state_->unwritten.empty()) return;
  try {
    state_->write_unwritten();
  } catch (const Error&) {
    // The runs are safe in the journal; the next open for writing rebuilds the file.
  }
}

ResultStore ResultStore::open_for_writing(const std::string& path) {
  auto state = std::make_unique<State>();
  state->path = path;
  state->writable = true;
  state->lock.emplace(WriterLock::acquire(path));
  results_file::Inspection inspection = results_file::inspect(path);
  using InspectionState = results_file::Inspection::State;
  const bool have_journal = exists(journal_path(path));
  if (inspection.state == InspectionState::newer ||
      (inspection.state == InspectionState::foreign && !died_mid_update(path, have_journal)))
    throw Error(inspection.problem);
  if (!have_journal && inspection.state == InspectionState::unreadable) {
    throw Error(inspection.problem + "; it is not an hqsweep results file (and has no journal " +
                journal_path(path) + " to rebuild it from); nothing was changed");
  }
  if (!have_journal && inspection.state == InspectionState::ok) {
    // A results file without its journal (copied on its own): write a journal from it first, so
    // the journal stays the complete record.
    ResultStore source = open_for_reading(path);
    const std::string temporary = journal_path(path) + ".bootstrap";
    std::remove(temporary.c_str());
    {
      Journal bootstrap = Journal::open_for_append(temporary);
      for (const SweepRecord& sweep : source.sweeps())
        bootstrap.append(JournalRecordType::sweep, encode(to_json(sweep)));
      for (const RunSummary& run : source.list())
        bootstrap.append(JournalRecordType::run, encode(to_json(source.get(run.run_id))));
    }
    if (std::rename(temporary.c_str(), journal_path(path).c_str()) != 0) {
      throw Error("cannot create journal " + journal_path(path) + ": " + std::strerror(errno));
    }
    inspection.meta.journal_identity = 0;  // forces a rebuild against the new journal
  }
  state->journal.emplace(Journal::open_for_append(journal_path(path)));
  state->load_journal();
  state->recover(inspection);
  return ResultStore(std::move(state));
}

ResultStore ResultStore::open_for_reading(const std::string& path) {
  auto state = std::make_unique<State>();
  state->path = path;
  results_file::Inspection inspection = results_file::inspect(path);
  using InspectionState = results_file::Inspection::State;
  const std::string journal = journal_path(path);
  const bool have_journal = exists(journal);
  if (inspection.state == InspectionState::newer ||
      (inspection.state == InspectionState::foreign && !died_mid_update(path, have_journal)))
    throw Error(inspection.problem);
  if (!have_journal) {
    if (inspection.state == InspectionState::missing) throw Error("no results file " + path);
    if (inspection.state == InspectionState::unreadable)
      throw Error(inspection.problem + "; it is not a readable hqsweep results file");
  }
  bool hdf5_current =
      inspection.state == InspectionState::ok &&
      (!have_journal || (!Journal::is_locked(journal) && !exists(writer_marker_path(path)) &&
                         inspection.meta.journal_identity == Journal::read_identity(journal) &&
                         inspection.meta.journal_bytes == size_of(journal)));
  if (hdf5_current) {
    state->file = hdf5::open_file(path, hdf5::Access::read_only);
    state->meta = inspection.meta;
    state->sweep_records = results_file::read_sweeps(state->file);
    for (const SweepRecord& sweep : state->sweep_records)
      state->merge_varying_keys(sweep.varying_keys);
    for (RunSummary& run : results_file::read_index(state->file))
      state->remember(std::move(run), 0);
  } else {
    state->read_from_journal = true;
    state->load_journal();
  }
  return ResultStore(std::move(state));
}

void ResultStore::record_sweep(const SweepRecord& sweep) {
  state_->write_unwritten();  // keep the file's order: earlier runs first
  State& state = *state_;
  HQSWEEP_CHECK(state.writable, "record_sweep on a store opened for reading");
  if (!state.sweep_records.empty()) {
    const SweepRecord& latest = state.sweep_records.back();
    // A resume records nothing new; another shard of the same sweep (a merge) or other --set
    // values are a record of their own.
    if (latest.text == sweep.text && latest.command_line == sweep.command_line &&
        latest.source == sweep.source && latest.shard_index == sweep.shard_index &&
        latest.shard_count == sweep.shard_count && latest.overrides == sweep.overrides)
      return;
  }
  state.journal->append(JournalRecordType::sweep, encode(to_json(sweep)));
  state.sweep_records.push_back(sweep);
  bool grew = state.merge_varying_keys(sweep.varying_keys);
  if (grew) state.columns = results_file::index_columns(state.varying_keys);
  state.update_file("the sweep record of " + sweep.source + " is", [&] {
    results_file::write_sweep(state.file, sweep, state.sweep_records.size());
    if (grew) results_file::write_index(state.file, state.columns, state.runs);
    return state.journal->size();  // every earlier run was written first
  });
}

void ResultStore::append(RunResult result, AppendMode mode) {
  std::vector<RunResult> one;
  one.push_back(std::move(result));
  append_all(std::move(one), mode);
}

void ResultStore::append_all(std::vector<RunResult> results, AppendMode mode, FileUpdate update) {
  State& state = *state_;
  HQSWEEP_CHECK(state.writable, "append on a store opened for reading");
  if (results.empty()) return;
  // Within this batch too. A proposed record is no attempt: the run's first result is attempt 1.
  std::map<std::string, int> attempts;
  for (RunResult& result : results) {
    if (result.run_id.empty()) {
      throw Error("cannot append a run without a run_id to " + state.path);
    }
    auto it = state.position.find(result.run_id);
    auto seen = attempts.find(result.run_id);
    result.attempt = 1;
    if (seen != attempts.end()) {
      result.attempt = seen->second + 1;
    } else if (it != state.position.end()) {
      const RunSummary& earlier = state.runs[it->second];
      if (earlier.status == RunStatus::done && mode != AppendMode::retry) {
        throw Error("run " + result.run_id + " is already done in " + state.path +
                    "; refusing to store it again (an explicit retry can)");
      }
      result.attempt = earlier.attempt + 1;
    }
    if (result.status == RunStatus::proposed) result.attempt = std::max(0, result.attempt - 1);
    attempts[result.run_id] = result.attempt;
  }
  std::vector<std::string> payloads;
  for (const RunResult& result : results) payloads.push_back(encode(to_json(result)));
  uint64_t offset = state.journal->size();
  try {
    state.journal->append_all(JournalRecordType::run, payloads);
  } catch (const Error& error) {
    throw Error(std::string(error.what()) + "; " + std::to_string(results.size()) +
                (results.size() == 1 ? " run was" : " runs were") +
                " not stored (they run again when the same command is repeated), and every run "
                "stored before is safe in the journal");
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    const std::size_t row = state.remember(summarize(results[i]), offset);
    offset += kJournalRecordHeaderSize + payloads[i].size();
    state.unwritten.push_back({std::move(results[i]), row, offset});
  }
  if (update == FileUpdate::now) state.write_unwritten();
}

bool ResultStore::update_file(double max_seconds) {
  return state_->write_unwritten(max_seconds);
}

bool ResultStore::contains(const std::string& run_id) const {
  return state_->position.count(run_id) > 0;
}

std::optional<RunStatus> ResultStore::status(const std::string& run_id) const {
  auto it = state_->position.find(run_id);
  if (it == state_->position.end()) return std::nullopt;
  return state_->runs[it->second].status;
}

std::vector<RunSummary> ResultStore::list() const {
  return state_->runs;
}

RunResult ResultStore::get(const std::string& run_id) const {
  const State& state = *state_;
  auto it = state.position.find(run_id);
  if (it == state.position.end()) throw Error("no run " + run_id + " in " + state.path);
  for (auto u = state.unwritten.rbegin(); u != state.unwritten.rend(); ++u) {
    if (u->result.run_id == run_id) return u->result;
  }
  if (state.read_from_journal) {
    const std::string journal = journal_path(state.path);
    return run_result_from_json(
        decode(Journal::read_at(journal, state.record_offsets[it->second]), journal));
  }
  return results_file::read_run(state.file, run_id);
}

std::map<std::string, double> ResultStore::metrics(const std::string& run_id) const {
  const State& state = *state_;
  if (state.read_from_journal || !state.unwritten.empty()) return get(run_id).metrics;
  if (!contains(run_id)) throw Error("no run " + run_id + " in " + state.path);
  return results_file::read_metrics(state.file, run_id);
}

std::vector<SweepRecord> ResultStore::sweeps() const {
  return state_->sweep_records;
}

const std::string& ResultStore::path() const {
  return state_->path;
}

}  // namespace hqsweep
