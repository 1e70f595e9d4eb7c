// Metrics from predicted probabilities; each formula is sklearn's (the tests say where the
// reference values come from).
#include "worker/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"

namespace hqsweep {

namespace {

double nan() {
  return std::nan("");
}

struct Counts {
  int64_t true_positive = 0, false_positive = 0, false_negative = 0, true_negative = 0;
};

double f1_of(const Counts& c) {
  const double denominator = 2.0 * c.true_positive + c.false_positive + c.false_negative;
  return denominator == 0 ? 0 : 2.0 * c.true_positive / denominator;
}

}  // namespace

double roc_auc(const std::vector<double>& scores, const std::vector<int64_t>& labels) {
  HQSWEEP_CHECK(scores.size() == labels.size(), "scores and labels differ in length");
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  // Sum of the positives' ranks, ties sharing the mean rank.
  double positive_rank_sum = 0;
  int64_t positives = 0;
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double mean_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (std::size_t k = i; k < j; ++k) {
      if (labels[order[k]] == 1) {
        positive_rank_sum += mean_rank;
        ++positives;
      }
    }
    i = j;
  }
  const int64_t negatives = static_cast<int64_t>(labels.size()) - positives;
  if (positives == 0 || negatives == 0) return nan();
  return (positive_rank_sum - positives * (positives + 1) / 2.0) /
         (static_cast<double>(positives) * static_cast<double>(negatives));
}

ClassificationMetrics classification_metrics(const std::vector<float>& probabilities,
                                             const std::vector<int64_t>& labels, int64_t classes,
                                             double threshold) {
  const auto samples = static_cast<int64_t>(labels.size());
  HQSWEEP_CHECK(classes >= 2, "metrics need at least 2 classes");
  HQSWEEP_CHECK(static_cast<int64_t>(probabilities.size()) == samples * classes,
                "probabilities are not samples x classes");
  ClassificationMetrics m;
  m.confusion.assign(static_cast<std::size_t>(classes * classes), 0);
  double log_loss = 0;
  for (int64_t i = 0; i < samples; ++i) {
    const float* row = probabilities.data() + i * classes;
    const int64_t label = labels[static_cast<std::size_t>(i)];
    HQSWEEP_CHECK(label >= 0 && label < classes, "label " << label << " out of range");
    int64_t predicted = 0;
    if (classes == 2) {
      predicted = row[1] >= threshold ? 1 : 0;
    } else {
      predicted = std::max_element(row, row + classes) - row;
    }
    ++m.confusion[static_cast<std::size_t>(label * classes + predicted)];
    log_loss -= std::log(std::clamp(static_cast<double>(row[label]), 1e-15, 1.0));
  }
  m.log_loss = samples ? log_loss / samples : nan();

  int64_t correct = 0;
  std::vector<Counts> per_class(static_cast<std::size_t>(classes));
  for (int64_t c = 0; c < classes; ++c) {
    correct += m.confusion[static_cast<std::size_t>(c * classes + c)];
    Counts& counts = per_class[static_cast<std::size_t>(c)];
    for (int64_t t = 0; t < classes; ++t) {
      for (int64_t p = 0; p < classes; ++p) {
        const int64_t n = m.confusion[static_cast<std::size_t>(t * classes + p)];
        if (t == c && p == c)
          counts.true_positive += n;
        else if (p == c)
          counts.false_positive += n;
        else if (t == c)
          counts.false_negative += n;
        else
          counts.true_negative += n;
      }
    }
  }
  m.accuracy = samples ? static_cast<double>(correct) / samples : nan();

  auto precision_of = [](const Counts& c) {
    const int64_t predicted = c.true_positive + c.false_positive;
    return predicted ? static_cast<double>(c.true_positive) / predicted : 0.0;
  };
  auto recall_of = [](const Counts& c) {
    const int64_t actual = c.true_positive + c.false_negative;
    return actual ? static_cast<double>(c.true_positive) / actual : 0.0;
  };
  double recall_sum = 0;
  int present = 0;
  for (const Counts& c : per_class) {
    if (c.true_positive + c.false_negative == 0) continue;
    recall_sum += recall_of(c);
    ++present;
  }
  m.balanced_accuracy = present ? recall_sum / present : nan();

  if (classes == 2) {
    const Counts& positive = per_class[1];
    m.precision = precision_of(positive);
    m.recall = recall_of(positive);
    m.f1 = f1_of(positive);
    std::vector<double> scores(static_cast<std::size_t>(samples));
    for (int64_t i = 0; i < samples; ++i)
      scores[static_cast<std::size_t>(i)] = probabilities[i * 2 + 1];
    m.auc = roc_auc(scores, labels);
  } else {
    double auc_sum = 0;
    int auc_classes = 0;
    for (int64_t c = 0; c < classes; ++c) {
      const Counts& counts = per_class[static_cast<std::size_t>(c)];
      m.precision += precision_of(counts) / classes;
      m.recall += recall_of(counts) / classes;
      m.f1 += f1_of(counts) / classes;
      std::vector<double> scores(static_cast<std::size_t>(samples));
      std::vector<int64_t> is_class(static_cast<std::size_t>(samples));
      for (int64_t i = 0; i < samples; ++i) {
        scores[static_cast<std::size_t>(i)] = probabilities[i * classes + c];
        is_class[static_cast<std::size_t>(i)] = labels[static_cast<std::size_t>(i)] == c;
      }
      const double auc = roc_auc(scores, is_class);
      if (!std::isnan(auc)) {
        auc_sum += auc;
        ++auc_classes;
      }
    }
    m.auc = auc_classes ? auc_sum / auc_classes : nan();
  }
  return m;
}

double tune_threshold(const std::vector<float>& probabilities, const std::vector<int64_t>& labels,
                      ThresholdRule rule) {
  const std::size_t samples = labels.size();
  HQSWEEP_CHECK(probabilities.size() == 2 * samples, "tune_threshold needs binary probabilities");
  std::vector<double> candidates;
  for (std::size_t i = 0; i < samples; ++i) candidates.push_back(probabilities[2 * i + 1]);
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  double best = 0.5, best_score = -1;
  for (double threshold : candidates) {
    Counts c;
    for (std::size_t i = 0; i < samples; ++i) {
      const bool predicted = probabilities[2 * i + 1] >= threshold;
      const bool actual = labels[i] == 1;
      if (predicted && actual)
        ++c.true_positive;
      else if (predicted)
        ++c.false_positive;
      else if (actual)
        ++c.false_negative;
      else
        ++c.true_negative;
    }
    double score = 0;
    if (rule == ThresholdRule::max_f1) {
      score = f1_of(c);
    } else {
      const double sensitivity =
          c.true_positive + c.false_negative
              ? static_cast<double>(c.true_positive) / (c.true_positive + c.false_negative)
              : 0;
      const double specificity =
          c.true_negative + c.false_positive
              ? static_cast<double>(c.true_negative) / (c.true_negative + c.false_positive)
              : 0;
      score = sensitivity + specificity - 1;
    }
    if (score > best_score) {
      best_score = score;
      best = threshold;
    }
  }
  return best;
}

}  // namespace hqsweep
