// A file for one fuzz input, for readers that take a path: in /dev/shm when it exists, one per
// process, rewritten for every input; and the fuzz target of such a reader.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "common/error.h"

namespace hqsweep::fuzz {

inline std::string scratch_path(const std::string& name) {
  const std::string directory = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  return directory + "/hqsweep-fuzz-" + std::to_string(::getpid()) + "-" + name;
}

inline void write_scratch(const std::string& path, const uint8_t* data, size_t size) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, file) != size) std::abort();
  std::fclose(file);
}

// The fuzz target of a reader that takes a path: the input written to this process's scratch
// file `name`, then read; its refusals (hqsweep::Error) are expected.
template <typename Reader>
int read_scratch(const uint8_t* data, size_t size, const std::string& name, Reader reader) {
  static const std::string path = scratch_path(name);
  write_scratch(path, data, size);
  try {
    reader(path);
  } catch (const hqsweep::Error&) {
  }
  return 0;
}

}  // namespace hqsweep::fuzz
