// The study report: trials rebuilt from a results file's runs with the study's own rule
// (search/trial_outcome.h), then four small tables.
#include "orchestrator/report/study_report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/config_schema.h"
#include "common/error.h"
#include "common/json_source.h"
#include "common/run_config.h"
#include "orchestrator/report/text_table.h"
#include "orchestrator/search/trial_outcome.h"
#include "orchestrator/sweep/sweep.h"
#include "store/result_store.h"

namespace hqsweep {

namespace {

using nlohmann::json;

struct StudyTrial {
  TrialRecord record;
  std::vector<RunOutcome> runs;
  double test = std::nan("");  // the test counterpart of the metric, mean over its runs
  double end_time = 0;         // when its last run ended
};

struct StudyData {
  SearchSpec search;
  int64_t full_epochs = 0;  // a run's epochs at full length
  int64_t runs_per_trial = 1;
  std::vector<StudyTrial> trials;
  double started = 0;
};

std::string test_metric_of(const std::string& metric) {
  return metric.rfind("val_", 0) == 0 ? "test_" + metric.substr(4) : "";
}

StudyData load_study(const std::string& path) {
  ResultStore store = ResultStore::open_for_reading(path);
  const std::vector<SweepRecord> sweeps = store.sweeps();
  if (sweeps.empty()) throw Error(path + ": no sweep recorded; not a study's results file");
  const Sweep sweep = expand_sweep(JsonSource::from_text(sweeps.back().text, sweeps.back().source));
  if (!sweep.study) {
    throw Error(path + ": the sweep it records (" + sweeps.back().source +
                ") has no search block; --study reads a study's results file");
  }
  StudyData data;
  data.search = sweep.study->search;
  data.runs_per_trial = static_cast<int64_t>(sweep.study->runs_per_trial);
  const std::string test_name = test_metric_of(data.search.metric);
  std::map<int64_t, StudyTrial> by_number;
  std::map<int64_t, std::vector<double>> tests;
  data.started = INFINITY;
  for (const RunSummary& summary : store.list()) {
    if (summary.trial < 0) continue;
    const RunResult run = store.get(summary.run_id);
    StudyTrial& trial = by_number[run.trial];
    trial.record.number = run.trial;
    if (trial.record.params.empty()) {
      const FlatConfig flat = flatten_config(run.config);
      for (const ParamSpec& p : data.search.space) {
        auto it = flat.find(p.key);
        if (it != flat.end()) trial.record.params[p.key] = it->second;
      }
      const RunConfig config = run_config_from_canonical(run.config);
      data.full_epochs = config.full_epochs();
    }
    RunOutcome outcome;
    outcome.ended = run.status != RunStatus::proposed && run.status != RunStatus::cancelled;
    outcome.finished = is_finished(run.status);
    outcome.pruned = run.status == RunStatus::pruned;
    auto metric = run.metrics.find(data.search.metric);
    if (metric != run.metrics.end()) outcome.value = metric->second;
    auto epochs = run.metrics.find("epochs_run");
    if (epochs != run.metrics.end()) outcome.epochs = static_cast<int64_t>(epochs->second);
    trial.runs.push_back(outcome);
    auto test = run.metrics.find(test_name);
    if (outcome.finished && test != run.metrics.end()) tests[run.trial].push_back(test->second);
    trial.end_time = std::max(trial.end_time, run.end_time);
    data.started = std::min(data.started, run.start_time);
  }
  for (auto& [number, trial] : by_number) {
    close_trial(trial.runs, trial.record);
    const std::vector<double>& t = tests[number];
    if (!t.empty()) {
      double sum = 0;
      for (double v : t) sum += v;
      trial.test = sum / static_cast<double>(t.size());
    }
    data.trials.push_back(std::move(trial));
  }
  if (data.trials.empty()) throw Error(path + ": the study has no trials yet");
  return data;
}

std::string state_name(TrialState state) {
  switch (state) {
    case TrialState::complete:
      return "complete";
    case TrialState::pruned:
      return "pruned";
    case TrialState::running:
      return "unfinished";
    case TrialState::failed:
      return "failed";
  }
  return "?";
}

std::string number_text(double value) {
  return std::isfinite(value) ? fmt::format("{:.4f}", value) : "-";
}

bool better(const SearchSpec& search, double a, double b) {
  return search.mode == MetricMode::max ? a > b : a < b;
}

// Complete trials, best first.
std::vector<const StudyTrial*> ranked_complete(const StudyData& data) {
  std::vector<const StudyTrial*> out;
  for (const StudyTrial& t : data.trials)
    if (t.record.state == TrialState::complete) out.push_back(&t);
  std::stable_sort(out.begin(), out.end(), [&](const StudyTrial* a, const StudyTrial* b) {
    return better(data.search, a->record.value, b->record.value);
  });
  return out;
}

// The best complete value after each trial number (NaN before the first complete one).
std::vector<double> best_so_far(const StudyData& data) {
  std::vector<double> out;
  double best = std::nan("");
  for (const StudyTrial& t : data.trials) {
    if (t.record.state == TrialState::complete &&
        (!std::isfinite(best) || better(data.search, t.record.value, best)))
      best = t.record.value;
    out.push_back(best);
  }
  return out;
}

std::string params_text(const Params& params) {
  std::string text;
  for (const auto& [key, value] : params)
    text += (text.empty() ? "" : ", ") + key + "=" +
            (value.is_number_float() ? fmt::format("{:.4g}", value.get<double>()) : value.dump());
  return text;
}

// Plain text for the terminal, or Markdown (for documents such as docs/results.md).
std::string render_tables(const std::string& path, const StudyData& data, bool markdown) {
  auto table = [markdown](const std::vector<std::string>& headers,
                          const std::vector<std::vector<std::string>>& rows) {
    return markdown ? format_markdown_table(headers, rows, headers.size())
                    : format_table(headers, rows);
  };
  std::map<std::string, int> states;
  int64_t epochs = 0;
  for (const StudyTrial& t : data.trials) {
    ++states[state_name(t.record.state)];
    for (const RunOutcome& r : t.runs) epochs += r.epochs;
  }
  std::string out =
      fmt::format("{}: study of {} trials ({} {} of {}); {} trials stored\n\n", path,
                  data.search.trials, to_string(data.search.algorithm), to_string(data.search.mode),
                  data.search.metric, data.trials.size());
  std::vector<std::vector<std::string>> state_rows;
  for (const char* s : {"complete", "pruned", "failed", "unfinished"})
    state_rows.push_back({s, std::to_string(states[s])});
  out += table({"state", "trials"}, state_rows) + "\n";

  const int64_t full =
      static_cast<int64_t>(data.trials.size()) * data.runs_per_trial * data.full_epochs;
  out += fmt::format(
      "epochs trained: {} of the {} a full-length study of these trials would ({:.0f}%)\n\n",
      epochs, full, full > 0 ? 100.0 * static_cast<double>(epochs) / full : 0.0);

  const std::string test_name = test_metric_of(data.search.metric);
  std::vector<std::vector<std::string>> best_rows;
  const std::vector<const StudyTrial*> best = ranked_complete(data);
  for (std::size_t i = 0; i < best.size() && i < 10; ++i) {
    best_rows.push_back({std::to_string(best[i]->record.number), number_text(best[i]->record.value),
                         number_text(best[i]->test), std::to_string(best[i]->record.epochs),
                         params_text(best[i]->record.params)});
  }
  out += "best trials (chosen by " + data.search.metric + "; " +
         (test_name.empty() ? "no test metric" : test_name + " beside, never used for choosing") +
         "):\n" + (markdown ? "\n" : "");
  out +=
      table({"trial", data.search.metric, test_name.empty() ? "-" : test_name, "epochs", "values"},
            best_rows) +
      "\n";

  const std::vector<double> history = best_so_far(data);
  std::vector<std::vector<std::string>> history_rows;
  for (std::size_t n = 1; n <= history.size(); n = n < 10 ? n + 9 : n * 2) {
    const StudyTrial& t = data.trials[n - 1];
    history_rows.push_back({std::to_string(n), number_text(history[n - 1]),
                            fmt::format("{:.1f} s", t.end_time - data.started)});
    if (n * 2 > history.size() && n != history.size()) {
      n = history.size();
      history_rows.push_back({std::to_string(n), number_text(history[n - 1]),
                              fmt::format("{:.1f} s", data.trials[n - 1].end_time - data.started)});
      break;
    }
  }
  out += "best " + data.search.metric + " against trials:\n" + (markdown ? "\n" : "") +
         table({"trials", "best so far", "at"}, history_rows);
  return out;
}

json render_json(const StudyData& data) {
  json trials = json::array();
  const std::vector<double> history = best_so_far(data);
  for (std::size_t i = 0; i < data.trials.size(); ++i) {
    const StudyTrial& t = data.trials[i];
    trials.push_back({{"trial", t.record.number},
                      {"state", state_name(t.record.state)},
                      {"value", std::isfinite(t.record.value) ? json(t.record.value) : json()},
                      {"test", std::isfinite(t.test) ? json(t.test) : json()},
                      {"epochs", t.record.epochs},
                      {"params", t.record.params},
                      {"best_so_far", std::isfinite(history[i]) ? json(history[i]) : json()},
                      {"seconds", t.end_time - data.started}});
  }
  return {{"metric", data.search.metric},
          {"mode", to_string(data.search.mode)},
          {"trials_planned", data.search.trials},
          {"full_epochs", data.full_epochs},
          {"trials", trials}};
}

}  // namespace

std::string make_study_report(const std::string& results_file, ReportFormat format) {
  const StudyData data = load_study(results_file);
  if (format == ReportFormat::json) return render_json(data).dump(1) + "\n";
  if (format != ReportFormat::table && format != ReportFormat::markdown)
    throw Error("--study: the formats are table, markdown and json");
  return render_tables(results_file, data, format == ReportFormat::markdown);
}

}  // namespace hqsweep
