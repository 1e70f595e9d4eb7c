// Fuzz target: a MedMNIST .npz archive (zip of .npy members) through read_medmnist.
#include "common/error.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tests/fuzz/scratch_file.h"
#include "worker/data_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = hqsweep::fuzz::scratch_path("input.npz");
  hqsweep::fuzz::write_scratch(path, data, size);
  try {
    hqsweep::read_medmnist(path);
  } catch (const hqsweep::Error&) {
  }
  return 0;
}
