// `hqsweep train`: one config end to end, metrics as JSON on stdout, progress on stderr.
#include "orchestrator/runner/runner_commands.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "orchestrator/cli/command_line.h"
#include "orchestrator/dispatch/task_runner.h"
#include "orchestrator/run/sweep_runner.h"
#include "orchestrator/sweep/sweep.h"
#include "store/result_store.h"
#include "worker/run.h"

namespace hqsweep {

namespace {

namespace po = boost::program_options;

}  // namespace

int train_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options(
      "Run one resolved config (a config file, or one run of a sweep file) in this process and\n"
      "print its result as JSON. Progress goes to stderr. Exit code 0: done; 1: the run could\n"
      "not be run (bad config or data); 3: training diverged.\n\nOptions");
  std::string path, out;
  std::size_t run = 0;
  std::vector<std::string> overrides;
  std::size_t max_runs = kDefaultMaxRuns;
  WorkerOptions worker;
  worker.data_directory = default_data_directory();
  worker.cache_directory = default_cache_directory();
  options.add_options()("help,h", "show this help")("config", po::value(&path)->required(),
                                                    "a config file, or a sweep file with --run")(
      "run", po::value(&run), "which run of a sweep file (1-based)")(
      "set", po::value(&overrides)->composing(), "KEY=VALUE override, e.g. train.epochs=3")(
      "max-runs", po::value(&max_runs)->default_value(max_runs), "refuse sweeps with more runs")(
      "out", po::value(&out), "also append the result to this results file (HDF5)")(
      "data-dir", po::value(&worker.data_directory)->default_value(worker.data_directory),
      "where dataset.path is looked up ($HQSWEEP_DATA_DIR)")(
      "cache-dir", po::value(&worker.cache_directory)->default_value(worker.cache_directory),
      "SHF feature caches and mid-run checkpoints ($HQSWEEP_CACHE_DIR)")(
      "checkpoint-interval",
      po::value(&worker.checkpoint_interval)->default_value(worker.checkpoint_interval),
      "seconds between epoch checkpoints; the same command continues from the last one; "
      "0 = every epoch, -1 = none")("threads",
                                    po::value(&worker.threads)->default_value(worker.threads),
                                    "torch and simulator threads")("quiet,q", "no progress lines")(
      "full", "print curves and test predictions too");
  po::positional_options_description positional;
  positional.add("config", 1);
  po::variables_map vm;
  if (!parse_arguments(name, "CONFIG [--run N] [--set KEY=VALUE]... [--out RESULTS.h5]", options,
                       positional, args, vm)) {
    return 0;
  }
  check_option_range("threads", worker.threads, 1, 1024);
  check_option_range("checkpoint-interval", worker.checkpoint_interval, -1, 1e9);

  const std::vector<RunSpec> runs = read_runs(path, SweepOptions{overrides, max_runs});
  if (runs.size() > 1 && run == 0) {
    throw Error(path + " is a sweep of " + std::to_string(runs.size()) +
                " runs; choose one with --run N (hqsweep validate lists them)");
  }
  if (run > runs.size()) {
    throw Error(path + " has " + std::to_string(runs.size()) + " run(s); --run " +
                std::to_string(run) + " is beyond them");
  }
  const RunSpec& spec = runs[run > 0 ? run - 1 : 0];
  if (!vm.count("quiet")) worker.log = [](const std::string& line) { std::cerr << line << "\n"; };

  // Open the results file first, so that a file we may not write is refused before training.
  std::optional<ResultStore> store;
  if (!out.empty()) {
    store.emplace(ResultStore::open_for_writing(out));
    if (store->status(spec.run_id) == RunStatus::done) {
      throw Error(out + ": run " + spec.run_id +
                  " is already done there; remove it or write to another file");
    }
  }
  RunResult result = execute_run(spec.config, worker);
  if (store) {
    store->append(result, store->contains(result.run_id) ? AppendMode::retry : AppendMode::normal);
  }
  nlohmann::json printed = to_json(result);
  if (!vm.count("full")) {
    for (const char* bulky : {"curves", "test_probabilities", "test_labels"}) printed.erase(bulky);
  }
  std::cout << printed.dump(2) << "\n";
  return result.status == RunStatus::done ? 0 : 3;
}

}  // namespace hqsweep
