// Proposals of a study's next trial from its trials so far: random, or TPE (Bergstra et al. 2011,
// in the form Watanabe's ablation arXiv:2304.11127 recommends and Optuna's default takes;
// docs/search.md says what was chosen). A proposal is a pure function of the study's settings,
// the trial number and the trials so far, so that a resumed study proposes what an uninterrupted
// one would have.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "orchestrator/search/search_space.h"

namespace hqsweep {

enum class TrialState { complete, pruned, running, failed };

struct TrialRecord {
  int64_t number = 0;
  Params params;
  TrialState state = TrialState::running;
  // complete: the study metric; pruned: its value at the last epoch reached.
  double value = std::numeric_limits<double>::quiet_NaN();
  int64_t epochs = 0;  // pruned: the epochs it ran before it was stopped
};

// Whether `key` applies to a trial given the values sampled for it so far.
using AppliesTo = std::function<bool(const std::string& key, const Params& sampled)>;

// Choices are sampled first, in the order of the space, then numbers; a key is sampled only when
// it applies. Running trials count as the worst (constant liar), so that concurrent proposals
// spread out; failed trials are left out.
Params propose(const SearchSpec& spec, const std::vector<TrialRecord>& trials, int64_t number,
               const AppliesTo& applies, uint64_t redraw = 0);

}  // namespace hqsweep
