// Thin POSIX helpers the processes share: whole writes to a descriptor, a whole file as text, and
// this process's own executable.
#pragma once

#include <string>

namespace hqsweep {

// Writes all of `text` (retrying short writes and EINTR); false when the descriptor fails.
bool write_all(int fd, const std::string& text);

// The whole file; throws Error naming it when it cannot be read.
std::string read_text_file(const std::string& path);

// The path of the running executable (/proc/self/exe); throws Error when it cannot be read.
std::string self_executable();

}  // namespace hqsweep
