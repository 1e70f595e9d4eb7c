// FeatureCache: round trip, atomic publication, concurrent creators, listing and collection.
#include "store/feature_cache.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/config_schema.h"
#include "common/error.h"
#include "tests/store/store_test_util.h"

namespace hqsweep {
namespace {

namespace fs = std::filesystem;

FeatureSplit make_split(int64_t rows, int64_t classical, int64_t quantum, float offset) {
  FeatureSplit split{rows, classical, {}, quantum, {}, {}};
  for (int64_t i = 0; i < rows * classical; ++i) split.classical.push_back(offset + i * 0.5f);
  for (int64_t i = 0; i < rows * quantum; ++i) split.quantum.push_back(-offset - i * 0.25f);
  for (int64_t i = 0; i < rows; ++i) split.labels.push_back(i % 3);
  return split;
}

CachedFeatures make_features(float offset = 0) {
  return CachedFeatures{{{"model", {{"backbone", "resnet18"}}}, {"seed", 1}},
                        make_split(40, 16, 4, offset),
                        make_split(8, 16, 4, offset + 1),
                        make_split(12, 16, 4, offset + 2)};
}

void expect_same_split(const FeatureSplit& a, const FeatureSplit& b) {
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.classical_width, b.classical_width);
  EXPECT_EQ(a.classical, b.classical);
  EXPECT_EQ(a.quantum_width, b.quantum_width);
  EXPECT_EQ(a.quantum, b.quantum);
  EXPECT_EQ(a.labels, b.labels);
}

std::vector<std::string> directory_names(const std::string& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(FeatureCacheTest, WrittenFeaturesReadBackExactly) {
  testing::TemporaryDirectory dir;
  FeatureCache cache(dir.file("caches"));
  EXPECT_FALSE(cache.read("k1").has_value());
  CachedFeatures features = make_features();
  features.val = make_split(0, 16, 0, 0);  // empty splits and no quantum branch are allowed
  cache.write("k1", features);
  std::optional<CachedFeatures> back = cache.read("k1");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->config, features.config);
  expect_same_split(back->train, features.train);
  expect_same_split(back->val, features.val);
  expect_same_split(back->test, features.test);
  EXPECT_EQ(directory_names(dir.file("caches")), (std::vector<std::string>{"k1.h5"}));
}

TEST(FeatureCacheTest, BadKeysAndMismatchedShapesAreRefused) {
  testing::TemporaryDirectory dir;
  FeatureCache cache(dir.path());
  EXPECT_THROW(cache.path_for("../escape"), Error);
  EXPECT_THROW(cache.path_for(""), Error);
  CachedFeatures features = make_features();
  features.test.labels.pop_back();
  try {
    cache.write("k", features);
    FAIL();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("feature split 'test': labels are not one per row"),
              std::string::npos)
        << error.what();
  }
  EXPECT_TRUE(directory_names(dir.path()).empty()) << "no temporary file is left behind";
}

TEST(FeatureCacheTest, DamagedCacheIsReportedWithItsPath) {
  testing::TemporaryDirectory dir;
  FeatureCache cache(dir.path());
  cache.write("k", make_features());
  fs::resize_file(cache.path_for("k"), 2000);
  try {
    cache.read("k");
    FAIL();
  } catch (const Error& error) {
    EXPECT_NE(
        std::string(error.what()).find("feature cache " + cache.path_for("k") + " is damaged"),
        std::string::npos)
        << error.what();
  }
}

TEST(FeatureCacheTest, HalfWrittenTemporaryIsNeverRead) {
  testing::TemporaryDirectory dir;
  FeatureCache cache(dir.path());
  std::ofstream(dir.file("k.h5.tmp-123-abcdef01")) << "half a file";
  EXPECT_FALSE(cache.read("k").has_value());
  EXPECT_TRUE(cache.list().empty());
}

TEST(FeatureCacheTest, ConcurrentCreatorsOfOneKeyLeaveOneValidFile) {
  testing::TemporaryDirectory dir;
  FeatureCache cache(dir.path());
  std::vector<pid_t> children;
  for (int writer = 0; writer < 4; ++writer) {
    pid_t child = ::fork();
    if (child == 0) {
      try {
        for (int round = 0; round < 5; ++round) cache.write("shared", make_features());
      } catch (...) {
        ::_exit(1);
      }
      ::_exit(0);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(directory_names(dir.path()), (std::vector<std::string>{"shared.h5"}));
  std::optional<CachedFeatures> back = cache.read("shared");
  ASSERT_TRUE(back.has_value());
  expect_same_split(back->train, make_features().train);
}

TEST(FeatureCacheTest, GarbageCollectionKeepsReferencedCaches) {
  testing::TemporaryDirectory dir;
  FeatureCache cache(dir.path());
  for (const char* key : {"a", "b", "c"}) cache.write(key, make_features());
  const std::string stale = dir.file("d.h5.tmp-99-00000000");
  std::ofstream(stale) << "left by a writer that died";
  fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::hours(1));
  std::ofstream(dir.file("e.h5.tmp-98-00000000")) << "a writer still at work";

  std::vector<CacheEntry> listed = cache.list();
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].key, "a");
  EXPECT_GT(listed[0].bytes, 0u);
  EXPECT_EQ(listed[0].config, make_features().config);

  std::vector<CacheEntry> removed = cache.collect_garbage({"b"});
  std::vector<std::string> removed_keys;
  for (const CacheEntry& entry : removed) removed_keys.push_back(entry.key);
  EXPECT_EQ(removed_keys, (std::vector<std::string>{"a", "c", "d.h5.tmp-99-00000000"}));
  EXPECT_EQ(directory_names(dir.path()),
            (std::vector<std::string>{"b.h5", "e.h5.tmp-98-00000000"}));
  cache.remove("b");
  EXPECT_THROW(cache.remove("b"), Error);
}

TEST(FeatureCacheTest, GarbageCollectionKeepsTrainedModelsOfTheCachesKept) {
  testing::TemporaryDirectory dir;
  FeatureCache cache(dir.path());
  const nlohmann::json classical_b = {{"seed", 2}}, classical_c = {{"seed", 3}};
  CachedFeatures b = make_features(), c = make_features();
  b.config = {{"classical", classical_b}};
  c.config = {{"classical", classical_c}};
  cache.write("b", b);
  cache.write("c", c);
  const std::string model_b = cache.trained_model_path(run_id(classical_b));
  const std::string model_c = cache.trained_model_path(run_id(classical_c));
  EXPECT_EQ(fs::path(model_b).parent_path(), fs::path(dir.path()) / "backbones");
  fs::create_directories(fs::path(model_b).parent_path());
  for (const std::string& model : {model_b, model_c}) {
    std::ofstream(model) << "weights";
    std::ofstream(fs::path(model).replace_extension(".json").string()) << "{}";
  }
  std::ofstream(model_b + ".tmp-7") << "a writer still at work";

  std::vector<std::string> would;
  for (const CacheEntry& entry : cache.collect_garbage({"b"}, true)) would.push_back(entry.key);
  std::sort(would.begin(), would.end());
  const std::string stem = "backbones/" + run_id(classical_c);
  EXPECT_EQ(would, (std::vector<std::string>{stem + ".json", stem + ".pt", "c"}));
  EXPECT_TRUE(fs::exists(model_c)) << "a dry run removes nothing";

  cache.collect_garbage({"b"});
  EXPECT_FALSE(fs::exists(model_c));
  EXPECT_FALSE(fs::exists(fs::path(model_c).replace_extension(".json")));
  EXPECT_TRUE(fs::exists(model_b));
  EXPECT_TRUE(fs::exists(model_b + ".tmp-7"));
  EXPECT_EQ(directory_names(dir.path()), (std::vector<std::string>{"b.h5", "backbones"}));
}

}  // namespace
}  // namespace hqsweep
