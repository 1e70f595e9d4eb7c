// `hqsweep ls`: the runs of a results file with their status and metrics.
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

#include "common/config_schema.h"
#include "common/error.h"
#include "common/exit_codes.h"
#include "common/text.h"
#include "orchestrator/cli/command_line.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/report/text_table.h"
#include "store/result_store.h"

namespace hqsweep {

namespace po = boost::program_options;

namespace {

std::string format_metric(const std::map<std::string, double>& metrics, const std::string& name) {
  auto it = metrics.find(name);
  return it == metrics.end() || std::isnan(it->second) ? "-" : fmt::format("{:.4f}", it->second);
}

nlohmann::json summary_json(const RunSummary& run) {
  return {{"run_id", run.run_id}, {"status", to_string(run.status)}, {"attempt", run.attempt},
          {"trial", run.trial},   {"duration_s", run.duration},      {"host", run.host},
          {"error", run.error},   {"cache_key", run.cache_key},      {"metrics", run.metrics},
          {"config", run.config}};
}

}  // namespace

int ls_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options(
      "List the runs of a results file with their status, main metrics and duration.\n"
      "Reads a file that a running sweep is still writing.\n\nOptions");
  std::string path;
  std::string status_filter;
  options.add_options()("help,h", "show this help")("results", po::value(&path)->required(),
                                                    "the results file (HDF5)")(
      "status", po::value(&status_filter),
      "only runs with this status (done, failed, diverged, timeout, cancelled, pruned, "
      "proposed); for other than done, each run's error follows the table")(
      "json", "print the runs as JSON (with configs, all index metrics and errors)");
  po::positional_options_description positional;
  positional.add("results", 1);
  po::variables_map vm;
  if (!parse_arguments(name, "RESULTS.h5 [--status STATUS] [--json]", options, positional, args,
                       vm))
    return 0;

  std::optional<RunStatus> wanted;
  if (vm.count("status")) wanted = parse_run_status(status_filter);
  ResultStore store = ResultStore::open_for_reading(path);
  std::vector<RunSummary> runs;
  std::map<RunStatus, int> counts;
  for (RunSummary& run : store.list()) {
    ++counts[run.status];
    if (!wanted || run.status == *wanted) runs.push_back(std::move(run));
  }
  if (vm.count("json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const RunSummary& run : runs) out.push_back(summary_json(run));
    std::cout << out.dump(2) << "\n";
    return 0;
  }

  std::vector<std::string> varying;
  for (const SweepRecord& sweep : store.sweeps())
    for (const std::string& key : sweep.varying_keys)
      if (std::find(varying.begin(), varying.end(), key) == varying.end()) varying.push_back(key);
  // A study's runs show their trial numbers.
  const bool trials =
      std::any_of(runs.begin(), runs.end(), [](const RunSummary& run) { return run.trial >= 0; });
  std::vector<std::string> headers = {"run_id", "status", "try"};
  if (trials) headers.push_back("trial");
  headers.insert(headers.end(), varying.begin(), varying.end());
  const std::vector<std::string> metrics = {"val_acc", "test_acc", "test_f1", "test_auc"};
  headers.insert(headers.end(), metrics.begin(), metrics.end());
  headers.push_back("duration");
  std::vector<std::vector<std::string>> rows;
  for (const RunSummary& run : runs) {
    FlatConfig flat = flatten_config(run.config);
    std::vector<std::string> row = {run.run_id, to_string(run.status), std::to_string(run.attempt)};
    if (trials) row.push_back(run.trial >= 0 ? std::to_string(run.trial) : "-");
    for (const std::string& key : varying) row.push_back(config_value_text(flat, key));
    for (const std::string& metric : metrics) row.push_back(format_metric(run.metrics, metric));
    row.push_back(format_duration(run.duration));
    rows.push_back(std::move(row));
  }
  if (!rows.empty()) std::cout << format_table(headers, rows);
  std::string tally;
  for (const auto& [status, count] : counts)
    tally += fmt::format("{}{} {}", tally.empty() ? "" : ", ", count, to_string(status));
  std::size_t total = 0;
  for (const auto& [status, count] : counts) total += static_cast<std::size_t>(count);
  std::cout << path << ": " << total << " runs" << (tally.empty() ? "" : " (" + tally + ")");
  if (wanted) std::cout << "; " << runs.size() << " shown";
  std::cout << "\n";
  if (wanted && *wanted != RunStatus::done) {
    for (const RunSummary& run : runs) {
      std::cout << "\n" << run.run_id << " (attempt " << run.attempt << "):\n";
      std::string error = run.error.empty() ? "(no error text)" : run.error;
      std::size_t start = 0;
      while (start <= error.size()) {
        std::size_t end = error.find('\n', start);
        if (end == std::string::npos) end = error.size();
        std::cout << "  " << error.substr(start, end - start) << "\n";
        start = end + 1;
      }
    }
  }
  return 0;
}

}  // namespace hqsweep
