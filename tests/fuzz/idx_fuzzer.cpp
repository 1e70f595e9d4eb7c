// Fuzz target: an IDX file (MNIST's format; plain or gzip).
#include "common/error.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tests/fuzz/scratch_file.h"
#include "worker/array_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = hqsweep::fuzz::scratch_path("input-idx3-ubyte");
  hqsweep::fuzz::write_scratch(path, data, size);
  try {
    hqsweep::read_idx(path);
  } catch (const hqsweep::Error&) {
  }
  return 0;
}
