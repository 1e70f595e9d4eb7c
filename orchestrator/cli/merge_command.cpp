// `hqsweep merge`: results files (a job array's shards) into one.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
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
#include "orchestrator/slurm/slurm.h"
#include "orchestrator/sweep/sweep.h"
#include "store/merge.h"
#include "store/result_store.h"
#include "store/results_paths.h"

namespace hqsweep {

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace {

// What an input says it holds: its latest sweep record (none for files written without a sweep).
struct InputSweep {
  std::string file;
  std::optional<SweepRecord> record;
};

std::vector<InputSweep> read_input_sweeps(const std::vector<std::string>& inputs) {
  std::vector<InputSweep> out;
  for (const std::string& file : inputs) {
    const std::vector<SweepRecord> records = ResultStore::open_for_reading(file).sweeps();
    out.push_back({file, records.empty() ? std::nullopt : std::optional(records.back())});
  }
  return out;
}

// Inputs must be shards of one sweep with one shard count, each shard once, or whole files of
// one sweep; returns the shard count (1 for whole files, 0 when no input records a sweep).
int check_inputs_belong_together(const std::vector<InputSweep>& inputs) {
  const InputSweep* first = nullptr;
  std::map<int, std::string> shard_files;
  for (const InputSweep& input : inputs) {
    if (!input.record) continue;
    const SweepRecord& r = *input.record;
    if (first == nullptr) first = &input;
    const SweepRecord& f = *first->record;
    if (r.text != f.text) {
      throw Error(input.file + " holds runs of the sweep " + r.source + ", but " + first->file +
                  " of " + f.source +
                  " (a different sweep file); merge files of one sweep, or "
                  "pass --force to mix them");
    }
    if (r.shard_count != f.shard_count) {
      throw Error(input.file + " is shard " + std::to_string(r.shard_index) + "/" +
                  std::to_string(r.shard_count) + ", but " + first->file + " is " +
                  (f.shard_count > 1 ? "shard " + std::to_string(f.shard_index) + "/" +
                                           std::to_string(f.shard_count)
                                     : std::string("the whole sweep")) +
                  "; shards of different splits do not add up (pass --force to merge anyway)");
    }
    if (r.shard_count > 1) {
      auto [it, fresh] = shard_files.emplace(r.shard_index, input.file);
      if (!fresh) {
        throw Error("shard " + std::to_string(r.shard_index) + "/" + std::to_string(r.shard_count) +
                    " is given twice: " + it->second + " and " + input.file);
      }
    }
  }
  return first == nullptr ? 0 : first->record->shard_count;
}

// For shards: warns of the shards that are not there, and records the whole sweep in the merged
// file, so that `hqsweep status MERGED.h5` counts the runs of every shard.
void record_the_whole_sweep(const std::string& out, const std::vector<InputSweep>& inputs,
                            int shard_count, const std::string& command_line) {
  const SweepRecord* any = nullptr;
  std::set<int> present;
  for (const InputSweep& input : inputs) {
    if (!input.record) continue;
    any = &*input.record;
    present.insert(input.record->shard_index);
  }
  if (any == nullptr) return;
  SweepRecord whole = *any;
  Sweep sweep;
  try {
    sweep =
        expand_sweep(JsonSource::from_text(any->text, any->source), SweepOptions{any->overrides});
  } catch (const Error& e) {
    std::cerr << "note: the recorded sweep " << any->source << " no longer expands (" << e.what()
              << "); shards not checked for completeness\n";
    return;
  }
  std::vector<std::string> missing;
  int64_t missing_runs = 0;
  for (int index = 0; index < shard_count; ++index) {
    if (present.count(index)) continue;
    missing.push_back(std::to_string(index));
    for (const RunSpec& run : sweep.runs)
      missing_runs += in_shard(run.run_id, {index, shard_count});
  }
  if (!missing.empty()) {
    std::cerr << fmt::format(
        "warning: shard{} {} of {} missing ({} of the sweep's {} runs); merge again when {} "
        "there (hqsweep status {} lists what is missing)\n",
        missing.size() > 1 ? "s" : "", join(missing, ", "), shard_count, missing_runs,
        sweep.runs.size(), missing.size() > 1 ? "they are" : "it is", out);
  }
  whole.run_count = static_cast<int64_t>(sweep.runs.size());
  whole.shard_index = 0;
  whole.shard_count = 1;
  whole.command_line = command_line;
  whole.recorded_time = wall_seconds();
  ResultStore::open_for_writing(out).record_sweep(whole);
}

}  // namespace

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
      "inputs", po::value(&inputs)->composing(), "the files to merge")(
      "force", "merge files of different sweeps or shard splits anyway");
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
  const std::vector<InputSweep> sweeps = read_input_sweeps(inputs);
  const int shard_count = vm.count("force") ? 0 : check_inputs_belong_together(sweeps);
  const MergeSummary summary = merge_results(out, inputs);
  if (shard_count > 1) {
    std::string command_line = "hqsweep " + name;
    for (const std::string& a : args) command_line += " " + a;
    record_the_whole_sweep(out, sweeps, shard_count, command_line);
  }
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
