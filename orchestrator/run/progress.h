// The progress line of `hqsweep run` on standard error: live on a terminal, a line every
// interval otherwise, and messages of their own above it.
#pragma once

#include <cstdint>
#include <string>

#include "orchestrator/schedule/scheduler.h"

namespace hqsweep {

class Progress {
 public:
  // interval <= 0: a live line on a terminal (else every 30 s).
  Progress(double interval, int64_t total);
  // Prints when the interval has passed since the last line, or when forced.
  void update(const SchedulerCounts& counts, bool force = false);
  // Ends the live line.
  void finish();
  // A line of its own, above the live line on a terminal.
  void message(const std::string& text);

 private:
  bool live_;
  double interval_;
  int64_t total_;
  double started_, last_;
};

}  // namespace hqsweep
