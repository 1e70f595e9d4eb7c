// The progress line.
#include "orchestrator/run/progress.h"

#include <unistd.h>

#include <iostream>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/text.h"

namespace hqsweep {

Progress::Progress(double interval, int64_t total)
    : live_(interval <= 0 && isatty(2)),
      interval_(interval > 0 ? interval : (live_ ? 1 : 30)),
      total_(total),
      started_(wall_seconds()),
      last_(started_) {}

void Progress::update(const SchedulerCounts& c, bool force) {
  const double now = wall_seconds();
  if (!force && now - last_ < interval_) return;
  last_ = now;
  const double minutes = (now - started_) / 60;
  const double rate = minutes > 0 ? static_cast<double>(c.done) / minutes : 0;
  const double remaining = static_cast<double>(c.waiting + c.running);
  const std::string line =
      fmt::format("{}/{} done, {} running, {} failed, {} waiting | {:.1f} runs/min | ETA {}",
                  c.done, total_, c.running, c.failed, c.waiting, rate,
                  rate > 0 ? format_duration(remaining / rate * 60) : "?");
  if (live_) {
    std::cerr << "\r" << line << "\x1b[K" << std::flush;
  } else {
    std::cerr << fmt::format("[{:.0f} s] ", now - started_) << line << "\n";
  }
}

void Progress::finish() {
  if (live_) std::cerr << "\n";
}

void Progress::message(const std::string& text) {
  std::cerr << (live_ ? "\r\x1b[K" : "") << text << "\n";
}

}  // namespace hqsweep
