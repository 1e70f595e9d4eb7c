// Shared helpers of the store tests: temporary directories and deterministic results.
#pragma once

#include <string>

#include "store/run_result.h"

namespace hqsweep::testing {

// A fresh empty directory under the system temp directory, removed by the destructor.
class TemporaryDirectory {
 public:
  TemporaryDirectory();
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A complete result (metrics, curves, probabilities, confusion matrix) whose values follow from
// `run_id` and `seed`, so a test can rebuild the expected result.
RunResult make_result(const std::string& run_id, int seed, int test_samples = 156);

}  // namespace hqsweep::testing
