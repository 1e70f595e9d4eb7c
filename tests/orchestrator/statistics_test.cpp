// The report's statistics against values from SciPy 1.10 (stats.t, ttest_rel, wilcoxon) and, for
// the exact Wilcoxon test with tied differences, a brute-force enumeration of the 2^n signs.
#include "orchestrator/report/statistics.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"

namespace hqsweep {
namespace {

// Accuracies on 156 test images, as BreastMNIST gives them.
std::vector<double> over156(std::vector<int> correct) {
  std::vector<double> out;
  for (int c : correct) out.push_back(c / 156.0);
  return out;
}

TEST(StatisticsTest, SummaryHasSampleStdAndStudentTInterval) {
  SampleSummary s = summarize_sample(over156({130, 133, 131, 134, 137}));
  EXPECT_EQ(s.count, 5);
  EXPECT_NEAR(s.mean, 0.8525641025641025, 1e-12);
  EXPECT_NEAR(s.std, 0.01755521017644761, 1e-12);
  EXPECT_NEAR(s.ci_low, 0.8307664301071072, 1e-10);
  EXPECT_NEAR(s.ci_high, 0.8743617750210979, 1e-10);
  SampleSummary two = summarize_sample({0.0, 1.0});  // t(0.975, 1) = 12.7062047364
  EXPECT_NEAR(two.ci_high - two.mean, 12.706204736432095 * std::sqrt(0.5) / std::sqrt(2.0), 1e-9);
}

TEST(StatisticsTest, OneValueHasNoSpreadAndNoValuesIsAnError) {
  SampleSummary s = summarize_sample({0.75});
  EXPECT_EQ(s.mean, 0.75);
  EXPECT_TRUE(std::isnan(s.std));
  EXPECT_TRUE(std::isnan(s.ci_low));
  EXPECT_THROW(summarize_sample({}), Error);
}

TEST(StatisticsTest, MedianOfOddAndEvenCounts) {
  EXPECT_EQ(median({3, 1, 2}), 2);
  EXPECT_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_TRUE(std::isnan(median({})));
}

TEST(StatisticsTest, PairedTTestMatchesScipy) {
  EXPECT_NEAR(paired_t_test(over156({130, 133, 131, 134, 137}), over156({125, 128, 133, 126, 131})),
              0.05993611035309082, 1e-9);
  EXPECT_NEAR(paired_t_test({0.86, 0.85, 0.83, 0.87, 0.89}, {0.81, 0.84, 0.86, 0.80, 0.85}),
              0.18356686005527686, 1e-9);
}

TEST(StatisticsTest, PairedTTestUndefinedCases) {
  EXPECT_TRUE(std::isnan(paired_t_test({0.9}, {0.8})));
  EXPECT_TRUE(std::isnan(paired_t_test({0.9, 0.8}, {0.9, 0.8})));
  EXPECT_EQ(paired_t_test({0.9, 0.8}, {0.8, 0.7}), 0.0);  // identical non-zero differences
}

TEST(StatisticsTest, WilcoxonExactWithoutTiesMatchesScipy) {
  EXPECT_NEAR(
      wilcoxon_signed_rank_test({0.86, 0.85, 0.83, 0.87, 0.89}, {0.81, 0.84, 0.86, 0.80, 0.85}),
      0.1875, 1e-12);
  // All five differences positive: the smallest two-sided p of n = 5, 2 / 32.
  EXPECT_NEAR(wilcoxon_signed_rank_test({2, 3, 4, 5, 6}, {1, 1, 1, 1, 1}), 0.0625, 1e-12);
}

TEST(StatisticsTest, WilcoxonExactTreatsEqualMetricDifferencesAsTies) {
  // Differences 5, 5, -2, 8, 6 (/156): the two 5s share rank 2.5; the exact p over the 32 sign
  // assignments of ranks {2.5, 2.5, 1, 5, 4} is 4 / 32 (SciPy 1.10 truncates the tied rank sum).
  EXPECT_NEAR(wilcoxon_signed_rank_test(over156({130, 133, 131, 134, 137}),
                                        over156({125, 128, 133, 126, 131})),
              0.125, 1e-12);
}

TEST(StatisticsTest, WilcoxonDropsZeroDifferencesAndIsUndefinedWithoutAny) {
  EXPECT_NEAR(wilcoxon_signed_rank_test({2, 3, 4, 5, 6, 7}, {1, 1, 1, 1, 1, 7}), 0.0625, 1e-12);
  EXPECT_TRUE(std::isnan(wilcoxon_signed_rank_test({0.5, 0.6}, {0.5, 0.6})));
}

TEST(StatisticsTest, WilcoxonNormalApproximationAboveFiftyPairsMatchesScipy) {
  std::vector<double> a = {0.9,  0.67, 0.82, 0.77, 0.78, 0.79, 0.7,  0.79, 0.76, 0.97, 0.81, 0.78,
                           0.79, 0.77, 0.75, 0.78, 0.82, 0.79, 0.85, 0.79, 0.8,  0.88, 0.83, 0.77,
                           0.79, 0.83, 0.9,  0.79, 0.79, 0.85, 0.76, 0.79, 0.84, 0.83, 0.8,  0.83,
                           0.66, 0.85, 0.75, 0.72, 0.81, 0.84, 0.78, 0.75, 0.8,  0.8,  0.87, 0.84,
                           0.81, 0.86, 0.79, 0.75, 0.83, 0.83, 0.79, 0.76, 0.81, 0.68, 0.83, 0.82};
  std::vector<double> b = {0.71, 0.79, 0.74, 0.83, 0.69, 0.74, 0.83, 0.85, 0.68, 0.77, 0.81, 0.76,
                           0.87, 0.73, 0.81, 0.74, 0.86, 0.79, 0.77, 0.7,  0.87, 0.83, 0.83, 0.85,
                           0.81, 0.76, 0.75, 0.75, 0.86, 0.72, 0.76, 0.77, 0.8,  0.82, 0.73, 0.7,
                           0.79, 0.85, 0.83, 0.8,  0.77, 0.8,  0.78, 0.83, 0.75, 0.8,  0.78, 0.82,
                           0.8,  0.92, 0.86, 0.86, 0.69, 0.77, 0.76, 0.82, 0.68, 0.85, 0.84, 0.72};
  // SciPy: wilcoxon(round(a - b, 12), method="approx") (zeros dropped, tie-corrected variance).
  EXPECT_NEAR(wilcoxon_signed_rank_test(a, b), 0.32087437439327315, 1e-9);
  EXPECT_NEAR(paired_t_test(a, b), 0.25183155598822493, 1e-9);
}

TEST(StatisticsTest, PairedTestsRefuseSamplesOfDifferentLength) {
  EXPECT_THROW(paired_t_test({1, 2}, {1}), Error);
  EXPECT_THROW(wilcoxon_signed_rank_test({1, 2}, {1}), Error);
}

}  // namespace
}  // namespace hqsweep
