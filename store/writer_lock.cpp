// The results file's writer lock.
#include "store/writer_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

#include "common/error.h"
#include "store/results_paths.h"

namespace hqsweep {

namespace {

bool try_lock(int fd) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  return ::fcntl(fd, F_OFD_SETLK, &lock) == 0;
}

std::string read_holder(int fd) {
  char text[512] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  std::string line(text, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\0')) line.pop_back();
  return line.empty() ? "another process, which is still starting" : line;
}

void write_holder(int fd) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::time_t now = std::time(nullptr);
  char since[64] = {};
  std::strftime(since, sizeof since, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  const std::string line =
      "pid " + std::to_string(::getpid()) + " on " + host + ", since " + since + "\n";
  // The holder line is for messages only; the lock is what counts, so a failed write is no error.
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] const ssize_t written = ::pwrite(fd, line.data(), line.size(), 0);
  }
}

}  // namespace

WriterLock WriterLock::acquire(const std::string& results_path) {
  const std::string path = writer_lock_path(results_path);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw Error("cannot create the writer lock " + path + ": " + std::strerror(errno));
  }
  if (!try_lock(fd)) {
    const int error = errno;
    const std::string holder = read_holder(fd);
    ::close(fd);
    if (error == EAGAIN || error == EACCES) {
      throw Error(results_path + " is being written by " + holder + " (lock " + path +
                  "); one writer per results file: wait for it, or write to another file; "
                  "nothing was changed");
    }
    throw Error("cannot lock " + path + ": " + std::strerror(error));
  }
  write_holder(fd);
  return WriterLock(fd);
}

std::string WriterLock::holder(const std::string& results_path) {
  const int fd = ::open(writer_lock_path(results_path).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  const bool locked = ::fcntl(fd, F_OFD_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
  const std::string line = locked ? read_holder(fd) : "";
  ::close(fd);
  return line;
}

WriterLock::WriterLock(WriterLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

WriterLock& WriterLock::operator=(WriterLock&& other) noexcept {
  std::swap(fd_, other.fd_);
  return *this;
}

WriterLock::~WriterLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the description releases the lock
}

}  // namespace hqsweep
