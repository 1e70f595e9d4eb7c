// Splits and preprocessing: stratified seeded splits, class subsets, per-class limits,
// normalisation with training statistics, resize and channels, and the refusals.
#include "worker/dataset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "common/config_schema.h"
#include "tests/error_text.h"
#include "tests/worker/worker_test_data.h"

namespace hqsweep {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::error_of;

int64_t count_of(const std::vector<int64_t>& labels, int64_t label) {
  return std::count(labels.begin(), labels.end(), label);
}

TEST(StratifiedSplitTest, KeepsClassSharesAndIsSeeded) {
  std::vector<int64_t> labels;
  for (int i = 0; i < 100; ++i) labels.push_back(i < 80 ? 0 : 1);
  IndexSplit split = stratified_split(labels, 0.25, 3);
  EXPECT_EQ(split.held_out.size(), 25u);
  std::vector<int64_t> held_labels;
  for (int64_t i : split.held_out) held_labels.push_back(labels[i]);
  EXPECT_EQ(count_of(held_labels, 0), 20);
  EXPECT_EQ(count_of(held_labels, 1), 5);
  std::set<int64_t> all(split.kept.begin(), split.kept.end());
  all.insert(split.held_out.begin(), split.held_out.end());
  EXPECT_EQ(all.size(), 100u);  // disjoint and complete
  EXPECT_EQ(stratified_split(labels, 0.25, 3).held_out, split.held_out);
  EXPECT_NE(stratified_split(labels, 0.25, 4).held_out, split.held_out);
}

TEST(StratifiedSplitTest, EveryClassWithTwoSamplesReachesBothParts) {
  IndexSplit split = stratified_split({0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2}, 0.01, 0);
  std::vector<int64_t> held;
  EXPECT_EQ(split.held_out.size(), 2u);  // one of class 0, one of class 1, none of the lone 2
  EXPECT_EQ(split.kept.size(), 9u);
}

class DatasetTest : public testing::TempDirectoryTest {
 protected:
  json config(json dataset) {
    dataset["name"] = "csv";
    dataset["path"] = "blobs.csv";
    return canonical_config(json{{"dataset", dataset}, {"model", {{"backbone", "mlp"}}}});
  }
};

TEST_F(DatasetTest, CarvesTestAndValidationAndNormalisesWithTrainingStatistics) {
  testing::write_blobs_csv(dir_ + "/blobs.csv", 2, 100, 3, 4.0);
  Dataset data =
      load_dataset(make_run_config(config({{"test_fraction", 0.2}, {"val_fraction", 0.25}})), dir_);
  EXPECT_EQ(data.test.rows(), 40);
  EXPECT_EQ(data.val.rows(), 40);
  EXPECT_EQ(data.train.rows(), 120);
  EXPECT_EQ(count_of(data.test.labels, 1), 20);
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"class0", "class1"}));
  for (int f = 0; f < 3; ++f) {
    double sum = 0, squares = 0;
    for (int64_t r = 0; r < data.train.rows(); ++r) {
      const double v = data.train.values[r * 3 + f];
      sum += v;
      squares += v * v;
    }
    EXPECT_NEAR(sum / 120, 0, 1e-5);
    EXPECT_NEAR(squares / 120, 1, 1e-4);
  }
  // The test split was standardised with the training statistics, not its own.
  double test_sum = 0;
  for (float v : data.test.values) test_sum += v;
  EXPECT_GT(std::fabs(test_sum), 1e-3);
}

TEST_F(DatasetTest, ClassSubsetRelabelsInListOrderAndLimitsPerClass) {
  testing::write_blobs_csv(dir_ + "/blobs.csv", 3, 50, 2, 3.0);
  Dataset data =
      load_dataset(make_run_config(config({{"classes", {2, 0}}, {"per_class_limit", 10}})), dir_);
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"class2", "class0"}));
  EXPECT_EQ(data.train.rows(), 20);
  EXPECT_EQ(count_of(data.train.labels, 0), 10);
  EXPECT_EQ(count_of(data.test.labels, 2), 0);
  EXPECT_EQ(data.test.rows(), 20);  // 0.2 of 100: limits apply to training data only
}

TEST_F(DatasetTest, RefusesMissingFilesAndClassesThatDoNotExist) {
  EXPECT_NE(error_of([&] {
              load_dataset(make_run_config(config(json::object())), dir_);
            }).find("blobs.csv: not found (dataset \"csv\""),
            std::string::npos);
  testing::write_blobs_csv(dir_ + "/blobs.csv", 2, 10, 2, 3.0);
  EXPECT_NE(error_of([&] {
              load_dataset(make_run_config(config({{"classes", {0, 5}}})), dir_);
            }).find("dataset.classes: class 5 does not exist"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              load_dataset(make_run_config(config({{"classes", {1, 1}}})), dir_);
            }).find("class 1 is listed twice"),
            std::string::npos);
}

TEST_F(DatasetTest, RefusesSubsetsOfOneClassAndSplitsLeftEmpty) {
  testing::write_blobs_csv(dir_ + "/blobs.csv", 3, 10, 2, 3.0);
  EXPECT_NE(error_of([&] {
              load_dataset(make_run_config(config({{"classes", {1}}})), dir_);
            }).find("dataset.classes: keep at least two classes"),
            std::string::npos);
  testing::write_blobs_csv(dir_ + "/blobs.csv", 2, 1, 2, 3.0);  // one sample per class
  const std::string error =
      error_of([&] { load_dataset(make_run_config(config(json::object())), dir_); });
  EXPECT_NE(error.find("split is empty after the class subset and splits of this config"),
            std::string::npos)
      << error;
}

TEST(DatasetLocationTest, UsualNamesUnderTheDataDirectoryAndAbsolutePaths) {
  auto location = [](json dataset) {
    // Fusion quantum needs no backbone, so one config fits image and tabular sets.
    return dataset_location(
        make_run_config(json{{"dataset", dataset}, {"model", {{"fusion", "quantum"}}}}), "/data");
  };
  EXPECT_EQ(location({{"name", "wdbc"}}), "/data/breast_cancer.csv");
  EXPECT_EQ(location({{"name", "fashion_mnist"}}), "/data/fashion-mnist");
  EXPECT_EQ(location({{"name", "breastmnist"}, {"path", "sets/b64.npz"}}), "/data/sets/b64.npz");
  EXPECT_EQ(location({{"name", "medmnist"}, {"path", "/x/pathmnist.npz"}}), "/x/pathmnist.npz");
}

TEST(RealDatasetTest, BreastMnistResizedToRgb64KeepsOfficialSplits) {
  const std::string shared = std::string(HQSWEEP_SOURCE_DIR) + "/../shared/data";
  if (!fs::exists(shared + "/breastmnist.npz")) {
    GTEST_SKIP() << shared << "/breastmnist.npz is absent (see ../shared/data/README.md)";
  }
  json config = canonical_config(
      json{{"dataset", {{"name", "breastmnist"}, {"image_size", 64}, {"channels", 3}}},
           {"model", {{"backbone", "resnet18"}}}});
  Dataset data = load_dataset(make_run_config(config), shared);
  EXPECT_EQ(data.sample_shape, (std::vector<int64_t>{3, 64, 64}));
  EXPECT_EQ(data.train.rows(), 546);
  EXPECT_EQ(data.val.rows(), 78);
  EXPECT_EQ(data.test.rows(), 156);
  // Replicated channels stay equal after per-channel normalisation.
  EXPECT_FLOAT_EQ(data.train.values[100], data.train.values[100 + 64 * 64]);
}

TEST(RealDatasetTest, FashionMnistTwoClassesWithASeededValidationSplit) {
  std::string dir = std::string(HQSWEEP_SOURCE_DIR) + "/data/fashion-mnist";
  if (!fs::exists(dir + "/train-labels-idx1-ubyte.gz")) {
    GTEST_SKIP() << "no Fashion-MNIST in data/ (scripts/fetch-data.sh puts it there)";
  }
  json config = canonical_config(
      json{{"dataset", {{"name", "fashion_mnist"}, {"path", dir}, {"classes", {0, 6}}}},
           {"model", {{"backbone", "hqcnn"}}}});
  Dataset data = load_dataset(make_run_config(config), "");
  EXPECT_EQ(data.train.rows() + data.val.rows(), 12000);  // 6000 per class in training
  EXPECT_EQ(data.val.rows(), 1800);                       // val_fraction 0.15
  EXPECT_EQ(data.test.rows(), 2000);
}

}  // namespace
}  // namespace hqsweep
