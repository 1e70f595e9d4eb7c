// Results store costs: appends per second on the crash-safe path (journal fsync + HDF5 update)
// next to the journal append alone, file size per run, and for a file of 10 000 runs the time to
// open and list it and the time to rebuild it from its journal after a kill.
// Runs in the current directory (put it on the disk your results go to):
//   cd /path/on/that/disk && .../bench/store_bench
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include "store/journal.h"
#include "store/result_store.h"

namespace {

namespace fs = std::filesystem;
using namespace hqsweep;

constexpr int kLargeFile = 10000;

// A BreastMNIST-sized result: 156 test samples, 2 classes, 50 epochs of four curves.
RunResult make_run(int index) {
  std::mt19937 random(static_cast<unsigned>(index));
  std::uniform_real_distribution<double> unit(0, 1);
  RunResult run;
  run.run_id = "run" + std::to_string(index);
  run.config = {{"dataset", {{"name", "breastmnist"}}},
                {"model", {{"backbone", "resnet18"}, {"fusion", index % 2 ? "dhf" : "classical"}}},
                {"quantum", {{"qubits", 4 + index % 5}}},
                {"seed", index % 5}};
  run.host = "node1";
  run.start_time = 1.7e9 + index;
  run.end_time = run.start_time + 60;
  for (const char* metric : {"val_acc", "val_loss", "val_auc", "test_acc", "test_balanced_acc",
                             "test_f1", "test_auc", "test_loss"})
    run.metrics[metric] = unit(random);
  for (const char* curve : {"train_loss", "train_acc", "val_loss", "val_acc"})
    for (int epoch = 0; epoch < 50; ++epoch) run.curves[curve].push_back(unit(random));
  run.classes = 2;
  for (int i = 0; i < 156; ++i) {
    float p = static_cast<float>(unit(random));
    run.test_probabilities.insert(run.test_probabilities.end(), {1 - p, p});
    run.test_labels.push_back(static_cast<int32_t>(random() % 2));
  }
  run.confusion_matrix = {70, 10, 12, 64};
  return run;
}

std::string scratch(const std::string& name) {
  std::string path = (fs::current_path() / ("store_bench_" + name)).string();
  for (const char* suffix : {"", ".journal", ".writing"}) fs::remove(path + suffix);
  return path;
}

void remove_store(const std::string& path) {
  for (const char* suffix : {"", ".journal", ".writing"}) fs::remove(path + suffix);
}

SweepRecord bench_sweep(int64_t run_count = 0) {
  SweepRecord sweep;
  sweep.run_count = run_count;
  sweep.name = "bench";
  sweep.source = "bench.json";
  sweep.text = "{}";
  sweep.command_line = "store_bench";
  sweep.varying_keys = {"model.fusion", "quantum.qubits", "seed"};
  sweep.recorded_time = 1.7e9;
  return sweep;
}

void BM_AppendCrashSafe(benchmark::State& state) {
  const std::string path = scratch("append.h5");
  ResultStore store = ResultStore::open_for_writing(path);
  store.record_sweep(bench_sweep());
  int index = 0;
  for (auto _ : state) store.append(make_run(index++));
  state.counters["appends_per_s"] = benchmark::Counter(index, benchmark::Counter::kIsRate);
  state.counters["hdf5_bytes_per_run"] = static_cast<double>(fs::file_size(path)) / index;
  state.counters["journal_bytes_per_run"] =
      static_cast<double>(fs::file_size(path + ".journal")) / index;
  remove_store(path);
}
BENCHMARK(BM_AppendCrashSafe)->Unit(benchmark::kMillisecond)->MinTime(3);

// The fsynced journal record alone: the floor under the crash-safe append.
void BM_JournalAppendOnly(benchmark::State& state) {
  const std::string path = scratch("journal_only");
  Journal journal = Journal::open_for_append(path);
  int index = 0;
  for (auto _ : state) {
    std::vector<std::uint8_t> bytes = nlohmann::json::to_cbor(to_json(make_run(index++)));
    journal.append(JournalRecordType::run, std::string(bytes.begin(), bytes.end()));
  }
  state.counters["appends_per_s"] = benchmark::Counter(index, benchmark::Counter::kIsRate);
  fs::remove(path);
}
BENCHMARK(BM_JournalAppendOnly)->Unit(benchmark::kMillisecond)->MinTime(3);

bool large_file_made = false;
double seconds_to_make_large_file = 0;

// A file of 10 000 runs, made once (with fsync per append, as a sweep would).
const std::string& large_file() {
  static const std::string path = [] {
    std::string file = scratch("large.h5");
    auto start = std::chrono::steady_clock::now();
    ResultStore store = ResultStore::open_for_writing(file);
    store.record_sweep(bench_sweep(kLargeFile));
    for (int i = 0; i < kLargeFile; ++i) store.append(make_run(i));
    seconds_to_make_large_file =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    large_file_made = true;
    return file;
  }();
  return path;
}

void BM_OpenAndList10000(benchmark::State& state) {
  const std::string& path = large_file();
  std::size_t runs = 0;
  for (auto _ : state) {
    ResultStore store = ResultStore::open_for_reading(path);
    runs = store.list().size();
    benchmark::DoNotOptimize(runs);
  }
  state.counters["runs"] = static_cast<double>(runs);
  state.counters["appends_per_s_to_10000"] = kLargeFile / seconds_to_make_large_file;
  state.counters["hdf5_MiB"] = static_cast<double>(fs::file_size(path)) / (1 << 20);
  state.counters["journal_MiB"] = static_cast<double>(fs::file_size(path + ".journal")) / (1 << 20);
}
BENCHMARK(BM_OpenAndList10000)->Unit(benchmark::kMillisecond)->MinTime(2);

// What a reader does while a writer is active (or the HDF5 file is stale): read the journal.
void BM_OpenAndList10000FromJournal(benchmark::State& state) {
  const std::string& path = large_file();
  std::ofstream(path + ".writing").close();  // makes the HDF5 file untrusted
  for (auto _ : state) benchmark::DoNotOptimize(ResultStore::open_for_reading(path).list().size());
  fs::remove(path + ".writing");
}
BENCHMARK(BM_OpenAndList10000FromJournal)->Unit(benchmark::kMillisecond)->Iterations(3);

// After a kill in the middle of an HDF5 update: the writer's open rebuilds the whole file.
void BM_RecoverFromJournal10000(benchmark::State& state) {
  const std::string& path = large_file();
  for (auto _ : state) {
    state.PauseTiming();
    std::ofstream(path + ".writing").close();
    state.ResumeTiming();
    ResultStore store = ResultStore::open_for_writing(path);
    benchmark::DoNotOptimize(store.list().size());
  }
}
BENCHMARK(BM_RecoverFromJournal10000)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (large_file_made) remove_store(large_file());
  return 0;
}
