// `hqsweep status`: a sweep's progress next to the state of its Slurm jobs.
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

#include "common/clock.h"
#include "common/error.h"
#include "common/exit_codes.h"
#include "common/json_source.h"
#include "common/text.h"
#include "orchestrator/cli/command_line.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/report/text_table.h"
#include "orchestrator/run/progress.h"
#include "orchestrator/slurm/slurm.h"
#include "orchestrator/sweep/sweep.h"
#include "store/merge.h"
#include "store/result_store.h"
#include "store/results_paths.h"
#include "store/writer_lock.h"

namespace hqsweep {

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace {

// What the results files hold: per run the copy that counts (store/run_result.h), one table row
// per file, and how many runs the files' sweep records plan.
struct Holdings {
  std::map<std::string, RunStatus> status;
  std::vector<std::vector<std::string>> file_rows;
  int64_t planned_total = 0;
};

// The runs a file's sweep records plan: its latest record's, or, for the shards of one sweep
// (a merged file holds each shard's record), the sum over its shards.
int64_t planned_runs(const std::vector<SweepRecord>& records) {
  if (records.empty()) return 0;
  const SweepRecord& latest = records.back();
  if (latest.shard_count <= 1) return latest.run_count;
  std::map<int, int64_t> per_shard;  // the latest record of each shard
  for (const SweepRecord& r : records) {
    if (r.text == latest.text && r.shard_count == latest.shard_count)
      per_shard[r.shard_index] = r.run_count;
  }
  int64_t total = 0;
  for (const auto& [index, count] : per_shard) total += count;
  return total;
}

Holdings read_holdings(const std::vector<std::string>& files, const std::string& out) {
  Holdings holdings;
  for (const std::string& file : files) {
    ResultStore store = ResultStore::open_for_reading(file);
    std::map<RunStatus, int64_t> counts;
    for (const RunSummary& run : store.list()) {
      ++counts[run.status];
      auto [it, fresh] = holdings.status.emplace(run.run_id, run.status);
      if (!fresh && replaces_copy(run.status, it->second)) it->second = run.status;
    }
    const int64_t planned = planned_runs(store.sweeps());
    if (file != out || files.size() == 1) holdings.planned_total += planned;
    const auto modified = fs::last_write_time(file);
    const double age =
        std::chrono::duration<double>(fs::file_time_type::clock::now() - modified).count();
    holdings.file_rows.push_back(
        {file, std::to_string(planned), std::to_string(counts[RunStatus::done]),
         std::to_string(counts[RunStatus::pruned]),
         std::to_string(counts[RunStatus::failed] + counts[RunStatus::timeout]),
         std::to_string(counts[RunStatus::cancelled] + counts[RunStatus::proposed]),
         format_duration(age) + " ago"});
  }
  return holdings;
}

// The sweep's progress in one line: against the sweep file's runs when given, else against what
// the files' sweep records plan (shards add up to the whole).
void print_progress(const Holdings& holdings, const std::optional<Sweep>& sweep,
                    const std::string& shown_name) {
  std::map<RunStatus, int64_t> totals;
  int64_t not_started = 0, total = 0;
  if (sweep && !sweep->study) {
    total = static_cast<int64_t>(sweep->runs.size());
    for (const RunSpec& run : sweep->runs) {
      auto it = holdings.status.find(run.run_id);
      if (it == holdings.status.end()) {
        ++not_started;
      } else {
        ++totals[it->second];
      }
    }
  } else {
    for (const auto& [id, s] : holdings.status) ++totals[s];
    const auto held = static_cast<int64_t>(holdings.status.size());
    // A study's runs are proposed as it goes: its plan is trials x seeds.
    total = std::max(
        sweep ? static_cast<int64_t>(planned_run_count(*sweep)) : holdings.planned_total, held);
    not_started = std::max<int64_t>(0, total - held);
  }
  const int64_t finished =
      totals[RunStatus::done] + totals[RunStatus::diverged] + totals[RunStatus::pruned];
  std::cout << fmt::format(
      "{}: {} of {} runs finished ({:.0f}%): {} done, {} diverged, {} pruned, {} failed, {} timed "
      "out, {} cancelled or proposed (resume runs them), {} not started\n",
      shown_name, finished, total,
      total > 0 ? 100.0 * static_cast<double>(finished) / static_cast<double>(total) : 0.0,
      totals[RunStatus::done], totals[RunStatus::diverged], totals[RunStatus::pruned],
      totals[RunStatus::failed], totals[RunStatus::timeout],
      totals[RunStatus::cancelled] + totals[RunStatus::proposed], not_started);
}

// While a sweep writes the file: what its coordinator last wrote of its running runs (their
// epochs and latest validation values) and its ETA. A progress file without a writer is left
// from a sweep that was killed; it says nothing then.
void print_running(const std::string& out) {
  const std::optional<ProgressSnapshot> snapshot = read_progress_file(out);
  if (!snapshot || WriterLock::holder(out).empty()) return;
  std::cout << fmt::format("running now (as of {} ago): {}\n",
                           format_duration(std::max(0.0, wall_seconds() - snapshot->updated)),
                           progress_line(*snapshot, 0));
  std::vector<std::vector<std::string>> rows;
  for (const RunningRun& r : snapshot->running_runs) {
    rows.push_back({r.run_id,
                    r.epoch == 0   ? "-"
                    : r.epochs > 0 ? fmt::format("{}/{}", r.epoch, r.epochs)
                                   : std::to_string(r.epoch),
                    r.metric.empty() ? "-" : fmt::format("{} {:.4g}", r.metric, r.value)});
  }
  if (!rows.empty()) std::cout << format_table({"run_id", "epoch", "latest"}, rows);
}

// What Slurm says of the jobs `hqsweep submit` recorded beside the results file.
void print_slurm_jobs(const std::string& out) {
  const std::vector<std::string> job_ids =
      read_job_ids(slurm_jobs_path(fs::absolute(out).lexically_normal().string()));
  if (job_ids.empty()) {
    std::cout << "Slurm: no jobs recorded for " << out << " (hqsweep submit records them)\n";
    return;
  }
  std::vector<SlurmJobState> states;
  try {
    states = query_slurm_jobs(job_ids);
  } catch (const Error& e) {
    std::cout << "Slurm: jobs " << join(job_ids, ", ") << "; state unknown: " << e.what() << "\n";
    return;
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
}

}  // namespace

int status_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options(
      "Show a sweep's progress from its results file (and a job array's shard files) next to\n"
      "the state of the Slurm jobs `hqsweep submit` recorded for it; while a sweep runs, also\n"
      "its running runs' epochs and latest validation values and its ETA. Give the sweep file\n"
      "(runs not started yet are counted too) or the results file.\n\nOptions");
  std::string target, out;
  std::vector<std::string> overrides;
  std::size_t max_runs = kDefaultMaxRuns;
  options.add_options()("help,h", "show this help")("target", po::value(&target)->required(),
                                                    "the sweep file or the results file")(
      "out", po::value(&out), "results file of a sweep file (default: results/<sweep name>.h5)")(
      "set", po::value(&overrides)->composing(), "KEY=VALUE, as given to run or submit")(
      "max-runs", po::value(&max_runs)->default_value(max_runs), "refuse sweeps with more runs");
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
    sweep = expand_sweep_file(target, SweepOptions{overrides, max_runs});
    if (out.empty()) out = default_results_path(sweep->name, target);
  }
  std::vector<std::string> files;
  if (fs::exists(out)) files.push_back(out);
  for (const std::string& shard : shard_files(out)) files.push_back(shard);
  if (files.empty() && !sweep)
    throw Error(out + ": no such results file, and no shard files beside it");

  const Holdings holdings = read_holdings(files, out);
  if (!holdings.file_rows.empty()) {
    std::cout << format_table(
        {"results file", "runs", "done", "pruned", "failed", "cancelled", "written"},
        holdings.file_rows);
  }
  print_progress(holdings, sweep, sweep ? target : out);
  print_running(out);
  print_slurm_jobs(out);
  return 0;
}

}  // namespace hqsweep
