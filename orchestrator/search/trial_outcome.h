// How a trial's runs (one per seed) make the trial's state and value: the one rule, for the study
// on rank 0 and for `hqsweep report --study`.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "orchestrator/search/sampler.h"

namespace hqsweep {

struct RunOutcome {
  bool ended = false;     // a result that stays (not proposed, not cancelled)
  bool finished = false;  // done, diverged or pruned
  bool pruned = false;
  double value = std::numeric_limits<double>::quiet_NaN();  // the study metric
  int64_t epochs = 0;
};

// Running until every run has ended; then its value is the mean over its finished runs' values
// (so that one lucky seed does not win), pruned when a run of it was, failed when none gave a
// value. Sets record.state, record.value and record.epochs (the most any run trained).
void close_trial(const std::vector<RunOutcome>& runs, TrialRecord& record);

}  // namespace hqsweep
