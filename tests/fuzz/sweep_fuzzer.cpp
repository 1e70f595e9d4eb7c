// Fuzz target: a sweep file through JsonSource and the sweep language's expansion.
#include <string>

#include "common/error.h"
#include "common/json_source.h"
#include "orchestrator/sweep/sweep.h"
#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    hqsweep::SweepOptions options;
    options.max_runs = 2000;  // a fuzzer's grids would otherwise take its time, not find bugs
    hqsweep::expand_sweep(hqsweep::JsonSource::from_text(text, "fuzz.json"), options);
  } catch (const hqsweep::Error&) {
  }
  return 0;
}
