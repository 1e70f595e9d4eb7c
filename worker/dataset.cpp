// Splitting and preprocessing of a run's data set.
#include "worker/dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include "common/catalogue.h"
#include "common/error.h"
#include "worker/data_files.h"

namespace hqsweep {

namespace fs = std::filesystem;
using nlohmann::json;

int64_t Dataset::sample_size() const {
  int64_t size = 1;
  for (int64_t d : sample_shape) size *= d;
  return size;
}

namespace {

RawSamples take(const RawSamples& from, const std::vector<int64_t>& indices) {
  RawSamples out;
  out.sample_shape = from.sample_shape;
  const int64_t size = from.sample_size();
  out.values.reserve(indices.size() * static_cast<std::size_t>(size));
  for (int64_t i : indices) {
    out.values.insert(out.values.end(), from.values.begin() + i * size,
                      from.values.begin() + (i + 1) * size);
    out.labels.push_back(from.labels[static_cast<std::size_t>(i)]);
  }
  return out;
}

// Keeps the samples of the listed classes, relabelled by their position in the list.
RawSamples keep_classes(const RawSamples& from, const std::vector<int64_t>& classes) {
  std::vector<int64_t> indices;
  std::map<int64_t, int64_t> relabel;
  for (std::size_t i = 0; i < classes.size(); ++i) relabel[classes[i]] = static_cast<int64_t>(i);
  for (int64_t i = 0; i < from.count(); ++i) {
    if (relabel.count(from.labels[static_cast<std::size_t>(i)])) indices.push_back(i);
  }
  RawSamples out = take(from, indices);
  for (int64_t& label : out.labels) label = relabel[label];
  return out;
}

// At most `limit` samples per class, drawn from `seed`, in the original order.
RawSamples limit_per_class(const RawSamples& from, int64_t limit, uint64_t seed) {
  std::vector<int64_t> order(static_cast<std::size_t>(from.count()));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::mt19937_64 random(seed);
  std::shuffle(order.begin(), order.end(), random);
  std::map<int64_t, int64_t> taken;
  std::vector<int64_t> kept;
  for (int64_t i : order) {
    if (taken[from.labels[static_cast<std::size_t>(i)]]++ < limit) kept.push_back(i);
  }
  std::sort(kept.begin(), kept.end());
  return take(from, kept);
}

// Resize and channel conversion of every image of a split.
RawSamples reshape_images(const RawSamples& from, int64_t size, int64_t channels) {
  const int64_t in_channels = from.sample_shape[0], height = from.sample_shape[1],
                width = from.sample_shape[2];
  if (size == 0) {
    if (height != width) {
      throw Error("dataset.image_size: the images are " + std::to_string(width) + "x" +
                  std::to_string(height) + "; set a square size to resize them to");
    }
    size = height;
  }
  if (channels == 0) channels = in_channels;
  if (size == height && size == width && channels == in_channels) return from;
  RawSamples out;
  out.sample_shape = {channels, size, size};
  out.labels = from.labels;
  out.values.reserve(static_cast<std::size_t>(from.count() * channels * size * size));
  const int64_t plane = size * size;
  for (int64_t n = 0; n < from.count(); ++n) {
    const float* image = from.values.data() + n * from.sample_size();
    std::vector<float> resized = (size == height && size == width)
                                     ? std::vector<float>(image, image + from.sample_size())
                                     : resize_bilinear(image, in_channels, height, width, size);
    if (channels == in_channels) {
      out.values.insert(out.values.end(), resized.begin(), resized.end());
    } else if (channels == 3) {  // grey -> RGB: the same plane three times
      for (int c = 0; c < 3; ++c) {
        out.values.insert(out.values.end(), resized.begin(), resized.begin() + plane);
      }
    } else {  // RGB -> grey: ITU-R 601 luma, as PIL's convert("L")
      for (int64_t p = 0; p < plane; ++p) {
        out.values.push_back(0.299f * resized[p] + 0.587f * resized[plane + p] +
                             0.114f * resized[2 * plane + p]);
      }
    }
  }
  return out;
}

DataSplit to_split(RawSamples&& samples) {
  DataSplit split;
  split.values = std::move(samples.values);
  split.labels = std::move(samples.labels);
  return split;
}

// Standardises every split with the training split's statistics: per feature for tabular
// data, per channel for images. Constant features are left centred, not divided by zero.
void normalize(Dataset& data) {
  const bool tabular = data.tabular();
  const int64_t groups = data.sample_shape[0];
  const int64_t group_size = tabular ? 1 : data.sample_size() / groups;
  const int64_t size = data.sample_size();
  std::vector<double> sum(static_cast<std::size_t>(groups)), squares(sum.size());
  for (int64_t n = 0; n < data.train.rows(); ++n) {
    const float* row = data.train.values.data() + n * size;
    for (int64_t g = 0; g < groups; ++g) {
      for (int64_t k = 0; k < group_size; ++k) {
        const double v = row[g * group_size + k];
        sum[g] += v;
        squares[g] += v * v;
      }
    }
  }
  const double count = static_cast<double>(data.train.rows() * group_size);
  std::vector<float> mean(sum.size()), scale(sum.size());
  for (int64_t g = 0; g < groups; ++g) {
    const double m = sum[g] / count;
    const double variance = std::max(0.0, squares[g] / count - m * m);
    mean[g] = static_cast<float>(m);
    scale[g] = variance > 1e-12 ? static_cast<float>(1 / std::sqrt(variance)) : 1.0f;
  }
  for (DataSplit* split : {&data.train, &data.val, &data.test}) {
    for (int64_t n = 0; n < split->rows(); ++n) {
      float* row = split->values.data() + n * size;
      for (int64_t g = 0; g < groups; ++g) {
        for (int64_t k = 0; k < group_size; ++k) {
          float& v = row[g * group_size + k];
          v = (v - mean[g]) * scale[g];
        }
      }
    }
  }
}

// Keeps only `classes` (relabelled 0..k-1 in the order given) in every split; throws naming the
// key for classes the file lacks, repeated ones, or fewer than two.
void keep_class_subset(RawDataset& raw, const std::vector<int64_t>& classes,
                       const std::string& location) {
  std::vector<int64_t> seen;
  for (int64_t c : classes) {
    if (c >= static_cast<int64_t>(raw.class_names.size())) {
      throw Error("dataset.classes: class " + std::to_string(c) + " does not exist in " + location +
                  " (classes 0.." + std::to_string(raw.class_names.size() - 1) + ")");
    }
    if (std::find(seen.begin(), seen.end(), c) != seen.end()) {
      throw Error("dataset.classes: class " + std::to_string(c) + " is listed twice");
    }
    seen.push_back(c);
  }
  if (classes.size() < 2) throw Error("dataset.classes: keep at least two classes");
  std::vector<std::string> names;
  for (int64_t c : classes) names.push_back(raw.class_names[static_cast<std::size_t>(c)]);
  raw.class_names = names;
  raw.train = keep_classes(raw.train, classes);
  if (raw.has_val) raw.val = keep_classes(raw.val, classes);
  if (raw.has_test) raw.test = keep_classes(raw.test, classes);
}

RawDataset read_raw(DataFormat format, const std::string& location, int64_t image_size) {
  try {
    switch (format) {
      case DataFormat::medmnist_npz:
        return read_medmnist(location);
      case DataFormat::idx_folder:
        return read_idx_folder(location);
      case DataFormat::feature_csv:
        return read_feature_csv(location);
      case DataFormat::image_folder:
        return read_image_folder(location, image_size);
    }
  } catch (const std::bad_alloc&) {
    throw Error(location + ": not enough memory to read it (is the data set larger than this " +
                "machine's memory, or the file damaged?)");
  }
  throw Error(location + ": no reader for this data set");
}

}  // namespace

IndexSplit stratified_split(const std::vector<int64_t>& labels, double fraction, uint64_t seed) {
  std::map<int64_t, std::vector<int64_t>> by_class;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    by_class[labels[i]].push_back(static_cast<int64_t>(i));
  }
  std::mt19937_64 random(seed);
  IndexSplit split;
  for (auto& [label, indices] : by_class) {
    std::shuffle(indices.begin(), indices.end(), random);
    auto held = static_cast<std::size_t>(std::llround(fraction * indices.size()));
    if (indices.size() >= 2)
      held = std::clamp<std::size_t>(held, 1, indices.size() - 1);
    else
      held = 0;
    split.held_out.insert(split.held_out.end(), indices.begin(), indices.begin() + held);
    split.kept.insert(split.kept.end(), indices.begin() + held, indices.end());
  }
  std::sort(split.kept.begin(), split.kept.end());
  std::sort(split.held_out.begin(), split.held_out.end());
  return split;
}

std::string dataset_location(const RunConfig& config, const std::string& data_directory) {
  const DatasetInfo& info = dataset_info(config.dataset.name);
  const std::string path = config.dataset.path.empty() ? info.usual_file : config.dataset.path;
  if (path.empty()) throw Error("dataset.path: required for dataset \"" + info.name + "\"");
  if (fs::path(path).is_absolute()) return path;
  return (fs::path(data_directory.empty() ? "." : data_directory) / path).string();
}

Dataset load_dataset(const RunConfig& config, const std::string& data_directory) {
  const DatasetConfig& settings = config.dataset;
  const std::string& name = settings.name;
  const std::string location = dataset_location(config, data_directory);
  const uint64_t seed = config.seed;
  if (!fs::exists(location)) {
    throw Error(location + ": not found (dataset \"" + name +
                "\"; run scripts/fetch-data.sh or set dataset.path / --data-dir)");
  }

  const fs::file_status status = fs::status(location);
  if (!fs::is_regular_file(status) && !fs::is_directory(status)) {
    throw Error(location + ": not a regular file or a folder (a FIFO, device or socket would " +
                "block or never end); dataset.path names the data set's file or folder");
  }
  RawDataset raw = read_raw(dataset_info(name).format, location, settings.image_size);

  // Class subset first, so that stratified splits see only the classes kept.
  if (!settings.classes.empty()) keep_class_subset(raw, settings.classes, location);
  if (!raw.has_test) {
    IndexSplit split = stratified_split(raw.train.labels, settings.test_fraction, seed);
    raw.test = take(raw.train, split.held_out);
    raw.train = take(raw.train, split.kept);
  }
  if (!raw.has_val) {
    IndexSplit split = stratified_split(raw.train.labels, settings.val_fraction, seed + 0x5eed);
    raw.val = take(raw.train, split.held_out);
    raw.train = take(raw.train, split.kept);
  }
  const int64_t limit = settings.per_class_limit;
  if (limit > 0) raw.train = limit_per_class(raw.train, limit, seed + 0x1face);

  const bool tabular = raw.train.sample_shape.size() == 1;
  if (!tabular) {
    const int64_t size = settings.image_size;
    const int64_t channels = settings.channels;
    raw.train = reshape_images(raw.train, size, channels);
    raw.val = reshape_images(raw.val, size, channels);
    raw.test = reshape_images(raw.test, size, channels);
  }
  for (const auto& [split, samples] :
       {std::pair{"train", &raw.train}, std::pair{"val", &raw.val}, std::pair{"test", &raw.test}}) {
    if (samples->count() == 0) {
      throw Error(location + ": the " + std::string(split) +
                  " split is empty after the class subset and splits of this config");
    }
  }

  Dataset data;
  data.source = location;
  data.sample_shape = raw.train.sample_shape;
  data.class_names = raw.class_names;
  data.train = to_split(std::move(raw.train));
  data.val = to_split(std::move(raw.val));
  data.test = to_split(std::move(raw.test));
  if (settings.normalize) normalize(data);
  return data;
}

}  // namespace hqsweep
