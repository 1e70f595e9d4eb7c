// Journal file layout (little-endian, docs/hdf5-schema.md):
//   header  "HQSWEEP JOURNAL\n" | u32 version | u32 zero | u64 identity          (32 bytes)
//   record  u32 magic | u32 type | u64 length | u32 crc32(payload) | u32 crc32(first 20 bytes)
//           | payload                                                          (24 + length)
// The writer lock is an open-file-description lock (fcntl F_OFD_SETLK) on the journal: the
// kernel drops it when the writer dies, however it dies.
#include "store/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "common/error.h"

namespace hqsweep {

namespace {

constexpr char kMagicText[] = "HQSWEEP JOURNAL\n";
constexpr uint64_t kHeaderSize = 32;
constexpr uint64_t kRecordHeaderSize = kJournalRecordHeaderSize;
constexpr uint32_t kRecordMagic = 0x4A525148;  // "HQRJ"
// A record larger than this is a corrupt length, not a result.
constexpr uint64_t kMaxRecordLength = uint64_t{1} << 34;

std::string errno_text() {
  return std::strerror(errno);
}

uint32_t checksum(const void* data, std::size_t size) {
  return static_cast<uint32_t>(
      crc32(crc32(0, nullptr, 0), static_cast<const Bytef*>(data), static_cast<uInt>(size)));
}

template <typename T>
T load(const unsigned char* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

template <typename T>
void store_value(unsigned char* bytes, T value) {
  std::memcpy(bytes, &value, sizeof(T));
}

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Fd open_or_throw(const std::string& path, int flags, const std::string& action) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot " + action + " journal " + path + ": " + errno_text());
  return Fd(fd);
}

void read_exactly(int fd, void* buffer, std::size_t size, uint64_t offset,
                  const std::string& path) {
  auto* bytes = static_cast<char*>(buffer);
  while (size > 0) {
    ssize_t got = ::pread(fd, bytes, size, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw Error("cannot read journal " + path + ": unexpected end of file");
    bytes += got;
    size -= static_cast<std::size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
}

void write_exactly(int fd, const void* buffer, std::size_t size) {
  const auto* bytes = static_cast<const char*>(buffer);
  while (size > 0) {
    ssize_t put = ::write(fd, bytes, size);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) throw Error(errno_text());
    bytes += put;
    size -= static_cast<std::size_t>(put);
  }
}

uint64_t file_size(int fd, const std::string& path) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) throw Error("cannot stat journal " + path + ": " + errno_text());
  return static_cast<uint64_t>(info.st_size);
}

std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

void sync_directory(const std::string& path) {
  int fd = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Reads and checks the header; returns the identity.
uint64_t check_header(int fd, const std::string& path) {
  if (file_size(fd, path) < kHeaderSize)
    throw Error(path + " is not an hqsweep journal (shorter than its header)");
  unsigned char header[kHeaderSize];
  read_exactly(fd, header, kHeaderSize, 0, path);
  if (std::memcmp(header, kMagicText, 16) != 0)
    throw Error(path + " is not an hqsweep journal (its header does not start with '" +
                std::string(kMagicText, 15) + "')");
  uint32_t version = load<uint32_t>(header + 16);
  if (version > Journal::kVersion) {
    throw Error("journal " + path + " has version " + std::to_string(version) +
                "; this hqsweep reads up to version " + std::to_string(Journal::kVersion) +
                " (use a newer hqsweep)");
  }
  return load<uint64_t>(header + 24);
}

bool all_zero(int fd, uint64_t from, uint64_t to, const std::string& path) {
  std::vector<char> buffer(1 << 16);
  while (from < to) {
    std::size_t size = static_cast<std::size_t>(std::min<uint64_t>(buffer.size(), to - from));
    read_exactly(fd, buffer.data(), size, from, path);
    for (std::size_t i = 0; i < size; ++i)
      if (buffer[i] != 0) return false;
    from += size;
  }
  return true;
}

// Visits every complete record; returns the end of the last one. A record that is cut short or
// fails its checksum at the very end of the file is a torn append and ends the scan; damage with
// intact data after it is corruption and throws, because cutting there would lose records.
uint64_t scan_fd(int fd, const std::string& path,
                 const std::function<void(const JournalRecord&)>& visit) {
  check_header(fd, path);
  uint64_t size = file_size(fd, path);
  uint64_t offset = kHeaderSize;
  while (offset < size) {
    auto corrupt = [&](const std::string& what) -> uint64_t {
      if (all_zero(fd, offset, size, path)) return offset;
      throw Error("journal " + path + " is corrupt at byte " + std::to_string(offset) + " (" +
                  what + ") with data after it; nothing was changed. Move the journal aside " +
                  "to open the results file as it is, or restore it from a backup.");
    };
    if (size - offset < kRecordHeaderSize) return offset;  // torn header
    unsigned char header[kRecordHeaderSize];
    read_exactly(fd, header, kRecordHeaderSize, offset, path);
    if (load<uint32_t>(header) != kRecordMagic ||
        load<uint32_t>(header + 20) != checksum(header, 20)) {
      return corrupt("bad record header");
    }
    uint64_t length = load<uint64_t>(header + 8);
    if (length > kMaxRecordLength) return corrupt("impossible record length");
    uint64_t end = offset + kRecordHeaderSize + length;
    if (end > size) return offset;  // torn payload
    JournalRecord record{static_cast<JournalRecordType>(load<uint32_t>(header + 4)), offset, end,
                         std::string(length, '\0')};
    read_exactly(fd, record.payload.data(), length, offset + kRecordHeaderSize, path);
    if (load<uint32_t>(header + 16) != checksum(record.payload.data(), length)) {
      if (end == size) return offset;  // torn write of the last record
      return corrupt("payload checksum mismatch");
    }
    visit(record);
    offset = end;
  }
  return offset;
}

bool try_lock(int fd) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  return ::fcntl(fd, F_OFD_SETLK, &lock) == 0;
}

// Creates a new journal under a temporary name, locks it, and links it into place unless
// another process was faster (then returns an invalid Fd and the caller opens theirs).
Fd create_locked(const std::string& path, uint64_t* identity) {
  std::random_device entropy;
  *identity = (uint64_t{entropy()} << 32) ^ entropy();
  std::string temporary = path + ".new." + std::to_string(::getpid());
  Fd fd = open_or_throw(temporary, O_RDWR | O_CREAT | O_TRUNC, "create");
  unsigned char header[kHeaderSize] = {};
  std::memcpy(header, kMagicText, 16);
  store_value<uint32_t>(header + 16, Journal::kVersion);
  store_value<uint64_t>(header + 24, *identity);
  try {
    write_exactly(fd.get(), header, kHeaderSize);
    if (::fsync(fd.get()) != 0) throw Error(errno_text());
  } catch (const Error& error) {
    ::unlink(temporary.c_str());
    throw Error("cannot create journal " + path + ": " + error.what());
  }
  if (!try_lock(fd.get())) {
    ::unlink(temporary.c_str());
    throw Error("cannot lock new journal " + path + ": " + errno_text());
  }
  int linked = ::link(temporary.c_str(), path.c_str());
  int link_errno = errno;
  ::unlink(temporary.c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) return Fd();
    throw Error("cannot create journal " + path + ": " + std::strerror(link_errno));
  }
  sync_directory(path);
  return fd;
}

}  // namespace

Journal Journal::open_for_append(const std::string& path) {
  Journal journal;
  journal.path_ = path;
  Fd fd;
  if (::access(path.c_str(), F_OK) != 0) fd = create_locked(path, &journal.identity_);
  if (fd.get() < 0) {
    fd = open_or_throw(path, O_RDWR, "open");
    if (!try_lock(fd.get())) {
      throw Error("results file is locked: another hqsweep process is writing it (journal " + path +
                  " is locked); nothing was changed");
    }
    journal.identity_ = check_header(fd.get(), path);
  }
  uint64_t valid_end = scan_fd(fd.get(), path, [](const JournalRecord&) {});
  if (valid_end < file_size(fd.get(), path)) {
    if (::ftruncate(fd.get(), static_cast<off_t>(valid_end)) != 0 || ::fsync(fd.get()) != 0)
      throw Error("cannot cut the torn last record of journal " + path + ": " + errno_text());
  }
  if (::lseek(fd.get(), static_cast<off_t>(valid_end), SEEK_SET) < 0)
    throw Error("cannot seek in journal " + path + ": " + errno_text());
  journal.size_ = valid_end;
  journal.fd_ = fd.release();
  return journal;
}

bool Journal::is_locked(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  bool locked = ::fcntl(fd, F_OFD_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
  ::close(fd);
  return locked;
}

uint64_t Journal::scan(const std::string& path,
                       const std::function<void(const JournalRecord&)>& visit) {
  Fd fd = open_or_throw(path, O_RDONLY, "open");
  return scan_fd(fd.get(), path, visit);
}

JournalRecord Journal::read_at(const std::string& path, uint64_t offset) {
  Fd fd = open_or_throw(path, O_RDONLY, "open");
  unsigned char header[kRecordHeaderSize];
  read_exactly(fd.get(), header, kRecordHeaderSize, offset, path);
  if (load<uint32_t>(header) != kRecordMagic || load<uint32_t>(header + 20) != checksum(header, 20))
    throw Error("journal " + path + ": no record starts at byte " + std::to_string(offset));
  uint64_t length = load<uint64_t>(header + 8);
  JournalRecord record{static_cast<JournalRecordType>(load<uint32_t>(header + 4)), offset,
                       offset + kRecordHeaderSize + length, std::string(length, '\0')};
  read_exactly(fd.get(), record.payload.data(), length, offset + kRecordHeaderSize, path);
  if (load<uint32_t>(header + 16) != checksum(record.payload.data(), length))
    throw Error("journal " + path + ": record at byte " + std::to_string(offset) + " is corrupt");
  return record;
}

uint64_t Journal::read_identity(const std::string& path) {
  Fd fd = open_or_throw(path, O_RDONLY, "open");
  return check_header(fd.get(), path);
}

Journal::Journal(Journal&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      size_(other.size_),
      identity_(other.identity_) {}

Journal& Journal::operator=(Journal&& other) noexcept {
  std::swap(path_, other.path_);
  std::swap(fd_, other.fd_);
  std::swap(size_, other.size_);
  std::swap(identity_, other.identity_);
  return *this;
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

uint64_t Journal::append(JournalRecordType type, const std::string& payload) {
  return append_all(type, {payload});
}

uint64_t Journal::append_all(JournalRecordType type, const std::vector<std::string>& payloads) {
  HQSWEEP_CHECK(fd_ >= 0, "append to a closed journal");
  std::vector<unsigned char> records;
  for (const std::string& payload : payloads) {
    const std::size_t at = records.size();
    records.resize(at + kRecordHeaderSize + payload.size());
    unsigned char* record = records.data() + at;
    store_value<uint32_t>(record, kRecordMagic);
    store_value<uint32_t>(record + 4, static_cast<uint32_t>(type));
    store_value<uint64_t>(record + 8, payload.size());
    store_value<uint32_t>(record + 16, checksum(payload.data(), payload.size()));
    store_value<uint32_t>(record + 20, checksum(record, 20));
    std::memcpy(record + kRecordHeaderSize, payload.data(), payload.size());
  }
  try {
    write_exactly(fd_, records.data(), records.size());
    if (::fdatasync(fd_) != 0) throw Error(errno_text());
  } catch (const Error& error) {
    // Leave no partial record behind, so the next append starts on a record boundary.
    if (::ftruncate(fd_, static_cast<off_t>(size_)) == 0) {
      ::lseek(fd_, static_cast<off_t>(size_), SEEK_SET);
    }
    throw Error("cannot append to journal " + path_ + ": " + error.what());
  }
  size_ += records.size();
  return size_;
}

}  // namespace hqsweep
