// Training, SHF extraction and whole runs: determinism, learning, early stopping with restore,
// schedules, the quantum learning rate, divergence, checkpoint resume, feature-cache reuse and the
// probe task.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>

#include "common/config_schema.h"
#include "common/derived_configs.h"
#include "models/model_factory.h"
#include "tests/error_text.h"
#include "tests/worker/worker_test_data.h"
#include "worker/dataset.h"
#include "worker/feature_extraction.h"
#include "worker/run.h"
#include "worker/training.h"

namespace hqsweep {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::error_of;

class TrainingTest : public testing::TempDirectoryTest {
 protected:
  void SetUp() override {
    TempDirectoryTest::SetUp();
    testing::write_blobs_csv(dir_ + "/blobs.csv", 2, 60, 4, 1.5);
  }
  json config(json patch = json::object()) {
    json c = {{"dataset", {{"name", "csv"}, {"path", "blobs.csv"}}},
              {"model", {{"backbone", "mlp"}, {"hidden", {16}}}},
              {"train", {{"epochs", 8}, {"lr", 0.01}}},
              {"seed", 3}};
    c.merge_patch(patch);
    return canonical_config(c);
  }
  WorkerOptions worker() {
    WorkerOptions options;
    options.data_directory = dir_;
    options.cache_directory = dir_ + "/cache";
    return options;
  }
};

TEST_F(TrainingTest, SameConfigAndSeedGiveIdenticalResults) {
  const json c = config({{"model", {{"fusion", "dhf"}}}, {"quantum", {{"qubits", 3}}}});
  RunResult a = execute_run(c, worker());
  RunResult b = execute_run(c, worker());
  EXPECT_EQ(a.status, RunStatus::done);
  for (const char* name : {"val_loss", "test_acc", "test_auc", "test_loss"}) {
    EXPECT_EQ(a.metrics.at(name), b.metrics.at(name)) << name;
  }
  EXPECT_EQ(a.curves.at("train_loss"), b.curves.at("train_loss"));
  EXPECT_EQ(a.test_probabilities, b.test_probabilities);
  RunResult other = execute_run(
      config({{"model", {{"fusion", "dhf"}}}, {"quantum", {{"qubits", 3}}}, {"seed", 4}}),
      worker());
  EXPECT_NE(other.curves.at("train_loss"), a.curves.at("train_loss"));
}

TEST_F(TrainingTest, LearnsSeparableDataAndReportsEveryMetric) {
  RunResult result = execute_run(config(), worker());
  ASSERT_EQ(result.status, RunStatus::done) << result.error;
  EXPECT_GT(result.metrics.at("test_acc"), 0.75);  // chance is 0.5, Bayes 0.93
  EXPECT_GT(result.metrics.at("test_auc"), 0.9);
  for (const char* name :
       {"val_acc", "val_balanced_acc", "val_precision", "val_recall", "val_f1", "val_auc",
        "val_loss", "test_balanced_acc", "test_f1", "threshold", "test_acc_tuned", "test_f1_tuned",
        "best_epoch", "epochs_run", "train_seconds"}) {
    EXPECT_TRUE(result.metrics.count(name)) << name;
  }
  EXPECT_EQ(result.test_labels.size() * 2, result.test_probabilities.size());
  EXPECT_EQ(result.confusion_matrix.size(), 4u);
  int64_t confused = 0;
  for (int64_t n : result.confusion_matrix) confused += n;
  EXPECT_EQ(confused, static_cast<int64_t>(result.test_labels.size()));
  for (const char* curve :
       {"train_loss", "train_acc", "val_loss", "val_acc", "val_auc", "lr", "seconds"}) {
    EXPECT_EQ(result.curves.at(curve).size(), 8u) << curve;
  }
}

TEST_F(TrainingTest, PureQuantumRunsHaveNoBackboneAndStillLearn) {
  // fusion quantum drops model.backbone from the canonical config; the run must not look for it.
  const json c = config({{"model", {{"fusion", "quantum"}}},
                         {"quantum", {{"qubits", 4}}},
                         {"train", {{"epochs", 15}, {"lr", 0.05}}}});
  ASSERT_FALSE(c.at("model").contains("backbone"));
  RunResult result = execute_run(c, worker());
  ASSERT_EQ(result.status, RunStatus::done) << result.error;
  EXPECT_GT(result.metrics.at("test_auc"), 0.8);
}

TEST_F(TrainingTest, EarlyStoppingRestoresTheBestEpoch) {
  RunResult result = execute_run(
      config({{"train", {{"epochs", 60}, {"patience", 3}, {"monitor", "val_loss"}}}}), worker());
  const int best = static_cast<int>(result.metrics.at("best_epoch"));
  const int run = static_cast<int>(result.metrics.at("epochs_run"));
  EXPECT_LT(run, 60);
  EXPECT_EQ(run, best + 3);
  const auto& val_loss = result.curves.at("val_loss");
  EXPECT_EQ(*std::min_element(val_loss.begin(), val_loss.end()), val_loss[best - 1]);
  // The reported validation loss is the restored epoch's, not the last one's.
  EXPECT_NEAR(result.metrics.at("val_loss"), val_loss[best - 1], 1e-6);
}

TEST_F(TrainingTest, ScheduleCurvesFollowWarmupCosineStepAndMultistep) {
  auto lr_curve = [&](json train) {
    train["epochs"] = 4;
    train["lr"] = 0.1;
    return execute_run(config({{"train", train}}), worker()).curves.at("lr");
  };
  const std::vector<double> cosine = lr_curve({{"schedule", "cosine"}, {"warmup_epochs", 1}});
  EXPECT_NEAR(cosine[0], 0.05, 1e-12);  // warm-up: (epoch + 1) / (warmup + 1)
  EXPECT_NEAR(cosine[1], 0.1, 1e-12);
  EXPECT_NEAR(cosine[2], 0.1 * 0.5 * (1 + std::cos(M_PI / 3)), 1e-12);
  const std::vector<double> step =
      lr_curve({{"schedule", "step"}, {"step_size", 2}, {"gamma", 0.5}});
  EXPECT_EQ(step, (std::vector<double>{0.1, 0.1, 0.05, 0.05}));
  // MedMNIST's recipe in small: MultiStepLR(milestones=[1, 3], gamma=0.1) stepped every epoch.
  const std::vector<double> multistep =
      lr_curve({{"schedule", "multistep"}, {"milestones", {1, 3}}, {"gamma", 0.1}});
  ASSERT_EQ(multistep.size(), 4u);
  EXPECT_NEAR(multistep[0], 0.1, 1e-12);
  EXPECT_NEAR(multistep[1], 0.01, 1e-12);
  EXPECT_NEAR(multistep[2], 0.01, 1e-12);
  EXPECT_NEAR(multistep[3], 0.001, 1e-12);
}

TEST_F(TrainingTest, QuantumLearningRateDrivesOnlyTheCircuitParameters) {
  const json base = config({{"model", {{"fusion", "sequential"}}}, {"quantum", {{"qubits", 3}}}});
  Dataset data = load_dataset(make_run_config(base), dir_);
  InputShape input{0, 0, 4, 2};
  auto circuit_change = [&](double quantum_lr) {
    json c = base;
    c["quantum"]["lr"] = quantum_lr;
    c["train"]["epochs"] = 2;
    torch::manual_seed(1);
    BuiltModel built = build_model(make_run_config(c), input);
    torch::Tensor before = built.model->circuit_parameters()[0].clone();
    train_and_evaluate(built.model, make_run_config(c), data, ModelInput::samples);
    return (built.model->circuit_parameters()[0] - before).abs().max().item<double>();
  };
  EXPECT_LT(circuit_change(1e-9), 1e-6);
  EXPECT_GT(circuit_change(0.05), 1e-3);
}

TEST_F(TrainingTest, NonFiniteLossEndsTheRunAsDivergedWithTheEpoch) {
  testing::write_blobs_csv(dir_ + "/huge.csv", 2, 30, 4, 1.5, 7, 1e38);
  RunResult result =
      execute_run(config({{"dataset", {{"path", "huge.csv"}, {"normalize", false}}}}), worker());
  EXPECT_EQ(result.status, RunStatus::diverged);
  EXPECT_EQ(result.metrics.at("diverged_epoch"), 1);
  EXPECT_NE(result.error.find("training loss became"), std::string::npos) << result.error;
}

TEST_F(TrainingTest, TshfLogsItsTemperatureEveryEpoch) {
  RunResult result = execute_run(
      config({{"model", {{"fusion", "tshf"}}}, {"quantum", {{"qubits", 2}}}}), worker());
  ASSERT_EQ(result.curves.at("temperature").size(), 8u);
  EXPECT_NE(result.curves.at("temperature").back(), 1.0);  // it learned
  EXPECT_TRUE(result.metrics.count("temperature"));
}

TEST_F(TrainingTest, BalancedWeightingAndSamplingRaiseMinorityRecall) {
  // 300 rows of class 0 and 30 of class 1 (the positive class), overlapping.
  {
    std::mt19937 random(5);
    std::normal_distribution<double> noise(0, 1);
    std::ofstream out(dir_ + "/skewed.csv");
    out << "330,2,common,rare\n";
    for (int i = 0; i < 330; ++i) {
      const int label = i % 11 == 10 ? 1 : 0;
      out << 1.2 * label + noise(random) << "," << 1.2 * label + noise(random) << "," << label
          << "\n";
    }
  }
  auto recall = [&](json train) {
    train["epochs"] = 10;
    return execute_run(config({{"dataset", {{"path", "skewed.csv"}}}, {"train", train}}), worker())
        .metrics.at("test_recall");
  };
  const double plain = recall(json::object());
  EXPECT_GT(recall({{"class_weighting", "balanced"}}), plain + 0.2);
  EXPECT_GT(recall({{"sampler", "balanced"}}), plain + 0.2);
}

TEST_F(TrainingTest, ShfHeadsShareOneExtractionKeyedByWhatDeterminesIt) {
  const json shf = config({{"model", {{"fusion", "shf"}}},
                           {"quantum", {{"qubits", 3}, {"trainable", false}}},
                           {"extract", {{"epochs", 2}}}});
  json other_head = shf;
  other_head["train"]["lr"] = 0.05;
  other_head["model"]["head_hidden"] = 8;
  json other_circuit = shf;
  other_circuit["quantum"]["qubits"] = 4;
  json other_seed = shf;
  other_seed["seed"] = 9;
  EXPECT_EQ(feature_cache_key(shf), feature_cache_key(other_head));
  EXPECT_NE(feature_cache_key(shf), feature_cache_key(other_circuit));
  EXPECT_NE(feature_cache_key(shf), feature_cache_key(other_seed));

  Dataset data = load_dataset(make_run_config(shf), dir_);
  FeatureCache cache(dir_ + "/cache");
  ExtractionOutcome first = cached_features(make_run_config(shf), data, cache, 1);
  ExtractionOutcome second = cached_features(make_run_config(other_head), data, cache, 1);
  EXPECT_FALSE(first.reused);
  EXPECT_TRUE(second.reused);
  EXPECT_EQ(first.features.test.quantum, second.features.test.quantum);
  EXPECT_EQ(first.features.train.rows, data.train.rows());
  EXPECT_EQ(first.features.train.classical_width, 16);  // the mlp's last hidden layer
  EXPECT_EQ(first.features.train.quantum_width, 3);
  EXPECT_EQ(cache.list().size(), 1u);

  RunResult run = execute_run(other_head, worker());
  EXPECT_EQ(run.status, RunStatus::done);
  EXPECT_EQ(run.cache_key, feature_cache_key(shf));
  EXPECT_GT(run.metrics.at("test_acc"), 0.8);
}

TEST_F(TrainingTest, ShfExtractionTrainedLikeTheRunIsThatRecipesClassicalControl) {
  const json recipe = {{"epochs", 4},
                       {"lr", 0.02},
                       {"schedule", "multistep"},
                       {"milestones", {2}},
                       {"batch_size", 16}};
  const json shf = config({{"model", {{"fusion", "shf"}}},
                           {"quantum", {{"qubits", 3}, {"trainable", false}}},
                           {"extract", {{"training", "run"}}},
                           {"train", recipe}});
  const json control = config({{"train", recipe}});
  EXPECT_EQ(run_id(shf_classical_config(shf)), run_id(control));
  json other_recipe = shf;
  other_recipe["train"]["lr"] = 0.05;
  json other_head = shf;
  other_head["model"]["head_hidden"] = 8;
  EXPECT_NE(feature_cache_key(shf), feature_cache_key(other_recipe));
  EXPECT_EQ(feature_cache_key(shf), feature_cache_key(other_head));

  // The extraction's classical model is the control: the same metrics, to the last bit.
  Dataset data = load_dataset(make_run_config(shf), dir_);
  FeatureCache cache(dir_ + "/cache");
  ExtractionOutcome extracted = cached_features(make_run_config(shf), data, cache, 1);
  RunResult trained = execute_run(control, worker());
  ASSERT_EQ(trained.status, RunStatus::done) << trained.error;
  const json& metrics = extracted.features.config.at("extraction_metrics");
  for (const char* name : {"val_auc", "test_acc", "test_auc", "best_epoch"}) {
    EXPECT_EQ(metrics.at(name).get<double>(), trained.metrics.at(name)) << name;
  }

  // Another circuit over the same backbone: a new cache, the classical model not trained again.
  json other_circuit = shf;
  other_circuit["quantum"]["qubits"] = 4;
  std::vector<std::string> lines;
  ExtractionOutcome second =
      cached_features(make_run_config(other_circuit), data, cache, 1,
                      [&](const std::string& line) { lines.push_back(line); });
  EXPECT_FALSE(second.reused);
  EXPECT_EQ(second.features.test.classical, extracted.features.test.classical);
  EXPECT_EQ(second.features.test.quantum_width, 4);
  EXPECT_EQ(second.features.config.at("extraction_metrics"), metrics);
  EXPECT_TRUE(std::none_of(lines.begin(), lines.end(), [](const std::string& line) {
    return line.rfind("epoch ", 0) == 0;
  })) << "the classical model was trained again";
  EXPECT_EQ(cache.list().size(), 2u);

  // A damaged record of the kept model is refused, naming it, rather than trained around.
  const std::string kept = cache.trained_model_path(run_id(control));
  const std::string metrics_file = fs::path(kept).replace_extension(".json").string();
  std::ofstream(metrics_file) << "{\"val_auc\": ";
  json third_circuit = shf;
  third_circuit["quantum"]["qubits"] = 2;
  EXPECT_NE(error_of([&] {
              cached_features(make_run_config(third_circuit), data, cache, 1);
            }).find(metrics_file + ": expected the metrics"),
            std::string::npos);
}

// What a crash leaves: the exception stands for the process dying after `epochs` epochs.
struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};

// Options whose log throws Interrupted when the epoch after `epochs` ends, checkpointing every
// epoch; the counter lives in the returned options' closure.
WorkerOptions crashing_after(WorkerOptions options, int epochs) {
  options.checkpoint_interval = 0;
  auto seen = std::make_shared<int>(0);
  options.log = [seen, epochs](const std::string& line) {
    if (line.rfind("epoch ", 0) == 0 && ++*seen == epochs + 1) throw Interrupted();
  };
  return options;
}

bool logged(const std::vector<std::string>& lines, const std::string& text) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& line) { return line.find(text) != std::string::npos; });
}

void expect_same_training(const RunResult& resumed, const RunResult& whole) {
  for (const auto& [name, value] : whole.metrics) {
    if (name == "train_seconds" || name == "train_samples_per_second") continue;
    EXPECT_EQ(resumed.metrics.at(name), value) << name;
  }
  for (const auto& [name, values] : whole.curves) {
    if (name != "seconds") {
      EXPECT_EQ(resumed.curves.at(name), values) << name;
    }
  }
  EXPECT_EQ(resumed.test_probabilities, whole.test_probabilities);
}

TEST_F(TrainingTest, CheckpointResumeGivesTheUninterruptedResult) {
  // Dropout, a balanced sampler, a plateau schedule and early stopping: every random generator
  // and every piece of loop state must come back.
  const json c = config({{"model", {{"fusion", "dhf"}, {"dropout", 0.3}}},
                         {"quantum", {{"qubits", 3}}},
                         {"train",
                          {{"epochs", 12},
                           {"sampler", "balanced"},
                           {"schedule", "plateau"},
                           {"step_size", 2},
                           {"patience", 6}}}});
  WorkerOptions plain = worker();
  plain.checkpoint_interval = -1;
  const RunResult whole = execute_run(c, plain);
  ASSERT_EQ(whole.status, RunStatus::done) << whole.error;

  const WorkerOptions crashing = crashing_after(worker(), 4);
  EXPECT_THROW(execute_run(c, crashing), Interrupted);
  const std::string checkpoint = checkpoint_path(crashing.cache_directory, run_id(c));
  ASSERT_TRUE(fs::exists(checkpoint)) << "epochs 1-4 were checkpointed";

  // What a kill during a save leaves; no save happens in the rest of this run (long interval).
  std::ofstream(checkpoint + ".tmp") << "half a checkpoint";
  WorkerOptions resuming = worker();
  resuming.checkpoint_interval = 1e9;
  std::vector<std::string> lines;
  resuming.log = [&](const std::string& line) { lines.push_back(line); };
  const RunResult resumed = execute_run(c, resuming);
  ASSERT_EQ(resumed.status, RunStatus::done) << resumed.error;
  EXPECT_TRUE(logged(lines, "resumed after epoch 4"));
  int epochs_trained = 0;
  for (const std::string& line : lines) epochs_trained += line.rfind("epoch ", 0) == 0;
  EXPECT_EQ(epochs_trained, static_cast<int>(whole.metrics.at("epochs_run")) - 4);
  expect_same_training(resumed, whole);
  EXPECT_FALSE(fs::exists(checkpoint)) << "removed once the run is over";
  EXPECT_FALSE(fs::exists(checkpoint + ".tmp")) << "and what a killed save left";
}

TEST_F(TrainingTest, CheckpointOfAnotherConfigIsNotResumed) {
  const json a = config(), b = config({{"train", {{"lr", 0.02}}}});
  const WorkerOptions crashing = crashing_after(worker(), 2);
  EXPECT_THROW(execute_run(a, crashing), Interrupted);
  const std::string path_b = checkpoint_path(crashing.cache_directory, run_id(b));
  fs::copy_file(checkpoint_path(crashing.cache_directory, run_id(a)), path_b);

  WorkerOptions options = worker();
  options.checkpoint_interval = 0;
  std::vector<std::string> lines;
  options.log = [&](const std::string& line) { lines.push_back(line); };
  const RunResult result = execute_run(b, options);
  EXPECT_TRUE(logged(lines, "it belongs to another config; starting over"));
  WorkerOptions plain = worker();
  plain.checkpoint_interval = -1;
  expect_same_training(result, execute_run(b, plain));

  std::ofstream(path_b) << "not a checkpoint";
  lines.clear();
  expect_same_training(execute_run(b, options), result);
  EXPECT_TRUE(logged(lines, "it is unreadable"));
}

TEST_F(TrainingTest, ProbeTasksEndAsConfigured) {
  auto probe = [](const char* failure) {
    return canonical_config(json{{"model", {{"backbone", "probe"}}},
                                 {"probe", {{"failure", failure}, {"duration_ms", 1}}}});
  };
  RunResult done = execute_run(probe("none"), WorkerOptions{});
  EXPECT_EQ(done.status, RunStatus::done);
  EXPECT_TRUE(done.metrics.count("probe_value"));
  EXPECT_EQ(execute_run(probe("diverge"), WorkerOptions{}).status, RunStatus::diverged);
  EXPECT_NE(error_of([&] {
              execute_run(probe("error"), WorkerOptions{});
            }).find("probe: failed as configured"),
            std::string::npos);
}

TEST(RealTrainingTest, HqcnnLearnsBreastMnistAboveTheMajorityClass) {
  const std::string shared = std::string(HQSWEEP_SOURCE_DIR) + "/../shared/data";
  if (!fs::exists(shared + "/breastmnist.npz")) {
    GTEST_SKIP() << shared << "/breastmnist.npz is absent (see ../shared/data/README.md)";
  }
  WorkerOptions options;
  options.data_directory = shared;
  RunResult result = execute_run(json{{"dataset", {{"name", "breastmnist"}}},
                                      {"model", {{"backbone", "hqcnn"}, {"fusion", "classical"}}},
                                      {"train", {{"epochs", 6}}},
                                      {"seed", 0}},
                                 options);
  ASSERT_EQ(result.status, RunStatus::done) << result.error;
  EXPECT_GT(result.metrics.at("test_auc"), 0.75);  // the majority class alone gives 0.5
}

}  // namespace
}  // namespace hqsweep
