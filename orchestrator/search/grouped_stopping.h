// Stopping decisions for runs judged together: a study's trial repeated over seeds is one unit, so
// that its seeds do not compete with each other and one unlucky seed does not stop a good
// configuration. A unit's value at an epoch is the mean over its runs' best values so far, known
// once each of its runs still training has reached that epoch (a finished run keeps its last best,
// a failed one counts for nothing); the rule (EarlyStopping) judges that value, and when it says
// stop, every running run of the unit stops. A run never waits: the others train on meanwhile.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "orchestrator/search/early_stopping.h"

namespace hqsweep {

class GroupedStopping {
 public:
  explicit GroupedStopping(const StoppingSpec& spec);

  // Run `run_id` is one of `unit`'s runs (all of a unit's runs are assigned before any reports).
  // A run never assigned is a unit of its own, judged as EarlyStopping judges it.
  void assign(const std::string& run_id, const std::string& unit);
  // Run `run_id` reached `epoch` with `value`: the runs to stop now, this one among them; empty
  // when they go on. An epoch reported again (a resumed run) is ignored.
  std::vector<std::string> report(const std::string& run_id, int64_t epoch, double value);
  // A run ended for good (done, stopped, failed); it holds its unit back no longer.
  void finished(const std::string& run_id);
  // A stored run's curve (resume): its reports again, without decisions, and it is finished.
  void replay(const std::string& run_id, const std::vector<double>& curve);

 private:
  struct Member {
    std::vector<double> best_so_far;  // oriented: larger is better
    bool finished = false;
    void add(double oriented);  // the next epoch's value (NaN leaves the best as it was)
  };
  struct Unit {
    std::vector<std::string> runs;
    int64_t judged = 0;  // epochs handed to the rule
    bool stopped = false;
  };
  const std::string& unit_of(const std::string& run_id);
  // The unit's value at `epoch` in the metric's own direction, NaN when no member has one.
  double mean_at(const Unit& unit, int64_t epoch) const;
  // Hands the rule the unit's epochs that every member has reached; whether it says stop.
  bool judge_ready_epochs(const std::string& unit_name, bool decide);

  EarlyStopping rule_;
  double sign_;  // +1 for max, -1 for min
  std::map<std::string, Member> members_;
  std::map<std::string, std::string> unit_of_run_;
  std::map<std::string, Unit> units_;
};

}  // namespace hqsweep
