// Fuzz target: one input decoded as a PNG, then as a JPEG, through read_image_folder (a folder
// of two classes, each holding the input).
#include <filesystem>

#include "common/error.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tests/fuzz/scratch_file.h"
#include "worker/data_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string folder = [] {
    const std::string path = hqsweep::fuzz::scratch_path("images");
    std::filesystem::create_directories(path + "/a");
    std::filesystem::create_directories(path + "/b");
    return path;
  }();
  for (const char* extension : {".png", ".jpg"}) {
    for (const char* label : {"/a/input", "/b/input"}) {
      hqsweep::fuzz::write_scratch(folder + label + extension, data, size);
    }
    try {
      hqsweep::read_image_folder(folder, 8);
    } catch (const hqsweep::Error&) {
    }
    for (const char* label : {"/a/input", "/b/input"}) {
      std::filesystem::remove(folder + label + extension);
    }
  }
  return 0;
}
