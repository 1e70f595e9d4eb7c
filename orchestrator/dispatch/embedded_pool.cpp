// The embedded worker pool: one thread per worker, each driving its runner process.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "orchestrator/dispatch/worker_pool.h"

namespace hqsweep {

namespace {

class EmbeddedPool : public WorkerPool {
 public:
  EmbeddedPool(int workers, const RunnerOptions& runner) : assigned_(workers) {
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

  std::optional<std::pair<int, TaskReport>> wait(double seconds) override {
    std::unique_lock<std::mutex> lock(mutex_);
    report_ready_.wait_for(lock, std::chrono::duration<double>(seconds),
                           [this] { return !reports_.empty(); });
    if (reports_.empty()) return std::nullopt;
    auto report = std::move(reports_.front());
    reports_.pop_front();
    return report;
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
    for (auto& [worker, report] : reports_) left.push_back(std::move(report));
    reports_.clear();
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
      TaskReport report = runner.execute(
          task, [this] { return kill_.load(); }, next ? &*next : nullptr);
      std::lock_guard<std::mutex> lock(mutex_);
      reports_.emplace_back(worker, std::move(report));
      report_ready_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable work_ready_, report_ready_;
  std::vector<std::deque<Task>> assigned_;  // per worker, in order
  std::deque<std::pair<int, TaskReport>> reports_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
  std::atomic<bool> kill_{false};
};

}  // namespace

std::unique_ptr<WorkerPool> make_embedded_pool(int workers, const RunnerOptions& runner) {
  return std::make_unique<EmbeddedPool>(std::max(1, workers), runner);
}

}  // namespace hqsweep
