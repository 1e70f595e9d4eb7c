// ASHA: rungs at min_epochs x r^k; a run reaching a rung goes on when its value is among the best
// max(1, floor(n / r)) of the n values recorded at that rung so far (itself included), as Optuna's
// SuccessiveHalvingPruner decides. Hyperband: brackets of ASHA whose first rung is min_epochs x
// r^b, runs spread over them by a hash of their run_id in the proportions of Li et al.'s
// Hyperband. Median: after min_epochs, a run stops when its best value so far is worse than the
// median of finished runs' best values at the same epoch, once startup_runs have finished.
#include "orchestrator/search/early_stopping.h"

#include <algorithm>
#include <cmath>

namespace hqsweep {

struct EarlyStopping::State {
  StoppingSpec spec;
  struct Run {
    int64_t epochs = 0;
    double best = -INFINITY;          // oriented: larger is better
    std::vector<double> best_so_far;  // per epoch
    bool finished = false;
  };
  std::map<std::string, Run> runs;
  // ASHA and Hyperband: per bracket, per rung epoch, the values recorded there.
  std::map<int64_t, std::map<int64_t, std::vector<double>>> rungs;
  std::vector<int64_t> bracket_weights;  // Hyperband

  double oriented(double value) const { return spec.mode == MetricMode::max ? value : -value; }

  int64_t bracket_of(const std::string& run_id) const {
    if (spec.algorithm != StoppingAlgorithm::hyperband || bracket_weights.size() <= 1) return 0;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : run_id) h = (h ^ c) * 0x100000001b3ULL;
    int64_t total = 0;
    for (int64_t w : bracket_weights) total += w;
    auto pick = static_cast<int64_t>(h % static_cast<uint64_t>(total));
    for (std::size_t b = 0; b < bracket_weights.size(); ++b) {
      if (pick < bracket_weights[b]) return static_cast<int64_t>(b);
      pick -= bracket_weights[b];
    }
    return 0;
  }

  // Rung epochs of a bracket, up to max_epochs when it is known.
  std::vector<int64_t> rungs_of_bracket(int64_t bracket) const {
    std::vector<int64_t> out;
    double epoch = static_cast<double>(spec.min_epochs);
    for (int64_t b = 0; b < bracket; ++b) epoch *= static_cast<double>(spec.reduction_factor);
    for (; epoch < 1e9; epoch *= static_cast<double>(spec.reduction_factor)) {
      if (spec.max_epochs > 0 && epoch >= static_cast<double>(spec.max_epochs)) break;
      out.push_back(static_cast<int64_t>(epoch));
    }
    return out;
  }

  bool at_rung(const std::string& run_id, int64_t epoch, double value) {
    const int64_t bracket = bracket_of(run_id);
    const std::vector<int64_t> epochs = rungs_of_bracket(bracket);
    if (std::find(epochs.begin(), epochs.end(), epoch) == epochs.end()) return false;
    std::vector<double>& values = rungs[bracket][epoch];
    values.push_back(value);
    std::vector<double> sorted = values;
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    const std::size_t going_on =
        std::max<std::size_t>(1, values.size() / static_cast<std::size_t>(spec.reduction_factor));
    return value < sorted[going_on - 1];
  }

  bool below_median(const std::string& run_id, int64_t epoch, double value) const {
    if (epoch < spec.min_epochs) return false;
    std::vector<double> others;
    for (const auto& [id, run] : runs) {
      if (id == run_id || !run.finished || run.best_so_far.empty()) continue;
      const std::size_t at = std::min(run.best_so_far.size(), static_cast<std::size_t>(epoch)) - 1;
      others.push_back(run.best_so_far[at]);
    }
    if (static_cast<int64_t>(others.size()) < std::max<int64_t>(1, spec.startup_runs)) return false;
    std::sort(others.begin(), others.end());
    const std::size_t n = others.size();
    const double median = n % 2 ? others[n / 2] : 0.5 * (others[n / 2 - 1] + others[n / 2]);
    return value < median;
  }

  // Records the report; returns the decision when `decide`.
  bool record(const std::string& run_id, int64_t epoch, double value, bool decide) {
    Run& run = runs[run_id];
    if (epoch <= run.epochs) return false;  // a resumed run reports its restored epochs again
    if (std::isfinite(value)) run.best = std::max(run.best, oriented(value));
    run.epochs = epoch;
    run.best_so_far.resize(static_cast<std::size_t>(epoch), run.best);
    switch (spec.algorithm) {
      case StoppingAlgorithm::asha:
      case StoppingAlgorithm::hyperband:
        return at_rung(run_id, epoch, run.best) && decide;
      case StoppingAlgorithm::median:
        return decide && below_median(run_id, epoch, run.best);
      case StoppingAlgorithm::none:
        return false;
    }
    return false;
  }
};

EarlyStopping::EarlyStopping(const StoppingSpec& spec) : state_(std::make_unique<State>()) {
  state_->spec = spec;
  state_->spec.min_epochs = std::max<int64_t>(1, spec.min_epochs);
  state_->spec.reduction_factor = std::max<int64_t>(2, spec.reduction_factor);
  if (spec.algorithm == StoppingAlgorithm::hyperband) {
    // Brackets b = 0..S-1 with S - 1 - b halvings; bracket b gets ceil(S / (S - b) * r^(S-1-b))
    // of every round of runs, as in Hyperband.
    const double r = static_cast<double>(state_->spec.reduction_factor);
    const double span = spec.max_epochs > state_->spec.min_epochs
                            ? static_cast<double>(spec.max_epochs) / state_->spec.min_epochs
                            : 1.0;
    const auto brackets = static_cast<int64_t>(std::floor(std::log(span) / std::log(r) + 1e-9)) + 1;
    for (int64_t b = 0; b < brackets; ++b) {
      const double halvings = static_cast<double>(brackets - 1 - b);
      state_->bracket_weights.push_back(static_cast<int64_t>(
          std::ceil(static_cast<double>(brackets) / (halvings + 1) * std::pow(r, halvings))));
    }
  }
}

EarlyStopping::~EarlyStopping() = default;
EarlyStopping::EarlyStopping(EarlyStopping&&) noexcept = default;
EarlyStopping& EarlyStopping::operator=(EarlyStopping&&) noexcept = default;

bool EarlyStopping::report(const std::string& run_id, int64_t epoch, double value) {
  return state_->record(run_id, epoch, value, true);
}

void EarlyStopping::finished(const std::string& run_id) {
  state_->runs[run_id].finished = true;
}

void EarlyStopping::replay(const std::string& run_id, const std::vector<double>& curve) {
  for (std::size_t e = 0; e < curve.size(); ++e)
    state_->record(run_id, static_cast<int64_t>(e + 1), curve[e], false);
  finished(run_id);
}

std::vector<int64_t> EarlyStopping::rungs_of(const std::string& run_id) const {
  return state_->rungs_of_bracket(state_->bracket_of(run_id));
}

}  // namespace hqsweep
