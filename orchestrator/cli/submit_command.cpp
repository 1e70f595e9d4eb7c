// `hqsweep submit`: write a Slurm batch job for a sweep and submit it (docs/slurm.md).
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
#include "common/json_source.h"
#include "common/posix_io.h"
#include "orchestrator/cli/command_line.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/report/text_table.h"
#include "orchestrator/slurm/slurm.h"
#include "orchestrator/sweep/sweep.h"
#include "store/merge.h"
#include "store/result_store.h"
#include "store/results_paths.h"

namespace hqsweep {

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace {

std::string local_time_text(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm local = {};
  localtime_r(&now, &local);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, format, &local);
  return buffer;
}

// The "slurm" keys given as options (key -> value; a list for repeatable keys, else the last).
nlohmann::json slurm_overrides(const po::variables_map& vm) {
  nlohmann::json from_options = nlohmann::json::object();
  for (const SlurmKey& key : slurm_keys()) {
    if (!vm.count(key.option)) continue;
    const auto& values = vm[key.option].as<std::vector<std::string>>();
    if (key.is_list) {
      from_options[key.name] = values;
    } else {
      from_options[key.name] = values.back();
    }
  }
  return from_options;
}

// The job's paths: absolute, the script and Slurm's output under RESULTS_DIR/slurm/.
BatchJob batch_job(SlurmSettings settings, const std::string& sweep_path, const std::string& out) {
  BatchJob job;
  job.working_directory = fs::current_path().string();
  job.executable = self_executable();
  job.sweep_path = fs::absolute(sweep_path).lexically_normal().string();
  job.results_path = fs::absolute(out).lexically_normal().string();
  job.jobs_path = slurm_jobs_path(job.results_path);
  const fs::path slurm_directory = fs::path(job.results_path).parent_path() / "slurm";
  if (settings.output.empty()) {
    settings.output =
        (slurm_directory / (settings.array > 0 ? "%x-%A_%a.out" : "%x-%j.out")).string();
  }
  const std::string stamp = local_time_text("%Y%m%d-%H%M%S");
  fs::path script = slurm_directory / fmt::format("{}-{}.sbatch", settings.job_name, stamp);
  for (int n = 2; fs::exists(script); ++n) {
    script = slurm_directory / fmt::format("{}-{}-{}.sbatch", settings.job_name, stamp, n);
  }
  job.script_path = script.string();
  job.settings = std::move(settings);
  return job;
}

// Writes the script, submits it with sbatch and records the job id beside the results file.
std::string write_and_submit(const BatchJob& job, const std::string& text) {
  const fs::path script(job.script_path);
  fs::create_directories(script.parent_path());
  {
    std::ofstream file(script);
    file << text;
    if (!file.flush()) throw Error(script.string() + ": cannot write the batch script");
  }
  fs::permissions(script, fs::perms::owner_exec, fs::perm_options::add);
  auto [code, printed] = run_program({"sbatch", "--parsable", script.string()});
  const std::string job_id = printed.substr(0, printed.find_first_of(";\n"));
  if (code != 0 || job_id.empty()) {
    throw Error(
        fmt::format("sbatch {} failed (exit code {}); the script stays there to fix and "
                    "submit by hand",
                    script.string(), code));
  }
  std::ofstream jobs(job.jobs_path, std::ios::app);
  jobs << job_id << '\t' << local_time_text("%Y-%m-%dT%H:%M:%S") << '\t' << script.string() << '\n';
  if (!jobs.flush()) throw Error(job.jobs_path + ": cannot record job " + job_id);
  return job_id;
}

}  // namespace

int submit_command(const std::string& name, const std::vector<std::string>& all_args) {
  // Everything after "--" goes to `hqsweep run` unchanged.
  auto separator = std::find(all_args.begin(), all_args.end(), "--");
  const std::vector<std::string> args(all_args.begin(), separator);
  std::vector<std::string> run_args;
  if (separator != all_args.end()) run_args.assign(separator + 1, all_args.end());

  po::options_description options(
      "Write a Slurm batch script for a sweep and submit it with sbatch. Settings come from the\n"
      "sweep file's \"slurm\" section; these options override them. The job runs `hqsweep run`\n"
      "under mpirun (or srun, or embedded) with SLURM_CPUS_PER_TASK threads per task, stops\n"
      "gracefully at Slurm's warning signal, and with --requeue/--resubmit comes back and resumes\n"
      "until the sweep is complete. Options after -- go to `hqsweep run`. docs/slurm.md.\n\n"
      "Options");
  std::string sweep_path, out, template_path;
  std::vector<std::string> overrides;
  std::size_t max_runs = kDefaultMaxRuns;
  options.add_options()("help,h", "show this help")("sweep", po::value(&sweep_path)->required(),
                                                    "the sweep file")(
      "out", po::value(&out), "results file (default: results/<sweep name>.h5)")(
      "set", po::value(&overrides)->composing(), "KEY=VALUE applied to every run (passed on)")(
      "max-runs", po::value(&max_runs)->default_value(max_runs),
      "refuse sweeps with more runs (passed on)")(
      "dry-run", "print the batch script; write and submit nothing")(
      "template", po::value(&template_path),
      "another batch script template (default: the built-in scripts/slurm/hqsweep.sbatch.in)");
  for (const SlurmKey& key : slurm_keys()) {
    options.add_options()(key.option.c_str(), po::value<std::vector<std::string>>()->composing(),
                          key.help.c_str());
  }
  po::positional_options_description positional;
  positional.add("sweep", 1);
  po::variables_map vm;
  if (!parse_arguments(
          name, "SWEEP [--time T] [--array N] [--requeue N] ... [--dry-run] [-- RUN OPTIONS]",
          options, positional, args, vm))
    return 0;

  const JsonSource source = JsonSource::from_file(sweep_path);
  const Sweep sweep = expand_sweep(source, SweepOptions{overrides, max_runs});
  SlurmSettings settings = read_slurm_settings(source, slurm_overrides(vm));
  if (sweep.study && settings.array > 0) {
    throw Error(sweep_path +
                ": a study is one results file and cannot run as a job array (--array); submit "
                "it as one job with as many tasks as it has workers (its requeues continue it)");
  }
  std::string template_text;
  if (!template_path.empty()) {
    try {
      template_text = read_text_file(template_path);
    } catch (const Error&) {
      throw Error(template_path + ": cannot read the batch script template");
    }
  }
  if (out.empty()) out = default_results_path(sweep.name, sweep_path);
  if (settings.job_name.empty()) settings.job_name = sweep_stem(sweep.name, sweep_path);

  BatchJob job = batch_job(settings, sweep_path, out);
  for (const std::string& o : overrides) job.run_args.push_back("--set=" + o);
  if (max_runs != kDefaultMaxRuns) job.run_args.push_back("--max-runs=" + std::to_string(max_runs));
  job.run_args.insert(job.run_args.end(), settings.run_args.begin(), settings.run_args.end());
  job.run_args.insert(job.run_args.end(), run_args.begin(), run_args.end());
  std::string text;
  try {
    text = make_batch_script(job, template_text);
  } catch (const Error& e) {
    throw Error((template_path.empty() ? "" : template_path + ": ") + e.what());
  }
  if (vm.count("dry-run")) {
    std::cout << text;
    return 0;
  }
  const std::string job_id = write_and_submit(job, text);
  std::cout << fmt::format(
      "submitted job {}{}: {} runs of {} -> {}\n  script: {}\n  follow:  hqsweep status {}\n",
      job_id, job.settings.array > 0 ? fmt::format(" (array of {})", job.settings.array) : "",
      planned_run_count(sweep), sweep_path, out, job.script_path, job.results_path);
  if (job.settings.array > 0) std::cout << "  then:    hqsweep merge " << job.results_path << "\n";
  return 0;
}

}  // namespace hqsweep
