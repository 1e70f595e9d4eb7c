// Random and TPE proposals. TPE, per parameter: the trials that have it are ranked (complete by
// value, then pruned by epochs reached and value, then running ones as the worst), the best
// gamma(n) = min(ceil(n / 10), 25) form l(x) and the rest g(x), each a Parzen estimator (truncated
// Gaussians with a prior, bandwidths from the neighbours, clipped); the candidate drawn from l
// with the largest l(x) / g(x) wins.
#include "orchestrator/search/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace hqsweep {

namespace {

using nlohmann::json;

constexpr double kPi = 3.14159265358979323846;
constexpr std::size_t kMaxBelow = 25;
// A long study's proposal looks at its 100 best trials and the 300 newest of the others, so that
// a proposal's cost stops growing with the trial count (but for one pass to rank them); the best
// 25, which make l(x), are among them, and older trials weigh little in g(x) anyway (the weights
// ramp up with the trial number). Exact up to 400 trials.
constexpr std::size_t kKeptBest = 100;
constexpr std::size_t kMaxAbove = 300;
constexpr std::size_t kFlatWeights = 25;

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t fnv1a(const std::string& text) {  // stable across platforms, unlike std::hash
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

bool is_log(ParamKind kind) {
  return kind == ParamKind::loguniform || kind == ParamKind::log_integer;
}
bool is_integer(ParamKind kind) {
  return kind == ParamKind::integer || kind == ParamKind::log_integer;
}

double normal_cdf(double z) {
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

double log_sum_exp(const std::vector<double>& terms) {
  const double top = *std::max_element(terms.begin(), terms.end());
  if (!std::isfinite(top)) return top;
  double sum = 0;
  for (double t : terms) sum += std::exp(t - top);
  return top + std::log(sum);
}

// Weights of a group's observations in trial-number order: flat for the newest 25, a ramp from
// 1/n for older ones.
std::vector<double> recency_weights(std::size_t n) {
  std::vector<double> weights(n, 1.0);
  if (n <= kFlatWeights) return weights;
  const std::size_t ramp = n - kFlatWeights;
  for (std::size_t i = 0; i < ramp; ++i) {
    weights[i] =
        ramp == 1 ? 1.0 / n : 1.0 / n + (1.0 - 1.0 / n) * static_cast<double>(i) / (ramp - 1);
  }
  return weights;
}

// One observation: the parameter's value (transformed: log scale where the parameter has one;
// a choice's index) and its trial number.
struct Observation {
  double x = 0;
  int64_t number = 0;
};

// A mixture of truncated Gaussians over [low, high] in the transformed space, the first being the
// prior (centre of the range, its width).
class ParzenEstimator {
 public:
  ParzenEstimator(const std::vector<Observation>& observations, double low, double high)
      : low_(low), high_(high) {
    std::vector<Observation> by_number = observations;
    std::sort(by_number.begin(), by_number.end(),
              [](const Observation& a, const Observation& b) { return a.number < b.number; });
    const std::vector<double> weights = recency_weights(by_number.size());
    mus_.push_back(0.5 * (low + high));
    weights_.push_back(1.0);  // the prior's
    for (std::size_t i = 0; i < by_number.size(); ++i) {
      mus_.push_back(by_number[i].x);
      weights_.push_back(weights[i]);
    }
    const double total = std::accumulate(weights_.begin(), weights_.end(), 0.0);
    for (double& w : weights_) w /= total;
    set_bandwidths();
    for (std::size_t i = 0; i < mus_.size(); ++i) {
      const double mass =
          normal_cdf((high_ - mus_[i]) / sigmas_[i]) - normal_cdf((low_ - mus_[i]) / sigmas_[i]);
      log_norm_.push_back(std::log(weights_[i]) - std::log(std::max(mass, 1e-300)));
    }
  }

  double sample(std::mt19937_64& rng) const {
    const double u = unit_draw(rng);
    std::size_t i = 0;
    for (double cumulative = weights_[0]; i + 1 < weights_.size() && u >= cumulative;)
      cumulative += weights_[++i];
    // Rejection from the component's Gaussian; the bandwidth never exceeds the range, so this
    // takes few draws, and clamping ends the rare long tail.
    for (int tries = 0; tries < 100; ++tries) {
      const double r = std::sqrt(-2.0 * std::log(1.0 - unit_draw(rng)));
      const double z = r * std::cos(2 * kPi * unit_draw(rng));
      const double x = mus_[i] + sigmas_[i] * z;
      if (x >= low_ && x <= high_) return x;
    }
    return std::clamp(mus_[i], low_, high_);
  }

  // log density at x; with `half_step` > 0 the log probability of [x - half_step, x + half_step]
  // (integer parameters).
  double log_density(double x, double half_step) const {
    std::vector<double> terms(mus_.size());
    for (std::size_t i = 0; i < mus_.size(); ++i) {
      if (half_step > 0) {
        const double mass = normal_cdf((x + half_step - mus_[i]) / sigmas_[i]) -
                            normal_cdf((x - half_step - mus_[i]) / sigmas_[i]);
        terms[i] = log_norm_[i] + std::log(std::max(mass, 1e-300));
      } else {
        const double z = (x - mus_[i]) / sigmas_[i];
        terms[i] = log_norm_[i] - 0.5 * z * z - std::log(sigmas_[i] * std::sqrt(2 * kPi));
      }
    }
    return log_sum_exp(terms);
  }

 private:
  // Each observation's bandwidth is the larger gap to its neighbours among the observations (the
  // inner one at the edges), clipped to [range / min(100, 1 + n), range]; the prior (index 0)
  // takes no part and has the range.
  void set_bandwidths() {
    const double range = high_ - low_;
    std::vector<std::size_t> order(mus_.size() - 1);
    std::iota(order.begin(), order.end(), 1);
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return mus_[a] < mus_[b]; });
    sigmas_.assign(mus_.size(), range);
    for (std::size_t k = 0; k < order.size(); ++k) {
      const double left = k == 0 ? low_ : mus_[order[k - 1]];
      const double right = k + 1 == order.size() ? high_ : mus_[order[k + 1]];
      double sigma = std::max(mus_[order[k]] - left, right - mus_[order[k]]);
      // At the edges the gap to the inner neighbour alone: the range's end is no neighbour.
      if (order.size() >= 2 && k == 0) sigma = right - mus_[order[k]];
      if (order.size() >= 2 && k + 1 == order.size()) sigma = mus_[order[k]] - left;
      sigmas_[order[k]] = sigma;
    }
    const double smallest = range / std::min(100.0, 1.0 + static_cast<double>(order.size()));
    for (double& s : sigmas_) s = std::clamp(s, smallest, range);
    sigmas_[0] = range;
  }

  double low_, high_;
  std::vector<double> mus_, weights_, sigmas_, log_norm_;
};

// Category probabilities: the weighted counts of each choice, plus a prior of 1 spread evenly.
std::vector<double> category_log_probabilities(const std::vector<Observation>& observations,
                                               std::size_t choices) {
  std::vector<Observation> by_number = observations;
  std::sort(by_number.begin(), by_number.end(),
            [](const Observation& a, const Observation& b) { return a.number < b.number; });
  const std::vector<double> weights = recency_weights(by_number.size());
  std::vector<double> mass(choices, 1.0 / static_cast<double>(choices));
  for (std::size_t i = 0; i < by_number.size(); ++i)
    mass[static_cast<std::size_t>(by_number[i].x)] += weights[i];
  const double total = std::accumulate(mass.begin(), mass.end(), 0.0);
  for (double& m : mass) m = std::log(m / total);
  return mass;
}

std::size_t choice_index(const ParamSpec& param, const json& value) {
  for (std::size_t i = 0; i < param.choices.size(); ++i)
    if (param.choices[i] == value) return i;
  return param.choices.size();
}

// The parameter's bounds in the transformed space (integers widened by half a step).
std::pair<double, double> transformed_bounds(const ParamSpec& param) {
  double low = param.low, high = param.high;
  if (is_integer(param.kind)) {
    low = std::ceil(low) - 0.5;
    high = std::floor(high) + 0.5;
  }
  if (is_log(param.kind)) {
    low = std::log(std::max(low, 1e-300));
    high = std::log(high);
  }
  return {low, high};
}

// Ranks trials best first: complete by value, then pruned (more epochs first, then by value),
// then running ones (the constant liar: as if they were the worst).
std::vector<const TrialRecord*> ranked(const std::vector<TrialRecord>& trials, MetricMode mode) {
  std::vector<const TrialRecord*> out;
  for (const TrialRecord& t : trials) {
    if (t.state == TrialState::failed) continue;
    if (t.state != TrialState::running && !std::isfinite(t.value)) continue;
    out.push_back(&t);
  }
  auto group = [](const TrialRecord& t) {
    return t.state == TrialState::complete ? 0 : t.state == TrialState::pruned ? 1 : 2;
  };
  const double sign = mode == MetricMode::max ? -1.0 : 1.0;  // ascending in sign * value
  std::stable_sort(out.begin(), out.end(), [&](const TrialRecord* a, const TrialRecord* b) {
    if (group(*a) != group(*b)) return group(*a) < group(*b);
    if (group(*a) == 2) return a->number < b->number;
    if (group(*a) == 1 && a->epochs != b->epochs) return a->epochs > b->epochs;
    if (sign * a->value != sign * b->value) return sign * a->value < sign * b->value;
    return a->number < b->number;
  });
  if (out.size() > kKeptBest + kMaxAbove) {
    auto rest = out.begin() + kKeptBest;
    std::nth_element(
        rest, rest + kMaxAbove, out.end(),
        [](const TrialRecord* a, const TrialRecord* b) { return a->number > b->number; });
    out.resize(kKeptBest + kMaxAbove);  // the best, then the newest others (in no rank order)
    std::stable_sort(rest, out.end(), [&](const TrialRecord* a, const TrialRecord* b) {
      if (group(*a) != group(*b)) return group(*a) < group(*b);
      return sign * a->value < sign * b->value;
    });
  }
  return out;
}

json sample_tpe(const ParamSpec& param, const std::vector<const TrialRecord*>& order,
                int64_t candidates, std::mt19937_64& rng) {
  std::vector<Observation> having;  // in rank order
  for (const TrialRecord* t : order) {
    auto it = t->params.find(param.key);
    if (it == t->params.end()) continue;
    Observation o;
    o.number = t->number;
    if (param.kind == ParamKind::choice) {
      const std::size_t index = choice_index(param, it->second);
      if (index == param.choices.size()) continue;  // a value no longer in the space
      o.x = static_cast<double>(index);
    } else {
      if (!it->second.is_number()) continue;
      const double v = it->second.get<double>();
      if (v < param.low || v > param.high) continue;
      o.x = is_log(param.kind) ? std::log(v) : v;
    }
    having.push_back(o);
  }
  const std::size_t below_count = std::min(
      kMaxBelow, static_cast<std::size_t>(std::ceil(0.1 * static_cast<double>(having.size()))));
  std::vector<Observation> below(having.begin(), having.begin() + below_count);
  std::vector<Observation> above(having.begin() + below_count, having.end());
  if (above.size() > kMaxAbove) {
    std::sort(above.begin(), above.end(),
              [](const Observation& a, const Observation& b) { return a.number > b.number; });
    above.resize(kMaxAbove);
  }

  if (param.kind == ParamKind::choice) {
    const std::vector<double> l = category_log_probabilities(below, param.choices.size());
    const std::vector<double> g = category_log_probabilities(above, param.choices.size());
    std::size_t best = 0;
    double best_score = -INFINITY;
    for (int64_t c = 0; c < candidates; ++c) {
      double u = unit_draw(rng), cumulative = 0;
      std::size_t pick = param.choices.size() - 1;
      for (std::size_t i = 0; i < l.size(); ++i) {
        cumulative += std::exp(l[i]);
        if (u < cumulative) {
          pick = i;
          break;
        }
      }
      const double score = l[pick] - g[pick];
      if (score > best_score) {
        best_score = score;
        best = pick;
      }
    }
    return param.choices[best];
  }

  const auto [low, high] = transformed_bounds(param);
  const ParzenEstimator l(below, low, high), g(above, low, high);
  double best = 0, best_score = -INFINITY;
  for (int64_t c = 0; c < candidates; ++c) {
    double x = l.sample(rng);
    double half_step = 0;
    if (param.kind == ParamKind::integer) {
      x = std::clamp(std::round(x), std::ceil(param.low), std::floor(param.high));
      half_step = 0.5;
    } else if (param.kind == ParamKind::log_integer) {
      x = std::log(
          std::clamp(std::round(std::exp(x)), std::ceil(param.low), std::floor(param.high)));
    }
    double score = 0;
    if (param.kind == ParamKind::log_integer) {
      // The integer's cell [v - 0.5, v + 0.5] in log space.
      const double v = std::exp(x);
      const double a = std::log(std::max(v - 0.5, 1e-300)), b = std::log(v + 0.5);
      const double mid = 0.5 * (a + b), half = 0.5 * (b - a);
      score = l.log_density(mid, half) - g.log_density(mid, half);
    } else {
      score = l.log_density(x, half_step) - g.log_density(x, half_step);
    }
    if (score > best_score) {
      best_score = score;
      best = x;
    }
  }
  const double value = is_log(param.kind) ? std::exp(best) : best;
  if (is_integer(param.kind)) {
    return static_cast<int64_t>(
        std::clamp(std::round(value), std::ceil(param.low), std::floor(param.high)));
  }
  return std::clamp(value, param.low, param.high);
}

}  // namespace

Params propose(const SearchSpec& spec, const std::vector<TrialRecord>& trials, int64_t number,
               const AppliesTo& applies, uint64_t redraw) {
  std::mt19937_64 rng(mix(mix(spec.seed) ^ mix(static_cast<uint64_t>(number) + 1) ^ redraw));
  int64_t finished = 0;
  for (const TrialRecord& t : trials)
    finished += t.state == TrialState::complete || t.state == TrialState::pruned;
  const bool use_tpe = spec.algorithm == SearchAlgorithm::tpe && finished >= spec.startup_trials &&
                       finished > 0 && redraw == 0;
  const std::vector<const TrialRecord*> order =
      use_tpe ? ranked(trials, spec.mode) : std::vector<const TrialRecord*>{};

  Params sampled;
  for (const bool choices_pass : {true, false}) {
    for (const ParamSpec& param : spec.space) {
      if ((param.kind == ParamKind::choice) != choices_pass) continue;
      // A draw per parameter whether it applies or not, so that one parameter's applicability
      // does not shift every later parameter's random numbers.
      std::mt19937_64 own(rng() ^ mix(fnv1a(param.key)));
      if (applies && !applies(param.key, sampled)) continue;
      sampled[param.key] = use_tpe ? sample_tpe(param, order, spec.candidates, own)
                                   : value_at(param, unit_draw(own));
    }
  }
  return sampled;
}

}  // namespace hqsweep
