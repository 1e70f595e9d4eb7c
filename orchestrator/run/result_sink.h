// Results on their way into the results file while a sweep runs. Results that arrive together
// are stored together (one journal fsync for all of them), durable the moment flush returns; the
// HDF5 view follows about a second later, written in 5 ms slices between reports so that a large
// backlog never leaves workers waiting for their next tasks (readers of a file being written read
// the journal, so they see every run at once).
#pragma once

#include <vector>

#include "store/result_store.h"
#include "store/run_result.h"

namespace hqsweep {

class ResultSink {
 public:
  explicit ResultSink(ResultStore& store);

  void add(RunResult result);
  // Appends what was added to the journal, then writes a slice of the HDF5 view when it is due.
  void flush();
  // Flushes and brings the HDF5 view up to date with the journal.
  void finish();

 private:
  ResultStore& store_;
  std::vector<RunResult> pending_;
  double file_updated_;
  bool file_behind_ = false;  // the HDF5 view has runs to catch up on
};

}  // namespace hqsweep
