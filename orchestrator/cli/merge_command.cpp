// `hqsweep merge`: results files (a job array's shards) into one.
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
