// Fuzz target: one .npy array's bytes.
#include <string>

#include "common/error.h"
#include "tests/fuzz/fuzz_targets.h"
#include "worker/array_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    hqsweep::parse_npy(std::string(reinterpret_cast<const char*>(data), size), "fuzz.npy");
  } catch (const hqsweep::Error&) {
  }
  return 0;
}
