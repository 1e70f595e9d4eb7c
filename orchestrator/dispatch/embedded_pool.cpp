// The embedded worker pool: one thread per worker, each driving its runner process.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "orchestrator/dispatch/worker_pool.h"

namespace hqsweep {

namespace {

class EmbeddedPool : public WorkerPool {
 public:
  EmbeddedPool(int workers, const RunnerOptions& runner)
      : assigned_(static_cast<std::size_t>(workers)), prunes_(static_cast<std::size_t>(workers)) {
    for (int w = 0; w < workers; ++w) {
      threads_.emplace_back([this, w, runner] { work(w, runner); });
    }
  }
  ~EmbeddedPool() override { stop(); }

  int size() const override { return static_cast<int>(assigned_.size()); }

  void assign(int worker, const Task& task) override {
    std::lock_guard<std::mutex> lock(mutex_);
    assigned_[static_cast<std::size_t>(worker)].push_back(task);
    work_ready_.notify_all();
  }

  std::optional<PoolEvent> wait(double seconds) override {
    std::unique_lock<std::mutex> lock(mutex_);
    report_ready_.wait_for(lock, std::chrono::duration<double>(seconds),
                           [this] { return !events_.empty(); });
    if (events_.empty()) return std::nullopt;
    PoolEvent event = std::move(events_.front());
    events_.pop_front();
    return event;
  }

  void prune(int worker, const std::string& run_id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    prunes_[static_cast<std::size_t>(worker)].push_back(run_id);
  }

  std::vector<TaskReport> stop() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopped_) return {};
      stopped_ = true;
    }
    kill_ = true;
    work_ready_.notify_all();
    for (std::thread& t : threads_) t.join();
    std::vector<TaskReport> left;
    for (PoolEvent& event : events_)
      if (event.report) left.push_back(std::move(*event.report));
    events_.clear();
    return left;
  }

 private:
  void work(int worker, RunnerOptions runner_options) {
    TaskRunner runner(runner_options);
    runner.start();  // LibTorch loads now, not when the first task waits
    for (;;) {
      Task task;
      std::optional<Task> next;  // queued in the runner behind `task`
      {
        std::unique_lock<std::mutex> lock(mutex_);
        auto& mine = assigned_[static_cast<std::size_t>(worker)];
        work_ready_.wait(lock, [&] { return stopped_ || !mine.empty(); });
        if (stopped_) return;
        task = std::move(mine.front());
        mine.pop_front();
        if (!mine.empty()) next = mine.front();
      }
      TaskCallbacks callbacks;
      callbacks.should_stop = [this] { return kill_.load(); };
      callbacks.on_epoch = [this, worker](const EpochReport& epoch) {
        std::lock_guard<std::mutex> lock(mutex_);
        events_.push_back(PoolEvent{worker, std::nullopt, epoch});
        report_ready_.notify_all();
      };
      callbacks.take_prunes = [this, worker] {
        std::lock_guard<std::mutex> lock(mutex_);
        return std::exchange(prunes_[static_cast<std::size_t>(worker)], {});
      };
      TaskReport report = runner.execute(task, callbacks, next ? &*next : nullptr);
      std::lock_guard<std::mutex> lock(mutex_);
      events_.push_back(PoolEvent{worker, std::move(report), std::nullopt});
      report_ready_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable work_ready_, report_ready_;
  std::vector<std::deque<Task>> assigned_;  // per worker, in order
  std::deque<PoolEvent> events_;
  std::vector<std::vector<std::string>> prunes_;  // per worker, not yet passed to its runner
  std::vector<std::thread> threads_;
  bool stopped_ = false;
  std::atomic<bool> kill_{false};
};

}  // namespace

std::unique_ptr<WorkerPool> make_embedded_pool(int workers, const RunnerOptions& runner) {
  return std::make_unique<EmbeddedPool>(std::max(1, workers), runner);
}

}  // namespace hqsweep
