// Rank 0's loop and the embedded worker pool.
#include "orchestrator/run/sweep_runner.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/exit_codes.h"
#include "common/posix_io.h"
#include "common/text.h"
#include "orchestrator/dispatch/mpi_pool.h"
#include "orchestrator/sweep/sweep.h"
#include "store/feature_cache.h"
#include "store/result_store.h"
#include "store/results_paths.h"

namespace hqsweep {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::atomic<int> g_signals{0};

void on_signal(int) {
  g_signals.fetch_add(1);
}

// SIGINT, SIGTERM and SIGUSR1 count into g_signals while a sweep runs (no SA_RESTART: waits
// return). SIGUSR1 is what the Slurm batch script forwards through mpirun, which passes it on to
// every rank where SIGTERM would make it abort the job.
class SignalCounter {
 public:
  SignalCounter() {
    g_signals = 0;
    struct sigaction action = {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &action, &old_[i]);
  }
  ~SignalCounter() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &old_[i], nullptr);
  }
  int count() const { return g_signals.load(); }

 private:
  static constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGUSR1};
  std::array<struct sigaction, 3> old_ = {};
};

class Progress {
 public:
  Progress(double interval, int64_t total)
      : live_(interval <= 0 && isatty(2)),
        interval_(interval > 0 ? interval : (live_ ? 1 : 30)),
        total_(total),
        started_(wall_seconds()),
        last_(started_) {}

  void update(const SchedulerCounts& c, bool force = false) {
    const double now = wall_seconds();
    if (!force && now - last_ < interval_) return;
    last_ = now;
    const double minutes = (now - started_) / 60;
    const double rate = minutes > 0 ? static_cast<double>(c.done) / minutes : 0;
    const double remaining = static_cast<double>(c.waiting + c.running);
    const std::string line =
        fmt::format("{}/{} done, {} running, {} failed, {} waiting | {:.1f} runs/min | ETA {}",
                    c.done, total_, c.running, c.failed, c.waiting, rate,
                    rate > 0 ? format_duration(remaining / rate * 60) : "?");
    if (live_) {
      std::cerr << "\r" << line << "\x1b[K" << std::flush;
    } else {
      std::cerr << fmt::format("[{:.0f} s] ", now - started_) << line << "\n";
    }
  }
  void finish() {
    if (live_) std::cerr << "\n";
  }
  // A line of its own, above the live line on a terminal.
  void message(const std::string& text) { std::cerr << (live_ ? "\r\x1b[K" : "") << text << "\n"; }

 private:
  bool live_;
  double interval_;
  int64_t total_;
  double started_, last_;
};

RunResult cancelled_result(const Task& task) {
  RunResult result;
  result.run_id = task.id;
  result.config = task.config;
  result.status = RunStatus::cancelled;
  result.error = "stopped by a signal before it finished; run the same command again to resume";
  result.start_time = result.end_time = wall_seconds();
  return result;
}

}  // namespace

int coordinate_sweep(const SweepRunOptions& run_options, WorkerPool& pool) {
  const Sweep sweep = expand_sweep_file(run_options.sweep_path,
                                        SweepOptions{run_options.overrides, run_options.max_runs});
  SweepRunOptions options = run_options;
  if (options.out.empty()) {
    options.out = default_results_path(sweep.name, options.sweep_path);
    if (options.shard.count > 1) {
      options.out = shard_results_path(options.out, options.shard.index, options.shard.count);
    }
  }
  if (fs::path(options.out).has_parent_path()) {
    fs::create_directories(fs::path(options.out).parent_path());
  }
  ResultStore store = ResultStore::open_for_writing(options.out);
  SweepRecord record;
  record.name = sweep.name;
  record.source = options.sweep_path;
  record.text = read_text_file(options.sweep_path);
  // A shard's file counts the runs of its shard, so that `hqsweep status` of the file is right.
  record.run_count = static_cast<int64_t>(
      std::count_if(sweep.runs.begin(), sweep.runs.end(),
                    [&](const RunSpec& run) { return in_shard(run.run_id, options.shard); }));
  record.command_line = options.command_line;
  record.varying_keys = sweep.varying_keys;
  record.recorded_time = wall_seconds();
  store.record_sweep(record);

  std::map<std::string, RunStatus> earlier;
  for (const RunSummary& run : store.list()) earlier[run.run_id] = run.status;
  std::vector<json> to_run;
  int64_t already_done = 0, failed_before = 0, in_this_shard = 0;
  for (const RunSpec& run : sweep.runs) {
    if (!in_shard(run.run_id, options.shard)) continue;
    ++in_this_shard;
    auto it = earlier.find(run.run_id);
    if (it != earlier.end()) {
      if (is_finished(it->second)) {
        ++already_done;
        continue;
      }
      if ((it->second == RunStatus::failed || it->second == RunStatus::timeout) &&
          !options.retry_failed) {
        ++failed_before;
        continue;
      }
    }
    to_run.push_back(run.config);
  }
  const std::string shard_text =
      options.shard.count > 1 ? fmt::format(" (shard {}/{}: {} of {})", options.shard.index,
                                            options.shard.count, in_this_shard, sweep.runs.size())
                              : "";
  std::cerr << fmt::format(
      "{}: {} runs{}; {} already done, {} failed earlier{}; {} to run on {} "
      "workers -> {}\n",
      options.sweep_path, in_this_shard, shard_text, already_done, failed_before,
      failed_before > 0 ? " (--retry-failed runs them again)" : "", to_run.size(), pool.size(),
      options.out);

  std::set<std::string> cached;
  if (fs::is_directory(options.runner.cache_directory)) {
    for (const CacheEntry& entry : FeatureCache(options.runner.cache_directory).list()) {
      cached.insert(entry.key);
    }
  }
  Scheduler scheduler(to_run, cached, options.retries);
  Progress progress(options.progress_interval, static_cast<int64_t>(to_run.size()));
  SignalCounter signals;

  // Results that arrive together are stored together: one journal fsync for all of them.
  std::vector<RunResult> pending;
  double file_updated = wall_seconds();
  bool file_behind = false;  // a slice of the deferred runs is written each time round
  auto append = [&](RunResult result) { pending.push_back(std::move(result)); };
  auto flush = [&] {
    bool again = false;
    for (const RunResult& r : pending) again = again || store.contains(r.run_id);
    // Durable in the journal now; the HDF5 file follows about a second later (readers of a
    // results file being written read the journal, so they see every run at once). It is written
    // in slices of 5 ms between reports: a second's worth of runs at once (0.2 s for 600 short
    // runs) would leave workers without their next tasks meanwhile.
    store.append_all(std::exchange(pending, {}), again ? AppendMode::retry : AppendMode::normal,
                     FileUpdate::deferred);
    if (file_behind || wall_seconds() - file_updated >= 1.0) {
      file_behind = store.update_file(0.005);
      if (!file_behind) file_updated = wall_seconds();
    }
  };
  int64_t failures = 0;
  // Mean duration of recent tasks: how many tasks a worker holds depends on it.
  double recent_task_seconds = -1;
  auto handle = [&](const TaskReport& report) {
    recent_task_seconds =
        recent_task_seconds < 0 ? report.seconds : 0.9 * recent_task_seconds + 0.1 * report.seconds;
    const Task& task = report.task;
    if (task.kind == TaskKind::run) {
      if (report.result.status == RunStatus::cancelled) {
        append(report.result);
        scheduler.requeue(task);
        return;
      }
      append(report.result);
      const bool requeued =
          scheduler.finished(task, report.succeeded, report.retryable, report.seconds);
      if (!report.succeeded && !requeued) ++failures;
      if (!report.succeeded) {
        progress.message(fmt::format("run {} {}: {}", task.id, to_string(report.result.status),
                                     report.error.substr(0, report.error.find('\n'))));
      }
    } else {
      if (!report.succeeded) {
        scheduler.set_extraction_error(task.id, report.error);
        progress.message(fmt::format("SHF extraction {} failed: {}", task.id,
                                     report.error.substr(0, report.error.find('\n'))));
      }
      scheduler.finished(task, report.succeeded, report.retryable, report.seconds);
    }
    for (auto& [head, reason] : scheduler.take_blocked_failures()) {
      RunResult failed;
      failed.run_id = head.id;
      failed.config = head.config;
      failed.status = RunStatus::failed;
      failed.error = reason;
      failed.start_time = failed.end_time = wall_seconds();
      append(failed);
      ++failures;
    }
  };

  const double scheduling_started = wall_seconds();
  // Each worker holds the one it runs, the next (queued in its runner process, which starts it the
  // moment the first ends) and at least one more, which becomes the queued one while rank 0 hears
  // about the first; more when tasks are short (tasks_held_per_worker).
  std::vector<std::vector<Task>> held(static_cast<std::size_t>(pool.size()));
  std::size_t outstanding = 0;
  bool stopping = false;
  double deadline = 0;
  for (;;) {
    const int signal_count = signals.count();
    if (signal_count >= 1 && !stopping) {
      stopping = true;
      deadline = wall_seconds() + options.grace;
      progress.message(fmt::format(
          "stopping: no new runs; {} started or queued get {:g} s to finish (a second signal stops "
          "them now)",
          outstanding, options.grace));
    }
    // Idle workers first, then further tasks for the busy ones.
    const std::size_t depth_limit = tasks_held_per_worker(recent_task_seconds);
    for (std::size_t depth = 0; depth < depth_limit && !stopping; ++depth) {
      for (std::size_t w = 0; w < held.size(); ++w) {
        if (held[w].size() != depth) continue;
        std::optional<Task> task = scheduler.next();
        if (!task) break;
        pool.assign(static_cast<int>(w), *task);
        held[w].push_back(std::move(*task));
        ++outstanding;
      }
    }
    // Stored after the workers have their next tasks, so they do not wait for the fsync.
    flush();
    progress.update(scheduler.counts());
    if (outstanding == 0) {
      if (stopping || scheduler.finished_all()) break;
      throw Error("internal: runs wait but none can start");  // a dependency was lost
    }
    if (stopping && (signal_count >= 2 || wall_seconds() >= deadline)) break;
    for (auto got = pool.wait(0.2); got; got = pool.wait(0)) {
      auto& tasks = held[static_cast<std::size_t>(got->first)];
      for (auto it = tasks.begin(); it != tasks.end(); ++it) {
        if (it->id == got->second.task.id) {
          tasks.erase(it);
          --outstanding;
          break;
        }
      }
      handle(got->second);
    }
  }
  flush();
  for (const TaskReport& report : pool.stop()) {
    for (auto& tasks : held) {
      for (auto it = tasks.begin(); it != tasks.end(); ++it) {
        if (it->id == report.task.id) {
          tasks.erase(it);
          break;
        }
      }
    }
    handle(report);
  }
  // Tasks that were running when the workers were stopped without a report, or never started.
  for (const auto& tasks : held) {
    for (const Task& task : tasks) {
      if (task.kind == TaskKind::run) append(cancelled_result(task));
      scheduler.requeue(task);
    }
  }
  flush();
  store.update_file();
  progress.update(scheduler.counts(), true);
  progress.finish();

  const SchedulerCounts counts = scheduler.counts();
  std::cerr << fmt::format(
      "{}: {} of {} runs finished this time ({} failed) in {:.3f} s on {} "
      "workers{}\n",
      options.out, counts.done, to_run.size(), failures, wall_seconds() - scheduling_started,
      pool.size(),
      scheduler.finished_all() ? ""
                               : "; stopped early: run the same command "
                                 "again to resume");
  if (!scheduler.finished_all()) return kExitStopped;
  return failures > 0 ? kExitSomeFailed : kExitOk;
}

int run_sweep(const SweepRunOptions& options) {
  return launched_by_mpirun() ? run_sweep_mpi(options) : run_sweep_embedded(options);
}

int run_sweep_embedded(const SweepRunOptions& options) {
  const std::unique_ptr<WorkerPool> pool = make_embedded_pool(options.workers, options.runner);
  return coordinate_sweep(options, *pool);
}

int run_sweep_mpi(const SweepRunOptions& options) {
  // A worker's runner process starts loading LibTorch (about 0.4 s of CPU) before MPI_Init, so
  // that the load overlaps MPI's start-up and rank 0's sweep expansion instead of following them.
  std::unique_ptr<TaskRunner> runner;
  auto make_runner = [&](int rank) {
    RunnerOptions runner_options = options.runner;
    runner_options.rank = rank;
    runner = std::make_unique<TaskRunner>(runner_options);
    runner->start();
  };
  const int environment_rank = rank_from_environment();
  if (environment_rank > 0) make_runner(environment_rank);
  MpiSession mpi;
  if (runner && (mpi.rank() != environment_rank || mpi.size() < 2)) {
    runner.reset();  // not a worker after all
  }
  if (mpi.size() < 2) {
    std::cerr << "hqsweep run: one MPI rank; running embedded\n";
    return run_sweep_embedded(options);
  }
  if (mpi.rank() == 0) {
    const std::unique_ptr<WorkerPool> pool = make_mpi_pool(mpi.size());
    try {
      const int code = coordinate_sweep(options, *pool);
      pool->stop();
      return code;
    } catch (...) {
      pool->stop();  // release the workers before the error reaches the command line
      throw;
    }
  }
  // Workers leave signals to rank 0, which stops them through the protocol.
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGUSR1, SIG_IGN);
  if (!runner) make_runner(mpi.rank());
  serve_as_mpi_worker(*runner);
  return 0;
}

}  // namespace hqsweep
