// `hqsweep report`: groups, summaries over seeds, paired comparisons, best configurations, and
// the five output formats.
#include "orchestrator/report/report.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/config_schema.h"
#include "common/error.h"
#include "common/json_source.h"
#include "common/text.h"
#include "orchestrator/report/statistics.h"
#include "orchestrator/report/text_table.h"
#include "orchestrator/sweep/sweep.h"
#include "store/result_store.h"

namespace hqsweep {

namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const std::string kSeedKey = "seed";
const std::string kAbsent = "-";  // what config_value_text shows for a key that does not apply

struct LoadedRun {
  RunSummary summary;
  FlatConfig flat;
  std::string file;
  std::size_t sweep_position = std::numeric_limits<std::size_t>::max();  // max: in no sweep
};

std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& value : values) {
    std::size_t start = 0;
    while (start <= value.size()) {
      std::size_t end = value.find(',', start);
      if (end == std::string::npos) end = value.size();
      std::string item = value.substr(start, end - start);
      if (!item.empty()) out.push_back(item);
      start = end + 1;
    }
  }
  return out;
}

struct Loaded {
  std::vector<LoadedRun> runs;
  std::vector<std::string> recorded_varying;  // in the order the sweeps recorded them
  std::string description;                    // "a.h5" or "3 files"
};

Loaded load_runs(const std::vector<std::string>& files) {
  if (files.empty()) throw Error("no results file given");
  Loaded loaded;
  std::map<std::string, std::size_t> index;
  std::set<std::tuple<std::string, std::string, std::vector<std::string>>> sweep_texts;
  for (const std::string& file : files) {
    ResultStore store = ResultStore::open_for_reading(file);
    for (const SweepRecord& sweep : store.sweeps()) {
      for (const std::string& key : sweep.varying_keys)
        if (std::find(loaded.recorded_varying.begin(), loaded.recorded_varying.end(), key) ==
            loaded.recorded_varying.end())
          loaded.recorded_varying.push_back(key);
      sweep_texts.insert({sweep.text, sweep.source, sweep.overrides});  // shards: one sweep
    }
    for (RunSummary& run : store.list()) {
      // Every stored metric is reportable, not only those with an /index column.
      if (is_finished(run.status)) run.metrics = store.metrics(run.run_id);
      auto [it, fresh] = index.emplace(run.run_id, loaded.runs.size());
      if (fresh) {
        FlatConfig flat = flatten_config(run.config);
        loaded.runs.push_back({std::move(run), std::move(flat), file});
        continue;
      }
      LoadedRun& earlier = loaded.runs[it->second];
      // Shards of one sweep can hold the same run (a retry elsewhere): store's rule for copies.
      if (replaces_copy(run.status, earlier.summary.status)) {
        earlier.summary = std::move(run);
        earlier.file = file;
      } else if (is_finished(earlier.summary.status) && is_finished(run.status) &&
                 earlier.summary.metrics != run.metrics) {
        std::cerr << "note: run " << run.run_id << " is done in both " << earlier.file << " and "
                  << file << " with different metrics; using " << earlier.file << "\n";
      }
    }
  }
  loaded.description = files.size() == 1 ? files[0] : fmt::format("{} files", files.size());
  if (loaded.runs.empty()) throw Error(loaded.description + ": no runs to report");
  for (const auto& [text, source, overrides] : sweep_texts) {
    // The recorded sweep gives the table its order (the file's own: classical control first,
    // qubits ascending); a sweep that no longer expands (an older schema) just gives none.
    try {
      Sweep sweep = expand_sweep(JsonSource::from_text(text, source), SweepOptions{overrides});
      std::map<std::string, std::size_t> position;
      for (std::size_t i = 0; i < sweep.runs.size(); ++i) position[sweep.runs[i].run_id] = i;
      for (LoadedRun& run : loaded.runs) {
        auto it = position.find(run.summary.run_id);
        if (it != position.end()) run.sweep_position = std::min(run.sweep_position, it->second);
      }
    } catch (const std::exception&) {
    }
  }
  return loaded;
}

// Keys with at least two different values among the runs, the recorded sweep order first.
std::vector<std::string> varying_keys(const Loaded& loaded) {
  std::map<std::string, std::set<std::string>> values;
  for (const LoadedRun& run : loaded.runs)
    for (const auto& [key, value] : run.flat) values[key].insert(value.dump());
  std::vector<std::string> keys;
  for (const std::string& key : loaded.recorded_varying)
    if (values.count(key) && values[key].size() > 1) keys.push_back(key);
  for (const auto& [key, distinct] : values)
    if (distinct.size() > 1 && std::find(keys.begin(), keys.end(), key) == keys.end())
      keys.push_back(key);
  return keys;
}

// "fusion" -> "model.fusion", "dataset" -> "dataset.name"; full keys pass through.
std::string resolve_key(const std::string& name, const std::set<std::string>& known,
                        const std::string& option) {
  if (known.count(name)) return name;
  std::vector<std::string> candidates;
  for (const std::string& key : known) {
    bool suffix = key.size() > name.size() + 1 &&
                  key.compare(key.size() - name.size(), name.size(), name) == 0 &&
                  key[key.size() - name.size() - 1] == '.';
    if (suffix || key == name + ".name") candidates.push_back(key);
  }
  if (candidates.size() == 1) return candidates[0];
  if (candidates.empty()) throw Error(option + ": no run has a config key '" + name + "'");
  throw Error(option + ": '" + name + "' could mean " + join(candidates, " or ") +
              "; give the full key");
}

std::string short_key(const std::string& key) {
  std::size_t dot = key.rfind('.');
  if (dot == std::string::npos) return key;
  std::string last = key.substr(dot + 1);
  return last == "name" ? key.substr(0, key.find('.')) : last;
}

bool lower_is_better(const std::string& metric) {
  return metric.size() >= 5 && metric.compare(metric.size() - 5, 5, "_loss") == 0;
}

// Fractions shown as percentages in the human formats.
bool is_fraction_metric(std::string metric) {
  for (const char* prefix : {"test_", "val_", "train_"})
    if (metric.rfind(prefix, 0) == 0) metric = metric.substr(std::string(prefix).size());
  if (metric.size() > 6 && metric.compare(metric.size() - 6, 6, "_tuned") == 0)
    metric.resize(metric.size() - 6);
  static const std::set<std::string> fractions = {"acc",    "balanced_acc", "precision",
                                                  "recall", "f1",           "auc"};
  return fractions.count(metric) > 0;
}

// A metric's summary over seeds, its t interval clipped to the values the metric can take
// (fractions 0..1, losses from 0): a mean of bounded values cannot lie outside their bounds.
SampleSummary summarize_metric(const std::vector<double>& values, const std::string& metric) {
  SampleSummary s = summarize_sample(values);
  const double low = 0, high = is_fraction_metric(metric) ? 1.0 : INFINITY;
  if (is_fraction_metric(metric) || lower_is_better(metric)) {
    if (!std::isnan(s.ci_low)) s.ci_low = std::clamp(s.ci_low, low, high);
    if (!std::isnan(s.ci_high)) s.ci_high = std::clamp(s.ci_high, low, high);
  }
  return s;
}

std::string resolve_metric(const std::string& name, const std::set<std::string>& available,
                           const std::string& source) {
  if (available.count(name)) return name;
  if (available.count("test_" + name)) return "test_" + name;
  throw Error(source + ": no done run has a metric '" + name + "' (available: " +
              join(std::vector<std::string>(available.begin(), available.end()), ", ") + ")");
}

struct Group {
  std::vector<std::string> values;  // one per group key, "-" when absent
  std::string configuration;        // with best: the chosen setting of the other keys
  double selection_mean = kNaN;     // with best: its mean validation metric
  std::vector<const LoadedRun*> runs;
};

std::vector<const LoadedRun*> done_runs(const Group& group) {
  std::vector<const LoadedRun*> done;
  for (const LoadedRun* run : group.runs)
    if (run->summary.status == RunStatus::done) done.push_back(run);
  return done;
}

std::vector<double> metric_values(const std::vector<const LoadedRun*>& runs,
                                  const std::string& metric) {
  std::vector<double> values;
  for (const LoadedRun* run : runs) {
    auto it = run->summary.metrics.find(metric);
    if (it != run->summary.metrics.end() && !std::isnan(it->second)) values.push_back(it->second);
  }
  return values;
}

double mean_of(const std::vector<double>& values) {
  return values.empty() ? kNaN : summarize_sample(values).mean;
}

// Splits a group by the setting of `keys` and keeps the setting whose done runs have the best
// mean of `selection`.
void keep_best_configuration(Group& group, const std::vector<std::string>& keys,
                             const std::string& selection) {
  std::map<std::vector<std::string>, std::vector<const LoadedRun*>> settings;
  std::vector<std::vector<std::string>> order;
  for (const LoadedRun* run : group.runs) {
    std::vector<std::string> setting;
    for (const std::string& key : keys) setting.push_back(config_value_text(run->flat, key));
    if (!settings.count(setting)) order.push_back(setting);
    settings[setting].push_back(run);
  }
  const std::vector<std::string>* best = nullptr;
  double best_mean = kNaN;
  for (const std::vector<std::string>& setting : order) {
    Group candidate;
    candidate.runs = settings[setting];
    double mean = mean_of(metric_values(done_runs(candidate), selection));
    if (std::isnan(mean)) continue;
    bool better = lower_is_better(selection) ? mean < best_mean : mean > best_mean;
    if (best == nullptr || better) {
      best = &setting;
      best_mean = mean;
    }
  }
  if (best == nullptr) return;  // no done run: the group stays whole and shows its failures
  std::vector<std::string> parts;
  for (std::size_t k = 0; k < keys.size(); ++k)
    if ((*best)[k] != kAbsent) parts.push_back(short_key(keys[k]) + "=" + (*best)[k]);
  group.configuration = parts.empty() ? "(only one)" : join(parts, " ");
  group.selection_mean = best_mean;
  group.runs = settings[*best];
}

struct MetricComparison {
  double difference = kNaN;  // group mean - baseline mean
  double p_t = kNaN;
  double p_wilcoxon = kNaN;
  std::optional<SampleSummary> baseline;
};

struct Row {
  const Group* group = nullptr;
  int done = 0;
  int failed = 0;  // failed, diverged or timed out; cancelled runs count as neither
  std::vector<std::optional<SampleSummary>> metrics;
  json best_seed;  // null when no done run has the selection metric
  double best_seed_value = kNaN;
  double median_duration = kNaN;
  const Group* baseline = nullptr;
  bool is_baseline = false;
  int pairs = 0;
  std::vector<MetricComparison> comparisons;
};

struct Report {
  Loaded loaded;  // the runs the groups point into
  std::string source;
  std::vector<std::string> group_keys;
  std::vector<std::string> metrics;
  std::string selection;  // the validation metric behind best seed and --best
  bool best = false;
  std::string compare_key, compare_value;
  std::vector<Group> groups;
  std::vector<Row> rows;
  int total_runs = 0;
  int total_done = 0;
};

// Runs of a and b that belong together: same seed, same value of every key in `keys` that both
// have. Runs with no unique partner are left out.
std::vector<std::pair<const LoadedRun*, const LoadedRun*>> pair_runs(
    const std::vector<const LoadedRun*>& a, const std::vector<const LoadedRun*>& b,
    const std::vector<std::string>& keys) {
  std::vector<std::pair<const LoadedRun*, const LoadedRun*>> pairs;
  for (const LoadedRun* x : a) {
    const LoadedRun* partner = nullptr;
    int matches = 0;
    for (const LoadedRun* y : b) {
      if (config_value_text(x->flat, kSeedKey) != config_value_text(y->flat, kSeedKey)) continue;
      bool same = true;
      for (const std::string& key : keys) {
        std::string u = config_value_text(x->flat, key), v = config_value_text(y->flat, key);
        if (u != kAbsent && v != kAbsent && u != v) same = false;
      }
      if (same) {
        partner = y;
        ++matches;
      }
    }
    if (matches == 1) pairs.emplace_back(x, partner);
  }
  return pairs;
}

// What the loaded runs hold: every config key, and the metrics of done runs.
struct Inventory {
  std::set<std::string> keys, metrics;
};

Inventory take_inventory(Report& report) {
  Inventory inventory;
  for (const LoadedRun& run : report.loaded.runs) {
    for (const auto& [key, value] : run.flat) inventory.keys.insert(key);
    if (run.summary.status != RunStatus::done) continue;
    ++report.total_done;
    for (const auto& [name, value] : run.summary.metrics) inventory.metrics.insert(name);
  }
  report.total_runs = static_cast<int>(report.loaded.runs.size());
  if (report.total_done == 0) {
    throw Error(report.source + ": none of its " + std::to_string(report.total_runs) +
                " runs is done yet; nothing to report (hqsweep ls --status failed shows why)");
  }
  return inventory;
}

// The metrics shown, and the validation metric that selects the best seed (and, with --best, the
// best configuration): the first metric's val_ counterpart, never a test metric.
void choose_metrics(Report& report, const ReportOptions& options, const Inventory& inventory) {
  std::vector<std::string> metric_names = split_list(options.metrics);
  if (metric_names.empty()) {
    for (const char* name : {"test_acc", "test_f1", "test_auc"})
      if (inventory.metrics.count(name)) report.metrics.push_back(name);
    if (report.metrics.empty()) metric_names = {"acc"};  // refused below, listing what there is
  }
  for (const std::string& name : metric_names)
    report.metrics.push_back(resolve_metric(name, inventory.metrics, report.source));
  const std::string& first = report.metrics.front();
  report.selection = first.rfind("test_", 0) == 0 ? "val_" + first.substr(5) : first;
  if (!inventory.metrics.count(report.selection)) report.selection = first;
  if (options.best && report.selection == first && first.rfind("val_", 0) != 0) {
    throw Error("--best: no done run has " +
                (first.rfind("test_", 0) == 0 ? "val_" + first.substr(5) : "a validation metric") +
                " to select " + first + " by (no selection on the test set)");
  }
}

// The group keys (--by, or with --best those of data set, backbone and fusion that vary, or every
// varying key); returns the keys that vary inside a group: with --best what gets chosen,
// otherwise what pairs runs.
std::vector<std::string> choose_group_keys(Report& report, const ReportOptions& options,
                                           const Inventory& inventory) {
  std::vector<std::string> varying = varying_keys(report.loaded);
  varying.erase(std::remove(varying.begin(), varying.end(), kSeedKey), varying.end());
  const std::vector<std::string> by = split_list(options.by);
  if (!by.empty()) {
    for (const std::string& name : by) {
      std::string key = resolve_key(name, inventory.keys, "--by");
      if (key == kSeedKey) throw Error("--by: the seed is what a group summarises over");
      if (std::find(report.group_keys.begin(), report.group_keys.end(), key) ==
          report.group_keys.end())
        report.group_keys.push_back(key);
    }
  } else if (options.best) {
    for (const std::string& key : varying)
      if (key == "dataset.name" || key == "model.backbone" || key == "model.fusion")
        report.group_keys.push_back(key);
  } else {
    report.group_keys = varying;
  }
  std::vector<std::string> inner_keys;
  for (const std::string& key : varying)
    if (std::find(report.group_keys.begin(), report.group_keys.end(), key) ==
        report.group_keys.end())
      inner_keys.push_back(key);
  return inner_keys;
}

// --compare KEY=VALUE checked against the groups and the runs; returns KEY's place among the group
// keys.
std::size_t resolve_compare(Report& report, const std::string& compare,
                            const Inventory& inventory) {
  const std::size_t equals = compare.find('=');
  if (equals == std::string::npos || equals == 0 || equals + 1 == compare.size())
    throw Error("--compare: expected KEY=VALUE such as fusion=classical, got '" + compare + "'");
  report.compare_key = resolve_key(compare.substr(0, equals), inventory.keys, "--compare");
  report.compare_value = compare.substr(equals + 1);
  auto at = std::find(report.group_keys.begin(), report.group_keys.end(), report.compare_key);
  if (at == report.group_keys.end())
    throw Error("--compare: " + report.compare_key + " is not a group key (groups are by " +
                (report.group_keys.empty() ? "nothing" : join(report.group_keys, ", ")) + ")");
  std::set<std::string> present;
  for (const LoadedRun& run : report.loaded.runs)
    present.insert(config_value_text(run.flat, report.compare_key));
  if (!present.count(report.compare_value)) {
    present.erase(kAbsent);
    throw Error("--compare: no run has " + report.compare_key + "=" + report.compare_value +
                " (values present: " +
                join(std::vector<std::string>(present.begin(), present.end()), ", ") + ")");
  }
  return static_cast<std::size_t>(at - report.group_keys.begin());
}

// Runs into groups by the group keys, in the order of their first run in the sweep file (runs of
// no sweep after, as stored).
void form_groups(Report& report) {
  std::map<std::vector<std::string>, std::size_t> group_of;
  for (const LoadedRun& run : report.loaded.runs) {
    std::vector<std::string> values;
    for (const std::string& key : report.group_keys)
      values.push_back(config_value_text(run.flat, key));
    auto [it, fresh] = group_of.emplace(values, report.groups.size());
    if (fresh) report.groups.push_back(Group{values, "", kNaN, {}});
    report.groups[it->second].runs.push_back(&run);
  }
  auto first_position = [](const Group& group) {
    std::size_t first = std::numeric_limits<std::size_t>::max();
    for (const LoadedRun* run : group.runs) first = std::min(first, run->sweep_position);
    return first;
  };
  std::stable_sort(report.groups.begin(), report.groups.end(), [&](const Group& a, const Group& b) {
    return first_position(a) < first_position(b);
  });
}

// A group's counts, metric summaries, best seed (by the selection metric) and median duration.
Row summarise_group(const Report& report, const Group& group) {
  Row row;
  row.group = &group;
  std::vector<double> durations;
  for (const LoadedRun* run : group.runs) {
    if (run->summary.status == RunStatus::done) {
      ++row.done;
      durations.push_back(run->summary.duration);
    } else if (!is_finished(run->summary.status) || run->summary.status == RunStatus::diverged) {
      // Failed, timed out or diverged; not cancelled or proposed (they run again on resume), and
      // not pruned (stopped early on purpose: left out of the metrics, counted by --study).
      if (run->summary.status != RunStatus::cancelled && run->summary.status != RunStatus::proposed)
        ++row.failed;
    }
  }
  const std::vector<const LoadedRun*> done = done_runs(group);
  for (const std::string& metric : report.metrics) {
    std::vector<double> values = metric_values(done, metric);
    row.metrics.push_back(values.empty() ? std::nullopt
                                         : std::optional(summarize_metric(values, metric)));
  }
  double best_selection = kNaN;
  for (const LoadedRun* run : done) {
    auto it = run->summary.metrics.find(report.selection);
    if (it == run->summary.metrics.end() || std::isnan(it->second)) continue;
    const bool better = lower_is_better(report.selection) ? it->second < best_selection
                                                          : it->second > best_selection;
    if (row.best_seed.is_null() || better) {
      best_selection = it->second;
      auto seed = run->flat.find(kSeedKey);
      row.best_seed = seed == run->flat.end() ? json(nullptr) : seed->second;
      auto value = run->summary.metrics.find(report.metrics.front());
      row.best_seed_value = value == run->summary.metrics.end() ? kNaN : value->second;
    }
  }
  row.median_duration = median(durations);
  return row;
}

// The baseline group of a row: the one with the compared value that agrees on every other group
// key (a key absent on one side aside); null when there is none or more than one.
const Group* find_baseline(const Report& report, const Row& row, std::size_t compare_index) {
  const std::vector<std::string>& mine = row.group->values;
  const Group* baseline = nullptr;
  for (const Row& other : report.rows) {
    const std::vector<std::string>& theirs = other.group->values;
    if (theirs[compare_index] != report.compare_value) continue;
    bool matches = true;
    for (std::size_t k = 0; k < mine.size(); ++k)
      if (k != compare_index && mine[k] != kAbsent && theirs[k] != kAbsent && mine[k] != theirs[k])
        matches = false;
    if (!matches) continue;
    if (baseline != nullptr) return nullptr;  // two candidates: no honest single baseline
    baseline = other.group;
  }
  return baseline;
}

// Each metric of a row against its baseline: the difference of means and paired tests over runs
// paired by seed (and the pairing keys).
void compare_with_baseline(const Report& report, Row& row,
                           const std::vector<std::string>& pairing_keys) {
  const auto pairs = pair_runs(done_runs(*row.group), done_runs(*row.baseline), pairing_keys);
  row.pairs = static_cast<int>(pairs.size());
  const std::vector<const LoadedRun*> baseline_done = done_runs(*row.baseline);
  for (std::size_t m = 0; m < report.metrics.size(); ++m) {
    const std::string& metric = report.metrics[m];
    MetricComparison comparison;
    const std::vector<double> baseline_values = metric_values(baseline_done, metric);
    if (!baseline_values.empty()) comparison.baseline = summarize_metric(baseline_values, metric);
    if (row.metrics[m] && comparison.baseline)
      comparison.difference = row.metrics[m]->mean - comparison.baseline->mean;
    std::vector<double> a, b;
    for (const auto& [x, y] : pairs) {
      auto u = x->summary.metrics.find(metric), v = y->summary.metrics.find(metric);
      if (u == x->summary.metrics.end() || v == y->summary.metrics.end() || std::isnan(u->second) ||
          std::isnan(v->second))
        continue;
      a.push_back(u->second);
      b.push_back(v->second);
    }
    comparison.p_t = paired_t_test(a, b);
    comparison.p_wilcoxon = wilcoxon_signed_rank_test(a, b);
    row.comparisons.push_back(comparison);
  }
}

Report build_report(const std::vector<std::string>& files, const ReportOptions& options) {
  Report report;
  report.loaded = load_runs(files);
  report.source = report.loaded.description;
  report.best = options.best;
  const Inventory inventory = take_inventory(report);
  choose_metrics(report, options, inventory);
  const std::vector<std::string> inner_keys = choose_group_keys(report, options, inventory);
  const std::size_t compare_index =
      options.compare.empty() ? 0 : resolve_compare(report, options.compare, inventory);
  form_groups(report);
  if (options.best) {
    for (Group& group : report.groups) keep_best_configuration(group, inner_keys, report.selection);
  }
  for (const Group& group : report.groups) report.rows.push_back(summarise_group(report, group));
  if (report.compare_key.empty()) return report;

  std::vector<std::string> pairing_keys;
  if (!options.best)
    for (const std::string& key : inner_keys)
      if (key != report.compare_key) pairing_keys.push_back(key);
  for (Row& row : report.rows) {
    if (row.group->values[compare_index] == report.compare_value) {
      row.is_baseline = true;
      continue;
    }
    row.baseline = find_baseline(report, row, compare_index);
    if (row.baseline != nullptr) compare_with_baseline(report, row, pairing_keys);
  }
  return report;
}

// ---- rendering ----------------------------------------------------------------------------

json number_or_null(double value) {
  return std::isnan(value) ? json(nullptr) : json(value);
}

std::string shown(double value, bool percent, bool sign = false) {
  if (std::isnan(value)) return "-";
  if (percent)
    return sign ? fmt::format("{:+.1f}", 100 * value) : fmt::format("{:.1f}", 100 * value);
  return sign ? fmt::format("{:+.4g}", value) : fmt::format("{:.4g}", value);
}

std::string shown_p(double p) {
  if (std::isnan(p)) return "-";
  if (p < 0.001) return "<0.001";
  return fmt::format("{:.3g}", p);
}

std::string shown_summary(const std::optional<SampleSummary>& s, bool percent, bool with_ci) {
  if (!s) return "-";
  std::string text = shown(s->mean, percent);
  if (s->count > 1) {
    text += " ± " + shown(s->std, percent);
    if (with_ci) text += " [" + shown(s->ci_low, percent) + ", " + shown(s->ci_high, percent) + "]";
  }
  return text;
}

std::string metric_header(const std::string& metric) {
  std::string name = metric.rfind("test_", 0) == 0 ? metric.substr(5) : metric;
  return is_fraction_metric(metric) ? name + " %" : name;
}

// The table the human formats share: headers and display cells.
struct DisplayTable {
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;
};

DisplayTable display_table(const Report& report) {
  DisplayTable table;
  for (const std::string& key : report.group_keys) table.headers.push_back(short_key(key));
  if (report.best) {
    table.headers.push_back("best configuration");
    table.headers.push_back(metric_header(report.selection));
  }
  table.headers.push_back("done");
  table.headers.push_back("failed");
  for (const std::string& metric : report.metrics)
    table.headers.push_back(metric_header(metric) + " (mean ± std [95% CI])");
  table.headers.push_back("best seed");
  table.headers.push_back("median time");
  if (!report.compare_key.empty()) {
    table.headers.push_back("pairs");
    for (const std::string& metric : report.metrics)
      table.headers.push_back(metric_header(metric) + " vs " + report.compare_value);
  }
  for (const Row& row : report.rows) {
    std::vector<std::string> cells = row.group->values;
    if (report.best) {
      cells.push_back(row.group->configuration.empty() ? "-" : row.group->configuration);
      cells.push_back(shown(row.group->selection_mean, is_fraction_metric(report.selection)));
    }
    cells.push_back(std::to_string(row.done));
    cells.push_back(std::to_string(row.failed));
    for (std::size_t m = 0; m < report.metrics.size(); ++m)
      cells.push_back(shown_summary(row.metrics[m], is_fraction_metric(report.metrics[m]), true));
    cells.push_back(row.best_seed.is_null()
                        ? "-"
                        : row.best_seed.dump() + " (" +
                              shown(row.best_seed_value, is_fraction_metric(report.metrics[0])) +
                              ")");
    cells.push_back(format_duration(row.median_duration));
    if (!report.compare_key.empty()) {
      cells.push_back(row.is_baseline || row.baseline == nullptr ? "-" : std::to_string(row.pairs));
      for (std::size_t m = 0; m < report.metrics.size(); ++m) {
        bool percent = is_fraction_metric(report.metrics[m]);
        if (row.is_baseline) {
          cells.push_back("(baseline)");
        } else if (row.baseline == nullptr) {
          cells.push_back("(no baseline)");
        } else {
          const MetricComparison& c = row.comparisons[m];
          cells.push_back(shown_summary(c.baseline, percent, false) + " (" +
                          shown(c.difference, percent, true) + ", p=" + shown_p(c.p_t) + " t, " +
                          shown_p(c.p_wilcoxon) + " W)");
        }
      }
    }
    table.rows.push_back(std::move(cells));
  }
  return table;
}

std::string legend(const Report& report) {
  std::string text = fmt::format(
      "{}: {} runs, {} done; {} groups{}. Percentages for fractions; ± sample std over seeds; "
      "[95% CI] from Student's t; best seed by {}.",
      report.source, report.total_runs, report.total_done, report.rows.size(),
      report.group_keys.empty() ? "" : " by " + join(report.group_keys, ", "), report.selection);
  if (report.best)
    text += fmt::format(" Best configuration per group by mean {} (test metrics not used).",
                        report.selection);
  if (!report.compare_key.empty())
    text += fmt::format(
        " vs {}={}: baseline mean ± std (difference, p from the paired t-test t and the Wilcoxon "
        "signed-rank test W over runs paired by seed).",
        report.compare_key, report.compare_value);
  return text;
}

std::string render_markdown(const Report& report) {
  const DisplayTable table = display_table(report);
  return format_markdown_table(table.headers, table.rows, report.group_keys.size()) + "\n" +
         legend(report) + "\n";
}

std::string latex_cell(const std::string& cell) {
  std::string out;
  for (std::size_t i = 0; i < cell.size(); ++i) {
    char c = cell[i];
    if (cell.compare(i, 2, "±") == 0) {
      out += "$\\pm$";
      ++i;
    } else if (c == '_' || c == '%' || c == '&' || c == '#' || c == '$' || c == '{' || c == '}') {
      out += std::string("\\") + c;
    } else if (c == '<') {
      out += "$<$";
    } else {
      out += c;
    }
  }
  return out;
}

std::string render_latex(const Report& report) {
  DisplayTable table = display_table(report);
  std::string columns(report.group_keys.size(), 'l');
  columns += std::string(table.headers.size() - report.group_keys.size(), 'r');
  auto line = [](const std::vector<std::string>& cells) {
    std::vector<std::string> escaped;
    for (const std::string& cell : cells) escaped.push_back(latex_cell(cell));
    return join(escaped, " & ") + " \\\\\n";
  };
  std::string out = "% " + legend(report) + "\n";
  out += "\\begin{tabular}{" + columns + "}\n\\hline\n" + line(table.headers) + "\\hline\n";
  for (const auto& row : table.rows) out += line(row);
  return out + "\\hline\n\\end{tabular}\n";
}

std::string csv_cell(const std::string& cell) {
  if (cell.find_first_of(",\"\n") == std::string::npos) return cell;
  std::string out = "\"";
  for (char c : cell) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string csv_number(double value) {
  return std::isnan(value) ? "" : fmt::format("{:.17g}", value);
}

// Raw numbers (fractions, not percentages), one row per group.
std::string render_csv(const Report& report) {
  std::vector<std::string> headers = report.group_keys;
  if (report.best) headers.insert(headers.end(), {"configuration", report.selection + "_mean"});
  headers.insert(headers.end(), {"done", "failed"});
  for (const std::string& m : report.metrics)
    for (const char* part : {"n", "mean", "std", "ci_low", "ci_high"})
      headers.push_back(m + "_" + part);
  headers.insert(headers.end(),
                 {"best_seed", "best_seed_" + report.metrics[0], "median_duration_s"});
  if (!report.compare_key.empty()) {
    headers.insert(headers.end(), {"baseline", "pairs"});
    for (const std::string& m : report.metrics)
      for (const char* part : {"baseline_mean", "difference", "p_t", "p_wilcoxon"})
        headers.push_back(m + "_" + part);
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::vector<std::string> quoted;
    for (const std::string& cell : cells) quoted.push_back(csv_cell(cell));
    out += join(quoted, ",") + "\n";
  };
  line(headers);
  for (const Row& row : report.rows) {
    std::vector<std::string> cells;
    for (const std::string& value : row.group->values)
      cells.push_back(value == kAbsent ? "" : value);
    if (report.best) {
      cells.push_back(row.group->configuration);
      cells.push_back(csv_number(row.group->selection_mean));
    }
    cells.push_back(std::to_string(row.done));
    cells.push_back(std::to_string(row.failed));
    for (const auto& s : row.metrics) {
      cells.push_back(s ? std::to_string(s->count) : "0");
      for (double v :
           {s ? s->mean : kNaN, s ? s->std : kNaN, s ? s->ci_low : kNaN, s ? s->ci_high : kNaN})
        cells.push_back(csv_number(v));
    }
    cells.push_back(row.best_seed.is_null() ? "" : row.best_seed.dump());
    cells.push_back(csv_number(row.best_seed_value));
    cells.push_back(csv_number(row.median_duration));
    if (!report.compare_key.empty()) {
      std::vector<std::string> baseline_values;
      if (row.baseline)
        for (const std::string& value : row.baseline->values) baseline_values.push_back(value);
      cells.push_back(row.is_baseline ? "(baseline)" : join(baseline_values, " "));
      cells.push_back(row.baseline ? std::to_string(row.pairs) : "");
      for (std::size_t m = 0; m < report.metrics.size(); ++m) {
        MetricComparison c = row.baseline ? row.comparisons[m] : MetricComparison{};
        cells.push_back(csv_number(c.baseline ? c.baseline->mean : kNaN));
        for (double v : {c.difference, c.p_t, c.p_wilcoxon}) cells.push_back(csv_number(v));
      }
    }
    line(cells);
  }
  return out;
}

json summary_json(const std::optional<SampleSummary>& s) {
  if (!s) return nullptr;
  return {{"n", s->count},
          {"mean", s->mean},
          {"std", number_or_null(s->std)},
          {"ci_low", number_or_null(s->ci_low)},
          {"ci_high", number_or_null(s->ci_high)}};
}

json group_keys_json(const Report& report, const Group& group) {
  json keys = json::object();
  for (std::size_t k = 0; k < report.group_keys.size(); ++k)
    keys[report.group_keys[k]] = group.values[k] == kAbsent ? json(nullptr) : json(group.values[k]);
  return keys;
}

std::string render_json(const Report& report) {
  json out = {{"source", report.source},
              {"runs", report.total_runs},
              {"done", report.total_done},
              {"group_keys", report.group_keys},
              {"metrics", report.metrics},
              {"selection_metric", report.selection},
              {"best", report.best},
              {"compare", report.compare_key.empty() ? json(nullptr)
                                                     : json{{"key", report.compare_key},
                                                            {"value", report.compare_value}}}};
  json groups = json::array();
  for (const Row& row : report.rows) {
    json group = {{"keys", group_keys_json(report, *row.group)},
                  {"done", row.done},
                  {"failed", row.failed},
                  {"best_seed", row.best_seed},
                  {"best_seed_value", number_or_null(row.best_seed_value)},
                  {"median_duration_s", number_or_null(row.median_duration)}};
    if (report.best) {
      group["configuration"] = row.group->configuration;
      group["selection_mean"] = number_or_null(row.group->selection_mean);
    }
    json metrics = json::object();
    for (std::size_t m = 0; m < report.metrics.size(); ++m)
      metrics[report.metrics[m]] = summary_json(row.metrics[m]);
    group["metrics"] = metrics;
    if (!report.compare_key.empty()) {
      json comparison = {{"is_baseline", row.is_baseline}};
      if (row.baseline) {
        comparison["baseline"] = group_keys_json(report, *row.baseline);
        comparison["pairs"] = row.pairs;
        json per_metric = json::object();
        for (std::size_t m = 0; m < report.metrics.size(); ++m) {
          const MetricComparison& c = row.comparisons[m];
          per_metric[report.metrics[m]] = {{"baseline", summary_json(c.baseline)},
                                           {"difference", number_or_null(c.difference)},
                                           {"p_t", number_or_null(c.p_t)},
                                           {"p_wilcoxon", number_or_null(c.p_wilcoxon)}};
        }
        comparison["metrics"] = per_metric;
      } else {
        comparison["baseline"] = nullptr;
      }
      group["comparison"] = comparison;
    }
    groups.push_back(group);
  }
  out["groups"] = groups;
  return out.dump(2) + "\n";
}

}  // namespace

ReportFormat parse_report_format(const std::string& text) {
  if (text == "table") return ReportFormat::table;
  if (text == "markdown") return ReportFormat::markdown;
  if (text == "csv") return ReportFormat::csv;
  if (text == "latex") return ReportFormat::latex;
  if (text == "json") return ReportFormat::json;
  throw Error("--format: unknown format '" + text +
              "' (expected table, markdown, csv, latex or json)");
}

std::string make_report(const std::vector<std::string>& results_files, const ReportOptions& options,
                        ReportFormat format) {
  Report report = build_report(results_files, options);
  switch (format) {
    case ReportFormat::markdown:
      return render_markdown(report);
    case ReportFormat::csv:
      return render_csv(report);
    case ReportFormat::latex:
      return render_latex(report);
    case ReportFormat::json:
      return render_json(report);
    case ReportFormat::table:
      break;
  }
  DisplayTable table = display_table(report);
  return format_table(table.headers, table.rows) + legend(report) + "\n";
}

}  // namespace hqsweep
