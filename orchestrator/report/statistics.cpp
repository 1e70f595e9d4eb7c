// Sample summaries and paired tests, with Student's t and the normal distribution from Boost.Math.
#include "orchestrator/report/statistics.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>

#include "common/error.h"

namespace hqsweep {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Up to 50 differences the 2^50 sign assignments still count exactly in 64 bits.
constexpr std::size_t kMaxExactWilcoxon = 50;

// a[i] - b[i] rounded to 1e-12, so that equal differences of metrics (130/156 - 125/156 and
// 133/156 - 128/156) are equal instead of differing in rounding noise.
std::vector<double> rounded_differences(const std::vector<double>& a,
                                        const std::vector<double>& b) {
  HQSWEEP_CHECK(a.size() == b.size(),
                "paired samples differ in length: " << a.size() << " vs " << b.size());
  std::vector<double> differences(a.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    differences[i] = std::round((a[i] - b[i]) * 1e12) / 1e12;
  return differences;
}

// Average ranks (1-based) of the values, ties sharing the mean of their positions.
std::vector<double> average_ranks(const std::vector<double>& values) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t i, std::size_t j) { return values[i] < values[j]; });
  std::vector<double> ranks(values.size());
  for (std::size_t start = 0; start < order.size();) {
    std::size_t end = start + 1;
    while (end < order.size() && values[order[end]] == values[order[start]]) ++end;
    double rank = (static_cast<double>(start + 1) + static_cast<double>(end)) / 2;
    for (std::size_t k = start; k < end; ++k) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

}  // namespace

SampleSummary summarize_sample(const std::vector<double>& values) {
  if (values.empty()) throw Error("no values to summarise");
  SampleSummary s;
  s.count = static_cast<int>(values.size());
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / s.count;
  if (s.count < 2) {
    s.std = s.ci_low = s.ci_high = kNaN;
    return s;
  }
  double squares = 0;
  for (double v : values) squares += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(squares / (s.count - 1));
  boost::math::students_t t(s.count - 1);
  double half_width = boost::math::quantile(boost::math::complement(t, 0.025)) * s.std /
                      std::sqrt(static_cast<double>(s.count));
  s.ci_low = s.mean - half_width;
  s.ci_high = s.mean + half_width;
  return s;
}

double median(std::vector<double> values) {
  if (values.empty()) return kNaN;
  std::sort(values.begin(), values.end());
  std::size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

double paired_t_test(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> differences = rounded_differences(a, b);
  if (differences.size() < 2) return kNaN;
  SampleSummary d = summarize_sample(differences);
  if (d.std == 0) return d.mean == 0 ? kNaN : 0.0;
  double t = d.mean / (d.std / std::sqrt(static_cast<double>(d.count)));
  boost::math::students_t distribution(d.count - 1);
  return std::min(1.0, 2 * boost::math::cdf(boost::math::complement(distribution, std::abs(t))));
}

double wilcoxon_signed_rank_test(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> differences;
  for (double d : rounded_differences(a, b))
    if (d != 0) differences.push_back(d);
  const std::size_t n = differences.size();
  if (n == 0) return kNaN;
  std::vector<double> magnitudes(n);
  for (std::size_t i = 0; i < n; ++i) magnitudes[i] = std::abs(differences[i]);
  std::vector<double> ranks = average_ranks(magnitudes);
  double positive_sum = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (differences[i] > 0) positive_sum += ranks[i];

  if (n <= kMaxExactWilcoxon) {
    // Average ranks are multiples of 1/2, so twice them are integers and sums compare exactly.
    std::vector<int64_t> doubled(n);
    for (std::size_t i = 0; i < n; ++i) doubled[i] = std::llround(2 * ranks[i]);
    const int64_t observed = std::llround(2 * positive_sum);
    // ways[s]: how many sign assignments give a doubled positive rank sum of s.
    std::vector<uint64_t> ways(
        static_cast<std::size_t>(std::accumulate(doubled.begin(), doubled.end(), int64_t{0})) + 1);
    ways[0] = 1;
    int64_t reach = 0;
    for (int64_t rank : doubled) {
      for (int64_t s = reach; s >= 0; --s)
        ways[static_cast<std::size_t>(s + rank)] += ways[static_cast<std::size_t>(s)];
      reach += rank;
    }
    uint64_t at_most = 0, at_least = 0;
    for (int64_t s = 0; s <= reach; ++s) {
      if (s <= observed) at_most += ways[static_cast<std::size_t>(s)];
      if (s >= observed) at_least += ways[static_cast<std::size_t>(s)];
    }
    const double assignments = std::ldexp(1.0, static_cast<int>(n));
    double tail = static_cast<double>(std::min(at_most, at_least)) / assignments;
    return std::min(1.0, 2 * tail);
  }

  const double count = static_cast<double>(n);
  double variance = count * (count + 1) * (2 * count + 1);
  std::vector<double> sorted = ranks;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t start = 0; start < n;) {
    std::size_t end = start;
    while (end < n && sorted[end] == sorted[start]) ++end;
    double tied = static_cast<double>(end - start);
    variance -= 0.5 * tied * (tied * tied - 1);
    start = end;
  }
  double z = (positive_sum - count * (count + 1) / 4) / std::sqrt(variance / 24);
  boost::math::normal normal;
  return std::min(1.0, 2 * boost::math::cdf(boost::math::complement(normal, std::abs(z))));
}

}  // namespace hqsweep
