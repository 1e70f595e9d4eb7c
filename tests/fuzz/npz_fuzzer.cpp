// Fuzz target: a MedMNIST .npz archive (zip of .npy members) through read_medmnist.
#include "tests/fuzz/fuzz_targets.h"
#include "tests/fuzz/scratch_file.h"
#include "worker/data_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return hqsweep::fuzz::read_scratch(data, size, "input.npz",
                                     [](const std::string& path) { hqsweep::read_medmnist(path); });
}
