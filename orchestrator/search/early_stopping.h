// Stopping runs early from the values they report each epoch: ASHA (asynchronous successive
// halving, Li et al. arXiv:1810.05934), Hyperband's brackets of it, and the median rule. Rank 0
// asks as each report arrives and never waits for other runs: a decision uses what has arrived.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "orchestrator/search/search_space.h"

namespace hqsweep {

class EarlyStopping {
 public:
  explicit EarlyStopping(const StoppingSpec& spec);
  ~EarlyStopping();
  EarlyStopping(EarlyStopping&&) noexcept;
  EarlyStopping& operator=(EarlyStopping&&) noexcept;

  // Run `run_id` reached `epoch` (1-based, in order; an epoch reported again is ignored) with
  // `value` of the spec's metric: whether it should stop now. A run is judged by its best value
  // so far, the one it would keep if stopped (best-epoch restore).
  bool report(const std::string& run_id, int64_t epoch, double value);
  // A run ended (done or stopped): the median rule counts finished runs only.
  void finished(const std::string& run_id);
  // A stored run's curve (resume): its reports again, without decisions, and it is finished.
  void replay(const std::string& run_id, const std::vector<double>& curve);

  // ASHA's and Hyperband's rungs of a run: the epochs where it is judged.
  std::vector<int64_t> rungs_of(const std::string& run_id) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace hqsweep
