// Command dispatch and the commands' option parsing. Each command is a function of its arguments.
#include "orchestrator/cli.h"

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/config_schema.h"
#include "common/error.h"
#include "orchestrator/command_options.h"
#include "orchestrator/model_commands.h"
#include "orchestrator/report.h"
#include "orchestrator/run_commands.h"
#include "orchestrator/slurm_commands.h"
#include "orchestrator/store_commands.h"
#include "orchestrator/sweep.h"
#include "orchestrator/text_table.h"

#ifndef HQSWEEP_VERSION
#define HQSWEEP_VERSION "unknown"
#endif

namespace hqsweep {

namespace {

namespace po = boost::program_options;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct Command {
  const char* name;
  const char* summary;
  int (*handler)(const std::string& name, const std::vector<std::string>& args);
};

int validate_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options(
      "Expand a sweep file, check every run against the config schema, "
      "and show the runs it\nmakes. Nothing runs.\n\nOptions");
  std::string sweep_path;
  std::vector<std::string> overrides;
  std::size_t max_runs = 100000;
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

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"run", "Run a sweep: embedded, or under mpirun with rank 0 scheduling", run_command},
      {"validate", "Expand a sweep file, check it, and show its runs", validate_command},
      {"train", "Run one resolved config and print its metrics as JSON", train_command},
      {"report", "Tables of metrics per group, with comparisons, from results files",
       report_command},
      {"submit", "Write and submit a Slurm batch job for a sweep", submit_command},
      {"status", "A sweep's progress next to the state of its Slurm jobs", status_command},
      {"merge", "Combine results files (a job array's shards) into one", merge_command},
      {"describe", "Show a model's architecture and parameter counts", describe_command},
      {"ls", "List the runs of a results file with status and metrics", ls_command},
      {"cache", "List, remove and garbage-collect SHF feature caches", cache_command},
  };
  return list;
}

void print_help(std::ostream& out) {
  out << "hqsweep " << HQSWEEP_VERSION
      << ": hyperparameter sweeps over hybrid quantum-classical classifiers\n\n"
         "Usage: hqsweep <command> [options]\n"
         "       hqsweep <command> --help\n\n"
         "Commands:\n";
  for (const Command& c : commands()) {
    std::string line = std::string("  ") + c.name;
    line.resize(14, ' ');
    out << line << c.summary << "\n";
  }
  out << "\nOptions:\n"
         "  -h, --help    show this help\n"
         "  --version     print the version\n\n"
         "Exit codes: 0 success; 1 bad input or a failed operation; 2 usage error. `run` adds 3\n"
         "(some runs failed) and 4 (stopped by a signal; run it again to resume).\n";
}

}  // namespace

bool parse_arguments(const std::string& command, const std::string& usage,
                     const po::options_description& options,
                     const po::positional_options_description& positional,
                     const std::vector<std::string>& args, po::variables_map& vm) {
  po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
  if (vm.count("help")) {
    std::cout << "Usage: hqsweep " << command << " " << usage << "\n\n" << options;
    return false;
  }
  po::notify(vm);
  return true;
}

int run_cli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_help(std::cerr);
    return kExitUsage;
  }
  const std::string& first = args.front();
  if (first == "--help" || first == "-h" || first == "help") {
    print_help(std::cout);
    return kExitOk;
  }
  if (first == "--version") {
    std::cout << "hqsweep " << HQSWEEP_VERSION << "\n";
    return kExitOk;
  }
  if (first == "runner") {  // internal: the task process of a worker, not listed
    std::vector<std::string> rest(args.begin() + 1, args.end());
    return runner_command(first, rest);
  }
  for (const Command& command : commands()) {
    if (first != command.name) continue;
    std::vector<std::string> rest(args.begin() + 1, args.end());
    try {
      return command.handler(command.name, rest);
    } catch (const po::error& e) {
      std::cerr << "hqsweep " << command.name << ": " << e.what() << "\n"
                << "See: hqsweep " << command.name << " --help\n";
      return kExitUsage;
    } catch (const Error& e) {
      std::cerr << "hqsweep " << command.name << ": error: " << e.what() << "\n";
      return kExitFailure;
    } catch (const std::exception& e) {
      std::cerr << "hqsweep " << command.name << ": unexpected error: " << e.what() << "\n";
      return kExitFailure;
    }
  }
  std::cerr << "hqsweep: unknown command \"" << first << "\"\n\n";
  print_help(std::cerr);
  return kExitUsage;
}

}  // namespace hqsweep
