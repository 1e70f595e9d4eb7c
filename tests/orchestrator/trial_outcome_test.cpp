// A trial's state and value from its runs (one per seed).
#include <gtest/gtest.h>

#include <cmath>

#include "orchestrator/search/trial_outcome.h"

namespace hqsweep {
namespace {

RunOutcome ended(double value, bool pruned = false, int64_t epochs = 9) {
  RunOutcome r;
  r.ended = r.finished = true;
  r.pruned = pruned;
  r.value = value;
  r.epochs = epochs;
  return r;
}

TEST(TrialOutcomeTest, ValueIsTheMeanOverSeedsSoALuckySeedDoesNotWin) {
  TrialRecord t;
  close_trial({ended(0.9), ended(0.7), ended(0.8)}, t);
  EXPECT_EQ(t.state, TrialState::complete);
  EXPECT_DOUBLE_EQ(t.value, 0.8);
  EXPECT_EQ(t.epochs, 9);
}

TEST(TrialOutcomeTest, RunningUntilEverySeedHasEnded) {
  TrialRecord t;
  RunOutcome waiting;  // proposed, no result yet
  close_trial({ended(0.9), waiting}, t);
  EXPECT_EQ(t.state, TrialState::running);
  EXPECT_TRUE(std::isnan(t.value));
}

TEST(TrialOutcomeTest, PrunedWhenAnySeedWasPruned) {
  TrialRecord t;
  close_trial({ended(0.9), ended(0.5, true, 3)}, t);
  EXPECT_EQ(t.state, TrialState::pruned);
  EXPECT_DOUBLE_EQ(t.value, 0.7);
}

TEST(TrialOutcomeTest, FailedWhenNoSeedGaveAValue) {
  TrialRecord t;
  RunOutcome failed;
  failed.ended = true;  // failed: ended without a result
  close_trial({failed, failed}, t);
  EXPECT_EQ(t.state, TrialState::failed);
  // A failed seed beside a finished one leaves the finished one's value.
  close_trial({failed, ended(0.6)}, t);
  EXPECT_EQ(t.state, TrialState::complete);
  EXPECT_DOUBLE_EQ(t.value, 0.6);
}

}  // namespace
}  // namespace hqsweep
