// Data set file readers: MedMNIST (.npz), IDX folders, feature CSVs (zlib for .gz), image
// folders (libpng, libjpeg).
#include "worker/data_files.h"

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <sstream>

#include "common/error.h"
#include "worker/array_files.h"

namespace hqsweep {

namespace fs = std::filesystem;

int64_t RawSamples::sample_size() const {
  int64_t size = 1;
  for (int64_t d : sample_shape) size *= d;
  return size;
}

namespace {

// Class indices above this are refused (their count sizes per-class tables).
constexpr double kMaxClasses = 100000;

// A non-negative whole number that fits an int64_t (and so casts without undefined behaviour).
bool whole_count(double value) {
  return value >= 0 && value < 9.2e18 && value == std::floor(value);
}

// The whole file, gunzipped when it is gzip-compressed (zlib reads plain files as they are).
std::string read_maybe_gzip(const std::string& path) {
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
  if (!file) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    int got = gzread(file.get(), buffer, sizeof buffer);
    if (got < 0) {
      int code = 0;
      throw Error(path + ": " + gzerror(file.get(), &code));
    }
    if (got == 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
  }
  return text;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return out + ")";
}

// Labels from an [n] or [n, 1] array, checked to be non-negative whole numbers.
std::vector<int64_t> labels_from(const NumericArray& array, const std::string& name) {
  const bool column = array.shape.size() == 2 && array.shape[1] == 1;
  if (array.shape.size() != 1 && !column) {
    throw Error(name + ": labels have shape " + shape_text(array.shape) +
                "; expected (n,) or (n, 1)");
  }
  std::vector<int64_t> labels;
  labels.reserve(array.values.size());
  for (std::size_t i = 0; i < array.values.size(); ++i) {
    const double v = array.values[i];
    if (!whole_count(v) || v >= kMaxClasses) {
      throw Error(name + ": label " + std::to_string(i) + " is " + std::to_string(v) +
                  "; expected a class index 0, 1, ...");
    }
    labels.push_back(static_cast<int64_t>(v));
  }
  return labels;
}

// Images [n,h,w] or [n,h,w,c] (c = 1 or 3) of bytes 0..255 -> [n][c][h][w] in 0..1.
RawSamples images_from(const NumericArray& images, std::vector<int64_t> labels,
                       const std::string& name) {
  const auto& s = images.shape;
  const bool grey = s.size() == 3;
  const bool channels_last = s.size() == 4 && (s[3] == 1 || s[3] == 3);
  if (!grey && !channels_last) {
    throw Error(name + ": images have shape " + shape_text(s) +
                "; expected (n, height, width) or (n, height, width, 1 or 3)");
  }
  if (s[0] != static_cast<int64_t>(labels.size())) {
    throw Error(name + ": " + std::to_string(s[0]) + " images but " +
                std::to_string(labels.size()) + " labels");
  }
  RawSamples out;
  const int64_t channels = grey ? 1 : s[3], height = s[1], width = s[2];
  out.sample_shape = {channels, height, width};
  out.values.resize(images.values.size());
  const int64_t pixels = height * width;
  for (int64_t n = 0; n < s[0]; ++n) {
    const double* in = images.values.data() + n * pixels * channels;
    float* o = out.values.data() + n * pixels * channels;
    for (int64_t p = 0; p < pixels; ++p) {
      for (int64_t c = 0; c < channels; ++c) {
        o[c * pixels + p] = static_cast<float>(in[p * channels + c] / 255.0);
      }
    }
  }
  out.labels = std::move(labels);
  return out;
}

std::vector<std::string> numbered_classes(int64_t classes) {
  std::vector<std::string> names;
  for (int64_t c = 0; c < classes; ++c) names.push_back(std::to_string(c));
  return names;
}

void check_labels_below(const RawSamples& samples, int64_t classes, const std::string& name) {
  for (std::size_t i = 0; i < samples.labels.size(); ++i) {
    if (samples.labels[i] >= classes) {
      throw Error(name + ": label " + std::to_string(samples.labels[i]) + " of sample " +
                  std::to_string(i) + " is out of range; expected 0.." +
                  std::to_string(classes - 1));
    }
  }
}

std::string existing(const std::string& directory, const std::string& stem) {
  for (const std::string& candidate : {stem, stem + ".gz"}) {
    const fs::path path = fs::path(directory) / candidate;
    if (!fs::exists(path)) continue;
    if (!fs::is_regular_file(path)) {
      throw Error(path.string() + ": not a regular file (a FIFO or device would block)");
    }
    return path;
  }
  throw Error(directory + ": no " + stem + " or " + stem +
              ".gz (expected an MNIST-style IDX folder)");
}

RawSamples idx_pair(const std::string& images_path, const std::string& labels_path) {
  NumericArray images = read_idx(images_path);
  NumericArray labels = read_idx(labels_path);
  if (images.shape.size() != 3) {
    throw Error(images_path + ": shape " + shape_text(images.shape) +
                "; expected (n, height, width) images");
  }
  if (labels.shape.size() != 1) {
    throw Error(labels_path + ": shape " + shape_text(labels.shape) + "; expected (n,) labels");
  }
  if (images.shape[0] != labels.shape[0]) {
    throw Error(labels_path + ": " + std::to_string(labels.shape[0]) + " labels, but " +
                images_path + " holds " + std::to_string(images.shape[0]) + " images");
  }
  RawSamples samples = images_from(images, labels_from(labels, labels_path), images_path);
  check_labels_below(samples, 10, labels_path);
  return samples;
}

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, ',')) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

bool parse_double(const std::string& text, double* value) {
  const char* begin = text.c_str();
  while (*begin == ' ') ++begin;
  char* end = nullptr;
  errno = 0;
  *value = std::strtod(begin, &end);
  while (end != nullptr && (*end == ' ' || *end == '\r')) ++end;
  return end != begin && end != nullptr && *end == '\0' && errno == 0;
}

// ---- images ----

// Far above any image a sweep trains on; a header claiming more is damaged or hostile, and its
// pixels would be allocated before the file's own length refutes it.
constexpr int64_t kMaxImagePixels = int64_t{1} << 26;  // 64 megapixels

void check_image_size(int64_t width, int64_t height, const std::string& path) {
  if (width < 1 || height < 1 || width > kMaxImagePixels / height) {
    throw Error(path + ": the header declares " + std::to_string(width) + " x " +
                std::to_string(height) + " pixels, over the limit of " +
                std::to_string(kMaxImagePixels >> 20) + " megapixels");
  }
}

struct DecodedImage {
  int64_t height = 0, width = 0;
  bool colour = false;
  std::vector<float> rgb;  // [3][height][width] in 0..1
};

DecodedImage decode_png(const std::string& path) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str())) {
    throw Error(path + ": cannot decode PNG: " + image.message);
  }
  try {
    check_image_size(image.width, image.height, path);
  } catch (const Error&) {
    png_image_free(&image);
    throw;
  }
  DecodedImage out;
  out.colour = (image.format & PNG_FORMAT_FLAG_COLOR) != 0;
  image.format = PNG_FORMAT_RGB;
  std::vector<unsigned char> pixels(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr)) {
    const std::string message = image.message;
    png_image_free(&image);
    throw Error(path + ": cannot decode PNG: " + message);
  }
  out.height = image.height;
  out.width = image.width;
  const int64_t plane = out.height * out.width;
  out.rgb.resize(static_cast<std::size_t>(3 * plane));
  for (int64_t p = 0; p < plane; ++p) {
    for (int c = 0; c < 3; ++c) out.rgb[c * plane + p] = pixels[p * 3 + c] / 255.0f;
  }
  return out;
}

struct JpegErrors {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_jpeg_error(j_common_ptr info) {
  auto* errors = reinterpret_cast<JpegErrors*>(info->err);
  (*info->err->format_message)(info, errors->message);
  std::longjmp(errors->jump, 1);
}

// A file that ends early is an error here: libjpeg warns, fills the missing pixels in and goes
// on, so a truncated file of any declared size was decoded whole (found by the image fuzzer: 206
// bytes claiming 61759 x 1032 pixels took 13 s). Other warnings (extraneous bytes before a
// marker, common in real files) and trace messages are dropped.
void on_jpeg_message(j_common_ptr info, int level) {
  if (level < 0 && info->err->msg_code == JWRN_JPEG_EOF) on_jpeg_error(info);
}

// libjpeg reports errors through longjmp, so this function holds no objects with destructors
// between setjmp and the end of decoding.
bool decode_jpeg_into(std::FILE* file, DecodedImage* out, std::vector<unsigned char>* pixels,
                      char* message) {
  jpeg_decompress_struct info;
  JpegErrors errors;
  info.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = on_jpeg_error;
  errors.manager.emit_message = on_jpeg_message;
  if (setjmp(errors.jump)) {
    std::strcpy(message, errors.message);
    jpeg_destroy_decompress(&info);
    return false;
  }
  jpeg_create_decompress(&info);
  jpeg_stdio_src(&info, file);
  jpeg_read_header(&info, TRUE);
  if (info.image_width < 1 || info.image_height < 1 ||
      int64_t{info.image_width} > kMaxImagePixels / int64_t{info.image_height}) {
    std::snprintf(message, JMSG_LENGTH_MAX,
                  "the header declares %u x %u pixels, over the limit of %d megapixels",
                  info.image_width, info.image_height, static_cast<int>(kMaxImagePixels >> 20));
    jpeg_destroy_decompress(&info);
    return false;
  }
  out->colour = info.num_components >= 3;
  info.out_color_space = JCS_RGB;
  jpeg_start_decompress(&info);
  out->width = info.output_width;
  out->height = info.output_height;
  pixels->resize(static_cast<std::size_t>(out->width * out->height * 3));
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = pixels->data() + static_cast<std::size_t>(info.output_scanline) * out->width * 3;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  return true;
}

DecodedImage decode_jpeg(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!file) throw Error(path + ": cannot open: " + std::strerror(errno));
  DecodedImage out;
  std::vector<unsigned char> pixels;
  char message[JMSG_LENGTH_MAX] = {};
  if (!decode_jpeg_into(file.get(), &out, &pixels, message)) {
    throw Error(path + ": cannot decode JPEG: " + message);
  }
  const int64_t plane = out.height * out.width;
  out.rgb.resize(static_cast<std::size_t>(3 * plane));
  for (int64_t p = 0; p < plane; ++p) {
    for (int c = 0; c < 3; ++c) out.rgb[c * plane + p] = pixels[p * 3 + c] / 255.0f;
  }
  return out;
}

std::string lower_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext;
}

}  // namespace

std::vector<float> resize_bilinear(const float* image, int64_t channels, int64_t height,
                                   int64_t width, int64_t size) {
  std::vector<float> out(static_cast<std::size_t>(channels * size * size));
  const double scale_y = static_cast<double>(height) / size;
  const double scale_x = static_cast<double>(width) / size;
  for (int64_t y = 0; y < size; ++y) {
    const double sy = std::max(0.0, (y + 0.5) * scale_y - 0.5);
    const int64_t y0 = std::min<int64_t>(static_cast<int64_t>(sy), height - 1);
    const int64_t y1 = std::min<int64_t>(y0 + 1, height - 1);
    const double wy = sy - y0;
    for (int64_t x = 0; x < size; ++x) {
      const double sx = std::max(0.0, (x + 0.5) * scale_x - 0.5);
      const int64_t x0 = std::min<int64_t>(static_cast<int64_t>(sx), width - 1);
      const int64_t x1 = std::min<int64_t>(x0 + 1, width - 1);
      const double wx = sx - x0;
      for (int64_t c = 0; c < channels; ++c) {
        const float* plane = image + c * height * width;
        const double top = plane[y0 * width + x0] * (1 - wx) + plane[y0 * width + x1] * wx;
        const double bottom = plane[y1 * width + x0] * (1 - wx) + plane[y1 * width + x1] * wx;
        out[static_cast<std::size_t>(c * size * size + y * size + x)] =
            static_cast<float>(top * (1 - wy) + bottom * wy);
      }
    }
  }
  return out;
}

RawDataset read_medmnist(const std::string& path) {
  std::map<std::string, NumericArray> arrays = read_npz(path);
  RawDataset data;
  int64_t classes = 0;
  const std::pair<const char*, RawSamples*> splits[] = {
      {"train", &data.train}, {"val", &data.val}, {"test", &data.test}};
  for (const auto& [split, samples] : splits) {
    const std::string images = std::string(split) + "_images";
    const std::string labels = std::string(split) + "_labels";
    if (!arrays.count(images) || !arrays.count(labels)) {
      throw Error(path + ": no " + images + ".npy or " + labels +
                  ".npy (expected a MedMNIST file with train/val/test images and labels)");
    }
    *samples = images_from(arrays[images], labels_from(arrays[labels], path + ": " + labels),
                           path + ": " + images);
    for (int64_t label : samples->labels) classes = std::max(classes, label + 1);
  }
  if (data.train.sample_shape != data.val.sample_shape ||
      data.train.sample_shape != data.test.sample_shape) {
    throw Error(path + ": train, val and test images differ in shape (" +
                shape_text(data.train.sample_shape) + ", " + shape_text(data.val.sample_shape) +
                ", " + shape_text(data.test.sample_shape) + ")");
  }
  if (classes < 2) throw Error(path + ": the labels hold fewer than two classes");
  data.class_names = numbered_classes(classes);
  data.has_val = data.has_test = true;
  return data;
}

RawDataset read_idx_folder(const std::string& directory) {
  if (!fs::is_directory(directory)) {
    throw Error(directory + ": not a folder (expected the four MNIST-style IDX files in it)");
  }
  RawDataset data;
  data.train = idx_pair(existing(directory, "train-images-idx3-ubyte"),
                        existing(directory, "train-labels-idx1-ubyte"));
  data.test = idx_pair(existing(directory, "t10k-images-idx3-ubyte"),
                       existing(directory, "t10k-labels-idx1-ubyte"));
  if (data.train.sample_shape != data.test.sample_shape) {
    throw Error(directory + ": training images are " + shape_text(data.train.sample_shape) +
                " but test images " + shape_text(data.test.sample_shape));
  }
  data.class_names = numbered_classes(10);
  data.has_test = true;
  return data;
}

RawDataset read_feature_csv(const std::string& path) {
  const std::string text = read_maybe_gzip(path);
  std::vector<std::string> lines;
  {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(line);
    }
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.size() < 2) throw Error(path + ": fewer than two lines; expected rows of features");

  // The scikit-learn header names the classes, or has fewer fields (2 + classes) than a row
  // (features + 1) when the names are numbers.
  std::size_t first_row = 0;
  int64_t declared_samples = -1, declared_features = -1;
  RawDataset data;
  const std::vector<std::string> head = split_fields(lines[0]);
  bool has_names = false;
  for (const std::string& field : head) {
    double ignored = 0;
    has_names = has_names || !parse_double(field, &ignored);
  }
  if (has_names || head.size() < split_fields(lines[1]).size()) {
    double samples = 0, features = 0;
    if (head.size() < 4 || !parse_double(head[0], &samples) || !parse_double(head[1], &features)) {
      throw Error(path +
                  ": line 1: expected the header \"n_samples,n_features,class names...\" "
                  "(at least two classes), found \"" +
                  lines[0] + "\"");
    }
    if (!whole_count(samples) || !whole_count(features)) {
      throw Error(path + ": line 1: the header's sample and feature counts \"" + head[0] + "," +
                  head[1] + "\" are not counts");
    }
    declared_samples = static_cast<int64_t>(samples);
    declared_features = static_cast<int64_t>(features);
    data.class_names.assign(head.begin() + 2, head.end());
    first_row = 1;
  }

  RawSamples& rows = data.train;
  int64_t features = -1, classes = 0;
  for (std::size_t i = first_row; i < lines.size(); ++i) {
    const std::string where = path + ": line " + std::to_string(i + 1);
    const std::vector<std::string> fields = split_fields(lines[i]);
    if (features < 0) features = static_cast<int64_t>(fields.size()) - 1;
    if (static_cast<int64_t>(fields.size()) != features + 1) {
      throw Error(where + ": " + std::to_string(fields.size()) + " fields; expected " +
                  std::to_string(features + 1) + " (features and the label)");
    }
    for (std::size_t f = 0; f < fields.size(); ++f) {
      double value = 0;
      if (!parse_double(fields[f], &value) || !std::isfinite(value)) {
        throw Error(where + ": field " + std::to_string(f + 1) + " \"" + fields[f] +
                    "\" is not a number");
      }
      if (f + 1 < fields.size()) {
        rows.values.push_back(static_cast<float>(value));
      } else {
        if (!whole_count(value) || value >= kMaxClasses) {
          throw Error(where + ": the label \"" + fields[f] + "\" is not a class index 0, 1, ... " +
                      "below " + std::to_string(static_cast<int64_t>(kMaxClasses)));
        }
        rows.labels.push_back(static_cast<int64_t>(value));
        classes = std::max(classes, rows.labels.back() + 1);
      }
    }
  }
  if (features < 1) throw Error(path + ": rows hold no features, only a label");
  rows.sample_shape = {features};
  if (declared_samples >= 0) {
    if (declared_samples != rows.count()) {
      throw Error(path + ": the header promises " + std::to_string(declared_samples) +
                  " samples but the file holds " + std::to_string(rows.count()));
    }
    if (declared_features != features) {
      throw Error(path + ": the header promises " + std::to_string(declared_features) +
                  " features but rows hold " + std::to_string(features));
    }
    check_labels_below(rows, static_cast<int64_t>(data.class_names.size()), path);
  } else {
    data.class_names = numbered_classes(classes);
  }
  if (data.class_names.size() < 2) throw Error(path + ": the labels hold fewer than two classes");
  return data;
}

RawDataset read_image_folder(const std::string& directory, int64_t image_size) {
  if (!fs::is_directory(directory)) {
    throw Error(directory + ": not a folder (expected one sub-folder of images per class)");
  }
  RawDataset data;
  for (const auto& entry : fs::directory_iterator(directory)) {
    if (entry.is_directory()) data.class_names.push_back(entry.path().filename());
  }
  std::sort(data.class_names.begin(), data.class_names.end());
  if (data.class_names.size() < 2) {
    throw Error(directory + ": " + std::to_string(data.class_names.size()) +
                " class sub-folders; expected at least two");
  }
  std::vector<DecodedImage> images;
  std::vector<int64_t> labels;
  std::vector<std::string> names;
  bool colour = false;
  for (std::size_t c = 0; c < data.class_names.size(); ++c) {
    std::vector<fs::path> files;
    for (const auto& entry :
         fs::recursive_directory_iterator(fs::path(directory) / data.class_names[c])) {
      const std::string ext = lower_extension(entry.path());
      if (entry.is_regular_file() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg")) {
        files.push_back(entry.path());
      }
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) {
      throw Error((fs::path(directory) / data.class_names[c]).string() +
                  ": no PNG or JPEG images in this class folder");
    }
    for (const fs::path& file : files) {
      DecodedImage image = lower_extension(file) == ".png" ? decode_png(file) : decode_jpeg(file);
      if (image_size > 0 && (image.height != image_size || image.width != image_size)) {
        image.rgb = resize_bilinear(image.rgb.data(), 3, image.height, image.width, image_size);
        image.height = image.width = image_size;
      }
      if (!images.empty() && (image.height != images[0].height || image.width != images[0].width)) {
        throw Error(file.string() + ": " + std::to_string(image.width) + "x" +
                    std::to_string(image.height) + " pixels, but " + names[0] + " has " +
                    std::to_string(images[0].width) + "x" + std::to_string(images[0].height) +
                    "; set dataset.image_size to resize them all");
      }
      colour = colour || image.colour;
      images.push_back(std::move(image));
      labels.push_back(static_cast<int64_t>(c));
      names.push_back(file.string());
    }
  }
  const int64_t channels = colour ? 3 : 1;
  const int64_t plane = images[0].height * images[0].width;
  RawSamples& samples = data.train;
  samples.sample_shape = {channels, images[0].height, images[0].width};
  samples.values.reserve(images.size() * static_cast<std::size_t>(channels * plane));
  for (const DecodedImage& image : images) {
    samples.values.insert(samples.values.end(), image.rgb.begin(),
                          image.rgb.begin() + channels * plane);
  }
  samples.labels = std::move(labels);
  return data;
}

}  // namespace hqsweep
