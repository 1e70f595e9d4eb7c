// For tests of processes: wait for a condition, never for a fixed time (a loaded CI machine is
// slow).
#pragma once

#include <chrono>
#include <thread>

namespace hqsweep::testing {

// Polls `condition` every 20 ms until it holds (true) or two minutes pass (false).
template <typename Condition>
bool eventually(Condition&& condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace hqsweep::testing
