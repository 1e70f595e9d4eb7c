// The two clocks the project reads: wall time for what is recorded (start and end of a run) and the
// steady clock for what is measured (durations, timeouts).
#pragma once

#include <chrono>

namespace hqsweep {

// Seconds since the Unix epoch.
inline double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Seconds on the steady clock since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace hqsweep
