// Random and TPE proposals. TPE, over the parameters every trial has jointly (multivariate, the
// default) or per parameter: the trials that have them are ranked (complete by value, then pruned
// by epochs reached and value, then running ones as the worst), the best few form l(x) and the
// rest g(x), each a Parzen estimator (truncated Gaussians with a prior; bandwidths by Scott's rule
// jointly, from the neighbours per parameter); the candidate drawn from l with the largest
// l(x) / g(x) wins. Parameters some trials lack (conditional ones) go per parameter.
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
// The joint (multivariate) estimator, as Watanabe's ablation recommends: l(x) from the best
// ceil(0.25 sqrt(n)) trials, bandwidths by Scott's rule of thumb over each group's points, at
// least 5% of the range (an integer's step at least). The 5% was chosen on study seeds 1000-1039
// and 2000-2039 of the sampler benchmark, not on the seeds docs/benchmarks.md reports.
constexpr double kJointBelowFactor = 0.25;
constexpr double kJointMinBandwidth = 0.05;

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

// One dimension of an estimator: a parameter in the transformed space (log scale where it has
// one; integers widened by half a step; a choice's index).
struct Dimension {
  const ParamSpec* param = nullptr;
  double low = 0, high = 0;  // transformed bounds
  bool categorical() const { return param->kind == ParamKind::choice; }
};

// A point of the transformed space, one value per dimension, and the trial it came from.
struct Observation {
  std::vector<double> x;
  int64_t number = 0;
};

std::size_t choice_index(const ParamSpec& param, const json& value) {
  for (std::size_t i = 0; i < param.choices.size(); ++i)
    if (param.choices[i] == value) return i;
  return param.choices.size();
}

Dimension dimension_of(const ParamSpec& param) {
  Dimension d;
  d.param = &param;
  if (param.kind == ParamKind::choice) {
    d.high = static_cast<double>(param.choices.size());
    return d;
  }
  double low = param.low, high = param.high;
  if (is_integer(param.kind)) {
    low = std::ceil(low) - 0.5;
    high = std::floor(high) + 0.5;
  }
  if (is_log(param.kind)) {
    low = std::log(std::max(low, 1e-300));
    high = std::log(high);
  }
  d.low = low;
  d.high = high;
  return d;
}

// The trial's value of a parameter in the transformed space; false when it has none usable.
bool transformed_value(const ParamSpec& param, const Params& params, double& x) {
  auto it = params.find(param.key);
  if (it == params.end()) return false;
  if (param.kind == ParamKind::choice) {
    const std::size_t index = choice_index(param, it->second);
    if (index == param.choices.size()) return false;  // a value no longer in the space
    x = static_cast<double>(index);
    return true;
  }
  if (!it->second.is_number()) return false;
  const double v = it->second.get<double>();
  if (v < param.low || v > param.high) return false;
  x = is_log(param.kind) ? std::log(v) : v;
  return true;
}

// The parameter's value for a transformed x, rounded onto its integers where it has them.
json external_value(const ParamSpec& param, double x) {
  if (param.kind == ParamKind::choice) return param.choices[static_cast<std::size_t>(x)];
  const double value = is_log(param.kind) ? std::exp(x) : x;
  if (is_integer(param.kind)) {
    return static_cast<int64_t>(
        std::clamp(std::round(value), std::ceil(param.low), std::floor(param.high)));
  }
  return std::clamp(value, param.low, param.high);
}

// Snaps a sampled x onto an integer parameter's integers (in the transformed space).
double snapped(const ParamSpec& param, double x) {
  if (!is_integer(param.kind)) return x;
  const double v = std::clamp(std::round(is_log(param.kind) ? std::exp(x) : x),
                              std::ceil(param.low), std::floor(param.high));
  return is_log(param.kind) ? std::log(v) : v;
}

// The size of l(x)'s group among n trials: ceil(n / 10) for one parameter (Optuna's default),
// ceil(0.25 sqrt(n)) for the joint estimator; at most 25.
std::size_t below_size(std::size_t n, bool joint) {
  const double size = joint ? std::ceil(kJointBelowFactor * std::sqrt(static_cast<double>(n)))
                            : std::ceil(0.1 * static_cast<double>(n));
  return std::min(kMaxBelow, static_cast<std::size_t>(size));
}

// Linear interpolation between order statistics (numpy's default percentile) of sorted values.
double percentile(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const std::size_t below = static_cast<std::size_t>(position);
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (position - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

// Scott's rule of thumb, 1.059 min(sd, IQR / 1.34) n^(-1/5), over the components' centres.
double scott_bandwidth(std::vector<double> centres) {
  const double n = static_cast<double>(centres.size());
  if (centres.size() < 2) return 0;
  const double mean = std::accumulate(centres.begin(), centres.end(), 0.0) / n;
  double squares = 0;
  for (double c : centres) squares += (c - mean) * (c - mean);
  std::sort(centres.begin(), centres.end());
  const double spread = std::min(std::sqrt(squares / (n - 1)),
                                 (percentile(centres, 0.75) - percentile(centres, 0.25)) / 1.34);
  return 1.059 * spread * std::pow(n, -0.2);
}

// A mixture over the dimensions: the prior (each numeric dimension a Gaussian at the centre of
// its range with the range as width, each choice uniform) and one component per observation.
// Numeric dimensions are truncated Gaussians, integers as the mass of their cell; choices are
// the observed choice plus a prior of 1 / (n + 1) spread over the choices. Univariate (one
// dimension): bandwidths from the gaps to the neighbours (the inner one at the edges), clipped to
// [range / min(100, components), range], as Optuna's default; joint: one bandwidth per
// dimension by Scott's rule over the group (the prior's centre included), clipped to
// [5% of the range or an integer's step, half the range].
class MixtureEstimator {
 public:
  MixtureEstimator(const std::vector<Dimension>& dims, std::vector<Observation> observations)
      : dims_(dims) {
    std::sort(observations.begin(), observations.end(),
              [](const Observation& a, const Observation& b) { return a.number < b.number; });
    const std::size_t n = observations.size();
    const std::vector<double> recency = recency_weights(n);
    weights_.push_back(1.0);  // the prior's
    for (double w : recency) weights_.push_back(w);
    const double total = std::accumulate(weights_.begin(), weights_.end(), 0.0);
    for (double& w : weights_) w /= total;
    for (double& w : weights_) log_weights_.push_back(std::log(w));
    per_dim_.resize(dims.size());
    for (std::size_t d = 0; d < dims.size(); ++d) {
      PerDimension& pd = per_dim_[d];
      const Dimension& dim = dims[d];
      if (dim.categorical()) {
        const std::size_t k = dim.param->choices.size();
        const double prior = 1.0 / static_cast<double>(n + 1);
        pd.observed.push_back(-1);  // the prior: uniform
        for (const Observation& o : observations) pd.observed.push_back(static_cast<int>(o.x[d]));
        pd.log_hit = std::log((prior + 1) / (prior * k + 1));
        pd.log_miss = std::log(prior / (prior * k + 1));
        pd.log_uniform = -std::log(static_cast<double>(k));
        continue;
      }
      pd.mus.push_back(0.5 * (dim.low + dim.high));
      for (const Observation& o : observations) pd.mus.push_back(o.x[d]);
      set_bandwidths(pd, dim, dims.size());
      for (std::size_t i = 0; i < pd.mus.size(); ++i) {
        const double mass = normal_cdf((dim.high - pd.mus[i]) / pd.sigmas[i]) -
                            normal_cdf((dim.low - pd.mus[i]) / pd.sigmas[i]);
        pd.log_mass.push_back(std::log(std::max(mass, 1e-300)));
      }
    }
  }

  // One point: a component by weight, then each dimension from it.
  std::vector<double> sample(std::mt19937_64& rng) const {
    const double u = unit_draw(rng);
    std::size_t i = 0;
    for (double cumulative = weights_[0]; i + 1 < weights_.size() && u >= cumulative;)
      cumulative += weights_[++i];
    std::vector<double> x(dims_.size());
    for (std::size_t d = 0; d < dims_.size(); ++d) {
      const PerDimension& pd = per_dim_[d];
      if (dims_[d].categorical()) {
        const std::size_t k = dims_[d].param->choices.size();
        // The component's distribution: its choice with the hit probability, else uniform.
        const double hit = pd.observed[i] < 0 ? 0.0 : std::exp(pd.log_hit) - std::exp(pd.log_miss);
        const double v = unit_draw(rng);
        x[d] = v < hit
                   ? pd.observed[i]
                   : std::min<double>(static_cast<double>(k) - 1,
                                      std::floor((v - hit) / (1 - hit) * static_cast<double>(k)));
        continue;
      }
      x[d] = truncated_normal(pd.mus[i], pd.sigmas[i], dims_[d].low, dims_[d].high, rng);
    }
    return x;
  }

  double log_density(const std::vector<double>& x) const {
    std::vector<double> terms(log_weights_);
    for (std::size_t d = 0; d < dims_.size(); ++d) {
      const PerDimension& pd = per_dim_[d];
      const Dimension& dim = dims_[d];
      if (dim.categorical()) {
        const int c = static_cast<int>(x[d]);
        for (std::size_t i = 0; i < terms.size(); ++i)
          terms[i] += pd.observed[i] < 0 ? pd.log_uniform
                                         : (pd.observed[i] == c ? pd.log_hit : pd.log_miss);
        continue;
      }
      // Integers: the mass of their cell, [v - 0.5, v + 0.5] before any log scale.
      double a = x[d], b = x[d];
      if (is_integer(dim.param->kind)) {
        const double v = is_log(dim.param->kind) ? std::exp(x[d]) : x[d];
        a = is_log(dim.param->kind) ? std::log(std::max(v - 0.5, 1e-300)) : v - 0.5;
        b = is_log(dim.param->kind) ? std::log(v + 0.5) : v + 0.5;
      }
      for (std::size_t i = 0; i < terms.size(); ++i) {
        const double mu = pd.mus[i], sigma = pd.sigmas[i];
        if (b > a) {
          const double mass = normal_cdf((b - mu) / sigma) - normal_cdf((a - mu) / sigma);
          terms[i] += std::log(std::max(mass, 1e-300)) - pd.log_mass[i];
        } else {
          const double z = (x[d] - mu) / sigma;
          terms[i] += -0.5 * z * z - std::log(sigma * std::sqrt(2 * kPi)) - pd.log_mass[i];
        }
      }
    }
    return log_sum_exp(terms);
  }

 private:
  struct PerDimension {
    std::vector<double> mus, sigmas, log_mass;  // numeric; index 0 is the prior
    std::vector<int> observed;                  // categorical; -1 for the prior
    double log_hit = 0, log_miss = 0, log_uniform = 0;
  };

  static double truncated_normal(double mu, double sigma, double low, double high,
                                 std::mt19937_64& rng) {
    // Rejection; the bandwidth never exceeds the range, so this takes few draws, and clamping
    // ends the rare long tail.
    for (int tries = 0; tries < 100; ++tries) {
      const double r = std::sqrt(-2.0 * std::log(1.0 - unit_draw(rng)));
      const double x = mu + sigma * r * std::cos(2 * kPi * unit_draw(rng));
      if (x >= low && x <= high) return x;
    }
    return std::clamp(mu, low, high);
  }

  static void set_bandwidths(PerDimension& pd, const Dimension& dim, std::size_t dimensions) {
    const double range = dim.high - dim.low;
    const std::size_t components = pd.mus.size();
    pd.sigmas.assign(components, range);
    if (dimensions > 1) {
      const double smallest =
          std::max(kJointMinBandwidth * range, dim.param->kind == ParamKind::integer ? 1.0 : 0.0);
      const double sigma =
          std::clamp(scott_bandwidth(pd.mus), smallest, std::max(smallest, 0.5 * range));
      for (std::size_t i = 1; i < components; ++i) pd.sigmas[i] = sigma;
      return;  // the prior keeps the range
    } else {
      std::vector<std::size_t> order(components);
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(),
                [&](std::size_t a, std::size_t b) { return pd.mus[a] < pd.mus[b]; });
      for (std::size_t k = 0; k < order.size(); ++k) {
        const double mu = pd.mus[order[k]];
        const double left = k == 0 ? dim.low : pd.mus[order[k - 1]];
        const double right = k + 1 == order.size() ? dim.high : pd.mus[order[k + 1]];
        double sigma = std::max(mu - left, right - mu);
        // At the edges the gap to the inner neighbour alone: the range's end is no neighbour.
        if (order.size() >= 2 && k == 0) sigma = right - mu;
        if (order.size() >= 2 && k + 1 == order.size()) sigma = mu - left;
        pd.sigmas[order[k]] = sigma;
      }
    }
    const double smallest = range / std::min(100.0, 1.0 + static_cast<double>(components));
    for (double& s : pd.sigmas) s = std::clamp(s, smallest, range);
    pd.sigmas[0] = range;
  }

  std::vector<Dimension> dims_;
  std::vector<double> weights_, log_weights_;
  std::vector<PerDimension> per_dim_;
};

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
  auto ranks_before = [&](const TrialRecord* a, const TrialRecord* b) {
    if (group(*a) != group(*b)) return group(*a) < group(*b);
    if (group(*a) == 2) return a->number < b->number;
    if (group(*a) == 1 && a->epochs != b->epochs) return a->epochs > b->epochs;
    if (sign * a->value != sign * b->value) return sign * a->value < sign * b->value;
    return a->number < b->number;
  };
  std::sort(out.begin(), out.end(), ranks_before);
  if (out.size() > kKeptBest + kMaxAbove) {
    // The best, then the newest of the others, in rank order again.
    auto rest = out.begin() + kKeptBest;
    std::nth_element(
        rest, rest + kMaxAbove, out.end(),
        [](const TrialRecord* a, const TrialRecord* b) { return a->number > b->number; });
    out.resize(kKeptBest + kMaxAbove);
    std::sort(out.begin() + kKeptBest, out.end(), ranks_before);
  }
  return out;
}

// TPE over some parameters jointly (one, in the univariate variant): the trials that have them
// all, in rank order, split into the best gamma(n) and the rest; the candidate drawn from l with
// the largest l(x) / g(x) wins.
Params sample_tpe(const std::vector<const ParamSpec*>& params,
                  const std::vector<const TrialRecord*>& order, int64_t candidates,
                  std::mt19937_64& rng) {
  std::vector<Dimension> dims;
  for (const ParamSpec* p : params) dims.push_back(dimension_of(*p));
  std::vector<Observation> having;  // in rank order
  for (const TrialRecord* t : order) {
    Observation o;
    o.number = t->number;
    o.x.resize(dims.size());
    bool usable = true;
    for (std::size_t d = 0; d < dims.size() && usable; ++d)
      usable = transformed_value(*params[d], t->params, o.x[d]);
    if (usable) having.push_back(std::move(o));
  }
  const std::size_t below_count = below_size(having.size(), dims.size() > 1);
  std::vector<Observation> below(having.begin(), having.begin() + below_count);
  std::vector<Observation> above(having.begin() + below_count, having.end());
  const MixtureEstimator l(dims, std::move(below)), g(dims, std::move(above));
  std::vector<double> best;
  double best_score = -INFINITY;
  for (int64_t c = 0; c < candidates; ++c) {
    std::vector<double> x = l.sample(rng);
    for (std::size_t d = 0; d < dims.size(); ++d) x[d] = snapped(*params[d], x[d]);
    const double score = l.log_density(x) - g.log_density(x);
    if (best.empty() || score > best_score) {
      best_score = score;
      best = std::move(x);
    }
  }
  Params out;
  for (std::size_t d = 0; d < dims.size(); ++d)
    out[params[d]->key] = external_value(*params[d], best[d]);
  return out;
}

// The parameters every ranked trial has (the multivariate variant samples them jointly).
std::vector<const ParamSpec*> shared_parameters(const SearchSpec& spec,
                                                const std::vector<const TrialRecord*>& order) {
  std::vector<const ParamSpec*> shared;
  for (const ParamSpec& param : spec.space) {
    bool everywhere = !order.empty();
    for (const TrialRecord* t : order) {
      double x = 0;
      everywhere = everywhere && transformed_value(param, t->params, x);
      if (!everywhere) break;
    }
    if (everywhere) shared.push_back(&param);
  }
  return shared;
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
  if (use_tpe && spec.multivariate) {
    std::vector<const ParamSpec*> joint = shared_parameters(spec, order);
    if (joint.size() > 1) {
      std::mt19937_64 own(rng() ^ mix(fnv1a("multivariate")));
      for (auto& [key, value] : sample_tpe(joint, order, spec.candidates, own))
        sampled[key] = value;
    }
  }
  // Jointly sampled values that do not apply to this trial (after the choices it got) go again.
  for (auto it = sampled.begin(); it != sampled.end();) {
    Params others = sampled;
    others.erase(it->first);
    it = applies && !applies(it->first, others) ? sampled.erase(it) : std::next(it);
  }
  for (const bool choices_pass : {true, false}) {
    for (const ParamSpec& param : spec.space) {
      if ((param.kind == ParamKind::choice) != choices_pass) continue;
      // A draw per parameter whether it applies or not, so that one parameter's applicability
      // does not shift every later parameter's random numbers.
      std::mt19937_64 own(rng() ^ mix(fnv1a(param.key)));
      if (sampled.count(param.key)) continue;
      if (applies && !applies(param.key, sampled)) continue;
      sampled[param.key] = use_tpe ? sample_tpe({&param}, order, spec.candidates, own)[param.key]
                                   : value_at(param, unit_draw(own));
    }
  }
  return sampled;
}

}  // namespace hqsweep
