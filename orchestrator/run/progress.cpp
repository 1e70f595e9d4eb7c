// The progress line and the progress file.
#include "orchestrator/run/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/text.h"

namespace hqsweep {

using nlohmann::json;

json to_json(const ProgressSnapshot& s) {
  json runs = json::array();
  for (const RunningRun& r : s.running_runs) {
    runs.push_back({{"run_id", r.run_id},
                    {"epoch", r.epoch},
                    {"epochs", r.epochs},
                    {"metric", r.metric},
                    {"value", std::isfinite(r.value) ? json(r.value) : json()}});
  }
  return {{"total", s.total},     {"done", s.done},
          {"failed", s.failed},   {"running", s.running},
          {"queued", s.queued},   {"waiting", s.waiting},
          {"elapsed", s.elapsed}, {"eta_seconds", s.eta_seconds},
          {"updated", s.updated}, {"running_runs", runs}};
}

ProgressSnapshot progress_snapshot_from_json(const json& j) {
  ProgressSnapshot s;
  s.total = j.at("total").get<int64_t>();
  s.done = j.at("done").get<int64_t>();
  s.failed = j.at("failed").get<int64_t>();
  s.running = j.at("running").get<int64_t>();
  s.queued = j.at("queued").get<int64_t>();
  s.waiting = j.at("waiting").get<int64_t>();
  s.elapsed = j.at("elapsed").get<double>();
  s.eta_seconds = j.at("eta_seconds").get<double>();
  s.updated = j.at("updated").get<double>();
  for (const json& r : j.at("running_runs")) {
    RunningRun run;
    run.run_id = r.at("run_id").get<std::string>();
    run.epoch = r.at("epoch").get<int64_t>();
    run.epochs = r.at("epochs").get<int64_t>();
    run.metric = r.at("metric").get<std::string>();
    run.value = r.at("value").is_number() ? r.at("value").get<double>() : NAN;
    s.running_runs.push_back(std::move(run));
  }
  return s;
}

std::string progress_line(const ProgressSnapshot& s, std::size_t shown_runs) {
  std::string line = fmt::format("{}/{} done", s.done, s.total);
  if (s.failed > 0) line += fmt::format(", {} failed", s.failed);
  line += fmt::format(" | {} running, {} queued, {} waiting", s.running, s.queued, s.waiting);
  std::vector<std::string> runs;
  for (std::size_t i = 0; i < s.running_runs.size() && i < shown_runs; ++i) {
    const RunningRun& r = s.running_runs[i];
    std::string text = r.run_id.substr(0, 8);
    if (r.epoch > 0)
      text += r.epochs > 0 ? fmt::format(" epoch {}/{}", r.epoch, r.epochs)
                           : fmt::format(" epoch {}", r.epoch);
    if (!r.metric.empty()) text += fmt::format(" {} {:.4g}", r.metric, r.value);
    runs.push_back(text);
  }
  if (shown_runs > 0 && s.running_runs.size() > shown_runs)
    runs.push_back(fmt::format("+{} more", s.running_runs.size() - shown_runs));
  if (!runs.empty()) line += " | " + join(runs, ", ");
  line += " | ETA " + (s.eta_seconds >= 0 ? format_duration(s.eta_seconds) : std::string("?"));
  return line;
}

double estimated_seconds_left(double work_done, double work_left, double elapsed) {
  if (work_done <= 0 || elapsed <= 0) return -1;
  return work_left / (work_done / elapsed);
}

std::string progress_path(const std::string& results_path) {
  return results_path + ".progress";
}

void write_progress_file(const std::string& results_path, const ProgressSnapshot& snapshot) {
  // Best effort: progress is for people; a full disk must not stop the sweep here.
  const std::string path = progress_path(results_path), temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << to_json(snapshot).dump() << "\n";
    if (!out) return;
  }
  std::rename(temporary.c_str(), path.c_str());
}

void remove_progress_file(const std::string& results_path) {
  std::remove(progress_path(results_path).c_str());
}

std::optional<ProgressSnapshot> read_progress_file(const std::string& results_path) {
  std::ifstream in(progress_path(results_path));
  if (!in) return std::nullopt;
  const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  try {
    return progress_snapshot_from_json(j);
  } catch (const json::exception&) {
    return std::nullopt;  // a file of another version, or damaged: no progress to show
  }
}

Progress::Progress(double interval)
    : live_(interval <= 0 && isatty(2)),
      interval_(interval > 0 ? interval : (live_ ? 1 : 30)),
      last_(wall_seconds()) {}

void Progress::update(const ProgressSnapshot& snapshot, bool force) {
  const double now = wall_seconds();
  if (!force && now - last_ < interval_) return;
  last_ = now;
  const std::string line = progress_line(snapshot);
  if (live_) {
    std::cerr << "\r" << line << "\x1b[K" << std::flush;
  } else {
    std::cerr << fmt::format("[{:.0f} s] ", snapshot.elapsed) << line << "\n";
  }
}

void Progress::finish() {
  if (live_) std::cerr << "\n";
}

void Progress::message(const std::string& text) {
  std::cerr << (live_ ? "\r\x1b[K" : "") << text << "\n";
}

}  // namespace hqsweep
