// `hqsweep report`: the command-line face of report/.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/exit_codes.h"
#include "orchestrator/cli/command_line.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/report/report.h"
#include "orchestrator/report/study_report.h"

namespace hqsweep {

namespace po = boost::program_options;

int report_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options(
      "Tables of metrics per group of runs: done / failed, mean ± std and 95% confidence interval\n"
      "over seeds, the best seed (by the validation metric), median duration; comparisons with a\n"
      "baseline by paired tests; the best configuration per group. Reads files that a running\n"
      "sweep still writes, and several files (shards) at once.\n\nOptions");
  std::vector<std::string> files, by, metrics;
  std::string compare, format_name = "table", out_path;
  options.add_options()("help,h", "show this help")("results", po::value(&files)->composing(),
                                                    "results files (HDF5)")(
      "by", po::value(&by)->composing(),
      "group keys, comma-separated, e.g. dataset,backbone,fusion (short names work); default: "
      "every key that varies except the seed")(
      "metrics", po::value(&metrics)->composing(),
      "metrics, comma-separated (default: those of acc,f1,auc = test_acc,test_f1,test_auc "
      "the runs have); any metric of the runs, e.g. balanced_acc, val_acc, acc_tuned")(
      "compare", po::value(&compare),
      "KEY=VALUE baseline, e.g. fusion=classical: each group's difference to the group that "
      "differs only in KEY, with paired t-test and Wilcoxon p-values over shared seeds")(
      "best",
      "per group (default --by dataset,backbone,fusion where they vary) keep the configuration "
      "with the best mean validation metric and report its test metrics")(
      "study",
      "a study's report instead (one results file): trials per state, the best trials by the "
      "study metric with the test metric beside, epochs spent against a full-length study, "
      "the best value against trials; formats table, markdown and json")(
      "format", po::value(&format_name)->default_value(format_name),
      "table, markdown, csv, latex or json")("out", po::value(&out_path),
                                             "write to FILE instead of standard output");
  po::positional_options_description positional;
  positional.add("results", -1);
  po::variables_map vm;
  if (!parse_arguments(name,
                       "RESULTS.h5... [--by K1,K2] [--metrics M1,M2] [--compare KEY=VALUE] "
                       "[--best] [--format F] [--out FILE] | RESULTS.h5 --study",
                       options, positional, args, vm))
    return 0;
  if (files.empty()) throw po::error("give at least one results file");
  if (vm.count("study")) {
    if (files.size() != 1) throw po::error("--study reads one results file (a study is one file)");
    std::cout << make_study_report(files[0], parse_report_format(format_name));
    return 0;
  }
  ReportOptions report_options;
  report_options.by = by;
  if (!metrics.empty()) report_options.metrics = metrics;
  report_options.compare = compare;
  report_options.best = vm.count("best") > 0;
  std::string text = make_report(files, report_options, parse_report_format(format_name));
  if (out_path.empty()) {
    std::cout << text;
    return 0;
  }
  std::string temporary = out_path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out.flush()) throw Error(out_path + ": cannot write the report");
  }
  if (std::rename(temporary.c_str(), out_path.c_str()) != 0)
    throw Error(out_path + ": cannot write the report");
  std::cerr << "wrote " << out_path << "\n";
  return 0;
}

}  // namespace hqsweep
