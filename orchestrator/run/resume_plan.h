// Which runs of a sweep this invocation runs, given what its results file holds already: resume
// is the normal path. Runs another copy of which is finished (store/run_result.h) are skipped;
// failed or timed-out ones too unless retry_failed; cancelled and unseen ones run.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "orchestrator/sweep/sweep.h"
#include "store/run_result.h"

namespace hqsweep {

struct ResumePlan {
  std::vector<nlohmann::json> to_run;  // canonical configs, in the sweep's order
  int64_t in_shard = 0;                // the runs of this shard (all runs without one)
  int64_t already_done = 0;
  int64_t failed_before = 0;  // skipped: failed or timed out earlier, without retry_failed
};

ResumePlan plan_resume(const Sweep& sweep, const Shard& shard,
                       const std::map<std::string, RunStatus>& stored, bool retry_failed);

}  // namespace hqsweep
