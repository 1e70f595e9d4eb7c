// One writer per results file, always: an OFD lock (fcntl F_OFD_SETLK) on RESULTS.h5.lock, taken
// before the writer reads or creates anything, held for its lifetime and released by the kernel
// when it dies, however it dies. The lock file records the holder (pid, host, start time) so that
// a refused writer can name it; it is never removed, since removing a lock file races with the next
// writer opening it. Readers take no lock. NFS: docs/hdf5-schema.md.
#pragma once

#include <string>

namespace hqsweep {

class WriterLock {
 public:
  // Takes the lock of `results_path`. Throws Error naming the file and the holder when another
  // process has it, or when the lock file cannot be created.
  static WriterLock acquire(const std::string& results_path);

  WriterLock(WriterLock&& other) noexcept;
  WriterLock& operator=(WriterLock&& other) noexcept;
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;
  ~WriterLock();

  // The holder line of the lock of `results_path` ("pid 123 on host, since ..."), or "" when no
  // process holds it.
  static std::string holder(const std::string& results_path);

 private:
  explicit WriterLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace hqsweep
