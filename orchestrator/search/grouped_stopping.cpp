// Units of runs for the stopping rule: the mean over a trial's seeds, epoch by epoch.
#include "orchestrator/search/grouped_stopping.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hqsweep {

void GroupedStopping::Member::add(double oriented) {
  const double previous = best_so_far.empty() ? -INFINITY : best_so_far.back();
  best_so_far.push_back(std::isfinite(oriented) ? std::max(previous, oriented) : previous);
}

GroupedStopping::GroupedStopping(const StoppingSpec& spec)
    : rule_(spec), sign_(spec.mode == MetricMode::max ? 1.0 : -1.0) {}

void GroupedStopping::assign(const std::string& run_id, const std::string& unit) {
  auto [it, inserted] = unit_of_run_.emplace(run_id, unit);
  if (inserted) units_[unit].runs.push_back(run_id);
}

const std::string& GroupedStopping::unit_of(const std::string& run_id) {
  auto it = unit_of_run_.find(run_id);
  if (it == unit_of_run_.end()) {
    it = unit_of_run_.emplace(run_id, run_id).first;
    units_[run_id].runs.push_back(run_id);
  }
  return it->second;
}

double GroupedStopping::mean_at(const Unit& unit, int64_t epoch) const {
  double sum = 0;
  int count = 0;
  for (const std::string& run : unit.runs) {
    auto member = members_.find(run);
    if (member == members_.end() || member->second.best_so_far.empty()) continue;  // no epoch
    const std::vector<double>& best = member->second.best_so_far;
    sum += best[std::min(static_cast<std::size_t>(epoch), best.size()) - 1];
    ++count;
  }
  return count == 0 ? NAN : sign_ * sum / count;
}

bool GroupedStopping::judge_ready_epochs(const std::string& unit_name, bool decide) {
  const Unit& unit = units_.at(unit_name);
  // Ready: every member still training has reached the epoch; finished members have no say.
  int64_t ready = std::numeric_limits<int64_t>::max(), longest = 0;
  bool any_training = false;
  for (const std::string& run : unit.runs) {
    const Member& m = members_[run];
    longest = std::max<int64_t>(longest, static_cast<int64_t>(m.best_so_far.size()));
    if (m.finished) continue;
    any_training = true;
    ready = std::min<int64_t>(ready, static_cast<int64_t>(m.best_so_far.size()));
  }
  if (!any_training) ready = longest;
  if (!decide) {  // the epochs the rule has not heard, at their rungs, and the unit is finished
    std::vector<double> curve;
    for (int64_t epoch = 1; epoch <= ready; ++epoch) curve.push_back(mean_at(unit, epoch));
    rule_.replay(unit_name, curve);
    return false;
  }
  bool stop = false;
  for (int64_t epoch = unit.judged + 1; epoch <= ready; ++epoch)
    stop = rule_.report(unit_name, epoch, mean_at(unit, epoch)) || stop;
  units_[unit_name].judged = std::max(unit.judged, ready);
  return stop;
}

std::vector<std::string> GroupedStopping::report(const std::string& run_id, int64_t epoch,
                                                 double value) {
  Member& m = members_[run_id];
  if (epoch != static_cast<int64_t>(m.best_so_far.size()) + 1 || m.finished) return {};
  m.add(sign_ * value);
  const std::string unit_name = unit_of(run_id);
  Unit& unit = units_[unit_name];
  if (unit.stopped || !judge_ready_epochs(unit_name, true)) return {};
  unit.stopped = true;
  std::vector<std::string> stop;
  for (const std::string& run : unit.runs)
    if (!members_[run].finished) stop.push_back(run);
  return stop;
}

void GroupedStopping::finished(const std::string& run_id) {
  members_[run_id].finished = true;
  const std::string unit_name = unit_of(run_id);
  Unit& unit = units_[unit_name];
  for (const std::string& run : unit.runs)
    if (!members_[run].finished) return;
  // The unit's last epochs count at their rungs (without a decision: nothing is left to stop).
  judge_ready_epochs(unit_name, false);
}

void GroupedStopping::replay(const std::string& run_id, const std::vector<double>& curve) {
  Member& m = members_[run_id];
  for (double value : curve) m.add(sign_ * value);
  finished(run_id);
}

}  // namespace hqsweep
