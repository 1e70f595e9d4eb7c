// Sweep files: a base config, grids, linked lists, random samples, seeds and rules that expand to
// a list of fully resolved, canonical run configurations. The format is in docs/sweep-format.md.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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

struct Sweep {
  std::string name;
  std::string source_name;                // the file it came from
  std::vector<RunSpec> runs;              // in expansion order, duplicates removed
  std::vector<std::string> varying_keys;  // dotted keys with two or more values among the runs
  std::size_t points_before_dedup = 0;    // combinations before identical runs collapsed
};

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
