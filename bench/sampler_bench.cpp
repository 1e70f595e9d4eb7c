// hqsweep's proposals on analytic functions, for scripts/bench-samplers.py (which runs Optuna's
// samplers beside them): sequential studies through propose() with the trials so far, the code
// path a study takes. Prints one JSON line per study seed: the best value after each trial.
//   sampler_bench FUNCTION tpe|tpe-univariate|random TRIALS SEEDS
// (tpe: the default, multivariate; tpe-univariate: "multivariate": false)
// FUNCTION: branin, hartmann6, rosenbrock10, mixed (a number, an integer and a choice).
// With `timing N` instead: the cost of one TPE proposal after N trials (7 parameters).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "orchestrator/search/sampler.h"

namespace hqsweep {
namespace {

struct Function {
  std::vector<ParamSpec> space;
  double (*value)(const Params&);
};

double number(const Params& p, const std::string& key) {
  return p.at(key).get<double>();
}

double branin(const Params& p) {
  const double x = number(p, "x0"), y = number(p, "x1"), pi = 3.14159265358979323846;
  const double b = 5.1 / (4 * pi * pi), c = 5 / pi, t = 1 / (8 * pi);
  return std::pow(y - b * x * x + c * x - 6, 2) + 10 * (1 - t) * std::cos(x) + 10;
}

double hartmann6(const Params& p) {
  static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
  static const double a[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                 {0.05, 10, 17, 0.1, 8, 14},
                                 {3, 3.5, 1.7, 10, 17, 8},
                                 {17, 8, 0.05, 10, 0.1, 14}};
  static const double q[4][6] = {{1312, 1696, 5569, 124, 8283, 5886},
                                 {2329, 4135, 8307, 3736, 1004, 9991},
                                 {2348, 1451, 3522, 2883, 3047, 6650},
                                 {4047, 8828, 8732, 5743, 1091, 381}};
  double sum = 0;
  for (int i = 0; i < 4; ++i) {
    double inner = 0;
    for (int j = 0; j < 6; ++j) {
      const double d = number(p, "x" + std::to_string(j)) - q[i][j] * 1e-4;
      inner += a[i][j] * d * d;
    }
    sum += alpha[i] * std::exp(-inner);
  }
  return -sum;
}

double rosenbrock10(const Params& p) {
  double sum = 0;
  for (int i = 0; i < 9; ++i) {
    const double x = number(p, "x" + std::to_string(i)), y = number(p, "x" + std::to_string(i + 1));
    sum += 100 * (y - x * x) * (y - x * x) + (1 - x) * (1 - x);
  }
  return sum;
}

double mixed(const Params& p) {
  const double x = number(p, "x"), n = number(p, "n");
  const std::string c = p.at("c").get<std::string>();
  const double offset = c == "a" ? 0.5 : c == "b" ? 0.0 : c == "c" ? 1.0 : 2.0;
  return (x - 0.3) * (x - 0.3) * 10 + (n - 7) * (n - 7) / 10 + offset;
}

Function function_named(const std::string& name) {
  auto box = [](int d, double low, double high) {
    std::vector<ParamSpec> space;
    for (int i = 0; i < d; ++i)
      space.push_back({"x" + std::to_string(i), ParamKind::uniform, low, high, {}});
    return space;
  };
  if (name == "branin") {
    return {{{"x0", ParamKind::uniform, -5, 10, {}}, {"x1", ParamKind::uniform, 0, 15, {}}},
            branin};
  }
  if (name == "hartmann6") return {box(6, 0, 1), hartmann6};
  if (name == "rosenbrock10") return {box(10, -5, 10), rosenbrock10};
  if (name == "mixed") {
    return {{{"x", ParamKind::uniform, 0, 1, {}},
             {"n", ParamKind::integer, 0, 20, {}},
             {"c", ParamKind::choice, 0, 0, {"a", "b", "c", "d"}}},
            mixed};
  }
  throw std::runtime_error("unknown function " + name);
}

int timing(int64_t trials) {
  SearchSpec spec;
  spec.metric = "val_acc";
  spec.space = {{"a", ParamKind::loguniform, 1e-4, 1e-1, {}},
                {"b", ParamKind::loguniform, 1e-6, 1e-2, {}},
                {"c", ParamKind::integer, 2, 10, {}},
                {"d", ParamKind::integer, 1, 4, {}},
                {"e", ParamKind::choice, 0, 0, {"p", "q", "r", "s"}},
                {"f", ParamKind::log_integer, 8, 256, {}},
                {"g", ParamKind::uniform, 0, 0.5, {}}};
  std::vector<TrialRecord> history;
  std::mt19937_64 rng(1);
  for (int64_t n = 0; n < trials; ++n) {
    SearchSpec random = spec;
    random.algorithm = SearchAlgorithm::random;
    history.push_back({n, propose(random, {}, n, {}), TrialState::complete, unit_draw(rng), 0});
  }
  const int repeats = 20;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r) propose(spec, history, trials + r, {});
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
      repeats;
  std::cout << nlohmann::json{{"trials", trials}, {"ms_per_proposal", ms}}.dump() << "\n";
  return 0;
}

// Reads a history ({"space": [[low, high], ...], "trials": [[value, [x...]], ...]}) on stdin and
// prints `count` proposals after it (different trial numbers), for comparing the proposal
// distribution with another implementation's.
int proposals(int64_t count) {
  const nlohmann::json in = nlohmann::json::parse(std::cin);
  SearchSpec spec;
  spec.metric = "probe_objective";
  spec.mode = MetricMode::min;
  for (std::size_t d = 0; d < in["space"].size(); ++d)
    spec.space.push_back(
        {"x" + std::to_string(d), ParamKind::uniform, in["space"][d][0], in["space"][d][1], {}});
  std::vector<TrialRecord> history;
  for (const auto& t : in["trials"]) {
    TrialRecord r;
    r.number = static_cast<int64_t>(history.size());
    r.state = TrialState::complete;
    r.value = t[0];
    for (std::size_t d = 0; d < t[1].size(); ++d) r.params["x" + std::to_string(d)] = t[1][d];
    history.push_back(r);
  }
  for (int64_t i = 0; i < count; ++i) {
    spec.seed = static_cast<uint64_t>(i);
    const Params p = propose(spec, history, static_cast<int64_t>(history.size()), {});
    std::cout << p.at("x0").get<double>() << "\n";
  }
  return 0;
}

int run(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "timing") return timing(std::stoll(argv[2]));
  if (argc == 3 && std::string(argv[1]) == "proposals") return proposals(std::stoll(argv[2]));
  if (argc != 5) {
    std::cerr << "usage: sampler_bench FUNCTION tpe|tpe-univariate|random TRIALS SEEDS | "
                 "timing N | proposals N\n";
    return 2;
  }
  const Function f = function_named(argv[1]);
  const int64_t trials = std::stoll(argv[3]), seeds = std::stoll(argv[4]);
  for (int64_t seed = 0; seed < seeds; ++seed) {
    SearchSpec spec;
    const std::string algorithm = argv[2];
    spec.algorithm = algorithm == "random" ? SearchAlgorithm::random : SearchAlgorithm::tpe;
    spec.multivariate = algorithm != "tpe-univariate";
    spec.metric = "probe_objective";
    spec.mode = MetricMode::min;
    spec.seed = static_cast<uint64_t>(seed);
    spec.space = f.space;
    std::vector<TrialRecord> history;
    std::vector<double> best;
    for (int64_t n = 0; n < trials; ++n) {
      TrialRecord t;
      t.number = n;
      t.params = propose(spec, history, n, {});
      t.state = TrialState::complete;
      t.value = f.value(t.params);
      best.push_back(best.empty() ? t.value : std::min(best.back(), t.value));
      history.push_back(std::move(t));
    }
    std::cout << nlohmann::json{{"seed", seed}, {"best", best}}.dump() << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace hqsweep

int main(int argc, char** argv) {
  try {
    return hqsweep::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "sampler_bench: " << e.what() << "\n";
    return 2;
  }
}
