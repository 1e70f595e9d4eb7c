// The training loop and evaluation.
#include "worker/training.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "common/clock.h"
#include "common/error.h"
#include "worker/metrics.h"

namespace hqsweep {

namespace {

using nlohmann::json;
namespace F = torch::nn::functional;

// A view of a split's samples as [rows, ...sample_shape] (no copy; the split outlives it).
torch::Tensor samples_of(const DataSplit& split, const std::vector<int64_t>& sample_shape) {
  std::vector<int64_t> shape{split.rows()};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
  return torch::from_blob(const_cast<float*>(split.values.data()), shape, torch::kFloat32);
}

torch::Tensor labels_of(const DataSplit& split) {
  return torch::from_blob(const_cast<int64_t*>(split.labels.data()), {split.rows()}, torch::kInt64);
}

torch::Tensor run_model(HybridModel& model, const torch::Tensor& x, ModelInput input) {
  return input == ModelInput::samples ? model->forward(x) : model->head_forward(x);
}

// Random horizontal flip, rotation within +-10 degrees and a shift of up to an eighth of the
// image (a padded crop), as one affine resampling per image; the padding is 0, the training mean
// after normalisation.
torch::Tensor augment(const torch::Tensor& images, std::mt19937_64& random) {
  const int64_t batch = images.size(0), size = images.size(3);
  const int64_t pad = std::max<int64_t>(1, std::llround(size / 8.0));
  std::uniform_real_distribution<double> angle(-10.0, 10.0);
  std::uniform_int_distribution<int64_t> shift(-pad, pad);
  std::bernoulli_distribution flip(0.5);
  std::vector<float> theta(static_cast<std::size_t>(batch * 6));
  for (int64_t n = 0; n < batch; ++n) {
    const double a = angle(random) * M_PI / 180.0;
    const double sign = flip(random) ? -1.0 : 1.0;
    const double dx = 2.0 * shift(random) / size, dy = 2.0 * shift(random) / size;
    float* t = theta.data() + n * 6;
    t[0] = static_cast<float>(sign * std::cos(a));
    t[1] = static_cast<float>(-std::sin(a));
    t[2] = static_cast<float>(dx);
    t[3] = static_cast<float>(sign * std::sin(a));
    t[4] = static_cast<float>(std::cos(a));
    t[5] = static_cast<float>(dy);
  }
  torch::Tensor grid = F::affine_grid(torch::tensor(theta).view({batch, 2, 3}), images.sizes(),
                                      /*align_corners=*/false);
  return F::grid_sample(images, grid,
                        F::GridSampleFuncOptions()
                            .mode(torch::kBilinear)
                            .padding_mode(torch::kZeros)
                            .align_corners(false));
}

// The sample order of one epoch: a permutation, or a class-balanced draw with replacement.
std::vector<int64_t> epoch_order(const std::vector<int64_t>& labels, bool balanced,
                                 std::mt19937_64& random) {
  std::vector<int64_t> order(labels.size());
  if (!balanced) {
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::shuffle(order.begin(), order.end(), random);
    return order;
  }
  std::map<int64_t, double> counts;
  for (int64_t label : labels) counts[label] += 1;
  std::vector<double> weights;
  for (int64_t label : labels) weights.push_back(1.0 / counts[label]);
  std::discrete_distribution<int64_t> draw(weights.begin(), weights.end());
  for (int64_t& i : order) i = draw(random);
  return order;
}

ThresholdRule threshold_rule(const std::string& name) {
  return name == "youden" ? ThresholdRule::youden : ThresholdRule::max_f1;
}

// The learning-rate factor of an epoch (0-based), before the plateau schedule's own decays.
double schedule_factor(const RunConfig& run, int epoch) {
  if (epoch < run.train.warmup_epochs)
    return static_cast<double>(epoch + 1) / (run.train.warmup_epochs + 1);
  const int t = epoch - static_cast<int>(run.train.warmup_epochs);
  if (run.train.schedule == "cosine") {
    const int span =
        static_cast<int>(std::max<int64_t>(1, run.train.epochs - run.train.warmup_epochs));
    return 0.5 * (1 + std::cos(M_PI * t / span));
  }
  if (run.train.schedule == "step") return std::pow(run.train.gamma, t / run.train.step_size);
  if (run.train.schedule == "multistep") {
    // As MultiStepLR stepped once per epoch: epochs from a milestone on run at gamma times less.
    const auto passed = std::count_if(run.train.milestones.begin(), run.train.milestones.end(),
                                      [&](int64_t m) { return t >= m; });
    return std::pow(run.train.gamma, static_cast<double>(passed));
  }
  return 1.0;
}

struct Optimizer {
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::vector<double> base_lr;  // per parameter group
};

Optimizer make_optimizer(HybridModel& model, const RunConfig& run) {
  // Circuit angles get their own learning rate and no weight decay (they are periodic).
  const std::vector<torch::Tensor> circuit = model->circuit_parameters();
  std::set<const void*> circuit_ids;
  for (const auto& p : circuit) circuit_ids.insert(p.unsafeGetTensorImpl());
  std::vector<torch::Tensor> classical;
  for (const auto& p : model->parameters()) {
    if (p.requires_grad() && !circuit_ids.count(p.unsafeGetTensorImpl())) classical.push_back(p);
  }
  const double quantum_lr = run.quantum.lr > 0 ? run.quantum.lr : run.train.lr;
  struct Group {
    std::vector<torch::Tensor> parameters;
    double lr, decay;
  };
  std::vector<Group> groups;
  if (!classical.empty()) groups.push_back({classical, run.train.lr, run.train.weight_decay});
  if (!circuit.empty()) groups.push_back({circuit, quantum_lr, 0.0});
  if (groups.empty()) throw Error("the model has no trainable parameters");

  Optimizer out;
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  for (const Group& g : groups) {
    std::unique_ptr<torch::optim::OptimizerOptions> options;
    if (run.train.optimizer == "sgd") {
      options = std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(g.lr)
                                                               .momentum(run.train.momentum)
                                                               .nesterov(run.train.nesterov)
                                                               .weight_decay(g.decay));
    } else if (run.train.optimizer == "adamw") {
      options = std::make_unique<torch::optim::AdamWOptions>(
          torch::optim::AdamWOptions(g.lr).weight_decay(g.decay));
    } else {
      options = std::make_unique<torch::optim::AdamOptions>(
          torch::optim::AdamOptions(g.lr).weight_decay(g.decay));
    }
    param_groups.emplace_back(g.parameters, std::move(options));
    out.base_lr.push_back(g.lr);
  }
  if (run.train.optimizer == "sgd") {
    out.optimizer =
        std::make_unique<torch::optim::SGD>(param_groups, torch::optim::SGDOptions(run.train.lr)
                                                              .momentum(run.train.momentum)
                                                              .nesterov(run.train.nesterov));
  } else if (run.train.optimizer == "adamw") {
    out.optimizer = std::make_unique<torch::optim::AdamW>(param_groups,
                                                          torch::optim::AdamWOptions(run.train.lr));
  } else {
    out.optimizer =
        std::make_unique<torch::optim::Adam>(param_groups, torch::optim::AdamOptions(run.train.lr));
  }
  return out;
}

// Copies of every parameter and buffer, to restore the best epoch.
std::vector<torch::Tensor> snapshot(HybridModel& model) {
  std::vector<torch::Tensor> copies;
  for (const auto& p : model->parameters()) copies.push_back(p.detach().clone());
  for (const auto& b : model->buffers()) copies.push_back(b.detach().clone());
  return copies;
}

void restore(HybridModel& model, const std::vector<torch::Tensor>& copies) {
  torch::NoGradGuard no_gradient;
  std::size_t i = 0;
  for (auto& p : model->parameters()) p.copy_(copies[i++]);
  for (auto& b : model->buffers()) b.copy_(copies[i++]);
}

std::vector<float> probabilities_of(HybridModel& model, const torch::Tensor& samples,
                                    ModelInput input) {
  torch::NoGradGuard no_gradient;
  model->eval();
  std::vector<float> out;
  out.reserve(static_cast<std::size_t>(samples.size(0)));
  const int64_t batch = 256;
  for (int64_t start = 0; start < samples.size(0); start += batch) {
    torch::Tensor x = samples.slice(0, start, std::min(samples.size(0), start + batch));
    torch::Tensor p = torch::softmax(run_model(model, x, input), 1).contiguous();
    out.insert(out.end(), p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
  }
  return out;
}

void add_metrics(std::map<std::string, double>& metrics, const std::string& prefix,
                 const std::string& suffix, const ClassificationMetrics& m) {
  metrics[prefix + "_acc" + suffix] = m.accuracy;
  metrics[prefix + "_balanced_acc" + suffix] = m.balanced_accuracy;
  metrics[prefix + "_precision" + suffix] = m.precision;
  metrics[prefix + "_recall" + suffix] = m.recall;
  metrics[prefix + "_f1" + suffix] = m.f1;
  if (suffix.empty()) {
    metrics[prefix + "_auc"] = m.auc;
    metrics[prefix + "_loss"] = m.log_loss;
  }
}

// The monitored validation value, oriented so that larger is better; NaN never improves.
double monitored(const std::string& monitor, const ClassificationMetrics& m) {
  if (monitor == "val_loss") return -m.log_loss;
  if (monitor == "val_acc") return m.accuracy;
  if (monitor == "val_f1") return m.f1;
  return m.auc;
}

// Everything the epoch loop carries from one epoch to the next.
struct LoopState {
  int next_epoch = 0;
  bool stopped_early = false;
  std::vector<torch::Tensor> best_state;
  double best_value = -std::numeric_limits<double>::infinity();
  int since_best = 0, since_plateau_best = 0;
  double plateau_factor = 1.0;
  double plateau_best = -std::numeric_limits<double>::infinity();
  double train_seconds = 0;
  int64_t samples_seen = 0;
};

torch::Tensor text_tensor(const std::string& text) {
  return torch::from_blob(const_cast<char*>(text.data()), {static_cast<int64_t>(text.size())},
                          torch::kUInt8)
      .clone();
}

std::string tensor_text(const torch::Tensor& tensor) {
  const torch::Tensor bytes = tensor.contiguous();
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()),
                     static_cast<std::size_t>(bytes.numel()));
}

std::string checkpoint_temporary(const std::string& path) {
  return path + ".tmp";
}

// The checkpoint names its config; a file another config left is not resumed.
std::string checkpoint_identity(const json& config) {
  return config.dump();
}

void save_checkpoint(const std::string& path, const json& config, HybridModel& model,
                     torch::optim::Optimizer& optimizer, const LoopState& loop,
                     const TrainingResult& result, const std::mt19937_64& random) {
  torch::serialize::OutputArchive archive;
  archive.write("identity", text_tensor(checkpoint_identity(config)));
  const std::vector<torch::Tensor> weights = snapshot(model);
  for (std::size_t i = 0; i < weights.size(); ++i)
    archive.write("weights." + std::to_string(i), weights[i]);
  for (std::size_t i = 0; i < loop.best_state.size(); ++i)
    archive.write("best." + std::to_string(i), loop.best_state[i]);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  json scalars = {{"next_epoch", loop.next_epoch},
                  {"stopped_early", loop.stopped_early},
                  {"weights", weights.size()},
                  {"best", loop.best_state.size()},
                  {"best_value", loop.best_value},
                  {"since_best", loop.since_best},
                  {"since_plateau_best", loop.since_plateau_best},
                  {"plateau_factor", loop.plateau_factor},
                  {"plateau_best", loop.plateau_best},
                  {"train_seconds", loop.train_seconds},
                  {"samples_seen", loop.samples_seen},
                  {"epochs_run", result.epochs_run},
                  {"best_epoch", result.best_epoch},
                  {"curves", result.curves}};
  // JSON has no infinities: the "no best yet" sentinels are stored as null.
  for (const char* key : {"best_value", "plateau_best"})
    if (!std::isfinite(scalars[key].get<double>())) scalars[key] = nullptr;
  // Curves go through JSON as text: %.17g round-trips every double exactly.
  archive.write("loop", text_tensor(scalars.dump()));
  std::ostringstream generator;
  generator << random;
  archive.write("data_order_generator", text_tensor(generator.str()));
  {
    auto cpu = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(cpu.mutex());
    archive.write("torch_generator", cpu.get_state());
  }
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const std::string temporary = checkpoint_temporary(path);
  archive.save_to(temporary);
  std::filesystem::rename(temporary, path);
}

// Restores a checkpoint into the fresh model, optimiser and loop. Returns false, changing
// nothing, when there is none or it is not this config's (then `why` says so).
bool load_checkpoint(const std::string& path, const json& config, HybridModel& model,
                     torch::optim::Optimizer& optimizer, LoopState& loop, TrainingResult& result,
                     std::mt19937_64& random, std::string& why) {
  if (!std::filesystem::exists(path)) return false;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    torch::Tensor identity, loop_text;
    archive.read("identity", identity);
    if (tensor_text(identity) != checkpoint_identity(config)) {
      why = "it belongs to another config";
      return false;
    }
    archive.read("loop", loop_text);
    const json scalars = json::parse(tensor_text(loop_text));
    std::vector<torch::Tensor> weights(scalars.at("weights").get<std::size_t>());
    if (weights.size() != snapshot(model).size()) {
      why = "its model has a different number of tensors";
      return false;
    }
    for (std::size_t i = 0; i < weights.size(); ++i)
      archive.read("weights." + std::to_string(i), weights[i]);
    std::vector<torch::Tensor> best(scalars.at("best").get<std::size_t>());
    for (std::size_t i = 0; i < best.size(); ++i)
      archive.read("best." + std::to_string(i), best[i]);
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    torch::Tensor generator_text, torch_generator;
    archive.read("data_order_generator", generator_text);
    archive.read("torch_generator", torch_generator);

    // Everything is read: now change the model, optimiser, loop and generators.
    restore(model, weights);
    optimizer.load(optimizer_archive);
    auto number_or_lowest = [&](const char* key) {
      return scalars.at(key).is_null() ? -std::numeric_limits<double>::infinity()
                                       : scalars.at(key).get<double>();
    };
    loop.best_state = std::move(best);
    loop.next_epoch = scalars.at("next_epoch");
    loop.stopped_early = scalars.at("stopped_early");
    loop.best_value = number_or_lowest("best_value");
    loop.since_best = scalars.at("since_best");
    loop.since_plateau_best = scalars.at("since_plateau_best");
    loop.plateau_factor = scalars.at("plateau_factor");
    loop.plateau_best = number_or_lowest("plateau_best");
    loop.train_seconds = scalars.at("train_seconds");
    loop.samples_seen = scalars.at("samples_seen");
    result.epochs_run = scalars.at("epochs_run");
    result.best_epoch = scalars.at("best_epoch");
    result.curves = scalars.at("curves").get<std::map<std::string, std::vector<double>>>();
    std::istringstream generator(tensor_text(generator_text));
    generator >> random;
    auto cpu = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu.set_state(torch_generator);
  } catch (const c10::Error& error) {
    why = std::string("it is unreadable (") + error.what_without_backtrace() + ")";
    return false;
  } catch (const json::exception& error) {
    why = std::string("it is unreadable (") + error.what() + ")";
    return false;
  }
  return true;
}

}  // namespace

InputShape input_shape(const Dataset& data) {
  InputShape shape;
  shape.classes = data.classes();
  if (data.tabular()) {
    shape.features = data.sample_shape[0];
  } else {
    shape.channels = data.sample_shape[0];
    shape.image_size = data.sample_shape[1];
  }
  return shape;
}

std::string checkpoint_path(const std::string& cache_directory, const std::string& name) {
  return (std::filesystem::path(cache_directory) / "checkpoints" / (name + ".pt")).string();
}

void remove_checkpoint(const std::string& path) {
  std::filesystem::remove(path);
  std::filesystem::remove(checkpoint_temporary(path));
}

namespace {

// Loss weights inversely proportional to class frequency in the training split.
torch::Tensor balanced_class_weights(const Dataset& data) {
  const int64_t classes = data.classes();
  std::vector<double> counts(static_cast<std::size_t>(classes));
  for (int64_t label : data.train.labels) counts[static_cast<std::size_t>(label)] += 1;
  std::vector<float> weights;
  for (double count : counts) {
    weights.push_back(count > 0 ? static_cast<float>(data.train.rows() / (classes * count)) : 0.0f);
  }
  return torch::tensor(weights);
}

// What one epoch of training saw.
struct EpochTraining {
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  std::string diverged;  // why, when the loss stopped being finite
  bool stopped = false;  // the stopping rule said stop between two batches
};

// One run's training: epochs with their schedule, validation, best-epoch tracking, early stopping
// and checkpoints, then the evaluation of the best epoch's weights.
class TrainingLoop {
 public:
  TrainingLoop(HybridModel& model, const RunConfig& run, const Dataset& data, ModelInput input,
               const std::function<void(const std::string&)>& log,
               const CheckpointOptions& checkpoint, const EpochHooks& hooks)
      : model_(model),
        run_(run),
        data_(data),
        input_(input),
        log_(log),
        checkpoint_(checkpoint),
        hooks_(hooks),
        train_x_(samples_of(data.train, data.sample_shape)),
        train_y_(labels_of(data.train)),
        val_x_(samples_of(data.val, data.sample_shape)),
        augment_images_(run.dataset.augment && input == ModelInput::samples &&
                        data.sample_shape.size() == 3),
        optimizer_(make_optimizer(model, run)),
        random_(run.seed ^ 0x9e3779b97f4a7c15ULL) {  // data order and augmentation
    if (run.train.class_weighting == "balanced") class_weights_ = balanced_class_weights(data);
  }

  TrainingResult run() {
    resume_from_checkpoint();
    report_restored_epochs();
    last_checkpoint_ = std::chrono::steady_clock::now();
    for (int epoch = loop_.next_epoch; epoch < run_.train.epochs && !loop_.stopped_early; ++epoch) {
      const auto started = std::chrono::steady_clock::now();
      const double factor = set_learning_rate(epoch);
      const EpochTraining trained = train_epoch(epoch);
      if (trained.stopped) {
        prune(epoch);
        break;
      }
      if (!trained.diverged.empty()) {
        result_.status = RunStatus::diverged;
        result_.error = trained.diverged;
        result_.metrics["diverged_epoch"] = epoch + 1;
        if (log_) log_(trained.diverged);
        break;
      }
      const double seconds = seconds_since(started);
      loop_.train_seconds += seconds;
      loop_.samples_seen += trained.seen;
      const double monitored_value = validate_epoch(epoch, trained, factor, seconds);
      track_best_and_plateau(epoch, monitored_value);
      loop_.next_epoch = epoch + 1;
      if (hooks_.on_epoch) hooks_.on_epoch(epoch + 1, epoch_values(result_.curves, epoch));
      if (epoch + 1 < run_.train.epochs && stop_requested()) {
        prune(epoch + 1);
        break;
      }
      checkpoint_if_due(epoch);
    }
    return finish();
  }

 private:
  void resume_from_checkpoint() {
    if (checkpoint_.path.empty()) return;
    std::string why;
    if (load_checkpoint(checkpoint_.path, run_.canonical, model_, *optimizer_.optimizer, loop_,
                        result_, random_, why)) {
      if (log_)
        log_(fmt::format("resumed after epoch {} from {}", loop_.next_epoch, checkpoint_.path));
    } else if (!why.empty() && log_) {
      log_("not resuming from " + checkpoint_.path + ": " + why + "; starting over");
    }
  }

  // A run continued from its checkpoint reports the epochs it restored, so that the stopping rule
  // of a resumed study hears them again (it ignores what it has heard).
  void report_restored_epochs() {
    if (!hooks_.on_epoch) return;
    for (int epoch = 0; epoch < loop_.next_epoch; ++epoch)
      hooks_.on_epoch(epoch + 1, epoch_values(result_.curves, static_cast<std::size_t>(epoch)));
  }

  // Only once an epoch is done: the best epoch so far is what a pruned run keeps.
  bool stop_requested() const {
    return loop_.next_epoch > 0 && hooks_.should_stop && hooks_.should_stop();
  }

  void prune(int epoch) {
    result_.status = RunStatus::pruned;
    if (log_) log_(fmt::format("pruned by the study's stopping rule after epoch {}", epoch));
  }

  // Returns the epoch's factor on the base learning rates.
  double set_learning_rate(int epoch) {
    const double factor = schedule_factor(run_, epoch) * loop_.plateau_factor;
    auto& groups = optimizer_.optimizer->param_groups();
    for (std::size_t g = 0; g < groups.size(); ++g) {
      groups[g].options().set_lr(optimizer_.base_lr[g] * factor);
    }
    return factor;
  }

  EpochTraining train_epoch(int epoch) {
    model_->train();
    const int64_t batch_size = run_.train.batch_size;
    const std::vector<int64_t> order =
        epoch_order(data_.train.labels, run_.train.sampler == "balanced", random_);
    EpochTraining out;
    for (std::size_t start = 0; start < order.size(); start += batch_size) {
      if (stop_requested()) {
        out.stopped = true;
        return out;
      }
      const std::size_t end = std::min(order.size(), start + batch_size);
      // A last batch of one sample would break batch normalisation; it joins the next epoch.
      if (end - start == 1 && start > 0) break;
      torch::Tensor index =
          torch::tensor(std::vector<int64_t>(order.begin() + start, order.begin() + end));
      torch::Tensor x = train_x_.index_select(0, index);
      torch::Tensor y = train_y_.index_select(0, index);
      if (augment_images_) x = augment(x, random_);
      optimizer_.optimizer->zero_grad();
      torch::Tensor logits = run_model(model_, x, input_);
      torch::Tensor loss =
          class_weights_.defined()
              ? F::cross_entropy(logits, y, F::CrossEntropyFuncOptions().weight(class_weights_))
              : F::cross_entropy(logits, y);
      const double value = loss.item<double>();
      if (!std::isfinite(value)) {
        out.diverged = fmt::format("training loss became {} at epoch {} (batch {})", value,
                                   epoch + 1, start / batch_size + 1);
        return out;
      }
      loss.backward();
      if (run_.train.grad_clip > 0) {
        torch::nn::utils::clip_grad_norm_(model_->parameters(), run_.train.grad_clip);
      }
      optimizer_.optimizer->step();
      out.loss_sum += value * static_cast<double>(end - start);
      out.correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      out.seen += static_cast<int64_t>(end - start);
    }
    return out;
  }

  // The epoch's curves and log line; returns the monitored validation value.
  double validate_epoch(int epoch, const EpochTraining& trained, double factor, double seconds) {
    const std::vector<float> val_probabilities = probabilities_of(model_, val_x_, input_);
    const ClassificationMetrics val =
        classification_metrics(val_probabilities, data_.val.labels, data_.classes());
    result_.epochs_run = epoch + 1;
    auto& c = result_.curves;
    const double seen = static_cast<double>(std::max<int64_t>(1, trained.seen));
    c["train_loss"].push_back(trained.loss_sum / seen);
    c["train_acc"].push_back(static_cast<double>(trained.correct) / seen);
    c["val_loss"].push_back(val.log_loss);
    c["val_acc"].push_back(val.accuracy);
    c["val_auc"].push_back(val.auc);
    c["val_f1"].push_back(val.f1);
    c["lr"].push_back(run_.train.lr * factor);
    c["seconds"].push_back(seconds);
    if (auto t = model_->temperature()) c["temperature"].push_back(*t);
    if (log_) {
      log_(
          fmt::format("epoch {}/{}: train loss {:.4f} acc {:.4f} | val loss {:.4f} acc {:.4f} "
                      "auc {:.4f} | lr {:.3g} | {:.1f} s",
                      epoch + 1, run_.train.epochs, c["train_loss"].back(), c["train_acc"].back(),
                      val.log_loss, val.accuracy, val.auc, run_.train.lr * factor, seconds));
    }
    return monitored(run_.train.monitor, val);
  }

  void track_best_and_plateau(int epoch, double value) {
    if (loop_.best_state.empty() || value > loop_.best_value) {
      loop_.best_value = value;
      loop_.best_state = snapshot(model_);
      result_.best_epoch = epoch + 1;
      loop_.since_best = 0;
    } else {
      ++loop_.since_best;
    }
    if (run_.train.schedule == "plateau" && epoch >= run_.train.warmup_epochs) {
      if (value > loop_.plateau_best) {
        loop_.plateau_best = value;
        loop_.since_plateau_best = 0;
      } else if (++loop_.since_plateau_best >= run_.train.step_size) {
        loop_.plateau_factor *= run_.train.gamma;
        loop_.since_plateau_best = 0;
      }
    }
    loop_.stopped_early = run_.train.patience > 0 && loop_.since_best >= run_.train.patience;
  }

  void checkpoint_if_due(int epoch) {
    const auto now = std::chrono::steady_clock::now();
    if (checkpoint_.path.empty() || std::chrono::duration<double>(now - last_checkpoint_).count() <
                                        checkpoint_.interval_seconds) {
      return;
    }
    save_checkpoint(checkpoint_.path, run_.canonical, model_, *optimizer_.optimizer, loop_, result_,
                    random_);
    last_checkpoint_ = std::chrono::steady_clock::now();
    if (log_) {
      log_(fmt::format("checkpoint after epoch {}: {:.1f} MB in {:.2f} s", epoch + 1,
                       std::filesystem::file_size(checkpoint_.path) / 1e6,
                       std::chrono::duration<double>(last_checkpoint_ - now).count()));
    }
  }

  // The best epoch's weights on validation and test, with the tuned binary threshold.
  TrainingResult finish() {
    result_.metrics["epochs_run"] = result_.epochs_run;
    result_.metrics["best_epoch"] = result_.best_epoch;
    result_.metrics["train_seconds"] = loop_.train_seconds;
    if (loop_.train_seconds > 0) {
      result_.metrics["train_samples_per_second"] = loop_.samples_seen / loop_.train_seconds;
    }
    if (result_.status == RunStatus::diverged) return std::move(result_);
    const int64_t classes = data_.classes();
    restore(model_, loop_.best_state);
    const std::vector<float> val_probabilities = probabilities_of(model_, val_x_, input_);
    add_metrics(result_.metrics, "val", "",
                classification_metrics(val_probabilities, data_.val.labels, classes));
    result_.test_probabilities =
        probabilities_of(model_, samples_of(data_.test, data_.sample_shape), input_);
    result_.test_labels = data_.test.labels;
    const ClassificationMetrics test =
        classification_metrics(result_.test_probabilities, data_.test.labels, classes);
    add_metrics(result_.metrics, "test", "", test);
    result_.confusion = test.confusion;
    if (classes == 2) {
      const double threshold =
          tune_threshold(val_probabilities, data_.val.labels, threshold_rule(run_.train.threshold));
      result_.metrics["threshold"] = threshold;
      add_metrics(result_.metrics, "test", "_tuned",
                  classification_metrics(result_.test_probabilities, data_.test.labels, classes,
                                         threshold));
    }
    if (auto t = model_->temperature()) result_.metrics["temperature"] = *t;
    return std::move(result_);
  }

  HybridModel& model_;
  const RunConfig& run_;
  const Dataset& data_;
  ModelInput input_;
  const std::function<void(const std::string&)>& log_;
  const CheckpointOptions& checkpoint_;
  const EpochHooks& hooks_;
  const torch::Tensor train_x_, train_y_, val_x_;
  const bool augment_images_;
  torch::Tensor class_weights_;
  Optimizer optimizer_;
  std::mt19937_64 random_;
  TrainingResult result_;
  LoopState loop_;
  std::chrono::steady_clock::time_point last_checkpoint_;
};

}  // namespace

TrainingResult train_and_evaluate(HybridModel& model, const RunConfig& run, const Dataset& data,
                                  ModelInput input,
                                  const std::function<void(const std::string&)>& log,
                                  const CheckpointOptions& checkpoint, const EpochHooks& hooks) {
  return TrainingLoop(model, run, data, input, log, checkpoint, hooks).run();
}

std::map<std::string, double> epoch_values(const std::map<std::string, std::vector<double>>& curves,
                                           std::size_t epoch_index) {
  std::map<std::string, double> values;
  for (const auto& [name, curve] : curves) {
    if (name.rfind("val_", 0) == 0 && epoch_index < curve.size()) values[name] = curve[epoch_index];
  }
  return values;
}

}  // namespace hqsweep
