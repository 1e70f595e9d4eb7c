// Longest-first scheduling with refined estimates and extraction dependencies.
#include "orchestrator/schedule/scheduler.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

#include "common/config_schema.h"
#include "common/derived_configs.h"
#include "common/error.h"
#include "common/run_config.h"

namespace hqsweep {

using nlohmann::json;

namespace {

// Training samples per epoch before the data are read: the catalogue's, after the class subset
// and the per-class limit.
double nominal_training_samples(const DatasetConfig& dataset) {
  double samples = dataset.info->nominal_train_samples;
  const double classes = dataset.info->classes > 0 ? static_cast<double>(dataset.info->classes) : 2;
  const double kept =
      dataset.classes.empty() ? classes : static_cast<double>(dataset.classes.size());
  if (!dataset.classes.empty()) samples *= kept / classes;
  if (dataset.per_class_limit > 0) {
    samples = std::min(samples, static_cast<double>(dataset.per_class_limit) * kept);
  }
  return samples;
}

// A program's cost is unknown until one has run.
constexpr double kProgramEstimateSeconds = 60;

}  // namespace

std::size_t tasks_held_per_worker(double recent_task_seconds) {
  constexpr double kFewest = 3, kMost = 8, kHeldSeconds = 0.05;
  if (recent_task_seconds < 0) return static_cast<std::size_t>(kFewest);
  const double wanted = 2 + std::ceil(kHeldSeconds / std::max(recent_task_seconds, 1e-4));
  return static_cast<std::size_t>(std::clamp(wanted, kFewest, kMost));
}

std::string cost_group(const RunConfig& config) {
  if (config.is_probe) return "probe";
  if (config.is_program) return "program/" + config.program.command.front();
  return (config.model.backbone.empty() ? "circuit" : config.model.backbone) + "/" +
         fusion_info(config.model.fusion).name + "/" + std::to_string(config.dataset.image_size);
}

double estimate_seconds(const RunConfig& config, TaskKind kind) {
  if (config.is_probe) return config.probe.duration_ms / 1000.0;
  if (config.is_program) return kProgramEstimateSeconds;  // measured durations refine it
  const int64_t size = config.dataset.image_size > 0 ? config.dataset.image_size : 28;
  // The circuit alone (fusion quantum) costs about as much per sample as a small backbone.
  double per_sample =
      config.model.backbone_info != nullptr ? config.model.backbone_info->seconds_per_sample : 1e-4;
  if (config.model.backbone_info == nullptr || config.model.backbone_info->convolutional) {
    per_sample *= (size / 28.0) * (size / 28.0) * config.model.width * config.model.width;
  }
  if (config.uses_quantum()) {
    per_sample += 4e-9 * std::pow(2.0, config.quantum.qubits) *
                  static_cast<double>(config.quantum.layers) * 13;
  }
  const double samples = nominal_training_samples(config.dataset);
  double epochs = static_cast<double>(config.train.epochs);
  if (config.caches_features()) {
    if (kind == TaskKind::extract) {
      epochs = static_cast<double>(config.extract.epochs);
    } else {
      per_sample = 1e-5;  // a head on cached features
    }
  }
  // Evaluation passes (forward only) cost about a third of training per sample.
  return 0.05 + samples * per_sample * std::max(1.0, epochs) * 1.35;
}

Scheduler::Scheduler(const std::vector<json>& runs, const std::set<std::string>& cached,
                     int retries)
    : retries_(retries) {
  add_runs(runs, cached);
}

void Scheduler::add_runs(const std::vector<json>& runs, const std::set<std::string>& cached) {
  total_runs_ += static_cast<int64_t>(runs.size());
  std::map<std::string, Task> extractions;
  std::set<std::string> touched;
  for (const json& canonical : runs) {
    const RunConfig config = run_config_from_canonical(canonical);
    Task task;
    task.kind = TaskKind::run;
    task.id = config.run_id;
    task.config = canonical;
    task.estimate = estimate_seconds(config);
    task.cost_group = cost_group(config);
    touched.insert(task.cost_group);
    const std::string key = config.caches_features() ? feature_cache_key(canonical) : "";
    if (key.empty() || cached.count(key) || extracted_.count(key)) {
      ready_[task.cost_group].push_back(std::move(task));
      continue;
    }
    auto [it, added] = extractions.try_emplace(key);
    // An extraction already queued or running from an earlier call: its heads wait for it.
    if (added && blocked_.count(key)) {
      extractions.erase(it);
      blocked_[key].push_back(std::move(task));
      continue;
    }
    if (added) {
      it->second.kind = TaskKind::extract;
      it->second.id = key;
      it->second.config = canonical;
      it->second.estimate = estimate_seconds(config, TaskKind::extract);
      it->second.cost_group = cost_group(config) + "/extract";
      it->second.model = run_id(shf_classical_config(canonical));
    }
    // Heads wait; the extraction carries the longest of them, so it starts early enough.
    it->second.estimate =
        std::max(it->second.estimate, estimate_seconds(config, TaskKind::extract) + task.estimate);
    blocked_[key].push_back(std::move(task));
  }
  for (auto& [key, task] : extractions) {
    touched.insert(task.cost_group);
    ready_[task.cost_group].push_back(std::move(task));
  }
  // Sorted once per call; make_ready keeps the order for the few tasks that come back later.
  for (const std::string& group : touched) {
    std::vector<Task>& queue = ready_[group];
    std::stable_sort(queue.begin(), queue.end(),
                     [](const Task& a, const Task& b) { return a.estimate < b.estimate; });
  }
}

double Scheduler::waiting_estimate() const {
  double total = 0;
  for (const auto* queues : {&ready_, &blocked_}) {
    for (const auto& [group, queue] : *queues) {
      for (const Task& task : queue) total += task.estimate;
    }
  }
  return total;
}

std::size_t Scheduler::ready_count() const {
  std::size_t count = 0;
  for (const auto& [group, queue] : ready_) count += queue.size();
  return count;
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
  // Per queue its largest task that may start: an extraction waits while another one trains its
  // classical model (SHF at 4 and 8 qubits over one backbone), so that the model trains once.
  std::vector<Task>* best = nullptr;
  std::vector<Task>::iterator best_task;
  double best_value = -1;
  for (auto& [group, queue] : ready_) {
    auto task = std::find_if(queue.rbegin(), queue.rend(), [&](const Task& t) {
      return t.model.empty() || models_in_training_.count(t.model) == 0;
    });
    if (task == queue.rend()) continue;
    const double value = refined(*task);
    if (value > best_value) {
      best_value = value;
      best = &queue;
      best_task = std::prev(task.base());
    }
  }
  if (best == nullptr) return std::nullopt;
  Task task = std::move(*best_task);
  best->erase(best_task);
  if (!task.model.empty()) models_in_training_.insert(task.model);
  running_[task.id] = task;
  return task;
}

bool Scheduler::finished(const Task& task, bool succeeded, bool retryable, double seconds) {
  running_.erase(task.id);
  models_in_training_.erase(task.model);
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
    if (succeeded) extracted_.insert(task.id);
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
  models_in_training_.erase(task.model);
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
