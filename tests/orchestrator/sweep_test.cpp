// Tests for sweep expansion: counts, order, linked lists, random draws, seeds, rules, overrides.
#include "orchestrator/sweep/sweep.h"

#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "common/config_schema.h"
#include "common/error.h"
#include "common/json_source.h"
#include "store/results_paths.h"

namespace hqsweep {
namespace {

using nlohmann::json;

Sweep expand(const std::string& text, SweepOptions options = {}) {
  return expand_sweep(JsonSource::from_text(text, "test.json"), options);
}

json value_at(const RunSpec& run, const std::string& dotted) {
  FlatConfig flat = flatten_config(run.config);
  auto it = flat.find(dotted);
  return it == flat.end() ? json() : it->second;
}

const char* kBase = R"("base": {"dataset": {"name": "wdbc"}, "model": {"backbone": "mlp"}})";

TEST(SweepTest, GridIsTheCartesianProductInFileOrder) {
  Sweep sweep = expand(std::string("{") + kBase + R"(,
    "grid": {"train.lr": [0.1, 0.01, 0.001], "train.batch_size": [16, 32]}})");
  ASSERT_EQ(sweep.runs.size(), 6u);
  // The first grid key varies slowest, as in nested loops.
  EXPECT_EQ(value_at(sweep.runs[0], "train.lr"), 0.1);
  EXPECT_EQ(value_at(sweep.runs[0], "train.batch_size"), 16);
  EXPECT_EQ(value_at(sweep.runs[1], "train.batch_size"), 32);
  EXPECT_EQ(value_at(sweep.runs[2], "train.lr"), 0.01);
  EXPECT_EQ(sweep.varying_keys, (std::vector<std::string>{"train.batch_size", "train.lr"}));
}

TEST(SweepTest, LinkedListsVaryTogether) {
  Sweep sweep = expand(std::string("{") + kBase + R"(,
    "grid": {"seed": [1, 2]},
    "zip": {"train.lr": [0.1, 0.01, 0.001], "train.epochs": [5, 10, 20]}})");
  ASSERT_EQ(sweep.runs.size(), 6u);
  for (const RunSpec& run : sweep.runs) {
    double lr = value_at(run, "train.lr").get<double>();
    int epochs = value_at(run, "train.epochs").get<int>();
    EXPECT_EQ(epochs, lr == 0.1 ? 5 : lr == 0.01 ? 10 : 20);
  }
  Sweep linked = expand(std::string("{") + kBase + R"(,
    "linked": [{"train.lr": [0.1, 0.01]}, {"train.epochs": [5, 10]}]})");
  EXPECT_EQ(linked.runs.size(), 4u) << "two linked groups cross each other";
}

TEST(SweepTest, RandomSamplesAreReproducibleFromTheSweepSeed) {
  auto sweep_text = [](int seed) {
    return std::string("{") + kBase + R"(, "random": {"samples": 20, "seed": )" +
           std::to_string(seed) +
           R"(, "params": {
      "train.lr": {"loguniform": [1e-4, 1e-1]},
      "model.dropout": {"uniform": [0.0, 0.5]},
      "train.epochs": {"int": [2, 6]},
      "train.optimizer": {"choice": ["adam", "sgd"]}}}})";
  };
  Sweep a = expand(sweep_text(7)), b = expand(sweep_text(7)), c = expand(sweep_text(8));
  ASSERT_EQ(a.runs.size(), 20u);
  std::set<std::string> optimizers;
  std::set<int> epochs;
  for (std::size_t i = 0; i < a.runs.size(); ++i) {
    EXPECT_EQ(a.runs[i].run_id, b.runs[i].run_id);
    double lr = value_at(a.runs[i], "train.lr").get<double>();
    EXPECT_GE(lr, 1e-4);
    EXPECT_LE(lr, 1e-1);
    double dropout = value_at(a.runs[i], "model.dropout").get<double>();
    EXPECT_GE(dropout, 0.0);
    EXPECT_LT(dropout, 0.5);
    epochs.insert(value_at(a.runs[i], "train.epochs").get<int>());
    optimizers.insert(value_at(a.runs[i], "train.optimizer").get<std::string>());
  }
  EXPECT_EQ(optimizers.size(), 2u);
  EXPECT_GE(*epochs.begin(), 2);
  EXPECT_LE(*epochs.rbegin(), 6);
  EXPECT_GE(epochs.size(), 3u);
  EXPECT_NE(a.runs[0].run_id, c.runs[0].run_id) << "another sweep seed draws other values";
}

TEST(SweepTest, SeedsRepeatEveryConfigurationInnermost) {
  Sweep listed = expand(std::string("{") + kBase +
                        R"(, "grid": {"train.lr": [0.1, 0.01]}, "seeds": [3, 5, 9]})");
  ASSERT_EQ(listed.runs.size(), 6u);
  EXPECT_EQ(value_at(listed.runs[0], "seed"), 3);
  EXPECT_EQ(value_at(listed.runs[2], "seed"), 9);
  EXPECT_EQ(value_at(listed.runs[3], "train.lr"), 0.01);
  Sweep counted = expand(std::string("{") + kBase + R"(, "seeds": {"count": 4, "start": 10}})");
  ASSERT_EQ(counted.runs.size(), 4u);
  EXPECT_EQ(value_at(counted.runs[3], "seed"), 13);
  EXPECT_EQ(expand(std::string("{") + kBase + R"(, "seeds": 5})").runs.size(), 5u);
}

TEST(SweepTest, ClassicalBaselineCrossedWithQubitCountsCollapsesToOneRun) {
  Sweep sweep = expand(std::string("{") + kBase + R"(,
    "grid": {"model.fusion": ["classical", "dhf"], "quantum.qubits": [4, 6, 8]}})");
  EXPECT_EQ(sweep.points_before_dedup, 6u);
  ASSERT_EQ(sweep.runs.size(), 4u) << "1 classical + 3 hybrid";
  EXPECT_EQ(value_at(sweep.runs[0], "model.fusion"), "classical");
  EXPECT_TRUE(value_at(sweep.runs[0], "quantum.qubits").is_null());
}

TEST(SweepTest, ExcludeDropsMatchingRunsAndIncludeAddsRuns) {
  Sweep sweep = expand(std::string("{") + kBase + R"(,
    "grid": {"model.fusion": ["classical", "dhf", "cross_attention"], "quantum.qubits": [4, 8]},
    "exclude": [{"model.fusion": "cross_attention", "quantum.qubits": 8}],
    "include": [{"model.fusion": "quantum", "quantum.qubits": 5}]})");
  // classical (1) + dhf x 2 + cross_attention x 1 + include 1
  ASSERT_EQ(sweep.runs.size(), 5u);
  EXPECT_EQ(value_at(sweep.runs.back(), "model.fusion"), "quantum");
  EXPECT_EQ(value_at(sweep.runs.back(), "quantum.qubits"), 5);
  for (const RunSpec& run : sweep.runs) {
    EXPECT_FALSE(value_at(run, "model.fusion") == "cross_attention" &&
                 value_at(run, "quantum.qubits") == 8);
  }
  Sweep any_of = expand(std::string("{") + kBase + R"(,
    "grid": {"model.fusion": ["classical", "dhf", "tshf"]},
    "exclude": [{"model.fusion": ["dhf", "tshf"]}]})");
  EXPECT_EQ(any_of.runs.size(), 1u) << "a list in a rule matches any of its values";
}

TEST(SweepTest, ConditionalRulesSetAndExpandOnlyWhereTheyMatch) {
  Sweep sweep = expand(R"({
    "base": {"dataset.name": "breastmnist"},
    "grid": {"model.backbone": ["hqcnn", "resnet18", "efficientnet_b5"]},
    "conditional": [
      {"when": {"model.backbone": "efficientnet_b5"}, "set": {"model.width": 0.5}},
      {"when": {"model.backbone": ["resnet18", "efficientnet_b5"]}, "grid": {"dataset.image_size": [28, 64]}}
    ]})");
  ASSERT_EQ(sweep.runs.size(), 5u);
  EXPECT_EQ(value_at(sweep.runs[0], "dataset.image_size"), 0) << "hqcnn keeps the stored size";
  EXPECT_EQ(value_at(sweep.runs[1], "dataset.image_size"), 28);
  EXPECT_EQ(value_at(sweep.runs[2], "dataset.image_size"), 64);
  EXPECT_EQ(value_at(sweep.runs[1], "model.width"), 1.0);
  EXPECT_EQ(value_at(sweep.runs[3], "model.width"), 0.5);
  // A rule on a default value matches runs that leave the key unset.
  Sweep defaults = expand(std::string("{") + kBase + R"(,
    "grid": {"train.optimizer": ["adam", "sgd"]},
    "conditional": [{"when": {"train.optimizer": "adam"}, "set": {"train.lr": 0.01}}]})");
  EXPECT_EQ(value_at(defaults.runs[0], "train.lr"), 0.01);
  EXPECT_EQ(value_at(defaults.runs[1], "train.lr"), 0.001);
}

TEST(SweepTest, OverridesApplyAfterExpansion) {
  SweepOptions options;
  options.overrides = {"train.epochs=3", "model.hidden=[16]", "train.optimizer=sgd"};
  Sweep sweep =
      expand(std::string("{") + kBase + R"(, "grid": {"train.epochs": [10, 20]}})", options);
  ASSERT_EQ(sweep.runs.size(), 1u) << "both grid points become the same run";
  EXPECT_EQ(value_at(sweep.runs[0], "train.epochs"), 3);
  EXPECT_EQ(value_at(sweep.runs[0], "model.hidden"), json({16}));
  EXPECT_EQ(value_at(sweep.runs[0], "train.optimizer"), "sgd");
}

TEST(SweepTest, RunIdsAreStableAcrossSpellings) {
  Sweep a = expand(
      R"({"base": {"dataset": {"name": "wdbc"}, "model": {"backbone": "mlp"}, "train": {"lr": 0.001}}})");
  Sweep b = expand(
      R"({"base": {"train.lr": 1e-3, "model.backbone": "mlp", "dataset.name": "wdbc", "seed": 0}})");
  ASSERT_EQ(a.runs.size(), 1u);
  EXPECT_EQ(a.runs[0].run_id, b.runs[0].run_id);
  EXPECT_EQ(a.runs[0].run_id, run_id(a.runs[0].config));
}

TEST(SweepTest, ExampleSweepFilesExpand) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(HQSWEEP_SOURCE_DIR "/sweeps")) {
    if (entry.path().extension() != ".json") continue;
    SCOPED_TRACE(entry.path().string());
    Sweep sweep = expand_sweep_file(entry.path().string());
    EXPECT_GT(planned_run_count(sweep), 0u);
    if (sweep.study) {
      EXPECT_TRUE(sweep.runs.empty()) << "a study's runs come from its trials";
    } else {
      EXPECT_GT(sweep.runs.size(), 0u);
    }
    ++checked;
  }
  EXPECT_GE(checked, 6) << "sweeps/ holds three studies and their -quick variants";
}

}  // namespace
}  // namespace hqsweep

namespace hqsweep {
namespace {

TEST(SweepShardTest, ShardsSplitEveryRunIntoExactlyOne) {
  const Sweep sweep = expand(std::string("{") + kBase +
                             R"(, "grid": {"train.lr": [0.1, 0.01, 0.001]}, "seeds": 20})");
  ASSERT_EQ(sweep.runs.size(), 60u);
  std::size_t total = 0;
  for (int index = 0; index < 3; ++index) {
    std::size_t in_this = 0;
    for (const RunSpec& run : sweep.runs) {
      int shards_holding = 0;
      for (int other = 0; other < 3; ++other)
        shards_holding += in_shard(run.run_id, Shard{other, 3});
      EXPECT_EQ(shards_holding, 1) << run.run_id;
      in_this += in_shard(run.run_id, Shard{index, 3});
    }
    EXPECT_GT(in_this, 0u) << "shard " << index << " of 60 runs is empty";
    total += in_this;
  }
  EXPECT_EQ(total, 60u);
  // The run_id read as hexadecimal, modulo the count: what a Python client recomputes.
  EXPECT_TRUE(in_shard("000000000000000a", Shard{1, 3}));
  EXPECT_TRUE(in_shard("ffffffffffffffff", Shard{0, 3}));  // 2^64 - 1 = 3 * 6148914691236517205
  EXPECT_TRUE(in_shard("0123456789abcdef", Shard{0, 1}));
}

TEST(SweepShardTest, ShardTextAndFileName) {
  const Shard shard = parse_shard("2/5");
  EXPECT_EQ(shard.index, 2);
  EXPECT_EQ(shard.count, 5);
  for (const char* bad : {"", "3", "3/3", "-1/3", "1/0", "a/3", "1/3x", "1//3"}) {
    try {
      parse_shard(bad);
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("expected I/N"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(shard_results_path("results/x.h5", 2, 5), "results/x.shard-2-of-5.h5");
  EXPECT_EQ(shard_results_path("out", 0, 2), "out.shard-0-of-2.h5");
}

TEST(SweepShardTest, SlurmSectionIsNotASweepDimension) {
  const Sweep sweep = expand(std::string("{") + kBase +
                             R"(, "seeds": 2, "slurm": {"time": "01:00:00", "array": 4}})");
  EXPECT_EQ(sweep.runs.size(), 2u);
  const Sweep without = expand(std::string("{") + kBase + R"(, "seeds": 2})");
  EXPECT_EQ(sweep.runs[0].run_id, without.runs[0].run_id);
}

}  // namespace
}  // namespace hqsweep
