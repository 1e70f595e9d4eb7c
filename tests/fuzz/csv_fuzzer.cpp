// Fuzz target: a feature CSV (scikit-learn's layout, or rows of features and a label).
#include "tests/fuzz/fuzz_targets.h"
#include "tests/fuzz/scratch_file.h"
#include "worker/data_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return hqsweep::fuzz::read_scratch(
      data, size, "input.csv", [](const std::string& path) { hqsweep::read_feature_csv(path); });
}
