// `hqsweep ls` and `hqsweep cache`: thin command-line faces of store/.
#include "orchestrator/store_commands.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/config_schema.h"
#include "common/error.h"
#include "orchestrator/command_options.h"
#include "orchestrator/text_table.h"
#include "store/feature_cache.h"
#include "store/result_store.h"

namespace hqsweep {

namespace {

namespace po = boost::program_options;

std::string format_metric(const std::map<std::string, double>& metrics, const std::string& name) {
  auto it = metrics.find(name);
  return it == metrics.end() || std::isnan(it->second) ? "-" : fmt::format("{:.4f}", it->second);
}

std::string format_bytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  if (bytes < uint64_t{1024} * 1024 * 1024) return fmt::format("{:.1f} MiB", bytes / 1048576.0);
  return fmt::format("{:.2f} GiB", bytes / 1073741824.0);
}

nlohmann::json summary_json(const RunSummary& run) {
  return {{"run_id", run.run_id},       {"status", to_string(run.status)},
          {"attempt", run.attempt},     {"duration_s", run.duration},
          {"host", run.host},           {"error", run.error},
          {"cache_key", run.cache_key}, {"metrics", run.metrics},
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
      "only runs with this status (done, failed, diverged, timeout, cancelled); for other than "
      "done, each run's error follows the table")(
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
  std::vector<std::string> headers = {"run_id", "status", "try"};
  headers.insert(headers.end(), varying.begin(), varying.end());
  const std::vector<std::string> metrics = {"val_acc", "test_acc", "test_f1", "test_auc"};
  headers.insert(headers.end(), metrics.begin(), metrics.end());
  headers.push_back("duration");
  std::vector<std::vector<std::string>> rows;
  for (const RunSummary& run : runs) {
    FlatConfig flat = flatten_config(run.config);
    std::vector<std::string> row = {run.run_id, to_string(run.status), std::to_string(run.attempt)};
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

int cache_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options(
      "Feature caches of Static Hybrid Fusion (one HDF5 file per extraction in DIR).\n"
      "  cache ls DIR                      list caches with size, age and what made them\n"
      "  cache rm DIR KEY...               remove caches\n"
      "  cache gc DIR RESULTS.h5...        remove caches that no run of these files refers to\n"
      "                                    (and temporary files of writers that died)\n\n"
      "Options");
  std::string action;
  std::vector<std::string> operands;
  options.add_options()("help,h", "show this help")("action", po::value(&action)->required(),
                                                    "ls, rm or gc")(
      "operands", po::value(&operands)->composing(), "DIR, then keys or results files")(
      "dry-run", "gc: show what would be removed, remove nothing")(
      "all", "gc: remove every cache in DIR (no results files needed)");
  po::positional_options_description positional;
  positional.add("action", 1).add("operands", -1);
  po::variables_map vm;
  if (!parse_arguments(name, "ls|rm|gc DIR [KEY...|RESULTS.h5...]", options, positional, args, vm))
    return 0;
  if (operands.empty()) throw po::error("cache " + action + " needs the cache directory DIR");
  FeatureCache cache(operands[0]);
  std::vector<std::string> rest(operands.begin() + 1, operands.end());

  if (action == "ls") {
    std::vector<std::vector<std::string>> rows;
    uint64_t total = 0;
    for (const CacheEntry& entry : cache.list()) {
      FlatConfig flat = entry.config.is_object() ? flatten_config(entry.config) : FlatConfig{};
      std::string made_by = entry.config.is_null() ? "(unreadable: remove it)"
                                                   : config_value_text(flat, "dataset.name") + " " +
                                                         config_value_text(flat, "model.backbone");
      rows.push_back({entry.key, format_bytes(entry.bytes), made_by});
      total += entry.bytes;
    }
    if (!rows.empty()) std::cout << format_table({"key", "size", "dataset backbone"}, rows);
    std::cout << operands[0] << ": " << rows.size() << " caches, " << format_bytes(total) << "\n";
    return 0;
  }
  if (action == "rm") {
    if (rest.empty()) throw po::error("cache rm needs at least one KEY");
    for (const std::string& key : rest) {
      cache.remove(key);
      std::cout << "removed " << cache.path_for(key) << "\n";
    }
    return 0;
  }
  if (action == "gc") {
    if (rest.empty() && !vm.count("all")) {
      throw po::error(
          "cache gc needs the results files whose caches to keep (or --all to remove every cache)");
    }
    std::set<std::string> referenced;
    for (const std::string& results : rest)
      for (const RunSummary& run : ResultStore::open_for_reading(results).list())
        if (!run.cache_key.empty()) referenced.insert(run.cache_key);
    std::vector<CacheEntry> doomed;
    if (vm.count("dry-run")) {
      for (const CacheEntry& entry : cache.list())
        if (!referenced.count(entry.key)) doomed.push_back(entry);
    } else {
      doomed = cache.collect_garbage(referenced);
    }
    uint64_t freed = 0;
    for (const CacheEntry& entry : doomed) {
      std::cout << (vm.count("dry-run") ? "would remove " : "removed ") << entry.path << "\n";
      freed += entry.bytes;
    }
    std::cout << doomed.size() << " removed" << (vm.count("dry-run") ? " (dry run)" : "") << ", "
              << format_bytes(freed) << " freed; " << referenced.size()
              << " caches referenced by the results files kept\n";
    return 0;
  }
  throw po::error("unknown cache action '" + action + "' (expected ls, rm or gc)");
}

}  // namespace hqsweep
