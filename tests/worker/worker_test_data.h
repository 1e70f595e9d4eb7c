// Small synthetic data sets for worker tests, written as the files real sets come in.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace hqsweep::testing {

// A temporary folder for one test, removed afterwards.
class TempDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "hqsweep_worker_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

// Gaussian blobs in the scikit-learn CSV layout: `classes` classes with `per_class` rows each,
// `features` features, class c centred at `separation` * c on every feature.
inline std::string write_blobs_csv(const std::string& path, int classes, int per_class,
                                   int features, double separation, unsigned seed = 7,
                                   double scale = 1.0) {
  std::mt19937 random(seed);
  std::normal_distribution<double> noise(0, 1);
  std::ofstream out(path);
  out << classes * per_class << "," << features;
  for (int c = 0; c < classes; ++c) out << ",class" << c;
  out << "\n";
  for (int i = 0; i < per_class; ++i) {
    for (int c = 0; c < classes; ++c) {
      for (int f = 0; f < features; ++f) out << (separation * c + noise(random)) * scale << ",";
      out << c << "\n";
    }
  }
  return path;
}

}  // namespace hqsweep::testing
