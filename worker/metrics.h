// Classification metrics over predicted class probabilities (no LibTorch).
// Binary sets (2 classes): class 1 is the positive class; precision, recall and F1 are of it.
// More classes: macro averages over classes; AUC is macro one-vs-rest.
#pragma once

#include <cstdint>
#include <vector>

namespace hqsweep {

struct ClassificationMetrics {
  double accuracy = 0;
  double balanced_accuracy = 0;  // mean recall over the classes present in the labels
  double precision = 0;  // 0 for a class that is never predicted (sklearn's zero_division=0)
  double recall = 0;
  double f1 = 0;
  double auc = 0;                  // NaN when the labels hold a single class
  double log_loss = 0;             // probabilities clipped to [1e-15, 1]
  std::vector<int64_t> confusion;  // [true class][predicted class], row-major
};

// probabilities: row-major [samples][classes]; labels in 0..classes-1. For 2 classes a sample is
// predicted positive when its class-1 probability is >= threshold; otherwise the argmax class.
ClassificationMetrics classification_metrics(const std::vector<float>& probabilities,
                                             const std::vector<int64_t>& labels, int64_t classes,
                                             double threshold = 0.5);

// Area under the ROC curve of scores for binary labels (1 = positive); ties count one half
// (the Mann-Whitney statistic). NaN when either class is absent.
double roc_auc(const std::vector<double>& scores, const std::vector<int64_t>& labels);

enum class ThresholdRule { max_f1, youden };
// The binary decision threshold, among the class-1 probabilities seen, that maximises F1 or
// Youden's J (sensitivity + specificity - 1) on these (validation) samples; ties: the lowest.
double tune_threshold(const std::vector<float>& probabilities, const std::vector<int64_t>& labels,
                      ThresholdRule rule);

}  // namespace hqsweep
