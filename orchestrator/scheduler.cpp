// Longest-first scheduling with refined estimates and extraction dependencies.
#include "orchestrator/scheduler.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/config_schema.h"
#include "common/error.h"
#include "worker/feature_extraction.h"

namespace hqsweep {

using nlohmann::json;

namespace {

// Training seconds per sample (forward + backward + Adam, batch 32, one thread) at 28x28, full
// width, from bench/training_bench (docs/benchmarks.md); only their ratios matter for the order,
// and measured durations refine them.
double seconds_per_sample(const std::string& backbone) {
  if (backbone == "mlp") return 1e-5;
  if (backbone == "hqcnn") return 2.2e-4;
  if (backbone == "cnn5") return 1.1e-3;
  if (backbone == "resnet18") return 3.6e-2;
  if (backbone == "resnet50") return 9.8e-2;
  if (backbone == "efficientnet_b0") return 1.2e-2;
  if (backbone == "efficientnet_b5") return 5.8e-2;
  if (backbone == "efficientnetv2_s") return 3.7e-2;
  return 1e-4;  // fusion "quantum": the circuit alone
}

// Training samples per epoch before the data are read.
double nominal_training_samples(const json& dataset) {
  const std::string name = dataset.value("name", "");
  double samples = 1000, classes = 2;
  if (name == "breastmnist") samples = 546;
  if (name == "fashion_mnist" || name == "mnist") samples = 51000, classes = 10;
  if (name == "wdbc") samples = 364;
  if (name == "wine") samples = 113, classes = 3;
  if (name == "digits") samples = 1150, classes = 10;
  const auto subset = dataset.value("classes", json::array());
  if (!subset.empty()) samples *= static_cast<double>(subset.size()) / classes;
  const int64_t limit = dataset.value("per_class_limit", 0);
  if (limit > 0) {
    samples =
        std::min(samples, static_cast<double>(limit) *
                              (subset.empty() ? classes : static_cast<double>(subset.size())));
  }
  return samples;
}

}  // namespace

std::size_t tasks_held_per_worker(double recent_task_seconds) {
  constexpr double kFewest = 3, kMost = 8, kHeldSeconds = 0.05;
  if (recent_task_seconds < 0) return static_cast<std::size_t>(kFewest);
  const double wanted = 2 + std::ceil(kHeldSeconds / std::max(recent_task_seconds, 1e-4));
  return static_cast<std::size_t>(std::clamp(wanted, kFewest, kMost));
}

std::string cost_group(const json& config) {
  const json model = config.value("model", json::object());
  if (model.value("backbone", "") == "probe") return "probe";
  const json dataset = config.value("dataset", json::object());
  return model.value("backbone", "circuit") + "/" + model.value("fusion", "classical") + "/" +
         std::to_string(dataset.value("image_size", 0));
}

double estimate_seconds(const json& config, TaskKind kind) {
  const json model = config.value("model", json::object());
  if (model.value("backbone", "") == "probe") {
    return config.value("probe", json::object()).value("duration_ms", 0.0) / 1000.0;
  }
  const json dataset = config.value("dataset", json::object());
  const json train = config.value("train", json::object());
  const json extract = config.value("extract", json::object());
  const std::string backbone = model.value("backbone", "");
  const std::string fusion = model.value("fusion", "classical");
  const int64_t size = dataset.value("image_size", 0) > 0 ? dataset.value("image_size", 0) : 28;
  const double width = model.value("width", 1.0);
  double per_sample = seconds_per_sample(fusion == "quantum" ? "" : backbone);
  if (backbone != "mlp") per_sample *= (size / 28.0) * (size / 28.0) * width * width;
  if (fusion != "classical") {
    const json quantum = config.value("quantum", json::object());
    per_sample += 4e-9 * std::pow(2.0, quantum.value("qubits", 4)) *
                  static_cast<double>(quantum.value("layers", 2)) * 13;
  }
  const double samples = nominal_training_samples(dataset);
  double epochs = train.value("epochs", 10);
  if (fusion == "shf") {
    if (kind == TaskKind::extract) {
      epochs = extract.value("epochs", 10);
    } else {
      per_sample = 1e-5;  // a head on cached features
    }
  }
  // Evaluation passes (forward only) cost about a third of training per sample.
  return 0.05 + samples * per_sample * std::max(1.0, epochs) * 1.35;
}

Scheduler::Scheduler(const std::vector<json>& runs, const std::set<std::string>& cached,
                     int retries)
    : retries_(retries), total_runs_(static_cast<int64_t>(runs.size())) {
  std::map<std::string, Task> extractions;
  for (const json& config : runs) {
    Task task;
    task.kind = TaskKind::run;
    task.id = run_id(config);
    task.config = config;
    task.estimate = estimate_seconds(config);
    task.cost_group = cost_group(config);
    const bool shf = config.value("model", json::object()).value("fusion", "") == "shf";
    if (!shf) {
      ready_[task.cost_group].push_back(std::move(task));
      continue;
    }
    const std::string key = feature_cache_key(config);
    if (cached.count(key)) {
      ready_[task.cost_group].push_back(std::move(task));
      continue;
    }
    auto [it, added] = extractions.try_emplace(key);
    if (added) {
      it->second.kind = TaskKind::extract;
      it->second.id = key;
      it->second.config = config;
      it->second.estimate = estimate_seconds(config, TaskKind::extract);
      it->second.cost_group = cost_group(config) + "/extract";
    }
    // Heads wait; the extraction carries the longest of them, so it starts early enough.
    it->second.estimate =
        std::max(it->second.estimate, estimate_seconds(config, TaskKind::extract) + task.estimate);
    blocked_[key].push_back(std::move(task));
  }
  for (auto& [key, task] : extractions) ready_[task.cost_group].push_back(std::move(task));
  // Sorted once here; make_ready keeps the order for the few tasks that come back later.
  for (auto& [group, queue] : ready_) {
    std::stable_sort(queue.begin(), queue.end(),
                     [](const Task& a, const Task& b) { return a.estimate < b.estimate; });
  }
}

void Scheduler::make_ready(Task task) {
  auto& queue = ready_[task.cost_group];
  auto at = std::lower_bound(queue.begin(), queue.end(), task.estimate,
                             [](const Task& t, double e) { return t.estimate < e; });
  queue.insert(at, std::move(task));
}

double Scheduler::refined(const Task& task) const {
  auto m = measured_.find(task.cost_group);
  if (m == measured_.end()) return task.estimate;
  return task.estimate * m->second / std::max(1e-9, estimated_.at(task.cost_group));
}

std::optional<Task> Scheduler::next() {
  std::vector<Task>* best = nullptr;
  double best_value = -1;
  for (auto& [group, queue] : ready_) {
    if (queue.empty()) continue;
    const double value = refined(queue.back());
    if (value > best_value) {
      best_value = value;
      best = &queue;
    }
  }
  if (best == nullptr) return std::nullopt;
  Task task = std::move(best->back());
  best->pop_back();
  running_[task.id] = task;
  return task;
}

bool Scheduler::finished(const Task& task, bool succeeded, bool retryable, double seconds) {
  running_.erase(task.id);
  if (seconds > 0) {
    measured_[task.cost_group] += seconds;
    estimated_[task.cost_group] += task.estimate;
  }
  if (!succeeded && retryable && task.attempt <= retries_) {
    Task again = task;
    ++again.attempt;
    make_ready(std::move(again));
    return true;
  }
  if (task.kind == TaskKind::extract) {
    auto heads = blocked_.find(task.id);
    if (heads != blocked_.end()) {
      for (Task& head : heads->second) {
        if (succeeded) {
          make_ready(std::move(head));
        } else {
          auto error = extraction_errors_.find(task.id);
          blocked_failures_.emplace_back(
              std::move(head), "SHF feature extraction " + task.id + " failed: " +
                                   (error == extraction_errors_.end() ? "" : error->second));
          ++done_;
          ++failed_;
        }
      }
      blocked_.erase(heads);
    }
    return false;
  }
  ++done_;
  if (!succeeded) ++failed_;
  return false;
}

void Scheduler::set_extraction_error(const std::string& key, const std::string& error) {
  extraction_errors_[key] = error;
}

std::vector<std::pair<Task, std::string>> Scheduler::take_blocked_failures() {
  return std::exchange(blocked_failures_, {});
}

void Scheduler::requeue(const Task& task) {
  running_.erase(task.id);
  make_ready(task);
}

bool Scheduler::finished_all() const {
  return done_ == total_runs_;
}

SchedulerCounts Scheduler::counts() const {
  SchedulerCounts c;
  for (const auto& [id, task] : running_) c.running += task.kind == TaskKind::run ? 1 : 0;
  c.done = done_;
  c.failed = failed_;
  c.waiting = total_runs_ - done_ - c.running;
  return c;
}

}  // namespace hqsweep
