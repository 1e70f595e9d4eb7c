// Merging results files: the shards of a Slurm job array (or any files of one study) into one,
// each run once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hqsweep {

// A run that two files disagree about; the merged file keeps `kept_file`'s copy.
struct MergeConflict {
  std::string run_id;
  std::string kept_file;
  std::string other_file;
  std::string difference;  // "test_acc 0.8333 vs 0.8269", "done vs diverged", "config differs"
};

struct MergeSummary {
  int64_t added = 0;             // runs written to the merged file
  int64_t already_there = 0;     // runs the merged file held already, as good as any input's copy
  int64_t duplicate_copies = 0;  // further copies of a run in the inputs, not written
  std::vector<MergeConflict> conflicts;
};

// Adds the runs of `inputs` to `out` (created when absent; its own runs count as one more input
// and are never replaced by a worse copy). Per run_id one copy is written: a finished one (done or
// diverged) before failed or timed-out, before cancelled; among equals the first input's. Finished
// copies with different statuses, metrics or configs are conflicts. The sweep records of every
// input are kept too. Inputs may still be written (their journals are read). Throws Error, writing
// nothing, when an input is not a results file or is `out` itself.
MergeSummary merge_results(const std::string& out, const std::vector<std::string>& inputs);

}  // namespace hqsweep
