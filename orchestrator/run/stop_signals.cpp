// Counting stop signals.
#include "orchestrator/run/stop_signals.h"

#include <unistd.h>

#include <cstdio>

#include <atomic>

namespace hqsweep {

namespace {

std::atomic<int> g_signals{0};

void on_signal(int) {
  g_signals.fetch_add(1);
}

// SIGUSR1 is what the Slurm batch script forwards through mpirun, which passes it on to every
// rank where SIGTERM would make it abort the job.
constexpr std::array<int, 3> kStopSignals = {SIGINT, SIGTERM, SIGUSR1};

}  // namespace

StopSignals::StopSignals() {
  g_signals = 0;
  struct sigaction action = {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (std::size_t i = 0; i < kStopSignals.size(); ++i) {
    sigaction(kStopSignals[i], &action, &previous_[i]);
  }
}

StopSignals::~StopSignals() {
  for (std::size_t i = 0; i < kStopSignals.size(); ++i) {
    sigaction(kStopSignals[i], &previous_[i], nullptr);
  }
}

int StopSignals::count() {
  return g_signals.load();
}

std::string stop_request_path(const std::string& results_path) {
  return results_path + ".stop";
}

bool stop_requested_by_file(const std::string& results_path) {
  return ::access(stop_request_path(results_path).c_str(), F_OK) == 0;
}

void clear_stop_request(const std::string& results_path) {
  std::remove(stop_request_path(results_path).c_str());
}

}  // namespace hqsweep
