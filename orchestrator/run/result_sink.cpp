// The result sink's flush policy.
#include "orchestrator/run/result_sink.h"

#include <utility>

#include "common/clock.h"

namespace hqsweep {

namespace {

constexpr double kFileUpdateSeconds = 1.0;  // how far the HDF5 view may lag behind the journal
constexpr double kSliceSeconds = 0.005;     // of HDF5 writing between two looks at the workers

}  // namespace

ResultSink::ResultSink(ResultStore& store) : store_(store), file_updated_(wall_seconds()) {}

void ResultSink::add(RunResult result) {
  pending_.push_back(std::move(result));
}

void ResultSink::flush() {
  bool again = false;
  for (const RunResult& r : pending_) again = again || store_.contains(r.run_id);
  store_.append_all(std::exchange(pending_, {}), again ? AppendMode::retry : AppendMode::normal,
                    FileUpdate::deferred);
  if (file_behind_ || wall_seconds() - file_updated_ >= kFileUpdateSeconds) {
    file_behind_ = store_.update_file(kSliceSeconds);
    if (!file_behind_) file_updated_ = wall_seconds();
  }
}

void ResultSink::finish() {
  flush();
  store_.update_file();
}

}  // namespace hqsweep
