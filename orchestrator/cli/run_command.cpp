// `hqsweep run`: a sweep, embedded or under mpirun.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/exit_codes.h"
#include "orchestrator/cli/command_line.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/run/sweep_runner.h"
#include "orchestrator/sweep/sweep.h"

namespace hqsweep {

namespace po = boost::program_options;

int run_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options(
      "Run every run of a sweep file, appending each result to the results file as it arrives.\n"
      "Without mpirun, --workers tasks run at once on this machine; under mpirun rank 0\n"
      "schedules and ranks 1..K-1 work. Running the same command again resumes: done runs are\n"
      "skipped. A study (a search block) proposes its trials as workers come free and resumes\n"
      "from its results file under the same trial numbers; a stopping block prunes runs from\n"
      "their per-epoch values (docs/search.md).\n"
      "SIGINT/SIGTERM/SIGUSR1 stop it gracefully (a second one at once).\n"
      "Exit codes: 0 every run done; 1 bad input; 3 some runs failed; 4 stopped by a signal.\n\n"
      "Options");
  SweepRunOptions run;
  run.runner.data_directory = default_data_directory();
  run.runner.cache_directory = default_cache_directory();
  run.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.add_options()("help,h", "show this help")("sweep", po::value(&run.sweep_path)->required(),
                                                    "the sweep file")(
      "out", po::value(&run.out), "results file (default: results/<sweep name>.h5)")(
      "set", po::value(&run.overrides)->composing(), "KEY=VALUE applied to every run")(
      "max-runs", po::value(&run.max_runs)->default_value(run.max_runs),
      "refuse sweeps with more runs")(
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
  check_option_range("workers", run.workers, 1, 100000);
  check_option_range("threads-per-task", run.runner.threads, 1, 1024);
  check_option_range("task-timeout", run.runner.task_timeout, 0, 1e9);
  check_option_range("retries", run.retries, 0, 1000);
  check_option_range("max-tasks-per-runner", run.runner.max_tasks_per_runner, 0, 1e9);
  check_option_range("grace", run.grace, 0, 1e9);
  check_option_range("progress-interval", run.progress_interval, 0, 1e9);
  check_option_range("checkpoint-interval", run.runner.checkpoint_interval, -1, 1e9);
  run.runner.grace = run.grace;
  if (vm.count("shard")) run.shard = parse_shard(vm["shard"].as<std::string>());
  run.command_line = "hqsweep " + name;
  for (const std::string& a : args) run.command_line += " " + a;
  return run_sweep(run);
}

}  // namespace hqsweep
