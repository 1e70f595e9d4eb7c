// `hqsweep submit`, `hqsweep status` and `hqsweep merge`.
#include "orchestrator/slurm_commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include "common/error.h"
#include "common/json_source.h"
#include "orchestrator/command_options.h"
#include "orchestrator/slurm.h"
#include "orchestrator/sweep.h"
#include "orchestrator/text_table.h"
#include "store/merge.h"
#include "store/result_store.h"

namespace hqsweep {

namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;

std::string default_results_path(const Sweep& sweep, const std::string& sweep_path) {
  const std::string stem = sweep.name.empty() ? fs::path(sweep_path).stem().string() : sweep.name;
  return "results/" + stem + ".h5";
}

// results/x.shard-I-of-N.h5 beside results/x.h5, sorted by I.
std::vector<std::string> shard_files(const std::string& results_path) {
  const fs::path path(results_path);
  const fs::path directory = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const std::regex pattern(
      std::regex_replace(path.stem().string(), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
      R"(\.shard-(\d+)-of-(\d+)\.h5)");
  std::vector<std::pair<int, std::string>> found;
  if (!fs::is_directory(directory)) return {};
  for (const auto& entry : fs::directory_iterator(directory)) {
    std::smatch match;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, match, pattern))
      found.emplace_back(std::stoi(match[1].str()), (directory / name).string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> files;
  for (auto& [index, file] : found) files.push_back(file);
  return files;
}

std::string local_time_text(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm local = {};
  localtime_r(&now, &local);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, format, &local);
  return buffer;
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
  options.add_options()("help,h", "show this help")("sweep", po::value(&sweep_path)->required(),
                                                    "the sweep file")(
      "out", po::value(&out), "results file (default: results/<sweep name>.h5)")(
      "set", po::value(&overrides)->composing(), "KEY=VALUE applied to every run (passed on)")(
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
  const Sweep sweep = expand_sweep(source, SweepOptions{overrides, 100000});
  nlohmann::json from_options = nlohmann::json::object();
  for (const SlurmKey& key : slurm_keys()) {
    if (!vm.count(key.option)) continue;
    const auto& values = vm[key.option].as<std::vector<std::string>>();
    if (key.is_list) {
      from_options[key.name] = values;
    } else {
      from_options[key.name] = values.back();  // the last one given counts
    }
  }
  SlurmSettings settings = read_slurm_settings(source, from_options);

  std::string template_text;
  if (!template_path.empty()) {
    std::ifstream in(template_path);
    if (!in) throw Error(template_path + ": cannot read the batch script template");
    std::stringstream text;
    text << in.rdbuf();
    template_text = text.str();
  }

  if (out.empty()) out = default_results_path(sweep, sweep_path);
  BatchJob job;
  job.working_directory = fs::current_path().string();
  job.executable = fs::read_symlink("/proc/self/exe").string();
  job.sweep_path = fs::absolute(sweep_path).lexically_normal().string();
  job.results_path = fs::absolute(out).lexically_normal().string();
  job.jobs_path = jobs_file_path(job.results_path);
  const fs::path slurm_directory = fs::path(job.results_path).parent_path() / "slurm";
  if (settings.job_name.empty())
    settings.job_name = sweep.name.empty() ? fs::path(sweep_path).stem().string() : sweep.name;
  if (settings.output.empty())
    settings.output =
        (slurm_directory / (settings.array > 0 ? "%x-%A_%a.out" : "%x-%j.out")).string();
  fs::path script = slurm_directory / fmt::format("{}-{}.sbatch", settings.job_name,
                                                  local_time_text("%Y%m%d-%H%M%S"));
  for (int n = 2; fs::exists(script); ++n)
    script = slurm_directory /
             fmt::format("{}-{}-{}.sbatch", settings.job_name, local_time_text("%Y%m%d-%H%M%S"), n);
  job.script_path = script.string();
  for (const std::string& o : overrides) job.run_args.push_back("--set=" + o);
  job.run_args.insert(job.run_args.end(), settings.run_args.begin(), settings.run_args.end());
  job.run_args.insert(job.run_args.end(), run_args.begin(), run_args.end());
  job.settings = settings;
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
  fs::create_directories(slurm_directory);
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
  std::cout << fmt::format(
      "submitted job {}{}: {} runs of {} -> {}\n  script: {}\n  follow:  hqsweep status {}\n",
      job_id, settings.array > 0 ? fmt::format(" (array of {})", settings.array) : "",
      sweep.runs.size(), sweep_path, out, script.string(), job.results_path);
  if (settings.array > 0) std::cout << "  then:    hqsweep merge " << job.results_path << "\n";
  return 0;
}

int status_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options(
      "Show a sweep's progress from its results file (and a job array's shard files) next to\n"
      "the state of the Slurm jobs `hqsweep submit` recorded for it. Give the sweep file (runs "
      "not\n"
      "started yet are counted too) or the results file.\n\nOptions");
  std::string target, out;
  std::vector<std::string> overrides;
  options.add_options()("help,h", "show this help")("target", po::value(&target)->required(),
                                                    "the sweep file or the results file")(
      "out", po::value(&out), "results file of a sweep file (default: results/<sweep name>.h5)")(
      "set", po::value(&overrides)->composing(), "KEY=VALUE, as given to run or submit");
  po::positional_options_description positional;
  positional.add("target", 1);
  po::variables_map vm;
  if (!parse_arguments(name, "SWEEP.json | RESULTS.h5 [--out RESULTS.h5]", options, positional,
                       args, vm))
    return 0;

  std::optional<Sweep> sweep;
  if (fs::path(target).extension() == ".h5") {
    out = target;
  } else {
    sweep = expand_sweep_file(target, SweepOptions{overrides, 100000});
    if (out.empty()) out = default_results_path(*sweep, target);
  }
  std::vector<std::string> files;
  if (fs::exists(out)) files.push_back(out);
  for (const std::string& shard : shard_files(out)) files.push_back(shard);
  if (files.empty() && !sweep)
    throw Error(out + ": no such results file, and no shard files beside it");

  // Per run the best status over every file (a done copy wins).
  std::map<std::string, RunStatus> status;
  std::vector<std::vector<std::string>> file_rows;
  int64_t planned_total = 0;
  for (const std::string& file : files) {
    ResultStore store = ResultStore::open_for_reading(file);
    std::map<RunStatus, int64_t> counts;
    for (const RunSummary& run : store.list()) {
      ++counts[run.status];
      auto [it, fresh] = status.emplace(run.run_id, run.status);
      const bool finished = run.status == RunStatus::done || run.status == RunStatus::diverged;
      if (!fresh && finished) it->second = run.status;  // a finished copy wins
    }
    const auto records = store.sweeps();
    const int64_t planned = records.empty() ? 0 : records.back().run_count;
    if (file != out || files.size() == 1) planned_total += planned;
    const auto modified = fs::last_write_time(file);
    const double age =
        std::chrono::duration<double>(fs::file_time_type::clock::now() - modified).count();
    file_rows.push_back({file, std::to_string(planned), std::to_string(counts[RunStatus::done]),
                         std::to_string(counts[RunStatus::failed] + counts[RunStatus::timeout]),
                         std::to_string(counts[RunStatus::cancelled]),
                         format_duration(age) + " ago"});
  }
  if (!file_rows.empty()) {
    std::cout << format_table({"results file", "runs", "done", "failed", "cancelled", "written"},
                              file_rows);
  }

  std::map<RunStatus, int64_t> totals;
  int64_t not_started = 0, total = 0;
  if (sweep) {
    total = static_cast<int64_t>(sweep->runs.size());
    for (const RunSpec& run : sweep->runs) {
      auto it = status.find(run.run_id);
      if (it == status.end()) {
        ++not_started;
      } else {
        ++totals[it->second];
      }
    }
  } else {
    for (const auto& [id, s] : status) ++totals[s];
    // Each file records how many runs its sweep (or shard) has; shards add up to the whole.
    total = std::max(planned_total, static_cast<int64_t>(status.size()));
    not_started = std::max<int64_t>(0, total - static_cast<int64_t>(status.size()));
  }
  const int64_t finished = totals[RunStatus::done] + totals[RunStatus::diverged];
  std::cout << fmt::format(
      "{}: {} of {} runs finished ({:.0f}%): {} done, {} diverged, {} failed, {} timed out, {} "
      "cancelled (resume runs them), {} not started\n",
      sweep ? target : out, finished, total,
      total > 0 ? 100.0 * static_cast<double>(finished) / static_cast<double>(total) : 0.0,
      totals[RunStatus::done], totals[RunStatus::diverged], totals[RunStatus::failed],
      totals[RunStatus::timeout], totals[RunStatus::cancelled], not_started);

  const std::vector<std::string> job_ids =
      read_job_ids(jobs_file_path(fs::absolute(out).lexically_normal().string()));
  if (job_ids.empty()) {
    std::cout << "Slurm: no jobs recorded for " << out << " (hqsweep submit records them)\n";
    return 0;
  }
  std::vector<SlurmJobState> states;
  try {
    states = query_slurm_jobs(job_ids);
  } catch (const Error& e) {
    std::cout << "Slurm: jobs " << fmt::format("{}", fmt::join(job_ids, ", "))
              << "; state unknown: " << e.what() << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const SlurmJobState& s : states) {
    rows.push_back({s.job_id, s.state, s.reason, s.run_time.empty() ? "-" : s.run_time,
                    s.time_limit.empty() ? "-" : s.time_limit, std::to_string(s.restarts),
                    s.nodes.empty() ? "-" : s.nodes, s.exit_code.empty() ? "-" : s.exit_code});
  }
  std::cout << "\n"
            << format_table(
                   {"job", "state", "reason", "elapsed", "limit", "requeued", "nodes", "exit"},
                   rows);
  return 0;
}

int merge_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options(
      "Combine results files (a job array's shards) into one: each run once, a finished copy\n"
      "before a failed or cancelled one; finished copies that disagree are reported as\n"
      "conflicts (exit code 3). MERGED.h5 may exist: its runs stay. Without inputs, the shard\n"
      "files beside MERGED.h5 (MERGED.shard-I-of-N.h5) are merged.\n\nOptions");
  std::string out;
  std::vector<std::string> inputs;
  options.add_options()("help,h", "show this help")("out", po::value(&out)->required(),
                                                    "the merged results file")(
      "inputs", po::value(&inputs)->composing(), "the files to merge");
  po::positional_options_description positional;
  positional.add("out", 1).add("inputs", -1);
  po::variables_map vm;
  if (!parse_arguments(name, "MERGED.h5 [SHARD.h5 ...]", options, positional, args, vm)) return 0;
  if (inputs.empty()) {
    inputs = shard_files(out);
    if (inputs.empty())
      throw Error("no input files given, and no shard files " + fs::path(out).stem().string() +
                  ".shard-I-of-N.h5 beside " + out);
  }
  const MergeSummary summary = merge_results(out, inputs);
  for (const MergeConflict& conflict : summary.conflicts) {
    std::cerr << fmt::format("conflict: run {}: {} in {} vs {}; kept {}'s\n", conflict.run_id,
                             conflict.difference, conflict.kept_file, conflict.other_file,
                             conflict.kept_file);
  }
  std::cout << fmt::format(
      "{}: {} runs added from {} files, {} already there, {} duplicate copies skipped, {} "
      "conflicts\n",
      out, summary.added, inputs.size(), summary.already_there, summary.duplicate_copies,
      summary.conflicts.size());
  return summary.conflicts.empty() ? 0 : 3;
}

}  // namespace hqsweep
