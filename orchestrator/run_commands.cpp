// `hqsweep train`: one config end to end, metrics as JSON on stdout, progress on stderr.
#include "orchestrator/run_commands.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "orchestrator/command_options.h"
#include "orchestrator/sweep.h"
#include "orchestrator/sweep_runner.h"
#include "orchestrator/task_runner.h"
#include "store/result_store.h"
#include "worker/run.h"

namespace hqsweep {

namespace {

namespace po = boost::program_options;

std::string environment_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

int train_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options(
      "Run one resolved config (a config file, or one run of a sweep file) in this process and\n"
      "print its result as JSON. Progress goes to stderr. Exit code 0: done; 1: the run could\n"
      "not be run (bad config or data); 3: training diverged.\n\nOptions");
  std::string path, out;
  std::size_t run = 0;
  std::vector<std::string> overrides;
  WorkerOptions worker;
  worker.data_directory = environment_or("HQSWEEP_DATA_DIR", "data");
  worker.cache_directory = environment_or("HQSWEEP_CACHE_DIR", "cache");
  options.add_options()("help,h", "show this help")("config", po::value(&path)->required(),
                                                    "a config file, or a sweep file with --run")(
      "run", po::value(&run), "which run of a sweep file (1-based)")(
      "set", po::value(&overrides)->composing(), "KEY=VALUE override, e.g. train.epochs=3")(
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
  if (worker.threads < 1)
    throw po::validation_error(po::validation_error::invalid_option_value, "threads",
                               std::to_string(worker.threads));

  const std::vector<RunSpec> runs = read_runs(path, SweepOptions{overrides, 100000});
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

int run_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options(
      "Run every run of a sweep file, appending each result to the results file as it arrives.\n"
      "Without mpirun, --workers tasks run at once on this machine; under mpirun rank 0\n"
      "schedules and ranks 1..K-1 work. Running the same command again resumes: done runs are\n"
      "skipped. SIGINT/SIGTERM/SIGUSR1 stop it gracefully (a second one at once).\n"
      "Exit codes: 0 every run done; 1 bad input; 3 some runs failed; 4 stopped by a signal.\n\n"
      "Options");
  SweepRunOptions run;
  run.runner.data_directory = environment_or("HQSWEEP_DATA_DIR", "data");
  run.runner.cache_directory = environment_or("HQSWEEP_CACHE_DIR", "cache");
  run.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.add_options()("help,h", "show this help")("sweep", po::value(&run.sweep_path)->required(),
                                                    "the sweep file")(
      "out", po::value(&run.out), "results file (default: results/<sweep name>.h5)")(
      "set", po::value(&run.overrides)->composing(), "KEY=VALUE applied to every run")(
      "shard", po::value<std::string>(),
      "I/N: run only the I-th of N parts of the sweep, split by run_id (a job array's task); "
      "--out then defaults to results/<sweep name>.shard-I-of-N.h5")(
      "workers", po::value(&run.workers)->default_value(run.workers),
      "embedded mode: tasks at once (default: the number of cores)")(
      "threads-per-task", po::value(&run.runner.threads)->default_value(1),
      "LibTorch and simulator threads of each task; workers x threads should fit the cores")(
      "task-timeout", po::value(&run.runner.task_timeout)->default_value(0),
      "seconds after which a task is killed and recorded as timeout; 0 = none")(
      "retries", po::value(&run.retries)->default_value(0),
      "run a failed, crashed or timed-out task again up to N times")(
      "retry-failed", po::bool_switch(&run.retry_failed),
      "also run again the runs that failed in earlier invocations")(
      "max-tasks-per-runner", po::value(&run.runner.max_tasks_per_runner)->default_value(10000),
      "start a fresh runner process after this many tasks; 0 = never")(
      "grace", po::value(&run.grace)->default_value(30),
      "seconds running tasks get to finish after SIGINT/SIGTERM")(
      "progress-interval", po::value(&run.progress_interval)->default_value(0),
      "seconds between progress lines; 0 = a live line on a terminal, else every 30 s")(
      "data-dir", po::value(&run.runner.data_directory)->default_value(run.runner.data_directory),
      "where dataset.path is looked up ($HQSWEEP_DATA_DIR)")(
      "cache-dir",
      po::value(&run.runner.cache_directory)->default_value(run.runner.cache_directory),
      "SHF feature caches and mid-run checkpoints ($HQSWEEP_CACHE_DIR)")(
      "checkpoint-interval",
      po::value(&run.runner.checkpoint_interval)->default_value(run.runner.checkpoint_interval),
      "seconds between a run's epoch checkpoints (CACHE_DIR/checkpoints); a run started again "
      "continues from its last one; 0 = every epoch, -1 = none");
  po::positional_options_description positional;
  positional.add("sweep", 1);
  po::variables_map vm;
  if (!parse_arguments(name, "SWEEP [--out RESULTS.h5] [options]", options, positional, args, vm)) {
    return 0;
  }
  if (run.workers < 1 || run.runner.threads < 1) {
    throw po::validation_error(po::validation_error::invalid_option_value, "workers/threads");
  }
  if (vm.count("shard")) run.shard = parse_shard(vm["shard"].as<std::string>());
  run.command_line = "hqsweep " + name;
  for (const std::string& a : args) run.command_line += " " + a;
  return launched_by_mpirun() ? run_sweep_mpi(run) : run_sweep_embedded(run);
}

int runner_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options("The task process a worker starts (internal)");
  WorkerOptions worker;
  long parent = 0;
  options.add_options()("data-dir", po::value(&worker.data_directory))(
      "cache-dir", po::value(&worker.cache_directory))("checkpoint-interval",
                                                       po::value(&worker.checkpoint_interval))(
      "threads", po::value(&worker.threads))("rank", po::value(&worker.rank))("parent",
                                                                              po::value(&parent));
  po::variables_map vm;
  if (!parse_arguments(name, "(started by hqsweep run)", options, {}, args, vm)) return 0;
  return runner_main(worker, static_cast<pid_t>(parent));
}

}  // namespace hqsweep
