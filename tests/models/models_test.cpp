// Backbones, fusion heads and the model factory: shapes, parameter counts against torchvision,
// where gradients go, serialisation, seeded fixed circuits, and the factory's refusals.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "common/error.h"
#include "models/model_factory.h"
#include "tests/error_text.h"

namespace hqsweep {
namespace {

const std::vector<std::string> kImageBackbones = {
    "hqcnn",           "cnn5", "resnet18", "resnet50", "efficientnet_b0", "efficientnet_b5",
    "efficientnetv2_s"};
const std::vector<std::string> kFusions = {"classical", "quantum", "sequential", "parallel",
                                           "shf",       "dhf",     "tshf",       "cross_attention"};

nlohmann::json config_for(const std::string& backbone, const std::string& fusion,
                          double width = 0.125) {
  nlohmann::json config = {{"dataset", {{"name", backbone == "mlp" ? "wdbc" : "breastmnist"}}},
                           {"model", {{"fusion", fusion}}},
                           {"seed", 3}};
  if (fusion != "quantum") config["model"]["backbone"] = backbone;
  if (backbone != "mlp" && backbone != "hqcnn" && fusion != "quantum")
    config["model"]["width"] = width;
  return config;
}

using testing::error_of;

TEST(BackboneTest, ParameterCountsMatchTorchvision) {
  // torchvision's published totals minus its 1000-class classifier (fc / classifier[1]).
  struct Case {
    const char* name;
    int64_t parameters;
  } cases[] = {{"resnet18", 11689512 - 513000},
               {"resnet50", 25557032 - 2049000},
               {"efficientnet_b0", 5288548 - 1281000},
               {"efficientnet_b5", 30389784 - 2049000},
               {"efficientnetv2_s", 21458488 - 1281000}};
  for (const Case& c : cases) {
    BackboneOptions options;
    options.name = c.name;
    options.channels = 3;
    options.image_size = 224;
    options.small_input = false;
    auto backbone = make_backbone(options);
    int64_t total = 0;
    for (const auto& p : backbone->parameters()) total += p.numel();
    EXPECT_EQ(total, c.parameters) << c.name;
  }
}

TEST(BackboneTest, WidthMultiplierShrinksChannels) {
  BackboneOptions options;
  options.name = "resnet18";
  options.width = 0.25;
  EXPECT_EQ(make_backbone(options)->feature_size(), 128);
  options.name = "efficientnet_b0";
  EXPECT_EQ(make_backbone(options)->feature_size(), 4 * 80);  // 320/4 rounded to 8, times 4
}

TEST(HybridModelTest, EveryBackboneAndFusionGivesLogitsForEveryInput) {
  torch::manual_seed(0);
  struct Input {
    InputShape shape;
    std::vector<int64_t> batch;
  };
  const std::vector<Input> images = {{{1, 28, 0, 2}, {2, 1, 28, 28}},
                                     {{3, 64, 0, 3}, {2, 3, 64, 64}}};
  for (const std::string& fusion : kFusions) {
    for (const std::string& backbone : kImageBackbones) {
      for (const Input& input : images) {
        SCOPED_TRACE(backbone + " " + fusion + " " + std::to_string(input.shape.image_size));
        BuiltModel built = build_model(make_run_config(config_for(backbone, fusion)), input.shape);
        built.model->eval();
        torch::Tensor logits = built.model->forward(torch::randn(input.batch));
        EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, input.shape.classes}));
        EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
        if (fusion == "quantum") break;  // no backbone: one per input is enough
      }
    }
    SCOPED_TRACE("mlp " + fusion);
    BuiltModel built =
        build_model(make_run_config(config_for("mlp", fusion)), InputShape{0, 0, 30, 2});
    EXPECT_EQ(built.model->forward(torch::randn({5, 30})).sizes(), (std::vector<int64_t>{5, 2}));
  }
}

// Runs one backward pass in evaluation mode (no dropout or stochastic depth, so no randomness)
// and returns the names of trainable parameters that got no gradient, and of frozen ones that did.
std::pair<std::vector<std::string>, std::vector<std::string>> gradient_flow(
    HybridModel& model, const torch::Tensor& input) {
  model->eval();
  model->zero_grad();
  model->forward(input).pow(2).sum().backward();
  std::vector<std::string> missing, leaked;
  for (const auto& item : model->named_parameters()) {
    const torch::Tensor& grad = item.value().grad();
    bool has_gradient = grad.defined() && grad.abs().sum().item<double>() > 0;
    if (item.value().requires_grad() && !has_gradient) missing.push_back(item.key());
    if (!item.value().requires_grad() && grad.defined()) leaked.push_back(item.key());
  }
  return {missing, leaked};
}

TEST(HybridModelTest, GradientsReachEveryTrainableParameterAndNoFrozenOne) {
  torch::manual_seed(1);
  for (const std::string& fusion : kFusions) {
    for (const char* backbone : {"hqcnn", "resnet18", "efficientnetv2_s"}) {
      SCOPED_TRACE(backbone + std::string(" ") + fusion);
      BuiltModel built =
          build_model(make_run_config(config_for(backbone, fusion)), InputShape{1, 28, 0, 2});
      auto [missing, leaked] = gradient_flow(built.model, torch::randn({4, 1, 28, 28}));
      EXPECT_TRUE(missing.empty()) << "no gradient: " << missing.front();
      EXPECT_TRUE(leaked.empty()) << "frozen but got a gradient: " << leaked.front();
    }
  }
}

TEST(HybridModelTest, FrozenBackboneAndFixedCircuitGetNoGradient) {
  nlohmann::json config = config_for("cnn5", "dhf");
  config["model"]["freeze"] = true;
  config["quantum"]["trainable"] = false;
  BuiltModel built = build_model(make_run_config(config), InputShape{1, 28, 0, 2});
  for (const auto& p : built.model->named_parameters()) {
    bool frozen_part = p.key().rfind("backbone.", 0) == 0;
    EXPECT_EQ(p.value().requires_grad(), !frozen_part) << p.key();
  }
  EXPECT_TRUE(built.model->circuit_parameters().empty());
  EXPECT_EQ(built.summary.classical_parameters, 0);
  EXPECT_GT(built.summary.frozen_parameters, 0);
  auto [missing, leaked] = gradient_flow(built.model, torch::randn({4, 1, 28, 28}));
  EXPECT_TRUE(missing.empty());
  EXPECT_TRUE(leaked.empty());
  built.model->train();
  EXPECT_FALSE(built.model->named_children()["backbone"]->is_training())
      << "a frozen backbone keeps its batch-norm statistics";
}

TEST(HybridModelTest, TemperatureOfTshfStartsAtOneAndGetsAGradient) {
  BuiltModel built =
      build_model(make_run_config(config_for("hqcnn", "tshf")), InputShape{1, 28, 0, 2});
  ASSERT_TRUE(built.model->temperature().has_value());
  EXPECT_DOUBLE_EQ(*built.model->temperature(), 1.0);
  built.model->forward(torch::randn({3, 1, 28, 28})).sum().backward();
  torch::Tensor grad = built.model->named_parameters()["log_temperature"].grad();
  ASSERT_TRUE(grad.defined());
  EXPECT_NE(grad.item<double>(), 0.0);
  EXPECT_FALSE(build_model(make_run_config(config_for("hqcnn", "dhf")), InputShape{1, 28, 0, 2})
                   .model->temperature()
                   .has_value());
}

TEST(HybridModelTest, SaveAndLoadGiveIdenticalOutputs) {
  const std::string path = (std::filesystem::temp_directory_path() / "hqsweep_model.pt").string();
  torch::manual_seed(2);
  BuiltModel first = build_model(make_run_config(config_for("resnet18", "cross_attention")),
                                 InputShape{3, 32, 0, 4});
  save_model(first.model, path);
  torch::manual_seed(99);  // a differently initialised model of the same shape
  BuiltModel second = build_model(make_run_config(config_for("resnet18", "cross_attention")),
                                  InputShape{3, 32, 0, 4});
  torch::Tensor input = torch::randn({2, 3, 32, 32});
  first.model->eval();
  second.model->eval();
  EXPECT_FALSE(torch::equal(first.model->forward(input), second.model->forward(input)));
  load_model(second.model, path);
  second.model->eval();
  EXPECT_TRUE(torch::equal(first.model->forward(input), second.model->forward(input)));
  std::filesystem::remove(path);
}

TEST(HybridModelTest, BackboneWeightsComeFromAnEarlierRunsCheckpoint) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "hqsweep_classical.pt").string();
  torch::manual_seed(4);
  BuiltModel classical =
      build_model(make_run_config(config_for("cnn5", "classical")), InputShape{1, 28, 0, 2});
  save_model(classical.model, path);
  nlohmann::json config = config_for("cnn5", "dhf");
  config["model"]["weights"] = path;
  config["model"]["freeze"] = true;
  torch::manual_seed(5);
  BuiltModel hybrid = build_model(make_run_config(config), InputShape{1, 28, 0, 2});
  auto backbone_of = [](BuiltModel& built) { return built.model->named_children()["backbone"]; };
  classical.model->eval();
  hybrid.model->eval();
  torch::Tensor input = torch::randn({2, 1, 28, 28});
  auto classical_backbone = std::dynamic_pointer_cast<BackboneImpl>(backbone_of(classical));
  auto hybrid_backbone = std::dynamic_pointer_cast<BackboneImpl>(backbone_of(hybrid));
  EXPECT_TRUE(torch::equal(classical_backbone->forward(input), hybrid_backbone->forward(input)));
  for (const auto& p : hybrid_backbone->parameters()) EXPECT_FALSE(p.requires_grad());

  nlohmann::json mismatched = config_for("resnet18", "classical");
  mismatched["model"]["weights"] = path;
  std::string message = error_of([&] {
    build_model(make_run_config(mismatched), InputShape{1, 28, 0, 2});
  });
  EXPECT_NE(message.find("model.weights " + path + ": cannot load the backbone"), std::string::npos)
      << message;
  std::filesystem::remove(path);
}

TEST(HybridModelTest, FixedCircuitsAreIdenticalForTheSameSeed) {
  auto circuit_weights = [](int seed) {
    nlohmann::json config = config_for("hqcnn", "dhf");
    config["quantum"]["trainable"] = false;
    config["seed"] = seed;
    BuiltModel built = build_model(make_run_config(config), InputShape{1, 28, 0, 2});
    auto circuit = built.model->named_children()["circuit"];
    return circuit->named_buffers()["weights"].clone();
  };
  EXPECT_TRUE(torch::equal(circuit_weights(7), circuit_weights(7)));
  EXPECT_FALSE(torch::equal(circuit_weights(7), circuit_weights(8)));
}

TEST(ModelFactoryTest, SummarySplitsTrainableParametersByPart) {
  BuiltModel built =
      build_model(make_run_config(config_for("hqcnn", "parallel")), InputShape{1, 28, 0, 2});
  const ModelSummary& s = built.summary;
  int64_t trainable = 0;
  for (const auto& p : built.model->parameters()) trainable += p.requires_grad() ? p.numel() : 0;
  EXPECT_EQ(s.trainable(), trainable);
  EXPECT_EQ(s.backbone_features, 64);
  EXPECT_EQ(s.quantum_features, 4);
  EXPECT_EQ(s.fused_features, 4 + 32);
  // Projection 64->32->4 and 2 basic... default hardware_efficient layers: 2 x 4 x 2 angles.
  EXPECT_EQ(s.quantum_parameters, (64 * 32 + 32) + (32 * 4 + 4) + 2 * 4 * 2);
  EXPECT_EQ(s.frozen_parameters, 0);
  EXPECT_NE(built.model->describe().find("backbone: Hqcnn"), std::string::npos)
      << built.model->describe();
}

TEST(ModelFactoryTest, ShfCircuitIsFixedEvenWhenTheConfigAsksForATrainableOne) {
  nlohmann::json c = config_for("hqcnn", "shf");
  c["quantum"]["trainable"] = true;  // does not apply to shf: dropped, not refused
  BuiltModel built = build_model(make_run_config(c), InputShape{1, 28, 0, 2});
  for (const auto& p : built.model->named_parameters()) {
    EXPECT_NE(p.key().rfind("circuit", 0), 0u) << p.key() << " is a circuit parameter";
  }
}

TEST(ModelFactoryTest, RefusesImpossibleCombinationsNamingTheKey) {
  struct Case {
    nlohmann::json config;
    InputShape input;
    const char* message;
  } cases[] = {
      {config_for("resnet18", "dhf"), {0, 0, 30, 2}, "model.backbone resnet18 needs images"},
      {config_for("mlp", "dhf"), {1, 28, 0, 2}, "model.backbone mlp needs tabular data"},
      {config_for("hqcnn", "classical"), {1, 2, 0, 2}, "images must be at least 4 pixels"},
      {config_for("hqcnn", "classical"), {2, 28, 0, 2}, "images must have 1 or 3 channels"},
      {config_for("hqcnn", "classical"), {1, 28, 0, 1}, "a classifier needs at least 2"},
      {{{"dataset", {{"name", "breastmnist"}}}, {"model", {{"backbone", "vgg16"}}}},
       {1, 28, 0, 2},
       "vgg16"},
  };
  for (const Case& c : cases) {
    std::string message = error_of([&] { build_model(make_run_config(c.config), c.input); });
    EXPECT_NE(message.find(c.message), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace hqsweep
