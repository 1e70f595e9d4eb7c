// Draws from a distribution and the names of the study's settings.
#include "orchestrator/search/search_space.h"

#include <algorithm>
#include <cmath>

namespace hqsweep {

const std::vector<std::pair<std::string, ParamKind>>& distribution_names() {
  static const std::vector<std::pair<std::string, ParamKind>> names = {
      {"choice", ParamKind::choice},
      {"uniform", ParamKind::uniform},
      {"loguniform", ParamKind::loguniform},
      {"int", ParamKind::integer},
      {"logint", ParamKind::log_integer}};
  return names;
}

std::string to_string(ParamKind kind) {
  for (const auto& [name, k] : distribution_names())
    if (k == kind) return name;
  return "?";
}

double unit_draw(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

nlohmann::json value_at(const ParamSpec& param, double u) {
  switch (param.kind) {
    case ParamKind::choice:
      return param.choices[std::min(param.choices.size() - 1,
                                    static_cast<std::size_t>(u * param.choices.size()))];
    case ParamKind::uniform:
      return param.low + (param.high - param.low) * u;
    case ParamKind::loguniform:
      return std::exp(std::log(param.low) + (std::log(param.high) - std::log(param.low)) * u);
    case ParamKind::integer: {
      const auto lo = static_cast<int64_t>(std::ceil(param.low));
      const auto hi = static_cast<int64_t>(std::floor(param.high));
      return std::min(hi, lo + static_cast<int64_t>(u * static_cast<double>(hi - lo + 1)));
    }
    case ParamKind::log_integer: {
      // Uniform in log space over [lo - 0.5, hi + 0.5], so that each integer gets its cell.
      const double lo = std::ceil(param.low), hi = std::floor(param.high);
      const double a = std::log(std::max(lo - 0.5, 0.5)), b = std::log(hi + 0.5);
      const double v = std::round(std::exp(a + (b - a) * u));
      return static_cast<int64_t>(std::clamp(v, lo, hi));
    }
  }
  return nullptr;
}

MetricMode default_mode(const std::string& metric) {
  const bool loss = metric.size() >= 5 && metric.compare(metric.size() - 5, 5, "_loss") == 0;
  return loss || metric == "probe_objective" ? MetricMode::min : MetricMode::max;
}

const std::vector<std::string>& study_metrics() {
  static const std::vector<std::string> names = {"val_acc", "val_auc", "val_f1", "val_loss",
                                                 "probe_objective"};
  return names;
}

std::string to_string(SearchAlgorithm algorithm) {
  return algorithm == SearchAlgorithm::tpe ? "tpe" : "random";
}

std::string to_string(StoppingAlgorithm algorithm) {
  switch (algorithm) {
    case StoppingAlgorithm::none:
      return "none";
    case StoppingAlgorithm::asha:
      return "asha";
    case StoppingAlgorithm::hyperband:
      return "hyperband";
    case StoppingAlgorithm::median:
      return "median";
  }
  return "none";
}

std::string to_string(MetricMode mode) {
  return mode == MetricMode::max ? "max" : "min";
}

}  // namespace hqsweep
