// The statistics of `hqsweep report`: summaries over seeds and paired tests between groups.
// Two-sided tests; p-values are NaN where the test is undefined (fewer than two pairs, or no
// non-zero difference).
#pragma once

#include <vector>

namespace hqsweep {

struct SampleSummary {
  int count = 0;
  double mean = 0;
  double std = 0;  // sample standard deviation (n - 1); NaN for one value
  // 95% confidence interval of the mean from Student's t with n - 1 degrees of freedom; NaN for
  // one value.
  double ci_low = 0;
  double ci_high = 0;
};

// Throws hqsweep::Error for an empty sample.
SampleSummary summarize_sample(const std::vector<double>& values);
double median(std::vector<double> values);

// Paired t-test of the differences a[i] - b[i].
double paired_t_test(const std::vector<double>& a, const std::vector<double>& b);
// Wilcoxon signed-rank test of a[i] - b[i]: zero differences dropped, tied magnitudes get their
// average rank. Exact (over every sign assignment of the observed ranks, so ties are handled) up
// to 50 non-zero differences; above, the normal approximation with the tie correction.
double wilcoxon_signed_rank_test(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace hqsweep
