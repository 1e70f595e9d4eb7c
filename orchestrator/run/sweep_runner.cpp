// Rank 0's loop over a sweep, and the two ways to start it (embedded, under mpirun).
#include "orchestrator/run/sweep_runner.h"

#include <signal.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/exit_codes.h"
#include "common/posix_io.h"
#include "common/run_config.h"
#include "orchestrator/dispatch/mpi_pool.h"
#include "orchestrator/run/progress.h"
#include "orchestrator/run/result_sink.h"
#include "orchestrator/run/resume_plan.h"
#include "orchestrator/run/stop_signals.h"
#include "orchestrator/run/study_trials.h"
#include "orchestrator/search/grouped_stopping.h"
#include "orchestrator/sweep/sweep.h"
#include "store/feature_cache.h"
#include "store/result_store.h"
#include "store/results_paths.h"

namespace hqsweep {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

RunResult ended_without_running(const Task& task, RunStatus status, const std::string& why) {
  RunResult result;
  result.run_id = task.id;
  result.config = task.config;
  result.status = status;
  result.error = why;
  result.start_time = result.end_time = wall_seconds();
  return result;
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

// Rank 0's loop over one sweep: open the results file, plan the resume, then hand tasks to idle
// workers and store their reports until every run is finished or a signal stops it.
class SweepCoordinator {
 public:
  // A task handed to a worker: its estimate and latest epoch, for the progress snapshot.
  struct InFlight {
    double estimate = 0;
    int64_t epochs = 0, epoch = 0;
    std::string metric;
    double value = 0;
  };

  SweepCoordinator(const SweepRunOptions& options, WorkerPool& pool)
      : options_(options), pool_(pool) {}

  int run() {
    open_results();
    plan();
    loop();
    shut_down();
    if (stopping_) clear_stop_request(options_.out);  // done: the next run goes on
    return summarise();
  }

 private:
  void open_results() {
    sweep_ =
        expand_sweep_file(options_.sweep_path, SweepOptions{options_.overrides, options_.max_runs});
    if (options_.out.empty()) {
      options_.out = default_results_path(sweep_.name, options_.sweep_path);
      if (options_.shard.count > 1) {
        options_.out = shard_results_path(options_.out, options_.shard.index, options_.shard.count);
      }
    }
    if (fs::path(options_.out).has_parent_path()) {
      fs::create_directories(fs::path(options_.out).parent_path());
    }
    store_.emplace(ResultStore::open_for_writing(options_.out));
    sink_.emplace(*store_);
  }

  void plan() {
    if (sweep_.study) return plan_study();
    std::map<std::string, RunStatus> stored;
    for (const RunSummary& run : store_->list()) stored[run.run_id] = run.status;
    const ResumePlan plan = plan_resume(sweep_, options_.shard, stored, options_.retry_failed);
    record_sweep(plan.in_shard);
    const std::string shard_text =
        options_.shard.count > 1
            ? fmt::format(" (shard {}/{}: {} of {})", options_.shard.index, options_.shard.count,
                          plan.in_shard, sweep_.runs.size())
            : "";
    std::cerr << fmt::format(
        "{}: {} runs{}; {} already done, {} failed earlier{}; {} to run on {} "
        "workers -> {}\n",
        options_.sweep_path, plan.in_shard, shard_text, plan.already_done, plan.failed_before,
        plan.failed_before > 0 ? " (--retry-failed runs them again)" : "", plan.to_run.size(),
        pool_.size(), options_.out);
    to_run_ = static_cast<int64_t>(plan.to_run.size());
    scheduler_.emplace(plan.to_run, cached_feature_keys(), options_.retries);
    progress_.emplace(options_.progress_interval);
    held_.resize(static_cast<std::size_t>(pool_.size()));
    start_stopping(plan.to_run.empty() ? json() : plan.to_run.front());
  }

  // A study resumes from its file: trials that ended stay, the runs of the others run again
  // under their numbers, and new trials are proposed as workers come free.
  void plan_study() {
    if (options_.shard.count > 1) {
      throw Error(options_.sweep_path +
                  ": a study is one file and cannot be split into shards (--shard, job arrays); "
                  "run it as one job, with as many MPI ranks as it needs");
    }
    const Study& study = *sweep_.study;
    study_.emplace(study);
    const std::vector<RunSummary> stored = store_->list();
    std::vector<RunSpec> again = study_->restore(stored);
    record_sweep(study.search.trials * static_cast<int64_t>(study.runs_per_trial));
    const StudyCounts c = study_->counts();
    std::cerr << fmt::format(
        "{}: study of {} trials ({} {} of {}); {} started before ({} complete, {} pruned, {} "
        "failed, {} to continue); on {} workers -> {}\n",
        options_.sweep_path, study.search.trials, to_string(study.search.algorithm),
        to_string(study.search.mode), study.search.metric, study_->started(), c.complete, c.pruned,
        c.failed, c.running, pool_.size(), options_.out);
    std::vector<json> configs;
    for (RunSpec& run : again) configs.push_back(std::move(run.config));
    to_run_ =
        (study.search.trials - study_->started()) * static_cast<int64_t>(study.runs_per_trial) +
        static_cast<int64_t>(configs.size());
    scheduler_.emplace(configs, cached_feature_keys(), options_.retries);
    progress_.emplace(options_.progress_interval);
    held_.resize(static_cast<std::size_t>(pool_.size()));
    json first = configs.empty() ? json() : configs.front();
    if (first.is_null())
      first = study.runs_of(propose(study.search, {}, 0, study.applies)).front().config;
    start_stopping(first);
    for (const RunSummary& run : stored) group_for_stopping(run.run_id);
    replay_stopping(stored);
  }

  // A trial over several seeds is one unit for the stopping rule: its seeds do not compete.
  void group_for_stopping(const std::string& run_id) {
    if (!stopping_rule_ || !study_ || sweep_.study->runs_per_trial < 2) return;
    const int64_t trial = study_->trial_of(run_id);
    if (trial >= 0) stopping_rule_->assign(run_id, fmt::format("trial {}", trial));
  }

  // Hyperband's brackets need a full run's epochs: those of the sweep's runs.
  void start_stopping(const json& example) {
    if (sweep_.stopping.algorithm == StoppingAlgorithm::none || example.is_null()) return;
    StoppingSpec spec = sweep_.stopping;
    const RunConfig config = run_config_from_canonical(example);
    spec.max_epochs = config.full_epochs();
    stopping_rule_.emplace(spec);
    if (!sweep_.study) replay_stopping(store_->list());
  }

  // Decisions after a restart are made against the stored runs' curves, as before it.
  void replay_stopping(const std::vector<RunSummary>& stored) {
    if (!stopping_rule_) return;
    for (const RunSummary& run : stored) {
      if (!is_finished(run.status)) continue;
      const RunResult result = store_->get(run.run_id);
      auto curve = result.curves.find(sweep_.stopping.metric);
      if (curve != result.curves.end()) stopping_rule_->replay(run.run_id, curve->second);
    }
  }

  // A shard's file counts the runs of its shard, so that `hqsweep status` of the file is right.
  void record_sweep(int64_t run_count) {
    SweepRecord record;
    record.name = sweep_.name;
    record.source = options_.sweep_path;
    record.text = read_text_file(options_.sweep_path);
    record.run_count = run_count;
    record.command_line = options_.command_line;
    record.overrides = options_.overrides;
    record.varying_keys = sweep_.varying_keys;
    record.recorded_time = wall_seconds();
    record.shard_index = options_.shard.index;
    record.shard_count = options_.shard.count;
    store_->record_sweep(record);
  }

  std::set<std::string> cached_feature_keys() const {
    std::set<std::string> cached;
    if (fs::is_directory(options_.runner.cache_directory)) {
      for (const CacheEntry& entry : FeatureCache(options_.runner.cache_directory).list()) {
        cached.insert(entry.key);
      }
    }
    return cached;
  }

  void loop() {
    started_ = wall_seconds();
    for (;;) {
      const int signal_count = StopSignals::count();
      if (!stopping_ && signal_count >= 1) begin_stop();
      if (!stopping_ && stop_requested_by_file(options_.out)) {
        progress_->message(stop_request_path(options_.out) + " asks for a graceful stop");
        begin_stop();
      }
      if (!stopping_) {
        propose_trials();
        assign_tasks();
      }
      // Stored after the workers have their next tasks, so they do not wait for the fsync.
      sink_->flush();
      show_progress(false);
      if (outstanding_ == 0) {
        if (stopping_ || (scheduler_->finished_all() && !study_can_go_on())) return;
        throw Error("internal: runs wait but none can start");  // a dependency was lost
      }
      if (stopping_ && (signal_count >= 2 || wall_seconds() >= deadline_)) return;
      for (auto got = pool_.wait(0.2); got; got = pool_.wait(0)) {
        if (got->epoch) {
          judge_epoch(got->worker, *got->epoch);
          continue;
        }
        forget_held(static_cast<std::size_t>(got->worker), got->report->task.id);
        handle(*got->report);
      }
    }
  }

  bool study_can_go_on() const { return study_ && study_->can_propose(); }

  // The progress line, and the progress file `hqsweep status` reads (every few seconds).
  void show_progress(bool force) {
    const ProgressSnapshot snapshot = progress_snapshot();
    progress_->update(snapshot, force);
    if (force || snapshot.updated - progress_written_ >= kProgressFileSeconds) {
      write_progress_file(options_.out, snapshot);
      progress_written_ = snapshot.updated;
    }
  }

  // Counts, each worker's executing run with its latest epoch, and the ETA: the estimated work
  // left (tasks waiting, the unfinished epochs of those running, a study's trials not proposed
  // yet) at the rate the work done so far took, epochs of running runs included, so that it is
  // known before the first run ends.
  ProgressSnapshot progress_snapshot() const {
    const SchedulerCounts counts = scheduler_->counts();
    ProgressSnapshot s;
    s.total = to_run_;
    s.done = counts.done - counts.failed;
    s.failed = counts.failed;
    s.waiting = counts.waiting;
    s.updated = wall_seconds();
    s.elapsed = s.updated - started_;
    double work_done = work_done_, work_left = scheduler_->waiting_estimate();
    for (const std::vector<Task>& tasks : held_) {
      for (std::size_t i = 0; i < tasks.size(); ++i) {
        auto it = in_flight_.find(tasks[i].id);
        if (it == in_flight_.end()) continue;
        const InFlight& f = it->second;
        const double fraction =
            f.epochs > 0 ? std::min(1.0, static_cast<double>(f.epoch) / f.epochs) : 0.0;
        work_done += f.estimate * fraction;
        work_left += f.estimate * (1 - fraction);
        if (i > 0) continue;  // queued behind the one its worker executes
        ++s.running;
        if (tasks[i].kind == TaskKind::run)
          s.running_runs.push_back({tasks[i].id, f.epoch, f.epochs, f.metric, f.value});
      }
    }
    s.queued = static_cast<int64_t>(outstanding_) - s.running;
    if (study_) {
      const int64_t unproposed = std::max<int64_t>(
          0, to_run_ - counts.done - static_cast<int64_t>(outstanding_) - counts.waiting);
      s.waiting += unproposed;
      if (tasks_seen_ > 0) work_left += unproposed * estimates_seen_ / tasks_seen_;
    }
    s.eta_seconds = estimated_seconds_left(work_done, work_left, s.elapsed);
    return s;
  }

  // A study's next trials, while more workers have nothing to do than runs are ready for them:
  // each proposal then sees every trial that has ended. Stored as proposed before it is handed
  // out.
  void propose_trials() {
    if (!study_) return;
    for (;;) {
      std::size_t idle = 0;
      for (const auto& tasks : held_) idle += tasks.empty();
      if (idle <= scheduler_->ready_count() || !study_->can_propose()) return;
      std::vector<RunSpec> runs = study_->propose_next();
      if (runs.empty()) {
        progress_->message(
            fmt::format("the search space has no new point after {} trials: the study ends there",
                        study_->started()));
        to_run_ -= (sweep_.study->search.trials - study_->started()) *
                   static_cast<int64_t>(sweep_.study->runs_per_trial);
        return;
      }
      std::vector<json> configs;
      for (RunSpec& run : runs) {
        RunResult proposed;
        proposed.run_id = run.run_id;
        proposed.config = run.config;
        proposed.status = RunStatus::proposed;
        proposed.trial = study_->trial_of(run.run_id);
        group_for_stopping(run.run_id);
        proposed.start_time = proposed.end_time = wall_seconds();
        sink_->add(std::move(proposed));
        configs.push_back(std::move(run.config));
      }
      sink_->flush();
      scheduler_->add_runs(configs, cached_feature_keys());
    }
  }

  // An epoch of a running run: the stopping rule decides at once, from what has arrived.
  void judge_epoch(int worker, const EpochReport& epoch) {
    ++epoch_reports_;
    note_epoch(epoch);
    if (!stopping_rule_ || stopping_) return;
    auto value = epoch.values.find(sweep_.stopping.metric);
    if (value == epoch.values.end()) return;
    for (const std::string& run_id :
         stopping_rule_->report(epoch.run_id, epoch.epoch, value->second)) {
      const int holder = run_id == epoch.run_id ? worker : worker_holding(run_id);
      if (holder < 0) continue;
      pool_.prune(holder, run_id);
      ++prune_decisions_;
    }
  }

  int worker_holding(const std::string& run_id) const {
    for (std::size_t w = 0; w < held_.size(); ++w)
      for (const Task& task : held_[w])
        if (task.id == run_id) return static_cast<int>(w);
    return -1;
  }

  // The progress line shows the watched metric: the stopping rule's, else validation accuracy,
  // else validation loss, else the first one reported.
  void note_epoch(const EpochReport& epoch) {
    auto it = in_flight_.find(epoch.run_id);
    if (it == in_flight_.end() || epoch.values.empty()) return;
    it->second.epoch = epoch.epoch;
    for (const std::string& name : {sweep_.stopping.metric, std::string("val_acc"),
                                    std::string("val_loss"), epoch.values.begin()->first}) {
      auto value = epoch.values.find(name);
      if (value == epoch.values.end()) continue;
      it->second.metric = name;
      it->second.value = value->second;
      return;
    }
  }

  // Every result received is in the journal already; the HDF5 view is brought up to date first,
  // because under mpirun a SIGTERM (mpirun's, when a rank died) is followed by SIGKILL about 1 s
  // later (docs/orchestrator.md), long before any grace period ends.
  void begin_stop() {
    stopping_ = true;
    const auto started = std::chrono::steady_clock::now();
    sink_->finish();
    deadline_ = wall_seconds() + options_.grace;
    progress_->message(fmt::format(
        "stopping: every result so far is stored (the HDF5 view updated in {:.0f} ms); no new "
        "runs; {} started or queued get {:g} s to finish (a second signal stops them now)",
        1000 * seconds_since(started), outstanding_, options_.grace));
  }

  // Each worker holds the one it runs, the next (queued in its runner process, which starts it
  // the moment the first ends) and at least one more, which becomes the queued one while rank 0
  // hears about the first; more when tasks are short (tasks_held_per_worker). Idle workers first.
  void assign_tasks() {
    // A study's worker holds one run: a trial proposed later knows more.
    const std::size_t depth_limit = study_ ? 1 : tasks_held_per_worker(recent_task_seconds_);
    for (std::size_t depth = 0; depth < depth_limit; ++depth) {
      for (std::size_t w = 0; w < held_.size(); ++w) {
        if (held_[w].size() != depth) continue;
        std::optional<Task> task = scheduler_->next();
        if (!task) return;
        pool_.assign(static_cast<int>(w), *task);
        in_flight_[task->id] = in_flight_for(*task);
        held_[w].push_back(std::move(*task));
        ++outstanding_;
      }
    }
  }

  InFlight in_flight_for(const Task& task) {
    InFlight f;
    f.estimate = task.estimate;
    if (task.kind == TaskKind::run) f.epochs = run_config_from_canonical(task.config).full_epochs();
    estimates_seen_ += task.estimate;
    ++tasks_seen_;
    return f;
  }

  void forget_held(std::size_t worker, const std::string& task_id) {
    auto& tasks = held_[worker];
    for (auto it = tasks.begin(); it != tasks.end(); ++it) {
      if (it->id == task_id) {
        tasks.erase(it);
        --outstanding_;
        return;
      }
    }
  }

  void handle(const TaskReport& report) {
    recent_task_seconds_ = recent_task_seconds_ < 0
                               ? report.seconds
                               : 0.9 * recent_task_seconds_ + 0.1 * report.seconds;
    const Task& task = report.task;
    bool again = false;  // requeued: its work is not done
    if (task.kind == TaskKind::run) {
      again = handle_run(report);
    } else {
      if (!report.succeeded) {
        scheduler_->set_extraction_error(task.id, report.error);
        progress_->message(
            fmt::format("SHF extraction {} failed: {}", task.id, first_line(report.error)));
      }
      again = scheduler_->finished(task, report.succeeded, report.retryable, report.seconds);
    }
    if (auto it = in_flight_.find(task.id); it != in_flight_.end()) {
      if (!again) work_done_ += it->second.estimate;
      in_flight_.erase(it);
    }
    for (auto& [head, reason] : scheduler_->take_blocked_failures()) {
      RunResult failed = ended_without_running(head, RunStatus::failed, reason);
      if (stopping_rule_) stopping_rule_->finished(head.id);
      if (study_) {
        failed.trial = study_->trial_of(head.id);
        study_->run_ended(failed);
      }
      sink_->add(std::move(failed));
      ++failures_;
    }
  }

  // Returns whether the run goes back to the queue.
  bool handle_run(const TaskReport& report) {
    RunResult result = report.result;
    if (study_) result.trial = study_->trial_of(result.run_id);
    sink_->add(result);
    if (report.result.status == RunStatus::cancelled) {
      scheduler_->requeue(report.task);
      return true;
    }
    const bool requeued =
        scheduler_->finished(report.task, report.succeeded, report.retryable, report.seconds);
    if (!requeued) {
      if (study_) study_->run_ended(result);
      if (stopping_rule_) stopping_rule_->finished(result.run_id);
      if (result.status == RunStatus::pruned) ++pruned_;
    }
    if (report.succeeded) return requeued;
    if (!requeued) ++failures_;
    progress_->message(fmt::format("run {} {}: {}", report.task.id, to_string(report.result.status),
                                   first_line(report.error)));
    return requeued;
  }

  // Reports that arrived while the workers stopped count; tasks that were running without a
  // report, or never started, are recorded cancelled and run again next time.
  void shut_down() {
    sink_->flush();
    for (const TaskReport& report : pool_.stop()) {
      for (std::size_t w = 0; w < held_.size(); ++w) forget_held(w, report.task.id);
      handle(report);
    }
    for (const auto& tasks : held_) {
      for (const Task& task : tasks) {
        if (task.kind == TaskKind::run) {
          RunResult cancelled = ended_without_running(
              task, RunStatus::cancelled,
              "stopped by a signal before it finished; run the same command again to resume");
          if (study_) cancelled.trial = study_->trial_of(task.id);
          sink_->add(std::move(cancelled));
        }
        scheduler_->requeue(task);
      }
    }
    // Nothing runs any more: the last progress line counts them as waiting, not running.
    for (auto& tasks : held_) tasks.clear();
    outstanding_ = 0;
    sink_->finish();
    show_progress(true);
    remove_progress_file(options_.out);  // the sweep is no longer running
    progress_->finish();
  }

  int summarise() const {
    const SchedulerCounts counts = scheduler_->counts();
    const bool complete = scheduler_->finished_all() && !study_can_go_on();
    if (stopping_rule_) {
      std::cerr << fmt::format("early stopping ({}): {} runs pruned; {} epoch reports heard\n",
                               to_string(sweep_.stopping.algorithm), pruned_, epoch_reports_);
    }
    if (study_) {
      const StudyCounts c = study_->counts();
      const std::optional<TrialRecord> best = study_->best();
      std::cerr << fmt::format(
          "study: {} of {} trials started: {} complete, {} pruned, {} failed, {} unfinished{}\n",
          study_->started(), sweep_.study->search.trials, c.complete, c.pruned, c.failed, c.running,
          best ? fmt::format("; best {} {:.6g} (trial {})", sweep_.study->search.metric,
                             best->value, best->number)
               : "");
    }
    std::cerr << fmt::format(
        "{}: {} of {} runs finished this time ({} failed) in {:.3f} s on {} workers{}\n",
        options_.out, counts.done, to_run_, failures_, wall_seconds() - started_, pool_.size(),
        complete ? "" : "; stopped early: run the same command again to resume");
    if (!complete) return kExitStopped;
    return failures_ > 0 ? kExitSomeFailed : kExitOk;
  }

  SweepRunOptions options_;
  WorkerPool& pool_;
  Sweep sweep_;
  std::optional<ResultStore> store_;
  std::optional<ResultSink> sink_;
  std::optional<Scheduler> scheduler_;
  std::optional<Progress> progress_;
  std::optional<StudyTrials> study_;
  std::optional<GroupedStopping> stopping_rule_;
  int64_t epoch_reports_ = 0, prune_decisions_ = 0, pruned_ = 0;
  std::vector<std::vector<Task>> held_;  // per worker: assigned, not yet reported
  std::size_t outstanding_ = 0;          // tasks held by all workers
  int64_t to_run_ = 0;
  int64_t failures_ = 0;
  double recent_task_seconds_ = -1;            // mean of recent tasks; how many a worker holds
  std::map<std::string, InFlight> in_flight_;  // tasks handed to workers
  double work_done_ = 0;                       // estimates of the tasks that ended
  double estimates_seen_ = 0;
  int64_t tasks_seen_ = 0;
  double progress_written_ = 0;
  static constexpr double kProgressFileSeconds = 2;
  bool stopping_ = false;
  double deadline_ = 0;  // when a graceful stop ends
  double started_ = 0;
};

int run_sweep_embedded(const SweepRunOptions& options);
int run_sweep_mpi(const SweepRunOptions& options);

}  // namespace

int coordinate_sweep(const SweepRunOptions& options, WorkerPool& pool) {
  return SweepCoordinator(options, pool).run();
}

int run_sweep(const SweepRunOptions& options) {
  // First of all, so that a signal during start-up takes the graceful path too.
  const StopSignals signals;
  return launched_by_mpirun() ? run_sweep_mpi(options) : run_sweep_embedded(options);
}

namespace {

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

}  // namespace

}  // namespace hqsweep
