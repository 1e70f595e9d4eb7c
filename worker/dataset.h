// A run's data: the set a config names, split into train/val/test and preprocessed as the
// config says (class subset, per-class limit, resize, channels, normalisation with training
// statistics). Augmentation happens per batch in training (worker/training.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/run_config.h"

namespace hqsweep {

struct DataSplit {
  std::vector<float> values;  // row-major [rows][sample size]
  std::vector<int64_t> labels;
  int64_t rows() const { return static_cast<int64_t>(labels.size()); }
};

struct Dataset {
  std::string source;                 // the file or folder read
  std::vector<int64_t> sample_shape;  // {channels, size, size} or {features}
  std::vector<std::string> class_names;
  DataSplit train, val, test;
  int64_t classes() const { return static_cast<int64_t>(class_names.size()); }
  bool tabular() const { return sample_shape.size() == 1; }
  int64_t sample_size() const;
};

// Where a config's data set lives: dataset.path under data_directory (absolute paths as they
// are), or the set's usual file there (common/catalogue.h) when the path is "".
std::string dataset_location(const RunConfig& config, const std::string& data_directory);

// Reads, splits and preprocesses the data set of a config. Splits carved from
// training data are stratified and drawn from `seed`; so are the per-class subsample and the
// class subset's order. Throws naming the file or key when the data does not fit the config.
Dataset load_dataset(const RunConfig& config, const std::string& data_directory);

// Stratified split of sample indices: about `fraction` of each class goes to the second part
// (at least one sample of each class with two or more), in an order drawn from `seed`.
struct IndexSplit {
  std::vector<int64_t> kept, held_out;
};
IndexSplit stratified_split(const std::vector<int64_t>& labels, double fraction, uint64_t seed);

}  // namespace hqsweep
