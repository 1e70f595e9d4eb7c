// A trial from its runs.
#include "orchestrator/search/trial_outcome.h"

#include <algorithm>
#include <cmath>

namespace hqsweep {

void close_trial(const std::vector<RunOutcome>& runs, TrialRecord& record) {
  double sum = 0;
  int values = 0;
  bool all_ended = !runs.empty(), pruned = false;
  record.epochs = 0;
  for (const RunOutcome& run : runs) {
    all_ended = all_ended && run.ended;
    record.epochs = std::max(record.epochs, run.epochs);
    if (!run.finished) continue;
    pruned = pruned || run.pruned;
    if (std::isfinite(run.value)) {
      sum += run.value;
      ++values;
    }
  }
  record.value = std::numeric_limits<double>::quiet_NaN();
  if (!all_ended) {
    record.state = TrialState::running;
  } else if (values == 0) {
    record.state = TrialState::failed;
  } else {
    record.value = sum / values;
    record.state = pruned ? TrialState::pruned : TrialState::complete;
  }
}

}  // namespace hqsweep
