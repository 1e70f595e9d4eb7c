// Trials of a study: restore, propose, end.
#include "orchestrator/run/study_trials.h"

#include <cmath>

#include "common/config_schema.h"
#include "common/error.h"

namespace hqsweep {

namespace {

// Redraws of a proposal whose runs exist already, before the space counts as exhausted.
constexpr uint64_t kRedraws = 64;

}  // namespace

StudyTrials::StudyTrials(const Study& study) : study_(study) {}

Params StudyTrials::params_of(const nlohmann::json& config) const {
  const FlatConfig flat = flatten_config(config);
  Params params;
  for (const ParamSpec& param : study_.search.space) {
    auto it = flat.find(param.key);
    if (it != flat.end()) params[param.key] = it->second;
  }
  return params;
}

std::vector<RunSpec> StudyTrials::restore(const std::vector<RunSummary>& stored) {
  int64_t highest = -1;
  for (const RunSummary& run : stored) highest = std::max(highest, run.trial);
  trials_.assign(static_cast<std::size_t>(highest + 1), Trial{});
  for (std::size_t n = 0; n < trials_.size(); ++n)
    trials_[n].record.number = static_cast<int64_t>(n);
  for (const RunSummary& run : stored) {
    if (run.trial < 0) continue;
    Trial& trial = trials_[static_cast<std::size_t>(run.trial)];
    trial.runs[run.run_id];
    trial_of_run_[run.run_id] = run.trial;
    if (trial.record.params.empty()) trial.record.params = params_of(run.config);
  }
  std::vector<RunSpec> again;
  for (Trial& trial : trials_) {
    if (trial.runs.empty()) {
      // A number no stored run carries (a file edited by hand) is not filled later with a
      // different proposal: it counts as failed.
      trial.record.state = TrialState::failed;
      continue;
    }
    // A trial stored in part (a kill between its runs' records) gets the rest of its runs.
    for (RunSpec& run : study_.runs_of(trial.record.params)) {
      if (trial_of_run_.count(run.run_id)) continue;
      trial.runs[run.run_id];
      trial_of_run_[run.run_id] = trial.record.number;
      again.push_back(std::move(run));
    }
  }
  for (const RunSummary& run : stored) {
    if (run.trial < 0) continue;
    if (run.status == RunStatus::proposed || run.status == RunStatus::cancelled) {
      again.push_back({run.run_id, run.config});
      continue;
    }
    RunResult ended;
    ended.run_id = run.run_id;
    ended.status = run.status;
    ended.metrics = run.metrics;
    run_ended(ended);
  }
  for (Trial& trial : trials_)
    if (!trial.runs.empty()) close_trial(outcomes(trial), trial.record);
  return again;
}

bool StudyTrials::can_propose() const {
  return !exhausted_ && started() < study_.search.trials;
}

std::vector<TrialRecord> StudyTrials::history() const {
  std::vector<TrialRecord> out;
  out.reserve(trials_.size());
  for (const Trial& trial : trials_) out.push_back(trial.record);
  return out;
}

std::vector<RunSpec> StudyTrials::propose_next() {
  const int64_t number = started();
  const std::vector<TrialRecord> so_far = history();
  for (uint64_t redraw = 0; redraw <= kRedraws; ++redraw) {
    const Params params = propose(study_.search, so_far, number, study_.applies, redraw);
    std::vector<RunSpec> runs = study_.runs_of(params);
    bool fresh = true;
    for (const RunSpec& run : runs) fresh = fresh && trial_of_run_.count(run.run_id) == 0;
    if (!fresh) continue;
    Trial trial;
    trial.record.number = number;
    trial.record.params = params;
    trial.record.state = TrialState::running;
    for (const RunSpec& run : runs) {
      trial.runs[run.run_id];
      trial_of_run_[run.run_id] = number;
    }
    trials_.push_back(std::move(trial));
    return runs;
  }
  exhausted_ = true;
  return {};
}

void StudyTrials::run_ended(const RunResult& result) {
  auto it = trial_of_run_.find(result.run_id);
  if (it == trial_of_run_.end()) return;
  Trial& trial = trials_[static_cast<std::size_t>(it->second)];
  RunOutcome& outcome = trial.runs[result.run_id];
  outcome.ended = true;
  outcome.finished = is_finished(result.status);
  outcome.pruned = result.status == RunStatus::pruned;
  const auto metric = result.metrics.find(study_.search.metric);
  if (metric != result.metrics.end()) outcome.value = metric->second;
  const auto epochs = result.metrics.find("epochs_run");
  if (epochs != result.metrics.end()) outcome.epochs = static_cast<int64_t>(epochs->second);
  close_trial(outcomes(trial), trial.record);
}

std::vector<RunOutcome> StudyTrials::outcomes(const Trial& trial) {
  std::vector<RunOutcome> out;
  for (const auto& [id, outcome] : trial.runs) out.push_back(outcome);
  return out;
}

int64_t StudyTrials::trial_of(const std::string& run_id) const {
  auto it = trial_of_run_.find(run_id);
  return it == trial_of_run_.end() ? -1 : it->second;
}

StudyCounts StudyTrials::counts() const {
  StudyCounts c;
  for (const Trial& trial : trials_) {
    switch (trial.record.state) {
      case TrialState::complete:
        ++c.complete;
        break;
      case TrialState::pruned:
        ++c.pruned;
        break;
      case TrialState::failed:
        ++c.failed;
        break;
      case TrialState::running:
        ++c.running;
        break;
    }
  }
  return c;
}

std::optional<TrialRecord> StudyTrials::best() const {
  std::optional<TrialRecord> best;
  const bool max = study_.search.mode == MetricMode::max;
  for (const Trial& trial : trials_) {
    if (trial.record.state != TrialState::complete) continue;
    if (!best || (max ? trial.record.value > best->value : trial.record.value < best->value))
      best = trial.record;
  }
  return best;
}

}  // namespace hqsweep
