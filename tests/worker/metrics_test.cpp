// Metrics against hand-computed values (each case works its numbers out in the comment; the binary
// case is sklearn's roc_auc_score documentation example, AUC 0.75).
#include "worker/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace hqsweep {
namespace {

std::vector<float> binary(const std::vector<float>& positive) {
  std::vector<float> out;
  for (float p : positive) out.insert(out.end(), {1 - p, p});
  return out;
}

TEST(MetricsTest, BinaryMetricsMatchHandComputedValues) {
  // labels 0 0 1 1, p(1) = .1 .4 .35 .8; at 0.5: predicted 0 0 0 1 -> TP 1, FN 1, FP 0, TN 2.
  ClassificationMetrics m =
      classification_metrics(binary({0.1f, 0.4f, 0.35f, 0.8f}), {0, 0, 1, 1}, 2);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(m.precision, 1.0);
  EXPECT_DOUBLE_EQ(m.recall, 0.5);
  EXPECT_NEAR(m.f1, 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.balanced_accuracy, 0.75);  // (1 + 0.5) / 2
  EXPECT_DOUBLE_EQ(m.auc, 0.75);
  // -(ln .9 + ln .6 + ln .35 + ln .8) / 4
  EXPECT_NEAR(m.log_loss, 0.4722875, 1e-6);
  EXPECT_EQ(m.confusion, (std::vector<int64_t>{2, 0, 1, 1}));
  // The same at threshold 0.35 (the float a tuned threshold is): predicted 0 1 1 1 -> TP 2, FP 1:
  // precision 2/3, recall 1, F1 .8.
  ClassificationMetrics tuned =
      classification_metrics(binary({0.1f, 0.4f, 0.35f, 0.8f}), {0, 0, 1, 1}, 2, double{0.35f});
  EXPECT_NEAR(tuned.f1, 0.8, 1e-12);
  EXPECT_DOUBLE_EQ(tuned.auc, 0.75) << "AUC does not depend on the threshold";
}

TEST(MetricsTest, TiedScoresCountOneHalfInAuc) {
  // Positive/negative pairs: (.5,.5) 1/2, (.5,.2) 1, (.9,.5) 1, (.9,.2) 1 -> 3.5 / 4.
  EXPECT_DOUBLE_EQ(roc_auc({0.5, 0.5, 0.2, 0.9}, {0, 1, 0, 1}), 0.875);
  EXPECT_DOUBLE_EQ(roc_auc({0.3, 0.3, 0.3}, {0, 1, 1}), 0.5);
}

TEST(MetricsTest, ClassWithNoPositivesGivesNanAucAndZeroRecall) {
  ClassificationMetrics m = classification_metrics(binary({0.2f, 0.7f, 0.1f}), {0, 0, 0}, 2);
  EXPECT_TRUE(std::isnan(m.auc));
  EXPECT_DOUBLE_EQ(m.recall, 0.0);
  EXPECT_DOUBLE_EQ(m.precision, 0.0);  // one false positive, no true positive
  EXPECT_NEAR(m.accuracy, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.balanced_accuracy, 2.0 / 3.0, 1e-12) << "only class 0 is present";
}

TEST(MetricsTest, MultiClassUsesArgmaxMacroAveragesAndOneVsRestAuc) {
  // Predicted 0 1 1 2 for labels 0 1 2 2.
  // Class 0: P 1, R 1, F1 1. Class 1: P 1/2, R 1, F1 2/3. Class 2: P 1, R 1/2, F1 2/3.
  // One-vs-rest AUC: class 0: 1; class 1: .4 beats .2 and .2, loses to .5 -> 2/3;
  // class 2: .3 vs (.1, .3) -> 1.5, .7 vs (.1, .3) -> 2 -> 3.5/4. Macro: (1 + 2/3 + .875) / 3.
  std::vector<float> p = {0.7f, 0.2f, 0.1f, 0.3f, 0.4f, 0.3f, 0.2f, 0.5f, 0.3f, 0.1f, 0.2f, 0.7f};
  ClassificationMetrics m = classification_metrics(p, {0, 1, 2, 2}, 3);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.75);
  EXPECT_NEAR(m.precision, 2.5 / 3, 1e-12);
  EXPECT_NEAR(m.recall, 2.5 / 3, 1e-12);
  EXPECT_NEAR(m.f1, (1 + 4.0 / 3) / 3, 1e-12);
  EXPECT_NEAR(m.balanced_accuracy, 2.5 / 3, 1e-12);
  EXPECT_NEAR(m.auc, (1 + 2.0 / 3 + 0.875) / 3, 1e-12);
  EXPECT_EQ(m.confusion, (std::vector<int64_t>{1, 0, 0, 0, 1, 0, 0, 1, 1}));
}

TEST(MetricsTest, ThresholdIsTunedOnValidationByF1OrYouden) {
  // Candidates .1 .35 .4 .8: F1 .667 .8 .5 .667 -> .35. Youden J 0 .5 0 .5 -> the lower, .35.
  std::vector<float> p = binary({0.1f, 0.4f, 0.35f, 0.8f});
  EXPECT_FLOAT_EQ(static_cast<float>(tune_threshold(p, {0, 0, 1, 1}, ThresholdRule::max_f1)),
                  0.35f);
  EXPECT_FLOAT_EQ(static_cast<float>(tune_threshold(p, {0, 0, 1, 1}, ThresholdRule::youden)),
                  0.35f);
  // Youden prefers specificity where F1 does not: labels 0 1 1 1, p .6 .5 .7 .9.
  std::vector<float> q = binary({0.6f, 0.5f, 0.7f, 0.9f});
  EXPECT_FLOAT_EQ(static_cast<float>(tune_threshold(q, {0, 1, 1, 1}, ThresholdRule::max_f1)), 0.5f);
  EXPECT_FLOAT_EQ(static_cast<float>(tune_threshold(q, {0, 1, 1, 1}, ThresholdRule::youden)), 0.7f);
}

}  // namespace
}  // namespace hqsweep
