// The results store's source of truth: an append-only file of length-prefixed, checksummed
// records, each fsynced before append() returns. The HDF5 results file is rebuilt from it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hqsweep {

// Bytes before each record's payload: magic, type, length, payload and header checksums.
constexpr uint64_t kJournalRecordHeaderSize = 24;

enum class JournalRecordType : uint32_t { sweep = 1, run = 2 };

struct JournalRecord {
  JournalRecordType type;
  uint64_t offset;  // where the record starts
  uint64_t end;     // where the next record starts
  std::string payload;
};

class Journal {
 public:
  static constexpr uint32_t kVersion = 1;

  // Opens the journal at `path` for appending, creating it when absent, and takes the writer
  // lock. Throws when another process holds the lock, the file is not a journal or has a newer
  // version, or its middle is corrupt. A torn last record (a crash mid-append) is cut off.
  static Journal open_for_append(const std::string& path);
  // True while a process holds the writer lock of the journal at `path`.
  static bool is_locked(const std::string& path);
  // Calls visit for every complete record from the start, in order, and returns the end of the
  // last one. Never changes the file; stops quietly at a torn tail.
  static uint64_t scan(const std::string& path,
                       const std::function<void(const JournalRecord&)>& visit);
  static JournalRecord read_at(const std::string& path, uint64_t offset);
  // The random identity written in the journal's header (the HDF5 file records which journal
  // it was built from).
  static uint64_t read_identity(const std::string& path);

  Journal(Journal&& other) noexcept;
  Journal& operator=(Journal&& other) noexcept;
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;
  ~Journal();

  // Appends one record and fsyncs; returns its end offset. On failure (ENOSPC, EIO, ...) the
  // file is cut back to its previous length and the error names the journal and the errno text.
  uint64_t append(JournalRecordType type, const std::string& payload);
  // Several records with one write and one fsync (group commit); all or none.
  uint64_t append_all(JournalRecordType type, const std::vector<std::string>& payloads);
  uint64_t size() const { return size_; }
  uint64_t identity() const { return identity_; }
  const std::string& path() const { return path_; }

 private:
  Journal() = default;
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t identity_ = 0;
};

}  // namespace hqsweep
