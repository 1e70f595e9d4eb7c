// The resume plan.
#include "orchestrator/run/resume_plan.h"

namespace hqsweep {

ResumePlan plan_resume(const Sweep& sweep, const Shard& shard,
                       const std::map<std::string, RunStatus>& stored, bool retry_failed) {
  ResumePlan plan;
  for (const RunSpec& run : sweep.runs) {
    if (!in_shard(run.run_id, shard)) continue;
    ++plan.in_shard;
    auto it = stored.find(run.run_id);
    if (it != stored.end()) {
      if (is_finished(it->second)) {
        ++plan.already_done;
        continue;
      }
      const bool failed = it->second == RunStatus::failed || it->second == RunStatus::timeout;
      if (failed && !retry_failed) {
        ++plan.failed_before;
        continue;
      }
    }
    plan.to_run.push_back(run.config);
  }
  return plan;
}

}  // namespace hqsweep
