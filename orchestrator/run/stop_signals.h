// The stop request of `hqsweep run`: SIGINT, SIGTERM and SIGUSR1 are counted (not acted on) from
// the moment this is installed, which is the first thing `run` does, so that a signal during
// start-up (Slurm may send one then) takes the same graceful path as one during the sweep. A
// stop-request file beside the results file asks the same: a signal that reaches mpirun before
// its ranks run is lost, so the batch script writes the file too.
#pragma once

#include <array>
#include <string>

#include <signal.h>

namespace hqsweep {

class StopSignals {
 public:
  // Installs the handlers (no SA_RESTART: waits return) and resets the count.
  StopSignals();
  // Puts the previous handlers back.
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Signals received since installation: 1 asks for a graceful stop, 2 or more for one now.
  static int count();

 private:
  std::array<struct sigaction, 3> previous_ = {};
};

// RESULTS.h5.stop: while it exists, a sweep writing RESULTS.h5 stops gracefully (as at one signal).
std::string stop_request_path(const std::string& results_path);
bool stop_requested_by_file(const std::string& results_path);
// Removes the file once the stop it asked for is done, so that the next run goes on.
void clear_stop_request(const std::string& results_path);

}  // namespace hqsweep
