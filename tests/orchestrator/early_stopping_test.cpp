// Stopping rules on scripted sequences of reports.
#include <gtest/gtest.h>

#include "orchestrator/search/early_stopping.h"

namespace hqsweep {
namespace {

StoppingSpec spec_of(StoppingAlgorithm algorithm, int64_t max_epochs = 0) {
  StoppingSpec spec;
  spec.algorithm = algorithm;
  spec.metric = "val_acc";
  spec.mode = MetricMode::max;
  spec.min_epochs = 1;
  spec.reduction_factor = 3;
  spec.max_epochs = max_epochs;
  spec.startup_runs = 2;
  return spec;
}

TEST(EarlyStoppingTest, AshaKeepsTheTopThirdAtEachRung) {
  EarlyStopping asha(spec_of(StoppingAlgorithm::asha, 27));
  EXPECT_EQ(asha.rungs_of("a"), (std::vector<int64_t>{1, 3, 9}));
  // Rung 1: the first run goes on alone; later ones go on only among the best floor(n/3).
  EXPECT_FALSE(asha.report("a", 1, 0.50));
  EXPECT_TRUE(asha.report("b", 1, 0.40));   // 2 values: only the best (a) goes on
  EXPECT_FALSE(asha.report("c", 1, 0.60));  // best of 3
  EXPECT_TRUE(asha.report("d", 1, 0.55));   // 4 values: top 1 is c
  EXPECT_FALSE(asha.report("e", 1, 0.70));
  EXPECT_FALSE(asha.report("f", 1, 0.65));  // 6 values: top 2 are e, f
  // Between rungs nothing is decided.
  EXPECT_FALSE(asha.report("a", 2, 0.10));
  // The best value so far counts: at rung 3 a keeps its 0.50 from epoch 1, c its 0.60, e 0.70.
  EXPECT_FALSE(asha.report("a", 3, 0.20));
  EXPECT_FALSE(asha.report("c", 3, 0.30));  // 2 values: c's 0.60 is the best
  EXPECT_FALSE(asha.report("e", 3, 0.30));  // 3 values: e's 0.70 is the best
  EXPECT_TRUE(asha.report("f", 3, 0.30));   // 4 values: top 1 is e, f's 0.65 stops
  // A report heard again (a resumed run) is ignored.
  EXPECT_FALSE(asha.report("c", 3, 0.0));
}

TEST(EarlyStoppingTest, MinModeJudgesLowerValuesBetter) {
  StoppingSpec spec = spec_of(StoppingAlgorithm::asha);
  spec.mode = MetricMode::min;
  EarlyStopping asha(spec);
  EXPECT_FALSE(asha.report("a", 1, 0.5));
  EXPECT_FALSE(asha.report("b", 1, 0.2));
  EXPECT_TRUE(asha.report("c", 1, 0.9));
}

TEST(EarlyStoppingTest, ReplayedCurvesCountAtTheirRungs) {
  EarlyStopping asha(spec_of(StoppingAlgorithm::asha, 9));
  asha.replay("old1", {0.9, 0.9, 0.9});
  asha.replay("old2", {0.8, 0.8, 0.8});
  EXPECT_TRUE(asha.report("new", 1, 0.1));  // 3 values: top 1 is old1
}

TEST(EarlyStoppingTest, MedianStopsRunsBelowTheFinishedRunsMedian) {
  EarlyStopping median(spec_of(StoppingAlgorithm::median));
  EXPECT_FALSE(median.report("a", 1, 0.2));  // nothing finished yet
  median.replay("f1", {0.5, 0.6, 0.7});
  EXPECT_FALSE(median.report("a", 2, 0.2));  // one finished run; startup_runs is 2
  median.replay("f2", {0.7, 0.8, 0.9});
  EXPECT_TRUE(median.report("a", 3, 0.3));    // median at epoch 3: 0.8
  EXPECT_FALSE(median.report("b", 1, 0.65));  // median at epoch 1: 0.6
}

TEST(EarlyStoppingTest, HyperbandSpreadsRunsOverBracketsWithLaterFirstRungs) {
  EarlyStopping hyperband(spec_of(StoppingAlgorithm::hyperband, 27));
  std::map<int64_t, int> first_rungs;
  for (int i = 0; i < 300; ++i) {
    const std::vector<int64_t> rungs = hyperband.rungs_of("run" + std::to_string(i));
    ++first_rungs[rungs.empty() ? 27 : rungs.front()];
  }
  // Brackets start at 1, 3, 9 and 27 epochs (the last: no rung, full length), the most
  // aggressive one the most common.
  ASSERT_EQ(first_rungs.size(), 4u);
  EXPECT_GT(first_rungs[1], first_rungs[3]);
  EXPECT_GT(first_rungs[3], first_rungs[27]);
}

TEST(EarlyStoppingTest, NoneNeverStops) {
  EarlyStopping none(spec_of(StoppingAlgorithm::none));
  for (int e = 1; e < 10; ++e) EXPECT_FALSE(none.report("a", e, -1.0 * e));
}

}  // namespace
}  // namespace hqsweep
