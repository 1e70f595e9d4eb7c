// Rank 0's cost for a large sweep: expanding a 100 000-run probe sweep and scheduling every run
// (next + finished for each, as rank 0 does), with the peak resident memory afterwards.
// Results and the command line: docs/benchmarks.md.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <string>

#include "common/json_source.h"
#include "orchestrator/schedule/scheduler.h"
#include "orchestrator/sweep/sweep.h"

namespace {

// 100 000 runs: 1000 durations x 100 seeds.
const char* const kSweep = R"({
  "base": {"model": {"backbone": "probe"}},
  "random": {"samples": 1000, "seed": 1,
             "params": {"probe.duration_ms": {"loguniform": [1, 1000]}}},
  "seeds": 100})";

double peak_megabytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

void ExpandSweep(benchmark::State& state) {
  const hqsweep::JsonSource source = hqsweep::JsonSource::from_text(kSweep, "bench.json");
  std::size_t runs = 0;
  for (auto _ : state) runs = hqsweep::expand_sweep(source).runs.size();
  state.counters["runs"] = static_cast<double>(runs);
  state.counters["peak_MB"] = peak_megabytes();
}

void ScheduleEveryRun(benchmark::State& state) {
  const hqsweep::Sweep sweep =
      hqsweep::expand_sweep(hqsweep::JsonSource::from_text(kSweep, "bench.json"));
  std::vector<nlohmann::json> configs;
  for (const auto& run : sweep.runs) configs.push_back(run.config);
  for (auto _ : state) {
    hqsweep::Scheduler scheduler(configs, {}, 0);
    while (auto task = scheduler.next()) scheduler.finished(*task, true, false, task->estimate);
    benchmark::DoNotOptimize(scheduler.finished_all());
  }
  state.counters["runs"] = static_cast<double>(configs.size());
  state.counters["peak_MB"] = peak_megabytes();
}

BENCHMARK(ExpandSweep)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(ScheduleEveryRun)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
