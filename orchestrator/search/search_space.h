// What a study searches and how it stops runs early, as the sweep language parses it (`search`
// and `stopping` blocks, docs/sweep-format.md): the distributions of a search space, the study's
// settings, the stopping rule's. Plain data, shared by the sampler and the stopping rules.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace hqsweep {

// choice over values; uniform and loguniform over [low, high]; integer (and log_integer, its
// log scale) over the integers of [low, high].
enum class ParamKind { choice, uniform, loguniform, integer, log_integer };

// The distributions' names in sweep files: choice, uniform, loguniform, int, logint.
const std::vector<std::pair<std::string, ParamKind>>& distribution_names();
std::string to_string(ParamKind kind);

struct ParamSpec {
  std::string key;  // dotted config key
  ParamKind kind = ParamKind::uniform;
  double low = 0, high = 0;
  std::vector<nlohmann::json> choices;
};

// A trial's sampled values by dotted key: only the keys that applied to it.
using Params = std::map<std::string, nlohmann::json>;

// Uniform double in [0, 1) from a 64-bit draw: the same on every platform, unlike
// std::uniform_real_distribution, whose algorithm the standard leaves open.
double unit_draw(std::mt19937_64& rng);
// The value of a distribution at u in [0, 1): choice picks by index, uniform and loguniform
// interpolate (linearly, in log space), the integer kinds round onto the integers of [low, high].
nlohmann::json value_at(const ParamSpec& param, double u);

enum class MetricMode { max, min };
// The study's default direction for a metric: min for losses and the probe's objective, else max.
MetricMode default_mode(const std::string& metric);
// The metrics a study may optimise or a stopping rule may watch: validation metrics, which runs
// report every epoch (test metrics are never used for choosing), and the probe's objective.
const std::vector<std::string>& study_metrics();

enum class SearchAlgorithm { tpe, random };

struct SearchSpec {
  SearchAlgorithm algorithm = SearchAlgorithm::tpe;
  int64_t trials = 0;  // in total, across every job that resumes the study
  std::string metric;
  MetricMode mode = MetricMode::max;
  std::vector<ParamSpec> space;
  int64_t startup_trials = 10;  // random proposals before TPE takes over
  int64_t candidates = 24;      // TPE: draws from l(x) scored by l(x)/g(x) per parameter
  bool multivariate = true;     // TPE: the parameters every trial has sampled jointly
  uint64_t seed = 0;
};

enum class StoppingAlgorithm { none, asha, hyperband, median };

struct StoppingSpec {
  StoppingAlgorithm algorithm = StoppingAlgorithm::none;
  std::string metric;
  MetricMode mode = MetricMode::max;
  int64_t min_epochs = 1;        // the first rung (asha, hyperband); warm-up epochs (median)
  int64_t reduction_factor = 3;  // asha, hyperband: 1 in reduction_factor goes on at a rung
  int64_t startup_runs = 5;      // median: finished runs needed before it stops any
  int64_t max_epochs = 0;        // hyperband: a full run's epochs (filled in from the runs)
};

std::string to_string(SearchAlgorithm algorithm);
std::string to_string(StoppingAlgorithm algorithm);
std::string to_string(MetricMode mode);

}  // namespace hqsweep
