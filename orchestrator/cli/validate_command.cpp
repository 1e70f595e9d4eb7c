// `hqsweep validate`: expand a sweep file, check it, show its runs.
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
#include "orchestrator/sweep/sweep.h"

namespace hqsweep {

namespace po = boost::program_options;

namespace {

// A study has no run list: its settings and space instead.
void print_study(const std::string& sweep_path, const Sweep& sweep) {
  const SearchSpec& search = sweep.study->search;
  std::cout << fmt::format(
      "{}: a study of {} trials x {} runs each ({} {} of {}; {} random first, "
      "seed {}); stopping: {}\n\n",
      sweep_path, search.trials, sweep.study->runs_per_trial, to_string(search.algorithm),
      to_string(search.mode), search.metric, search.startup_trials, search.seed,
      to_string(sweep.stopping.algorithm));
  std::vector<std::vector<std::string>> rows;
  for (const ParamSpec& p : search.space) {
    std::string range;
    if (p.kind == ParamKind::choice) {
      for (const auto& c : p.choices) range += (range.empty() ? "" : ", ") + c.dump();
    } else {
      range = fmt::format("[{:g}, {:g}]", p.low, p.high);
    }
    rows.push_back({p.key, to_string(p.kind), range});
  }
  std::cout << format_table({"key", "distribution", "values"}, rows);
}

}  // namespace

int validate_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options(
      "Expand a sweep file, check every run against the config schema, "
      "and show the runs it\nmakes. Nothing runs.\n\nOptions");
  std::string sweep_path;
  std::vector<std::string> overrides;
  std::size_t max_runs = kDefaultMaxRuns;
  std::size_t rows = 20;
  options.add_options()("help,h", "show this help")("sweep", po::value(&sweep_path)->required(),
                                                    "the sweep file (JSON, comments allowed)")(
      "set", po::value(&overrides)->composing(),
      "KEY=VALUE applied to every run after expansion, e.g. --set train.epochs=3 (repeatable)")(
      "max-runs", po::value(&max_runs)->default_value(max_runs), "refuse sweeps with more runs")(
      "rows", po::value(&rows)->default_value(rows), "how many runs to show in the table")(
      "json", "print every run's run_id and canonical config as JSON instead of the table")(
      "keys", "print every config key the schema knows (a Markdown table) and exit");
  po::positional_options_description positional;
  positional.add("sweep", 1);
  po::variables_map vm;
  if (std::find(args.begin(), args.end(), "--keys") != args.end()) {
    std::cout << config_keys_markdown();
    return kExitOk;
  }
  if (!parse_arguments(name, "SWEEP [--set KEY=VALUE]... [--json] | --keys", options, positional,
                       args, vm)) {
    return kExitOk;
  }

  Sweep sweep = expand_sweep_file(sweep_path, SweepOptions{overrides, max_runs});
  if (sweep.study) {
    print_study(sweep_path, sweep);
    return kExitOk;
  }
  if (vm.count("json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const RunSpec& run : sweep.runs)
      out.push_back({{"run_id", run.run_id}, {"config", run.config}});
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << sweep_path << ": " << sweep.runs.size() << " runs";
  if (sweep.points_before_dedup != sweep.runs.size()) {
    std::cout << " (" << sweep.points_before_dedup
              << " combinations; identical or excluded ones dropped)";
  }
  std::cout << "\n";
  std::string varying;
  for (const auto& key : sweep.varying_keys) varying += (varying.empty() ? "" : ", ") + key;
  std::cout << "varying keys: " << (varying.empty() ? "(none)" : varying) << "\n\n";

  std::vector<std::string> headers = {"#", "run_id"};
  for (const auto& key : sweep.varying_keys) headers.push_back(key);
  std::vector<std::vector<std::string>> table;
  for (std::size_t i = 0; i < sweep.runs.size() && i < rows; ++i) {
    FlatConfig flat = flatten_config(sweep.runs[i].config);
    std::vector<std::string> row = {std::to_string(i + 1), sweep.runs[i].run_id};
    for (const auto& key : sweep.varying_keys) row.push_back(config_value_text(flat, key));
    table.push_back(std::move(row));
  }
  std::cout << format_table(headers, table);
  if (rows < sweep.runs.size()) {
    std::cout << "(showing " << rows << " of " << sweep.runs.size()
              << "; --rows N for more, --json for every config)\n";
  }
  return kExitOk;
}

}  // namespace hqsweep
