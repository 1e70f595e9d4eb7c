// A trial over seeds judged as one by the stopping rule, on scripted sequences of reports.
#include <gtest/gtest.h>

#include "orchestrator/search/grouped_stopping.h"

namespace hqsweep {
namespace {

using Runs = std::vector<std::string>;

StoppingSpec asha_spec(MetricMode mode = MetricMode::max) {
  StoppingSpec spec;
  spec.algorithm = StoppingAlgorithm::asha;
  spec.metric = "val_auc";
  spec.mode = mode;
  spec.min_epochs = 1;
  spec.reduction_factor = 3;
  spec.max_epochs = 9;  // rungs 1 and 3
  return spec;
}

void assign_trial(GroupedStopping& rule, const std::string& trial, const Runs& runs) {
  for (const std::string& run : runs) rule.assign(run, trial);
}

TEST(GroupedStoppingTest, SeedsOfOneTrialDoNotCompeteWithEachOther) {
  GroupedStopping rule(asha_spec());
  assign_trial(rule, "t0", {"t0s0", "t0s1"});
  // Alone, s1's 0.5 after s0's 0.9 would stop at rung 1; as one trial their mean 0.7 goes on.
  EXPECT_EQ(rule.report("t0s0", 1, 0.9), Runs{});  // s1 has not reached the rung: no decision
  EXPECT_EQ(rule.report("t0s1", 1, 0.5), Runs{});
  // Runs not assigned to a trial are their own units, as EarlyStopping judges them.
  EXPECT_EQ(rule.report("a", 1, 0.9), Runs{});
  EXPECT_EQ(rule.report("b", 1, 0.5), Runs{"b"});
}

TEST(GroupedStoppingTest, TrialIsJudgedOnItsMeanAndAllItsRunsStop) {
  GroupedStopping rule(asha_spec());
  assign_trial(rule, "t0", {"t0s0", "t0s1"});
  assign_trial(rule, "t1", {"t1s0", "t1s1"});
  EXPECT_EQ(rule.report("t0s0", 1, 0.9), Runs{});
  EXPECT_EQ(rule.report("t0s1", 1, 0.5), Runs{});  // t0: 0.7, first at the rung
  // t1's best seed (0.8) beats both of t0's... its mean 0.65 does not: both of its runs stop,
  // the one that trained on to epoch 2 meanwhile included.
  EXPECT_EQ(rule.report("t1s0", 1, 0.8), Runs{});
  EXPECT_EQ(rule.report("t1s0", 2, 0.8), Runs{});
  EXPECT_EQ(rule.report("t1s1", 1, 0.5), (Runs{"t1s0", "t1s1"}));
  // A stopped trial is not judged again.
  EXPECT_EQ(rule.report("t1s0", 3, 0.99), Runs{});
}

TEST(GroupedStoppingTest, TrialIsJudgedOnTheBestValuesSoFarInTheMetricsDirection) {
  GroupedStopping rule(asha_spec(MetricMode::min));
  assign_trial(rule, "t0", {"t0s0", "t0s1"});
  assign_trial(rule, "t1", {"t1s0", "t1s1"});
  for (int64_t epoch : {1, 2, 3}) {  // t0: best so far 0.2 and 0.4 at rung 3: mean 0.3
    EXPECT_EQ(rule.report("t0s0", epoch, epoch == 1 ? 0.2 : 0.9), Runs{});
    EXPECT_EQ(rule.report("t0s1", epoch, 0.4), Runs{});
  }
  EXPECT_EQ(rule.report("t1s0", 1, 0.1), Runs{});
  EXPECT_EQ(rule.report("t1s1", 1, 0.3), Runs{});  // 0.2: better than t0's 0.3 at rung 1
  // Worse values later do not count against t1: it keeps its best so far, 0.2 at rung 3.
  EXPECT_EQ(rule.report("t1s0", 2, 0.9), Runs{});
  EXPECT_EQ(rule.report("t1s1", 2, 0.9), Runs{});
  EXPECT_EQ(rule.report("t1s0", 3, 0.9), Runs{});
  EXPECT_EQ(rule.report("t1s1", 3, 0.9), Runs{});
}

TEST(GroupedStoppingTest, FinishedRunsHoldTheirTrialBackNoLonger) {
  GroupedStopping rule(asha_spec());
  assign_trial(rule, "t0", {"t0s0", "t0s1"});
  assign_trial(rule, "t1", {"t1s0", "t1s1", "t1s2"});
  EXPECT_EQ(rule.report("t0s0", 1, 0.9), Runs{});
  EXPECT_EQ(rule.report("t0s1", 1, 0.9), Runs{});
  // t1: s2 failed before its first epoch (it counts for nothing); s0 ended after epoch 1 (it
  // keeps its 0.2); s1 alone decides when the trial reaches the rung: mean (0.2 + 0.4) / 2.
  rule.finished("t1s2");
  EXPECT_EQ(rule.report("t1s0", 1, 0.2), Runs{});
  rule.finished("t1s0");
  EXPECT_EQ(rule.report("t1s1", 1, 0.4), Runs{"t1s1"});
}

TEST(GroupedStoppingTest, ReplayedTrialsCountAtTheirRungs) {
  GroupedStopping rule(asha_spec());
  assign_trial(rule, "old", {"olds0", "olds1"});
  rule.replay("olds0", {0.9, 0.9, 0.9});
  rule.replay("olds1", {0.7, 0.7, 0.7});
  assign_trial(rule, "new", {"news0", "news1"});
  EXPECT_EQ(rule.report("news0", 1, 0.9), Runs{});
  EXPECT_EQ(rule.report("news1", 1, 0.6), (Runs{"news0", "news1"}));  // 0.75 < old's 0.8
}

TEST(GroupedStoppingTest, EpochsReportedAgainAreIgnored) {
  GroupedStopping rule(asha_spec());
  assign_trial(rule, "t0", {"t0s0", "t0s1"});
  EXPECT_EQ(rule.report("t0s0", 1, 0.9), Runs{});
  EXPECT_EQ(rule.report("t0s0", 1, 0.1), Runs{});  // resumed from its checkpoint: heard already
  EXPECT_EQ(rule.report("t0s1", 1, 0.9), Runs{});  // t0: 0.9, not 0.5
  EXPECT_EQ(rule.report("a", 1, 0.8), Runs{"a"});
}

}  // namespace
}  // namespace hqsweep
