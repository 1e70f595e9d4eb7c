// Fuzz target: an IDX file (MNIST's format; plain or gzip).
#include "tests/fuzz/fuzz_targets.h"
#include "tests/fuzz/scratch_file.h"
#include "worker/array_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return hqsweep::fuzz::read_scratch(data, size, "input-idx3-ubyte",
                                     [](const std::string& path) { hqsweep::read_idx(path); });
}
