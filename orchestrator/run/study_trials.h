// A study's trials as rank 0 keeps them: restored from the results file, proposed one at a time
// with their trial numbers, ended as their runs end. The results file is the study's state: what
// was proposed is stored (status proposed) before its runs are handed out, so that a restart
// continues the same trials under the same numbers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/search/sampler.h"
#include "orchestrator/search/trial_outcome.h"
#include "orchestrator/sweep/sweep.h"
#include "store/run_result.h"

namespace hqsweep {

struct StudyCounts {
  int64_t complete = 0, pruned = 0, failed = 0, running = 0;
};

class StudyTrials {
 public:
  explicit StudyTrials(const Study& study);

  // The stored runs of the study's file (any runs without a trial number are not the study's).
  // Returns the runs to run again: those of trials not ended, which kept no result.
  std::vector<RunSpec> restore(const std::vector<RunSummary>& stored);
  // Whether another trial may start: fewer than search.trials started.
  bool can_propose() const;
  // The next trial's runs, each with its trial number in `trial_of`; a proposal whose runs exist
  // already (the same run_id) is drawn again. Empty when no new point was found (a small space
  // exhausted): the study then ends short.
  std::vector<RunSpec> propose_next();
  // A run of the study ended for good (not cancelled, not to be retried).
  void run_ended(const RunResult& result);

  // The trial of a run, -1 when the run is not one of the study's.
  int64_t trial_of(const std::string& run_id) const;
  bool exhausted() const { return exhausted_; }
  int64_t started() const { return static_cast<int64_t>(trials_.size()); }
  StudyCounts counts() const;
  // The best complete trial so far, by the study metric.
  std::optional<TrialRecord> best() const;

 private:
  struct Trial {
    TrialRecord record;
    std::map<std::string, RunOutcome> runs;  // by run_id
  };
  std::vector<TrialRecord> history() const;
  static std::vector<RunOutcome> outcomes(const Trial& trial);
  Params params_of(const nlohmann::json& config) const;

  const Study& study_;
  std::vector<Trial> trials_;  // by number
  std::map<std::string, int64_t> trial_of_run_;
  bool exhausted_ = false;
};

}  // namespace hqsweep
