// .npy, .npz and IDX readers: layouts, dtypes, compression, the real files, and every refusal.
#include "worker/array_files.h"

#include <gtest/gtest.h>
#include <zip.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "tests/error_text.h"

namespace hqsweep {
namespace {

namespace fs = std::filesystem;

std::string npy(const std::string& descr, const std::string& shape, bool fortran,
                const std::string& data, int version = 1) {
  std::string header = "{'descr': '" + descr +
                       "', 'fortran_order': " + (fortran ? "True" : "False") +
                       ", 'shape': " + shape + ", }";
  const std::size_t prefix = version == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(version);
  out += '\0';
  const uint32_t length = static_cast<uint32_t>(header.size());
  out.append(reinterpret_cast<const char*>(&length), version == 1 ? 2 : 4);
  return out + header + data;
}

template <typename T>
std::string bytes_of(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("hqsweep_arrays_" + name)).string();
}

using testing::error_of;

TEST(NpyTest, ReadsCOrderAndConvertsFortranOrder) {
  NumericArray c =
      parse_npy(npy("<i4", "(2, 3)", false, bytes_of<int32_t>({0, 1, 2, 3, 4, 5})), "c");
  EXPECT_EQ(c.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(c.values, (std::vector<double>{0, 1, 2, 3, 4, 5}));
  // Column-major storage of the same matrix.
  NumericArray f =
      parse_npy(npy("<i4", "(2, 3)", true, bytes_of<int32_t>({0, 3, 1, 4, 2, 5})), "f");
  EXPECT_EQ(f.values, c.values);
}

TEST(NpyTest, ReadsEveryDtypeAndByteOrderAndVersion) {
  EXPECT_EQ(parse_npy(npy("|u1", "(3,)", false, "\x01\x02\xff"), "u1").values,
            (std::vector<double>{1, 2, 255}));
  EXPECT_EQ(parse_npy(npy(">u2", "(2,)", false, std::string("\x01\x00\x00\x02", 4)), "u2").values,
            (std::vector<double>{256, 2}));
  EXPECT_EQ(parse_npy(npy("<f8", "(2,)", false, bytes_of<double>({0.5, -2.25}), 2), "f8").values,
            (std::vector<double>{0.5, -2.25}));
  EXPECT_EQ(parse_npy(npy("<i8", "(1, 1)", false, bytes_of<int64_t>({-7}), 3), "i8").values,
            (std::vector<double>{-7}));
  EXPECT_EQ(parse_npy(npy("|b1", "()", false, "\x01"), "b1").values, (std::vector<double>{1}));
}

TEST(NpyTest, RefusesWhatItCannotReadNamingTheArray) {
  struct Case {
    std::string bytes;
    const char* message;
  } cases[] = {
      {"PK\x03\x04 not numpy", "x.npy: not a .npy array"},
      {npy("<c8", "(1,)", false, std::string(8, '\0')), "unsupported dtype '<c8'"},
      {npy("<f4", "(4,)", false, std::string(12, '\0')), "truncated: shape (4,) of <f4 needs 16"},
      {std::string("\x93NUMPY\x09\x00\x10\x00", 10) + std::string(16, ' '), "version 9"},
      {npy("<f4", "(1,)", false, "").substr(0, 30), "truncated .npy header"},
  };
  for (const Case& c : cases) {
    std::string message = error_of([&] { parse_npy(c.bytes, "x.npy"); });
    EXPECT_NE(message.find(c.message), std::string::npos) << message;
  }
}

void write_npz(const std::string& path,
               const std::vector<std::pair<std::string, std::string>>& members, bool deflate) {
  fs::remove(path);
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  ASSERT_NE(archive, nullptr);
  for (const auto& [name, bytes] : members) {
    zip_source_t* source = zip_source_buffer(archive, bytes.data(), bytes.size(), 0);
    zip_int64_t index = zip_file_add(archive, name.c_str(), source, ZIP_FL_OVERWRITE);
    ASSERT_GE(index, 0);
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index),
                             deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
  }
  ASSERT_EQ(zip_close(archive), 0);
}

TEST(NpzTest, ReadsStoredAndDeflatedMembers) {
  const std::string images =
      npy("|u1", "(2, 2, 2)", false, std::string("\x00\x01\x02\x03\x04\x05\x06\x07", 8));
  const std::string labels = npy("|u1", "(2, 1)", false, std::string("\x00\x01", 2));
  for (bool deflate : {false, true}) {
    const std::string path = temp_path(deflate ? "deflated.npz" : "stored.npz");
    write_npz(path, {{"train_images.npy", images}, {"train_labels.npy", labels}, {"README", "x"}},
              deflate);
    auto arrays = read_npz(path);
    ASSERT_EQ(arrays.size(), 2u);
    EXPECT_EQ(arrays.at("train_images").shape, (std::vector<int64_t>{2, 2, 2}));
    EXPECT_EQ(arrays.at("train_images").values[7], 7);
    EXPECT_EQ(arrays.at("train_labels").values, (std::vector<double>{0, 1}));
    fs::remove(path);
  }
}

TEST(NpzTest, RefusesFilesThatAreNotArchivesAndDamagedMembers) {
  const std::string text = temp_path("text.npz");
  std::ofstream(text) << "not a zip file at all";
  EXPECT_NE(error_of([&] { read_npz(text); }).find(text + ": cannot open as a .npz (zip) archive"),
            std::string::npos);
  const std::string bad = temp_path("badmember.npz");
  write_npz(bad, {{"train_images.npy", npy("<f4", "(9,)", false, std::string(8, '\0'))}}, true);
  std::string message = error_of([&] { read_npz(bad); });
  EXPECT_NE(message.find(bad + ": train_images.npy: truncated"), std::string::npos) << message;
  EXPECT_NE(error_of([&] { read_npz(temp_path("absent.npz")); }).find("absent.npz"),
            std::string::npos);
  fs::remove(text);
  fs::remove(bad);
}

std::string idx_bytes(const std::vector<uint32_t>& shape, const std::string& data) {
  std::string out = std::string("\x00\x00\x08", 3) + static_cast<char>(shape.size());
  for (uint32_t d : shape)
    for (int shift : {24, 16, 8, 0}) out += static_cast<char>((d >> shift) & 0xff);
  return out + data;
}

TEST(IdxTest, ReadsGzipAndPlainFilesAndRefusesDamagedOnes) {
  const std::string data = idx_bytes({2, 2, 3}, "abcdefghijkl");
  const std::string plain = temp_path("plain-idx3-ubyte");
  std::ofstream(plain, std::ios::binary) << data;
  const std::string packed = temp_path("packed-idx3-ubyte.gz");
  gzFile out = gzopen(packed.c_str(), "wb");
  gzwrite(out, data.data(), static_cast<unsigned>(data.size()));
  gzclose(out);
  for (const std::string& path : {plain, packed}) {
    NumericArray array = read_idx(path);
    EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 2, 3}));
    EXPECT_EQ(array.values.back(), 'l');
  }
  std::ofstream(plain, std::ios::binary) << data.substr(0, data.size() - 2);
  EXPECT_NE(error_of([&] { read_idx(plain); }).find(plain + ": truncated"), std::string::npos);
  std::ofstream(plain, std::ios::binary) << "GIF89a.....";
  EXPECT_NE(error_of([&] { read_idx(plain); }).find("not an IDX file"), std::string::npos);
  fs::remove(plain);
  fs::remove(packed);
}

TEST(RealDataTest, BreastMnistHasTheOfficialSplitsAndClassCounts) {
  const std::string path = std::string(HQSWEEP_SOURCE_DIR) + "/../shared/data/breastmnist.npz";
  if (!fs::exists(path)) GTEST_SKIP() << path << " is absent (see ../shared/data/README.md)";
  auto arrays = read_npz(path);
  EXPECT_EQ(arrays.at("train_images").shape, (std::vector<int64_t>{546, 28, 28}));
  EXPECT_EQ(arrays.at("val_images").shape, (std::vector<int64_t>{78, 28, 28}));
  EXPECT_EQ(arrays.at("test_images").shape, (std::vector<int64_t>{156, 28, 28}));
  // ../shared/data/README.md: label 0 / label 1 = 147/399, 21/57, 42/114.
  const std::pair<const char*, int> zeros[] = {
      {"train_labels", 147}, {"val_labels", 21}, {"test_labels", 42}};
  for (const auto& [name, expected] : zeros) {
    const auto& values = arrays.at(name).values;
    EXPECT_EQ(std::count(values.begin(), values.end(), 0.0), expected) << name;
  }
}

TEST(RealDataTest, FashionMnistIdxFilesFromTheDebianPackage) {
  std::string dir = std::string(HQSWEEP_SOURCE_DIR) + "/data/fashion-mnist";
  if (!fs::exists(dir)) dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir + "/t10k-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "no Fashion-MNIST files (scripts/fetch-data.sh puts them in data/)";
  NumericArray images = read_idx(dir + "/t10k-images-idx3-ubyte.gz");
  NumericArray labels = read_idx(dir + "/t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(images.shape, (std::vector<int64_t>{10000, 28, 28}));
  EXPECT_EQ(labels.shape, (std::vector<int64_t>{10000}));
  for (int c = 0; c < 10; ++c)  // the test set is balanced: 1000 per class
    EXPECT_EQ(std::count(labels.values.begin(), labels.values.end(), c), 1000);
}

// Headers that lie about sizes (from the reliability issue): each is refused naming the file,
// never a crash or an allocation of what the header claims.
TEST(MalformedArrayTest, NpyShapeWhoseProductOverflowsIsRefused) {
  // 2^32 x 2^32 wraps to 0 in 64 bits; the reader then walked 2^64 values.
  const std::string error =
      error_of([&] { parse_npy(npy("|u1", "(4294967296, 4294967296)", false, ""), "wrap.npy"); });
  EXPECT_NE(error.find("wrap.npy: the header declares 4294967296 x 4294967296 values"),
            std::string::npos)
      << error;
  EXPECT_NE(error_of([&] {
              parse_npy(npy("|u1", "(99999999999999999999999999,)", false, ""), "long.npy");
            }).find("long.npy: .npy shape (99999999999999999999999999,) has a dimension too large"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              parse_npy(npy("|u1", "(3, x)", false, "abc"), "x.npy");
            }).find("x.npy: .npy shape (3, x) is not a tuple of sizes"),
            std::string::npos);
}

TEST(MalformedArrayTest, NpyHeaderOfTensOfKilobytesIsRefused) {
  // A version-2 header of 40 KB (the regex that parsed it recursed per character).
  std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (1,), 'x': '" +
                       std::string(40000, 'a') + "'}\n";
  std::string bytes = std::string("\x93NUMPY\x02\x00", 8);
  const uint32_t length = static_cast<uint32_t>(header.size());
  bytes.append(reinterpret_cast<const char*>(&length), 4);
  bytes += header + "z";
  const std::string error = error_of([&] { parse_npy(bytes, "big-header.npy"); });
  EXPECT_NE(error.find("big-header.npy: .npy header of 40065 bytes"), std::string::npos) << error;
}

TEST(MalformedArrayTest, IdxHeadersThatOverflowOrPromiseTooMuchAreRefused) {
  const std::string path = temp_path("lying-idx3-ubyte");
  std::ofstream(path, std::ios::binary) << idx_bytes({0xffffffffu, 0xffffffffu, 0xffffffffu}, "");
  std::string error = error_of([&] { read_idx(path); });
  EXPECT_NE(error.find(path + ": the header declares 4294967295 x 4294967295 x 4294967295"),
            std::string::npos)
      << error;
  // A billion 28 x 28 images promised, twelve bytes there: truncated, not std::bad_alloc.
  std::ofstream(path, std::ios::binary) << idx_bytes({1000000000u, 28, 28}, "abcdefghijkl");
  error = error_of([&] { read_idx(path); });
  EXPECT_NE(error.find(path + ": the header declares 1000000000 x 28 x 28 values"),
            std::string::npos)
      << error;
  std::ofstream(path, std::ios::binary) << idx_bytes({20000000u, 28, 28}, "abcdefghijkl");
  error = error_of([&] { read_idx(path); });
  EXPECT_NE(error.find(path + ": truncated: the header promises 15680000000 values, the file "
                              "holds 12"),
            std::string::npos)
      << error;
  fs::remove(path);
}

}  // namespace
}  // namespace hqsweep
