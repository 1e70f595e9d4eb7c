// Expansion of sweep files into canonical run configurations.
#include "orchestrator/sweep/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <tuple>

#include "common/config_schema.h"
#include "common/error.h"
#include "common/json_source.h"
#include "common/text.h"
#include "orchestrator/search/sampler.h"

namespace hqsweep {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// One combination under construction: the assignments so far and a label for error messages.
struct Point {
  FlatConfig values;
  std::vector<std::string> label;  // "train.lr=0.01" for each choice that made this point
};

// One axis of the product: each option sets one or more keys.
using Option = std::vector<std::pair<std::string, json>>;
using Dimension = std::vector<Option>;

// key -> acceptable values (any of them matches)
using MatchRule = std::map<std::string, std::vector<json>>;

struct Conditional {
  MatchRule when;
  Option set;
  std::vector<Dimension> grid;
};

struct Leaf {
  std::string key;  // dotted
  const ojson* value;
  JsonPath path;
};

// "slurm" belongs to `hqsweep submit` (orchestrator/slurm/slurm.h); expansion leaves it alone.
const std::set<std::string> kSweepSections = {
    "name",  "description", "base",    "grid",        "zip",   "linked", "random",
    "seeds", "include",     "exclude", "conditional", "slurm", "search", "stopping"};
// Sections that list runs of their own, which a study's search leaves no room for.
const char* const kGridSections[] = {"grid", "zip", "linked", "random", "include", "exclude"};

class SweepParser {
 public:
  SweepParser(const JsonSource& source, const SweepOptions& options)
      : source_(source), options_(options) {}

  // whole_file_is_base: a config file, the one run of a sweep whose base is the whole file.
  Sweep parse_and_expand(bool whole_file_is_base = false);

 private:
  ParamSpec parse_distribution(const std::string& dotted, const ojson& spec,
                               const JsonPath& path) const;
  std::vector<ParamSpec> parse_space(const ojson& space, const JsonPath& path) const;
  SearchSpec parse_search(const ojson& search, const JsonPath& path) const;
  // The metric a study or stopping rule watches: a built-in run's validation metric, or any
  // name a program reports (not a test metric); `mode_given` says whether its mode was.
  std::string parse_metric(const ojson& metric, bool mode_given, const JsonPath& path) const;
  StoppingSpec parse_stopping(const ojson& stopping, const SearchSpec* search,
                              const JsonPath& path) const;
  void add_study(const ojson& root, const Point& base, Sweep& sweep) const;
  // The steps of parse_and_expand, in order.
  void check_sections(const ojson& root, bool whole_file_is_base) const;
  std::vector<Dimension> parse_dimensions(const ojson& root) const;
  void add_includes(const ojson& root, const Point& base, std::vector<Point>& points) const;
  void apply_conditionals(const ojson& root, std::vector<Point>& points) const;
  void cross_with_seeds(const ojson& root, std::vector<Point>& points) const;
  std::vector<MatchRule> parse_excludes(const ojson& root) const;
  void collect_runs(std::vector<Point>& points, const std::vector<MatchRule>& excludes,
                    Sweep& sweep) const;

  [[noreturn]] void fail(const JsonPath& path, const std::string& message) const {
    throw Error(source_.describe(path, message));
  }

  // Leaves of an object section, with dotted keys; "a": {"b": x} and "a.b": x alike.
  void collect_leaves(const ojson& object, const JsonPath& path, const std::string& prefix,
                      std::vector<Leaf>& out) const {
    for (const auto& [k, v] : object.items()) {
      std::string dotted = prefix.empty() ? k : prefix + "." + k;
      if (v.is_object()) {
        collect_leaves(v, path.child(k), dotted, out);
      } else {
        out.push_back({dotted, &v, path.child(k)});
      }
    }
  }

  std::vector<Leaf> leaves_of(const ojson& object, const JsonPath& path) const {
    if (!object.is_object())
      fail(path, "expected an object of config keys, found " + object.dump());
    std::vector<Leaf> out;
    collect_leaves(object, path, "", out);
    return out;
  }

  const ConfigKey& known_key(const std::string& dotted, const JsonPath& path) const {
    const ConfigKey* key = find_config_key(dotted);
    if (key == nullptr) {
      std::string suggestion = closest_config_key(dotted);
      fail(path, "unknown key \"" + dotted + "\"" +
                     (suggestion.empty() ? "" : "; did you mean \"" + suggestion + "\"?"));
    }
    return *key;
  }

  json checked_value(const ConfigKey& key, const ojson& value, const JsonPath& path) const {
    json normalized;
    std::string problem = check_config_value(key, json(value), &normalized);
    if (!problem.empty()) fail(path, problem);
    return normalized;
  }

  Option parse_assignments(const ojson& object, const JsonPath& path) const {
    Option out;
    for (const Leaf& leaf : leaves_of(object, path)) {
      const ConfigKey& key = known_key(leaf.key, leaf.path);
      out.emplace_back(leaf.key, checked_value(key, *leaf.value, leaf.path));
    }
    return out;
  }

  const ojson& list_of_values(const Leaf& leaf) const {
    if (!leaf.value->is_array()) {
      fail(leaf.path, "expected a list of values, found " + leaf.value->dump());
    }
    if (leaf.value->empty()) fail(leaf.path, "empty list; give at least one value");
    return *leaf.value;
  }

  std::vector<Dimension> parse_grid(const ojson& grid, const JsonPath& path) const {
    std::vector<Dimension> dims;
    for (const Leaf& leaf : leaves_of(grid, path)) {
      const ConfigKey& key = known_key(leaf.key, leaf.path);
      const ojson& values = list_of_values(leaf);
      Dimension dim;
      for (std::size_t i = 0; i < values.size(); ++i) {
        dim.push_back({{leaf.key, checked_value(key, values[i], leaf.path.child(i))}});
      }
      dims.push_back(std::move(dim));
    }
    return dims;
  }

  Dimension parse_zip_group(const ojson& group, const JsonPath& path) const {
    std::vector<Leaf> leaves = leaves_of(group, path);
    if (leaves.empty()) fail(path, "empty group; give keys with lists of equal length");
    const std::size_t length = list_of_values(leaves.front()).size();
    Dimension dim(length);
    for (const Leaf& leaf : leaves) {
      const ConfigKey& key = known_key(leaf.key, leaf.path);
      const ojson& values = list_of_values(leaf);
      if (values.size() != length) {
        fail(leaf.path, "has " + std::to_string(values.size()) + " values, but \"" +
                            leaves.front().key + "\" has " + std::to_string(length) +
                            "; linked lists vary together and need equal lengths");
      }
      for (std::size_t i = 0; i < length; ++i) {
        dim[i].emplace_back(leaf.key, checked_value(key, values[i], leaf.path.child(i)));
      }
    }
    return dim;
  }

  std::vector<Dimension> parse_zip(const ojson& zip, const JsonPath& path) const {
    std::vector<Dimension> dims;
    if (zip.is_object()) {
      dims.push_back(parse_zip_group(zip, path));
    } else if (zip.is_array()) {
      for (std::size_t i = 0; i < zip.size(); ++i)
        dims.push_back(parse_zip_group(zip[i], path.child(i)));
    } else {
      fail(path, "expected an object of linked lists, or a list of such objects");
    }
    return dims;
  }

  Dimension parse_random(const ojson& random, const JsonPath& path) const;
  std::vector<std::int64_t> parse_seeds(const ojson& seeds, const JsonPath& path) const;
  MatchRule parse_match(const ojson& object, const JsonPath& path) const;
  std::vector<Conditional> parse_conditionals(const ojson& list, const JsonPath& path) const;
  Option parse_override(const std::string& text) const;
  // at_least: the count is a partial one (expansion stopped as soon as it passed the limit).
  void check_limit(double count, const std::string& stage, bool at_least = false) const {
    if (count > static_cast<double>(options_.max_runs)) {
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "%.0f", count);
      throw Error(source_.name() + ": " + stage + (at_least ? " at least " : " ") + buffer +
                  " runs, over the limit of " + std::to_string(options_.max_runs) +
                  "; raise it with --max-runs if you mean it");
    }
  }

  const JsonSource& source_;
  const SweepOptions& options_;
  bool program_runs_ = false;  // the runs are program runs: their metrics are the program's
};

ParamSpec SweepParser::parse_distribution(const std::string& dotted, const ojson& spec,
                                          const JsonPath& path) const {
  const ConfigKey& key = known_key(dotted, path);
  if (!spec.is_object() || spec.size() != 1) {
    fail(path,
         "expected one distribution: {\"choice\": [...]}, {\"uniform\": [a, b]}, "
         "{\"loguniform\": [a, b]}, {\"int\": [a, b]} or {\"logint\": [a, b]}");
  }
  const std::string kind = spec.begin().key();
  const ojson& args = spec.begin().value();
  const JsonPath args_path = path.child(kind);
  ParamSpec d;
  d.key = dotted;
  const auto& names = distribution_names();
  auto known = std::find_if(names.begin(), names.end(),
                            [&](const auto& entry) { return entry.first == kind; });
  if (known == names.end()) {
    fail(path,
         "unknown distribution \"" + kind + "\"; use choice, uniform, loguniform, int or logint");
  }
  d.kind = known->second;
  if (d.kind == ParamKind::choice) {
    if (!args.is_array() || args.empty()) fail(args_path, "expected a non-empty list of values");
    for (std::size_t i = 0; i < args.size(); ++i) {
      d.choices.push_back(checked_value(key, args[i], args_path.child(i)));
    }
    return d;
  }
  if (!args.is_array() || args.size() != 2 || !args[0].is_number() || !args[1].is_number()) {
    fail(args_path, "expected [low, high], found " + args.dump());
  }
  const bool integers = d.kind == ParamKind::integer || d.kind == ParamKind::log_integer;
  // A program's own setting (params.*) is typed by what is drawn for it.
  if (key.kind != ValueKind::free &&
      (integers ? key.kind != ValueKind::integer : key.kind != ValueKind::number)) {
    fail(args_path, kind + " draws " + (integers ? "integers" : "numbers") + ", but \"" + dotted +
                        "\" takes " +
                        (key.kind == ValueKind::integer ? "integers" : "other values") +
                        (integers ? "; use uniform" : "; use int or choice"));
  }
  d.low = args[0].get<double>();
  d.high = args[1].get<double>();
  if (!(d.low <= d.high)) fail(args_path, "low must not exceed high, found " + args.dump());
  if (integers && std::floor(d.high) < std::ceil(d.low))
    fail(args_path, "no integer lies in " + args.dump());
  const bool log = d.kind == ParamKind::loguniform || d.kind == ParamKind::log_integer;
  if (log && d.low <= 0) fail(args_path, kind + " needs low > 0");
  checked_value(key, args[0], args_path.child(0));
  checked_value(key, args[1], args_path.child(1));
  return d;
}

Dimension SweepParser::parse_random(const ojson& random, const JsonPath& path) const {
  if (!random.is_object()) fail(path, "expected an object with samples, seed and params");
  for (const auto& [k, v] : random.items()) {
    if (k != "samples" && k != "seed" && k != "params") {
      fail(path.child(k), "unknown key; random takes samples, seed and params");
    }
  }
  if (!random.contains("samples")) fail(path, "samples is required (how many random draws)");
  const ojson& samples = random["samples"];
  if (!samples.is_number_integer() || samples.get<std::int64_t>() < 1) {
    fail(path.child("samples"), "expected a positive integer, found " + samples.dump());
  }
  std::uint64_t seed = 0;
  if (random.contains("seed")) {
    if (!random["seed"].is_number_integer() || random["seed"].get<std::int64_t>() < 0) {
      fail(path.child("seed"), "expected a non-negative integer, found " + random["seed"].dump());
    }
    seed = random["seed"].get<std::uint64_t>();
  }
  if (!random.contains("params") || !random["params"].is_object() || random["params"].empty()) {
    fail(path.child("params"), "expected an object of key -> distribution");
  }
  // A distribution is an object, so the keys stop one level above it.
  std::vector<ParamSpec> params;
  const JsonPath params_path = path.child("params");
  for (const auto& [k, v] : random["params"].items()) {
    params.push_back(parse_distribution(k, v, params_path.child(k)));
  }
  const std::int64_t count = samples.get<std::int64_t>();
  check_limit(static_cast<double>(count), "random.samples gives");
  std::mt19937_64 rng(seed);
  Dimension dim;
  for (std::int64_t s = 0; s < count; ++s) {
    Option option;
    for (const ParamSpec& d : params) option.emplace_back(d.key, value_at(d, unit_draw(rng)));
    dim.push_back(std::move(option));
  }
  return dim;
}

std::vector<std::int64_t> SweepParser::parse_seeds(const ojson& seeds, const JsonPath& path) const {
  std::vector<std::int64_t> out;
  const ConfigKey& seed_key = *find_config_key("seed");
  auto add = [&](const ojson& value, const JsonPath& where) {
    out.push_back(checked_value(seed_key, value, where).get<std::int64_t>());
  };
  if (seeds.is_array()) {
    if (seeds.empty()) fail(path, "empty list; give at least one seed");
    for (std::size_t i = 0; i < seeds.size(); ++i) add(seeds[i], path.child(i));
  } else if (seeds.is_number_integer() || seeds.is_object()) {
    std::int64_t count = 0, start = 0;
    if (seeds.is_object()) {
      for (const auto& [k, v] : seeds.items()) {
        if (k != "count" && k != "start")
          fail(path.child(k), "unknown key; seeds takes count and start");
        if (!v.is_number_integer()) fail(path.child(k), "expected an integer, found " + v.dump());
      }
      if (!seeds.contains("count")) fail(path, "count is required");
      count = seeds["count"].get<std::int64_t>();
      start = seeds.value("start", std::int64_t{0});
    } else {
      count = seeds.get<std::int64_t>();
    }
    if (count < 1) fail(path, "seed count must be at least 1, found " + std::to_string(count));
    check_limit(static_cast<double>(count), "seeds gives");
    for (std::int64_t i = 0; i < count; ++i) add(ojson(start + i), path);
  } else {
    fail(path, "expected a list of seeds, a count, or {\"count\": N, \"start\": S}");
  }
  return out;
}

MatchRule SweepParser::parse_match(const ojson& object, const JsonPath& path) const {
  MatchRule rule;
  std::vector<Leaf> leaves = leaves_of(object, path);
  if (leaves.empty()) fail(path, "empty rule; it would match every run");
  for (const Leaf& leaf : leaves) {
    const ConfigKey& key = known_key(leaf.key, leaf.path);
    // A list means "any of these", except for keys whose value is itself a list.
    bool any_of = leaf.value->is_array() && (key.kind != ValueKind::integer_list ||
                                             (!leaf.value->empty() && (*leaf.value)[0].is_array()));
    if (any_of) {
      if (leaf.value->empty()) fail(leaf.path, "empty list; it would match nothing");
      for (std::size_t i = 0; i < leaf.value->size(); ++i) {
        rule[leaf.key].push_back(checked_value(key, (*leaf.value)[i], leaf.path.child(i)));
      }
    } else {
      rule[leaf.key].push_back(checked_value(key, *leaf.value, leaf.path));
    }
  }
  return rule;
}

std::vector<Conditional> SweepParser::parse_conditionals(const ojson& list,
                                                         const JsonPath& path) const {
  if (!list.is_array())
    fail(path, "expected a list of {\"when\": ..., \"set\": ..., \"grid\": ...}");
  std::vector<Conditional> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const ojson& entry = list[i];
    const JsonPath at = path.child(i);
    if (!entry.is_object()) fail(at, "expected an object with when and set or grid");
    for (const auto& [k, v] : entry.items()) {
      if (k != "when" && k != "set" && k != "grid") {
        fail(at.child(k), "unknown key; a conditional rule takes when, set and grid");
      }
    }
    if (!entry.contains("when")) fail(at, "when is required (the runs this rule applies to)");
    if (!entry.contains("set") && !entry.contains("grid")) fail(at, "give set, grid or both");
    Conditional rule;
    rule.when = parse_match(entry["when"], at.child("when"));
    if (entry.contains("set")) rule.set = parse_assignments(entry["set"], at.child("set"));
    if (entry.contains("grid")) rule.grid = parse_grid(entry["grid"], at.child("grid"));
    out.push_back(std::move(rule));
  }
  return out;
}

Option SweepParser::parse_override(const std::string& text) const {
  if (const std::size_t bad = invalid_utf8_at(text); bad != std::string::npos) {
    const std::size_t eq = text.find('=');
    const std::string key = eq == std::string::npos ? "" : text.substr(0, std::min(eq, bad));
    throw Error("--set " + (key.empty() ? std::string("value") : key + "=...") +
                ": not valid UTF-8 (byte " + std::to_string(bad + 1) +
                "); config values are text in UTF-8");
  }
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw Error("--set " + text + ": expected KEY=VALUE, e.g. --set train.epochs=3");
  }
  const std::string dotted = text.substr(0, eq);
  const std::string raw = text.substr(eq + 1);
  const ConfigKey* key = find_config_key(dotted);
  if (key == nullptr) {
    std::string suggestion = closest_config_key(dotted);
    throw Error("--set " + text + ": unknown key \"" + dotted + "\"" +
                (suggestion.empty() ? "" : "; did you mean \"" + suggestion + "\"?"));
  }
  // The value is JSON where it parses as JSON (3, 0.5, true, [64,32], "x"), else a bare string.
  json value = json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = raw;
  json normalized;
  std::string problem = check_config_value(*key, value, &normalized);
  if (!problem.empty()) throw Error("--set " + text + ": " + problem);
  return {{dotted, normalized}};
}

bool matches(const MatchRule& rule, const FlatConfig& config, bool use_defaults) {
  for (const auto& [key, accepted] : rule) {
    auto it = config.find(key);
    json value;
    if (it != config.end()) {
      value = it->second;
    } else if (use_defaults) {
      value = find_config_key(key)->default_value;
    }
    if (value.is_null()) return false;
    bool any = false;
    for (const json& a : accepted) any = any || a == value;
    if (!any) return false;
  }
  return true;
}

void assign_option(const Option& option, Point& point) {
  for (const auto& [key, value] : option) {
    point.values[key] = value;
    point.label.push_back(key + "=" + value.dump());
  }
}

// Crosses every point with every option of each dimension (the first dimension varies slowest).
std::vector<Point> cross(std::vector<Point> points, const std::vector<Dimension>& dims) {
  for (const Dimension& dim : dims) {
    std::vector<Point> next;
    next.reserve(points.size() * dim.size());
    for (const Point& p : points) {
      for (const Option& option : dim) {
        Point q = p;
        assign_option(option, q);
        next.push_back(std::move(q));
      }
    }
    points = std::move(next);
  }
  return points;
}

// Applies one conditional rule to every point: for those it matches, `set` assigns and `grid`
// expands the point into its combinations. `grown` hears the count as it grows (the limit).
void apply_rule(const Conditional& rule, std::vector<Point>& points,
                const std::function<void(std::size_t)>& grown = {}) {
  std::vector<Point> next;
  for (Point& p : points) {
    if (!matches(rule.when, p.values, /*use_defaults=*/true)) {
      next.push_back(std::move(p));
      continue;
    }
    assign_option(rule.set, p);
    for (Point& q : cross(std::vector<Point>{p}, rule.grid)) next.push_back(std::move(q));
    if (grown) grown(next.size());
  }
  points = std::move(next);
}

std::vector<ParamSpec> SweepParser::parse_space(const ojson& space, const JsonPath& path) const {
  if (!space.is_object() || space.empty()) {
    fail(path,
         "expected an object of key -> distribution, e.g. {\"train.lr\": {\"loguniform\": "
         "[1e-4, 1e-1]}}");
  }
  std::vector<ParamSpec> params;
  for (const auto& [k, v] : space.items()) {
    if (k == "seed") fail(path.child(k), "seed is not searched; give seeds beside search");
    params.push_back(parse_distribution(k, v, path.child(k)));
  }
  return params;
}

namespace {

std::int64_t integer_at_least(const ojson& value, std::int64_t minimum, const std::string& what,
                              const std::function<void(const std::string&)>& fail) {
  if (!value.is_number_integer() || value.get<std::int64_t>() < minimum) {
    fail("expected " + what + " (an integer of at least " + std::to_string(minimum) + "), found " +
         value.dump());
  }
  return value.get<std::int64_t>();
}

std::string one_of(const std::vector<std::string>& names) {
  return join(names, ", ");
}

}  // namespace

SearchSpec SweepParser::parse_search(const ojson& search, const JsonPath& path) const {
  if (!search.is_object()) fail(path, "expected an object with algorithm, trials, metric, space");
  const std::vector<std::string> allowed = {"algorithm", "trials",     "metric",
                                            "mode",      "space",      "startup_trials",
                                            "seed",      "candidates", "multivariate"};
  for (const auto& [k, v] : search.items()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
      fail(path.child(k), "unknown key; search takes " + one_of(allowed));
  }
  SearchSpec spec;
  const std::string algorithm = search.value("algorithm", ojson("tpe")).is_string()
                                    ? search.value("algorithm", std::string("tpe"))
                                    : "";
  if (algorithm == "tpe") {
    spec.algorithm = SearchAlgorithm::tpe;
  } else if (algorithm == "random") {
    spec.algorithm = SearchAlgorithm::random;
  } else {
    fail(path.child("algorithm"),
         "expected \"tpe\" or \"random\", found " + search["algorithm"].dump());
  }
  auto at = [&](const char* key) {
    return [this, &path, key](const std::string& message) { fail(path.child(key), message); };
  };
  if (!search.contains("trials")) fail(path, "trials is required (the study's trial count)");
  spec.trials = integer_at_least(search["trials"], 1, "the trial count", at("trials"));
  check_limit(static_cast<double>(spec.trials), "search.trials gives");
  if (!search.contains("metric")) {
    fail(path, "metric is required: one of " + one_of(study_metrics()) +
                   (program_runs_ ? " or a metric the program reports" : ""));
  }
  spec.metric = parse_metric(search["metric"], search.contains("mode"), path.child("metric"));
  spec.mode = default_mode(spec.metric);
  if (search.contains("mode")) {
    const ojson& mode = search["mode"];
    if (mode == "max") {
      spec.mode = MetricMode::max;
    } else if (mode == "min") {
      spec.mode = MetricMode::min;
    } else {
      fail(path.child("mode"), "expected \"max\" or \"min\", found " + mode.dump());
    }
  }
  if (!search.contains("space")) fail(path, "space is required (key -> distribution)");
  spec.space = parse_space(search["space"], path.child("space"));
  if (search.contains("startup_trials")) {
    spec.startup_trials = integer_at_least(search["startup_trials"], 0, "random trials before TPE",
                                           at("startup_trials"));
  }
  if (search.contains("candidates")) {
    spec.candidates = integer_at_least(search["candidates"], 1, "TPE's candidates per parameter",
                                       at("candidates"));
    if (spec.candidates > 10000) fail(path.child("candidates"), "at most 10000 candidates");
  }
  if (search.contains("multivariate")) {
    if (!search["multivariate"].is_boolean())
      fail(path.child("multivariate"),
           "expected true or false, found " + search["multivariate"].dump());
    spec.multivariate = search["multivariate"].get<bool>();
  }
  if (search.contains("seed")) {
    spec.seed = static_cast<std::uint64_t>(
        integer_at_least(search["seed"], 0, "the study's seed", at("seed")));
  }
  return spec;
}

std::string SweepParser::parse_metric(const ojson& metric, bool mode_given,
                                      const JsonPath& path) const {
  const bool known =
      metric.is_string() && std::find(study_metrics().begin(), study_metrics().end(),
                                      metric.get<std::string>()) != study_metrics().end();
  if (known) return metric.get<std::string>();
  if (!program_runs_) {
    fail(path, "expected one of " + one_of(study_metrics()) +
                   " (validation metrics: test metrics never choose), found " + metric.dump());
  }
  bool name = metric.is_string() && !metric.get<std::string>().empty();
  for (char c : name ? metric.get<std::string>() : "")
    name = name && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (!name)
    fail(path, "expected the name of a metric the program reports, found " + metric.dump());
  if (metric.get<std::string>().rfind("test_", 0) == 0)
    fail(path, "test metrics never choose; watch a validation metric the program reports");
  if (!mode_given)
    fail(path,
         "a program's metric " + metric.dump() + " needs its mode beside it (\"max\" or \"min\")");
  return metric.get<std::string>();
}

StoppingSpec SweepParser::parse_stopping(const ojson& stopping, const SearchSpec* search,
                                         const JsonPath& path) const {
  if (!stopping.is_object()) fail(path, "expected an object with algorithm, min_epochs, ...");
  const std::vector<std::string> allowed = {"algorithm",  "metric",           "mode",
                                            "min_epochs", "reduction_factor", "startup_runs"};
  for (const auto& [k, v] : stopping.items()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
      fail(path.child(k), "unknown key; stopping takes " + one_of(allowed));
  }
  StoppingSpec spec;
  const std::vector<std::pair<std::string, StoppingAlgorithm>> names = {
      {"asha", StoppingAlgorithm::asha},
      {"hyperband", StoppingAlgorithm::hyperband},
      {"median", StoppingAlgorithm::median},
      {"none", StoppingAlgorithm::none}};
  if (!stopping.contains("algorithm"))
    fail(path, "algorithm is required: asha, hyperband, median or none");
  auto name = std::find_if(names.begin(), names.end(),
                           [&](const auto& n) { return stopping["algorithm"] == n.first; });
  if (name == names.end()) {
    fail(path.child("algorithm"),
         "expected asha, hyperband, median or none, found " + stopping["algorithm"].dump());
  }
  spec.algorithm = name->second;
  if (stopping.contains("metric")) {
    spec.metric = parse_metric(stopping["metric"], search != nullptr || stopping.contains("mode"),
                               path.child("metric"));
    if (search != nullptr && spec.metric != search->metric) {
      fail(path.child("metric"), "the study optimises " + search->metric +
                                     "; stopping watches the same metric (leave it out)");
    }
  } else if (search != nullptr) {
    spec.metric = search->metric;
  } else if (spec.algorithm != StoppingAlgorithm::none) {
    fail(path, "metric is required without a search block: one of " + one_of(study_metrics()));
  }
  spec.mode = search != nullptr ? search->mode : default_mode(spec.metric);
  if (stopping.contains("mode")) {
    if (search != nullptr) fail(path.child("mode"), "the mode is the study's (search.mode)");
    if (stopping["mode"] == "max") {
      spec.mode = MetricMode::max;
    } else if (stopping["mode"] == "min") {
      spec.mode = MetricMode::min;
    } else {
      fail(path.child("mode"), "expected \"max\" or \"min\", found " + stopping["mode"].dump());
    }
  }
  auto at = [&](const char* key) {
    return [this, &path, key](const std::string& message) { fail(path.child(key), message); };
  };
  if (stopping.contains("min_epochs"))
    spec.min_epochs = integer_at_least(stopping["min_epochs"], 1, "epochs", at("min_epochs"));
  if (stopping.contains("reduction_factor")) {
    spec.reduction_factor = integer_at_least(stopping["reduction_factor"], 2,
                                             "the reduction factor", at("reduction_factor"));
  }
  if (stopping.contains("startup_runs")) {
    spec.startup_runs =
        integer_at_least(stopping["startup_runs"], 1, "finished runs", at("startup_runs"));
  }
  return spec;
}

namespace {

// Applies the conditional rules to a trial's point; a rule's grid multiplies the trial's runs.
std::vector<Point> with_rules(Point point, const std::vector<Conditional>& rules) {
  std::vector<Point> points{std::move(point)};
  for (const Conditional& rule : rules) apply_rule(rule, points);
  return points;
}

}  // namespace

void SweepParser::add_study(const ojson& root, const Point& base, Sweep& sweep) const {
  const JsonPath top;
  Study study;
  study.search = parse_search(root["search"], top.child("search"));
  if (root.contains("stopping")) {
    sweep.stopping = parse_stopping(root["stopping"], &study.search, top.child("stopping"));
  }
  std::vector<Conditional> rules;
  if (root.contains("conditional"))
    rules = parse_conditionals(root["conditional"], top.child("conditional"));
  std::vector<std::int64_t> seeds;
  if (root.contains("seeds")) seeds = parse_seeds(root["seeds"], top.child("seeds"));
  Option overrides;
  for (const std::string& text : options_.overrides) {
    for (auto& assignment : parse_override(text)) overrides.push_back(std::move(assignment));
  }
  study.runs_per_trial = std::max<std::size_t>(1, seeds.size());
  const std::string source = source_.name();
  study.runs_of = [base, rules, seeds, overrides, source](const Params& params) {
    Point point = base;
    for (const auto& [key, value] : params) {
      point.values[key] = value;
      point.label.push_back(key + "=" + value.dump());
    }
    std::vector<RunSpec> runs;
    for (Point& p : with_rules(point, rules)) {
      for (std::size_t s = 0; s < std::max<std::size_t>(1, seeds.size()); ++s) {
        FlatConfig values = p.values;
        if (!seeds.empty()) values["seed"] = seeds[s];
        for (const auto& [key, value] : overrides) values[key] = value;
        json canonical;
        try {
          canonical = canonical_config(values);
        } catch (const Error& e) {
          throw Error(source + ": search trial (" + join(point.label, ", ") + "): " + e.what());
        }
        std::string id = run_id(canonical);
        runs.push_back({std::move(id), std::move(canonical)});
      }
    }
    return runs;
  };
  const FlatConfig base_values = base.values;
  study.applies = [base_values](const std::string& key, const Params& sampled) {
    FlatConfig partial = base_values;
    for (const auto& [k, v] : sampled) partial[k] = v;
    return key_applies(key, partial);
  };
  // Mistakes a trial would meet (a base that does not validate, a value the rules refuse) are
  // found now: 32 random points of the space must all make valid runs.
  SearchSpec probe = study.search;
  probe.algorithm = SearchAlgorithm::random;
  for (std::int64_t i = 0; i < 32; ++i) study.runs_of(propose(probe, {}, i, study.applies));
  for (const ParamSpec& param : study.search.space) sweep.varying_keys.push_back(param.key);
  std::sort(sweep.varying_keys.begin(), sweep.varying_keys.end());
  check_limit(static_cast<double>(study.search.trials) * static_cast<double>(study.runs_per_trial),
              "search.trials x seeds gives");
  sweep.study = std::move(study);
}

void SweepParser::check_sections(const ojson& root, bool whole_file_is_base) const {
  const JsonPath top;
  if (!root.is_object()) fail(top, "a sweep file holds a JSON object with base, grid, ...");
  if (!whole_file_is_base) {
    for (const auto& [k, v] : root.items()) {
      if (kSweepSections.count(k)) continue;
      std::string hint = find_config_key(k) || closest_config_key(k) != ""
                             ? "; config keys go inside \"base\" or \"grid\""
                             : "";
      fail(top.child(k),
           "unknown section; a sweep file takes name, description, base, grid, zip "
           "(or linked), random, seeds, include, exclude, conditional, search, stopping and "
           "slurm" +
               hint);
    }
  }
  if (root.contains("zip") && root.contains("linked")) {
    fail(top.child("linked"), "give zip or linked (the same thing), not both");
  }
  if (root.contains("search")) {
    for (const char* section : kGridSections) {
      if (root.contains(section)) {
        fail(top.child(section),
             "a study (search) proposes its trials itself; fixed values go in base, and each "
             "point of a grid is a study of its own (a file per point)");
      }
    }
  }
  if (root.contains("name") && !root["name"].is_string()) {
    fail(top.child("name"), "expected a string");
  }
  if (root.contains("description") && !root["description"].is_string()) {
    fail(top.child("description"), "expected a string");
  }
}

std::vector<Dimension> SweepParser::parse_dimensions(const ojson& root) const {
  const JsonPath top;
  std::vector<Dimension> dims;
  if (root.contains("grid")) dims = parse_grid(root["grid"], top.child("grid"));
  for (const char* zip_name : {"zip", "linked"}) {
    if (root.contains(zip_name)) {
      for (Dimension& d : parse_zip(root[zip_name], top.child(zip_name)))
        dims.push_back(std::move(d));
    }
  }
  if (root.contains("random")) dims.push_back(parse_random(root["random"], top.child("random")));
  double product = 1;
  for (const Dimension& d : dims) product *= static_cast<double>(d.size());
  check_limit(product, "the grid gives");
  return dims;
}

void SweepParser::add_includes(const ojson& root, const Point& base,
                               std::vector<Point>& points) const {
  if (!root.contains("include")) return;
  const ojson& include = root["include"];
  const JsonPath at = JsonPath().child("include");
  if (!include.is_array()) fail(at, "expected a list of partial configs");
  for (std::size_t i = 0; i < include.size(); ++i) {
    Point p = base;
    assign_option(parse_assignments(include[i], at.child(i)), p);
    p.label.insert(p.label.begin(), "include[" + std::to_string(i) + "]");
    points.push_back(std::move(p));
  }
}

void SweepParser::apply_conditionals(const ojson& root, std::vector<Point>& points) const {
  if (!root.contains("conditional")) return;
  for (const Conditional& rule :
       parse_conditionals(root["conditional"], JsonPath().child("conditional"))) {
    apply_rule(rule, points, [this](std::size_t count) {
      check_limit(static_cast<double>(count), "the conditional rules give", /*at_least=*/true);
    });
  }
}

void SweepParser::cross_with_seeds(const ojson& root, std::vector<Point>& points) const {
  std::vector<std::int64_t> seeds;
  if (root.contains("seeds")) seeds = parse_seeds(root["seeds"], JsonPath().child("seeds"));
  check_limit(static_cast<double>(points.size()) *
                  static_cast<double>(std::max<std::size_t>(1, seeds.size())),
              "crossing with the seeds gives");
  if (seeds.empty()) return;
  Dimension seed_dim;
  for (std::int64_t s : seeds) seed_dim.push_back({{"seed", s}});
  points = cross(std::move(points), {seed_dim});
}

std::vector<MatchRule> SweepParser::parse_excludes(const ojson& root) const {
  std::vector<MatchRule> excludes;
  if (!root.contains("exclude")) return excludes;
  const ojson& exclude = root["exclude"];
  const JsonPath at = JsonPath().child("exclude");
  if (!exclude.is_array()) fail(at, "expected a list of partial configs to drop");
  for (std::size_t i = 0; i < exclude.size(); ++i)
    excludes.push_back(parse_match(exclude[i], at.child(i)));
  return excludes;
}

// The points' canonical configs with the overrides applied, excluded ones and duplicates (the
// same run reached another way) dropped, and the keys that vary among them.
void SweepParser::collect_runs(std::vector<Point>& points, const std::vector<MatchRule>& excludes,
                               Sweep& sweep) const {
  Option overrides;
  for (const std::string& text : options_.overrides) {
    for (auto& assignment : parse_override(text)) overrides.push_back(std::move(assignment));
  }
  sweep.points_before_dedup = points.size();
  std::set<std::string> seen;
  std::vector<FlatConfig> flats;
  for (std::size_t i = 0; i < points.size(); ++i) {
    Point& p = points[i];
    for (const auto& [key, value] : overrides) p.values[key] = value;
    json canonical;
    try {
      canonical = canonical_config(p.values);
    } catch (const Error& e) {
      throw Error(source_.name() + ": run " + std::to_string(i + 1) +
                  (p.label.empty() ? "" : " (" + join(p.label, ", ") + ")") + ": " + e.what());
    }
    FlatConfig flat = flatten_config(canonical);
    bool excluded = false;
    for (const MatchRule& rule : excludes) excluded = excluded || matches(rule, flat, false);
    if (excluded) continue;
    std::string id = run_id(canonical);
    if (!seen.insert(id).second) continue;
    sweep.runs.push_back({id, std::move(canonical)});
    flats.push_back(std::move(flat));
  }
  if (sweep.runs.empty()) {
    throw Error(source_.name() + ": the sweep expands to no runs (exclude rules drop all " +
                std::to_string(points.size()) + ")");
  }
  // A key varies when it takes two or more values among the runs that have it; a key that is
  // merely absent where it does not apply (quantum.* of classical runs) does not.
  std::map<std::string, std::set<std::string>> values_of_key;
  for (const FlatConfig& f : flats) {
    for (const auto& [k, v] : f) values_of_key[k].insert(v.dump());
  }
  for (const auto& [key, values] : values_of_key) {
    if (values.size() > 1) sweep.varying_keys.push_back(key);
  }
}

Sweep SweepParser::parse_and_expand(bool whole_file_is_base) {
  const ojson& root = source_.root();
  check_sections(root, whole_file_is_base);
  Sweep sweep;
  sweep.source_name = source_.name();
  if (root.contains("name")) sweep.name = root["name"].get<std::string>();

  Point base;
  if (whole_file_is_base) {
    assign_option(parse_assignments(root, JsonPath()), base);
  } else if (root.contains("base")) {
    assign_option(parse_assignments(root["base"], JsonPath().child("base")), base);
  }
  base.label.clear();
  program_runs_ = is_program_config(base.values);

  if (root.contains("search")) {
    add_study(root, base, sweep);
    return sweep;
  }
  std::vector<Point> points = cross(std::vector<Point>{base}, parse_dimensions(root));
  add_includes(root, base, points);
  apply_conditionals(root, points);
  cross_with_seeds(root, points);
  collect_runs(points, parse_excludes(root), sweep);
  if (root.contains("stopping")) {
    program_runs_ =
        program_runs_ || std::any_of(sweep.runs.begin(), sweep.runs.end(),
                                     [](const RunSpec& r) { return r.config.contains("program"); });
    sweep.stopping = parse_stopping(root["stopping"], nullptr, JsonPath().child("stopping"));
  }
  return sweep;
}

}  // namespace

Sweep expand_sweep(const JsonSource& source, const SweepOptions& options) {
  return SweepParser(source, options).parse_and_expand();
}

Sweep expand_sweep_file(const std::string& path, const SweepOptions& options) {
  return expand_sweep(JsonSource::from_file(path), options);
}

std::size_t planned_run_count(const Sweep& sweep) {
  if (!sweep.study) return sweep.runs.size();
  return static_cast<std::size_t>(sweep.study->search.trials) * sweep.study->runs_per_trial;
}

Shard parse_shard(const std::string& text) {
  const std::size_t slash = text.find('/');
  Shard shard;
  std::size_t used_index = 0, used_count = 0;
  try {
    if (slash == std::string::npos) throw std::invalid_argument(text);
    shard.index = std::stoi(text.substr(0, slash), &used_index);
    shard.count = std::stoi(text.substr(slash + 1), &used_count);
  } catch (const std::exception&) {
    throw Error("shard \"" + text + "\": expected I/N, e.g. 0/3 (the first of three)");
  }
  if (used_index != slash || used_count != text.size() - slash - 1 || shard.count < 1 ||
      shard.index < 0 || shard.index >= shard.count) {
    throw Error("shard \"" + text + "\": expected I/N with N >= 1 and 0 <= I < N");
  }
  return shard;
}

bool in_shard(const std::string& run_id, const Shard& shard) {
  const std::uint64_t value = std::stoull(run_id, nullptr, 16);
  return value % static_cast<std::uint64_t>(shard.count) == static_cast<std::uint64_t>(shard.index);
}

std::vector<RunSpec> read_runs(const std::string& path, const SweepOptions& options) {
  JsonSource source = JsonSource::from_file(path);
  bool is_sweep = !source.root().is_object();
  for (const auto& item : source.root().items()) {
    is_sweep = is_sweep || kSweepSections.count(item.key()) > 0;
  }
  if (is_sweep) return expand_sweep(source, options).runs;
  // Config keys are not sweep sections, so nothing but the base is expanded.
  return SweepParser(source, options).parse_and_expand(/*whole_file_is_base=*/true).runs;
}

}  // namespace hqsweep
