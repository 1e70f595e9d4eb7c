// Sweep files: a base config, grids, linked lists, random samples, seeds and rules that expand to
// a list of fully resolved, canonical run configurations. The format is in docs/sweep-format.md.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "orchestrator/search/sampler.h"
#include "orchestrator/search/search_space.h"

namespace hqsweep {

class JsonSource;

struct RunSpec {
  std::string run_id;     // run_id(config)
  nlohmann::json config;  // canonical config (common/config_schema.h)
};

// Sweeps larger than this are refused unless --max-runs allows more.
constexpr std::size_t kDefaultMaxRuns = 100000;

struct SweepOptions {
  std::vector<std::string> overrides;      // "train.epochs=3", applied to every run after expansion
  std::size_t max_runs = kDefaultMaxRuns;  // refuse larger sweeps
};

// A study (a `search` block): trials proposed one by one instead of runs listed up front.
struct Study {
  SearchSpec search;
  // The runs of one trial, one per seed: the base with the trial's values, the conditional rules,
  // the seeds and the --set overrides, canonical. Throws Error naming the trial's values.
  std::function<std::vector<RunSpec>(const Params&)> runs_of;
  // Whether a key of the space applies to a trial (the schema's conditions on its base and the
  // values sampled so far).
  AppliesTo applies;
  std::size_t runs_per_trial = 1;  // the seeds
};

struct Sweep {
  std::string name;
  std::string source_name;                // the file it came from
  std::vector<RunSpec> runs;              // in expansion order, duplicates removed
  std::vector<std::string> varying_keys;  // dotted keys with two or more values among the runs
  std::size_t points_before_dedup = 0;    // combinations before identical runs collapsed
  std::optional<Study> study;             // a study: `runs` is empty, trials come from it
  StoppingSpec stopping;                  // early stopping of runs (`stopping`), none by default
};

// The runs a sweep plans: its runs, or a study's trials x seeds.
std::size_t planned_run_count(const Sweep& sweep);

// One of `count` parts of a sweep (a Slurm job array's task): the runs whose run_id, read as a
// hexadecimal number, is `index` modulo `count`. A run's shard depends on its config alone, so a
// grown sweep keeps every earlier run in its shard.
struct Shard {
  int index = 0;
  int count = 1;
};
// "I/N" with 0 <= I < N; throws Error saying what was expected.
Shard parse_shard(const std::string& text);
bool in_shard(const std::string& run_id, const Shard& shard);

// Throws Error naming the file, line and JSON path of what is wrong, and what is allowed.
Sweep expand_sweep(const JsonSource& source, const SweepOptions& options = {});
Sweep expand_sweep_file(const std::string& path, const SweepOptions& options = {});
// The runs of a sweep file, or the one run of a config file (a JSON object without sweep
// sections), with the overrides applied to each.
std::vector<RunSpec> read_runs(const std::string& path, const SweepOptions& options = {});

}  // namespace hqsweep
