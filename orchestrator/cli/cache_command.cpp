// `hqsweep cache ls|rm|gc`: the SHF feature caches.
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
#include "orchestrator/cli/command_line.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/report/text_table.h"
#include "store/feature_cache.h"
#include "store/result_store.h"

namespace hqsweep {

namespace po = boost::program_options;

namespace {

std::string format_bytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  if (bytes < uint64_t{1024} * 1024 * 1024) return fmt::format("{:.1f} MiB", bytes / 1048576.0);
  return fmt::format("{:.2f} GiB", bytes / 1073741824.0);
}

}  // namespace

int cache_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options(
      "Feature caches of Static Hybrid Fusion (one HDF5 file per extraction in DIR).\n"
      "  cache ls DIR                      list caches with size, age and what made them\n"
      "  cache rm DIR KEY...               remove caches\n"
      "  cache gc DIR RESULTS.h5...        remove caches that no run of these files refers to\n"
      "                                    (and the trained models in DIR/backbones no\n"
      "                                    remaining cache came from, and temporary files of\n"
      "                                    writers that died)\n\n"
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
      // A cache records its extraction config (common/derived_configs.h): the classical model
      // under "classical", the circuit under "quantum".
      FlatConfig flat = entry.config.is_object() ? flatten_config(entry.config) : FlatConfig{};
      if (entry.config.is_null()) {
        rows.push_back({entry.key, format_bytes(entry.bytes), "(unreadable: remove it)", "", ""});
      } else {
        rows.push_back({entry.key, format_bytes(entry.bytes),
                        config_value_text(flat, "classical.dataset.name"),
                        config_value_text(flat, "classical.model.backbone"),
                        config_value_text(flat, "quantum.qubits")});
      }
      total += entry.bytes;
    }
    if (!rows.empty())
      std::cout << format_table({"key", "size", "dataset", "backbone", "qubits"}, rows);
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
    const std::vector<CacheEntry> doomed = cache.collect_garbage(referenced, vm.count("dry-run"));
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
