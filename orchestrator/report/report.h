// `hqsweep report`: from results files to the comparison tables of a study. Runs are grouped by
// the config keys that vary (the seed aside), summarised over seeds, optionally compared with a
// baseline group by paired tests, or reduced to the configuration with the best validation metric.
#pragma once

#include <string>
#include <vector>

namespace hqsweep {

struct ReportOptions {
  // Group keys, full ("model.fusion") or short ("fusion", "dataset"); empty: every key that varies
  // across the runs except the seed (with best: those of dataset, backbone and fusion).
  std::vector<std::string> by;
  // Metric names; "acc" means "test_acc" unless a run has a metric named "acc". Empty: those of
  // acc, f1 and auc that the runs have.
  std::vector<std::string> metrics;
  // "KEY=VALUE": compare every group with the group that differs only in KEY, which is VALUE.
  std::string compare;
  // Per group, keep only the configuration (setting of the other varying keys) with the best mean
  // validation counterpart of the first metric.
  bool best = false;
};

enum class ReportFormat { table, markdown, csv, latex, json };

// Throws hqsweep::Error naming the allowed values.
ReportFormat parse_report_format(const std::string& text);

// Reads every file (also while a sweep still writes it; a run_id in several files counts once)
// and renders the report. Throws hqsweep::Error for unreadable files, unknown keys or metrics, a
// baseline no run has, and files without a done run.
std::string make_report(const std::vector<std::string>& results_files, const ReportOptions& options,
                        ReportFormat format);

}  // namespace hqsweep
