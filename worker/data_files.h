// Readers of the files real data sets come in, giving samples as stored (before splitting and
// preprocessing): MedMNIST .npz, MNIST/Fashion-MNIST IDX folders, scikit-learn CSVs and image
// folders. Errors name the file and what is wrong with it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hqsweep {

// Samples of one split: images as [channels][height][width] with values in 0..1, or rows of
// features as stored.
struct RawSamples {
  std::vector<int64_t> sample_shape;  // {channels, height, width} or {features}
  std::vector<float> values;          // row-major [count][sample size]
  std::vector<int64_t> labels;        // 0..classes-1
  int64_t count() const { return static_cast<int64_t>(labels.size()); }
  int64_t sample_size() const;
};

struct RawDataset {
  std::vector<std::string> class_names;  // one per class
  RawSamples train, val, test;
  bool has_val = false;  // official splits; the others are carved from train
  bool has_test = false;
};

// MedMNIST v2: train/val/test _images ([n,h,w] grey or [n,h,w,3] RGB, uint8) and _labels
// ([n,1] or [n]); classes from the largest label.
RawDataset read_medmnist(const std::string& path);
// A folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
// t10k-labels-idx1-ubyte, each gzip-compressed (.gz) or plain; ten classes.
RawDataset read_idx_folder(const std::string& directory);
// scikit-learn's layout: a header "n_samples,n_features,class names..." then rows of features
// with the label last; a file without that header (digits.csv.gz) has rows only. gzip or plain.
RawDataset read_feature_csv(const std::string& path);
// One sub-folder per class (sorted by name), PNG or JPEG images, resized to image_size x
// image_size (0: all images must have one size). Grey unless some image has colour.
RawDataset read_image_folder(const std::string& directory, int64_t image_size);

// Bilinear resize of [channels][height][width] to [channels][size][size] (align_corners false,
// as torch's interpolate).
std::vector<float> resize_bilinear(const float* image, int64_t channels, int64_t height,
                                   int64_t width, int64_t size);

}  // namespace hqsweep
