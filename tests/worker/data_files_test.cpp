// Data set readers: feature CSVs, MedMNIST .npz, IDX folders and image folders, with the real
// files where present, the resize, and every refusal with the input that reaches it.
#include "worker/data_files.h"

#include <gtest/gtest.h>
#include <jpeglib.h>
#include <png.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <zip.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/config_schema.h"
#include "tests/error_text.h"
#include "tests/worker/worker_test_data.h"
#include "worker/dataset.h"

namespace hqsweep {
namespace {

namespace fs = std::filesystem;
using testing::error_of;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class DataFilesTest : public testing::TempDirectoryTest {
 protected:
  std::string read(const std::string& name) {
    std::ifstream in(fs::path(dir_) / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::string write(const std::string& name, const std::string& text) {
    const fs::path path = fs::path(dir_) / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
};

void write_png(const std::string& path, int width, int height, bool colour, unsigned char base) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = width;
  image.height = height;
  image.format = colour ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  const int channels = colour ? 3 : 1;
  std::vector<unsigned char> pixels(static_cast<std::size_t>(width * height * channels));
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<unsigned char>(base + i);
  ASSERT_TRUE(png_image_write_to_file(&image, path.c_str(), 0, pixels.data(), 0, nullptr))
      << image.message;
}

void write_jpeg(const std::string& path, int width, int height) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  jpeg_compress_struct info;
  jpeg_error_mgr errors;
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  jpeg_stdio_dest(&info, file);
  info.image_width = width;
  info.image_height = height;
  info.input_components = 3;
  info.in_color_space = JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, 95, TRUE);
  jpeg_start_compress(&info, TRUE);
  std::vector<unsigned char> row(static_cast<std::size_t>(width * 3), 200);
  while (info.next_scanline < info.image_height) {
    JSAMPROW pointer = row.data();
    jpeg_write_scanlines(&info, &pointer, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  std::fclose(file);
}

std::string npy_u1(const std::vector<int64_t>& shape, const std::vector<unsigned char>& data) {
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ", ";
  std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  const uint16_t length = static_cast<uint16_t>(header.size());
  out.append(reinterpret_cast<const char*>(&length), 2);
  return out + header + std::string(data.begin(), data.end());
}

void write_npz(const std::string& path, const std::map<std::string, std::string>& members) {
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  ASSERT_NE(archive, nullptr);
  std::vector<std::string> keep;
  for (const auto& [name, bytes] : members) keep.push_back(bytes);
  std::size_t i = 0;
  for (const auto& [name, bytes] : members) {
    zip_source_t* source = zip_source_buffer(archive, keep[i].data(), keep[i].size(), 0);
    ASSERT_GE(zip_file_add(archive, (name + ".npy").c_str(), source, ZIP_FL_OVERWRITE), 0);
    ++i;
  }
  ASSERT_EQ(zip_close(archive), 0);
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(file);
}

std::string idx(const std::vector<int32_t>& shape, const std::vector<unsigned char>& data) {
  std::string out = {0, 0, 0x08, static_cast<char>(shape.size())};
  for (int32_t d : shape) {
    for (int shift : {24, 16, 8, 0}) out += static_cast<char>((d >> shift) & 0xff);
  }
  return out + std::string(data.begin(), data.end());
}

TEST_F(DataFilesTest, FeatureCsvReadsTheScikitLearnHeaderLayout) {
  const std::string path = write("iris.csv", "3,2,setosa,versicolor\n1.5,2,0\n-3,4e-1,1\n5,6,1\n");
  RawDataset data = read_feature_csv(path);
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"setosa", "versicolor"}));
  EXPECT_EQ(data.train.sample_shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(data.train.values, (std::vector<float>{1.5f, 2, -3, 0.4f, 5, 6}));
  EXPECT_EQ(data.train.labels, (std::vector<int64_t>{0, 1, 1}));
  EXPECT_FALSE(data.has_val);
  EXPECT_FALSE(data.has_test);
}

TEST_F(DataFilesTest, FeatureCsvWithoutHeaderTakesClassesFromLabels) {
  std::string rows;
  for (int i = 0; i < 6; ++i)
    rows += std::to_string(i) + "," + std::to_string(i * 2) + "," + std::to_string(i % 3) + "\n";
  const std::string path = (fs::path(dir_) / "rows.csv.gz").string();
  write_gz(path, rows);
  RawDataset data = read_feature_csv(path);
  EXPECT_EQ(data.class_names.size(), 3u);
  EXPECT_EQ(data.train.count(), 6);
  EXPECT_EQ(data.train.values[3], 2.0f);
}

TEST_F(DataFilesTest, FeatureCsvRefusalsNameTheLineAndWhatIsWrong) {
  auto error_for = [&](const std::string& text) {
    const std::string path = write("bad.csv", text);
    return error_of([&] { read_feature_csv(path); });
  };
  EXPECT_TRUE(
      contains(error_for("3,2,a,b\n1,2,0\n3,4,1\n"), "promises 3 samples but the file holds 2"));
  EXPECT_TRUE(
      contains(error_for("2,3,a,b\n1,2,0\n3,4,1\n"), "promises 3 features but rows hold 2"));
  EXPECT_TRUE(
      contains(error_for("2,2,a,b\n1,2,0\n3,4,2\n"), "label 2 of sample 1 is out of range"));
  EXPECT_TRUE(
      contains(error_for("2,2,a,b\n1,2,0\n3,4\n"), "bad.csv: line 3: 2 fields; expected 3"));
  EXPECT_TRUE(
      contains(error_for("2,2,a,b\n1,x,0\n3,4,1\n"), "line 2: field 2 \"x\" is not a number"));
  EXPECT_TRUE(contains(error_for("2,2,a,b\n1,2,0.5\n3,4,1\n"), "line 2: the label \"0.5\""));
  EXPECT_TRUE(contains(error_for("1,2,0\n"), "fewer than two lines"));
  EXPECT_TRUE(contains(error_of([&] { read_feature_csv(dir_ + "/absent.csv"); }),
                       "absent.csv: cannot open"));
}

TEST_F(DataFilesTest, MedmnistReadsGreyAndRgbAndRefusesMismatches) {
  std::map<std::string, std::string> members;
  for (const char* split : {"train", "val", "test"}) {
    members[std::string(split) + "_images"] =
        npy_u1({2, 2, 2, 3}, std::vector<unsigned char>(24, 51));
    members[std::string(split) + "_labels"] = npy_u1({2, 1}, {0, 2});
  }
  const std::string path = (fs::path(dir_) / "rgb.npz").string();
  write_npz(path, members);
  RawDataset data = read_medmnist(path);
  EXPECT_EQ(data.train.sample_shape, (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(data.class_names.size(), 3u);
  EXPECT_FLOAT_EQ(data.test.values[0], 0.2f);
  EXPECT_TRUE(data.has_val && data.has_test);

  members["val_labels"] = npy_u1({3, 1}, {0, 1, 1});
  write_npz(path, members);
  EXPECT_TRUE(contains(error_of([&] { read_medmnist(path); }),
                       "rgb.npz: val_images: 2 images but 3 labels"));
  members["val_labels"] = npy_u1({2, 1}, {0, 1});
  members["val_images"] = npy_u1({2, 4}, std::vector<unsigned char>(8));
  write_npz(path, members);
  EXPECT_TRUE(contains(error_of([&] { read_medmnist(path); }),
                       "val_images: images have shape (2, 4); expected (n, height, width)"));
  members.erase("val_images");
  write_npz(path, members);
  EXPECT_TRUE(contains(error_of([&] { read_medmnist(path); }), "no val_images.npy"));
}

TEST_F(DataFilesTest, IdxFolderPairsImagesWithLabelsAndRefusesCountMismatch) {
  write_gz(dir_ + "/train-images-idx3-ubyte.gz",
           idx({3, 2, 2}, std::vector<unsigned char>(12, 255)));
  write("train-labels-idx1-ubyte", idx({3}, {1, 9, 0}));
  write_gz(dir_ + "/t10k-images-idx3-ubyte.gz", idx({1, 2, 2}, std::vector<unsigned char>(4, 0)));
  write_gz(dir_ + "/t10k-labels-idx1-ubyte.gz", idx({1}, {4}));
  RawDataset data = read_idx_folder(dir_);
  EXPECT_EQ(data.train.sample_shape, (std::vector<int64_t>{1, 2, 2}));
  EXPECT_EQ(data.train.labels, (std::vector<int64_t>{1, 9, 0}));
  EXPECT_EQ(data.train.values[0], 1.0f);
  EXPECT_EQ(data.class_names.size(), 10u);

  write("train-labels-idx1-ubyte", idx({2}, {1, 9}));
  EXPECT_TRUE(
      contains(error_of([&] { read_idx_folder(dir_); }), "train-labels-idx1-ubyte: 2 labels, but"));
  write("train-labels-idx1-ubyte", idx({3}, {1, 10, 0}));
  EXPECT_TRUE(contains(error_of([&] { read_idx_folder(dir_); }),
                       "label 10 of sample 1 is out of range; expected 0..9"));
  write("train-labels-idx1-ubyte", idx({3}, {1, 9, 0}));
  fs::remove(dir_ + "/t10k-labels-idx1-ubyte.gz");
  EXPECT_TRUE(contains(error_of([&] { read_idx_folder(dir_); }), "no t10k-labels-idx1-ubyte"));
}

TEST_F(DataFilesTest, ImageFolderDecodesPngAndJpegPerClassFolder) {
  fs::create_directories(dir_ + "/benign");
  fs::create_directories(dir_ + "/malignant");
  write_png(dir_ + "/benign/a.png", 4, 4, false, 0);
  write_png(dir_ + "/benign/b.PNG", 4, 4, false, 10);
  write_jpeg(dir_ + "/malignant/c.jpg", 8, 8);
  write("malignant/notes.txt", "ignored");
  RawDataset data = read_image_folder(dir_, 4);
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"benign", "malignant"}));
  EXPECT_EQ(data.train.labels, (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(data.train.sample_shape, (std::vector<int64_t>{3, 4, 4}));  // the JPEG has colour
  // a.png's first pixel is 0, its second 1 (grey replicated to every channel).
  EXPECT_FLOAT_EQ(data.train.values[1], 1 / 255.0f);
  EXPECT_FLOAT_EQ(data.train.values[16 + 1], 1 / 255.0f);
  EXPECT_NEAR(data.train.values[2 * 48], 200 / 255.0f, 0.02);  // the resized JPEG

  EXPECT_TRUE(contains(error_of([&] { read_image_folder(dir_, 0); }),
                       "c.jpg: 8x8 pixels, but " + dir_ + "/benign/a.png has 4x4"));
  write("malignant/c.jpg", "\xff\xd8\xff not really a jpeg");
  EXPECT_TRUE(contains(error_of([&] { read_image_folder(dir_, 4); }), "c.jpg: cannot decode JPEG"));
  write("benign/b.PNG", "\x89PNG\r\n\x1a\n truncated");
  EXPECT_TRUE(contains(error_of([&] { read_image_folder(dir_, 4); }), "b.PNG: cannot decode PNG"));
  fs::remove_all(dir_ + "/malignant");
  EXPECT_TRUE(contains(error_of([&] { read_image_folder(dir_, 4); }),
                       "1 class sub-folders; expected at least two"));
}

TEST_F(DataFilesTest, NonSquareImagesNeedAnImageSize) {
  fs::create_directories(dir_ + "/images/a");
  fs::create_directories(dir_ + "/images/b");
  for (const char* name : {"a/1.png", "a/2.png", "a/3.png", "b/1.png", "b/2.png", "b/3.png"}) {
    write_png(dir_ + "/images/" + name, 6, 4, false, 0);
  }
  auto config = [&](int size) {
    return canonical_config(nlohmann::json{
        {"dataset", {{"name", "image_folder"}, {"path", "images"}, {"image_size", size}}},
        {"model", {{"backbone", "hqcnn"}}}});
  };
  EXPECT_TRUE(contains(error_of([&] { load_dataset(make_run_config(config(0)), dir_); }),
                       "dataset.image_size: the images are 6x4; set a square size"));
  EXPECT_EQ(load_dataset(make_run_config(config(8)), dir_).sample_shape,
            (std::vector<int64_t>{1, 8, 8}));
}

// Headers that lie about sizes or numbers that do not fit (the reliability issue): refused naming
// the file, never std::bad_alloc or undefined behaviour.
TEST_F(DataFilesTest, ImagesWhoseHeaderClaimsHugeSizesAreRefused) {
  fs::create_directories(dir_ + "/a");
  fs::create_directories(dir_ + "/b");
  write_png(dir_ + "/a/1.png", 4, 4, false, 0);
  write_jpeg(dir_ + "/b/1.jpg", 8, 8);
  // The JPEG's frame header (SOF0: FF C0, length, precision, height, width) says 65000 x 65000.
  std::string bytes = read("b/1.jpg");
  const std::size_t sof = bytes.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  for (std::size_t at : {sof + 5, sof + 7}) {
    bytes[at] = static_cast<char>(0xfd);
    bytes[at + 1] = static_cast<char>(0xe8);
  }
  write("b/1.jpg", bytes);
  EXPECT_TRUE(contains(error_of([&] { read_image_folder(dir_, 4); }),
                       "1.jpg: cannot decode JPEG: the header declares 65000 x 65000 pixels, over "
                       "the limit of 64 megapixels"));
}

TEST_F(DataFilesTest, TruncatedJpegIsRefusedNotFilledIn) {
  fs::create_directories(dir_ + "/a");
  fs::create_directories(dir_ + "/b");
  write_png(dir_ + "/a/1.png", 8, 8, false, 0);
  write_jpeg(dir_ + "/b/1.jpg", 64, 64);
  const std::string bytes = read("b/1.jpg");
  write("b/1.jpg", bytes.substr(0, bytes.size() / 2));
  EXPECT_TRUE(contains(error_of([&] { read_image_folder(dir_, 8); }),
                       "1.jpg: cannot decode JPEG: Premature end of JPEG file"));
}

TEST_F(DataFilesTest, CsvNumbersThatDoNotFitAreRefused) {
  auto error_for = [&](const std::string& text) {
    const std::string path = write("big.csv", text);
    return error_of([&] { read_feature_csv(path); });
  };
  EXPECT_TRUE(
      contains(error_for("1e400,2,a,b\n1,2,0\n3,4,1\n"), "big.csv: line 1: expected the header"));
  EXPECT_TRUE(
      contains(error_for("1e30,2,a,b\n1,2,0\n3,4,1\n"),
               "big.csv: line 1: the header's sample and feature counts \"1e30,2\" are not"));
  EXPECT_TRUE(contains(error_for("1,2,0\n3,4,1e30\n"),
                       "big.csv: line 2: the label \"1e30\" is not a class index"));
}

TEST_F(DataFilesTest, DataSetPathThatIsAFifoIsRefusedAtOnce) {
  const std::string fifo = dir_ + "/data.csv";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto config = make_run_config(nlohmann::json{{"dataset", {{"name", "csv"}, {"path", fifo}}},
                                                     {"model", {{"backbone", "mlp"}}}});
  EXPECT_TRUE(contains(error_of([&] { load_dataset(config, dir_); }),
                       fifo + ": not a regular file or a folder"));
}

TEST(ResizeTest, BilinearMatchesTorchInterpolateWithoutAlignedCorners) {
  const float image[] = {0, 1, 2, 3};
  // torch.nn.functional.interpolate(x, size=4, mode="bilinear", align_corners=False)
  const std::vector<float> expected = {0,   0.25, 0.75, 1,   0.5, 0.75, 1.25, 1.5,
                                       1.5, 1.75, 2.25, 2.5, 2,   2.25, 2.75, 3};
  std::vector<float> resized = resize_bilinear(image, 1, 2, 2, 4);
  ASSERT_EQ(resized.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_FLOAT_EQ(resized[i], expected[i]) << i;
  std::vector<float> down = resize_bilinear(expected.data(), 1, 4, 4, 2);
  EXPECT_FLOAT_EQ(down[0], 0.375f);  // the mean of the top-left 2x2 block
}

std::string real_data(const std::string& name) {
  return std::string(HQSWEEP_SOURCE_DIR) + "/data/" + name;
}

TEST(RealFeatureCsvTest, WdbcWineAndDigitsFromScikitLearn) {
  if (!fs::exists(real_data("breast_cancer.csv")) || !fs::exists(real_data("wine_data.csv")) ||
      !fs::exists(real_data("digits.csv.gz"))) {
    GTEST_SKIP() << "no scikit-learn CSVs in data/ (scripts/fetch-data.sh puts them there)";
  }
  RawDataset wdbc = read_feature_csv(real_data("breast_cancer.csv"));
  EXPECT_EQ(wdbc.train.count(), 569);
  EXPECT_EQ(wdbc.train.sample_shape, (std::vector<int64_t>{30}));
  EXPECT_EQ(wdbc.class_names, (std::vector<std::string>{"malignant", "benign"}));
  EXPECT_EQ(std::count(wdbc.train.labels.begin(), wdbc.train.labels.end(), 0), 212);
  EXPECT_FLOAT_EQ(wdbc.train.values[0], 17.99f);
  RawDataset wine = read_feature_csv(real_data("wine_data.csv"));
  EXPECT_EQ(wine.train.count(), 178);
  EXPECT_EQ(wine.class_names.size(), 3u);
  RawDataset digits = read_feature_csv(real_data("digits.csv.gz"));
  EXPECT_EQ(digits.train.count(), 1797);
  EXPECT_EQ(digits.train.sample_shape, (std::vector<int64_t>{64}));
  EXPECT_EQ(digits.class_names.size(), 10u);
}

TEST(RealMedmnistTest, BreastMnistAsGreyImagesInZeroToOne) {
  const std::string path = std::string(HQSWEEP_SOURCE_DIR) + "/../shared/data/breastmnist.npz";
  if (!fs::exists(path)) GTEST_SKIP() << path << " is absent (see ../shared/data/README.md)";
  RawDataset data = read_medmnist(path);
  EXPECT_EQ(data.train.sample_shape, (std::vector<int64_t>{1, 28, 28}));
  EXPECT_EQ(data.train.count() + data.val.count() + data.test.count(), 780);
  EXPECT_EQ(data.class_names.size(), 2u);
  auto [low, high] = std::minmax_element(data.train.values.begin(), data.train.values.end());
  EXPECT_GE(*low, 0.0f);
  EXPECT_LE(*high, 1.0f);
}

}  // namespace
}  // namespace hqsweep
