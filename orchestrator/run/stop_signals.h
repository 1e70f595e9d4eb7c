// The stop request of `hqsweep run`: SIGINT, SIGTERM and SIGUSR1 are counted (not acted on) from
// the moment this is installed, which is the first thing `run` does, so that a signal during
// start-up (Slurm may send one then) takes the same graceful path as one during the sweep.
#pragma once

#include <array>

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

}  // namespace hqsweep
