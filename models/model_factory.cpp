// Config -> HybridModelOptions -> HybridModel.
#include "models/model_factory.h"

#include <torch/torch.h>

#include "common/config_schema.h"
#include "common/error.h"

namespace hqsweep {

namespace {

template <typename T>
T value_or(const FlatConfig& flat, const std::string& key, T fallback) {
  auto it = flat.find(key);
  return it == flat.end() ? fallback : it->second.get<T>();
}

}  // namespace

HybridModelOptions model_options(const nlohmann::json& config, const InputShape& input) {
  const FlatConfig flat = flatten_config(canonical_config(config));
  HybridModelOptions options;
  options.fusion = value_or<std::string>(flat, "model.fusion", "classical");
  const std::string backbone = value_or<std::string>(flat, "model.backbone", "");
  if (backbone == "probe") {
    throw Error("model.backbone probe is a synthetic scheduler task and builds no model");
  }
  if (input.classes < 2) {
    throw Error("the data has " + std::to_string(input.classes) +
                " class(es); a classifier needs at least 2");
  }
  if (options.fusion != "quantum") {
    if (backbone.empty()) throw Error("model.backbone is required for fusion " + options.fusion);
    if (is_image_backbone(backbone) && input.tabular()) {
      throw Error("model.backbone " + backbone + " needs images, but the data set is tabular (" +
                  std::to_string(input.features) + " features); use mlp");
    }
    if (!is_image_backbone(backbone) && !input.tabular()) {
      throw Error(
          "model.backbone mlp needs tabular data, but the data set has images; use an "
          "image backbone such as hqcnn or resnet18");
    }
  }
  options.backbone.name = backbone;
  options.backbone.channels = input.channels;
  options.backbone.image_size = input.image_size;
  options.backbone.input_features = input.features;
  options.backbone.width = value_or<double>(flat, "model.width", 1.0);
  options.backbone.small_input = value_or<bool>(flat, "model.small_input", true);
  options.backbone.hidden =
      value_or<std::vector<int64_t>>(flat, "model.hidden", std::vector<int64_t>{64, 32});
  options.freeze_backbone = value_or<bool>(flat, "model.freeze", false);
  options.classes = input.classes;
  options.head_hidden = value_or<int64_t>(flat, "model.head_hidden", 32);
  options.dropout = value_or<double>(flat, "model.dropout", 0.1);
  options.attention_heads = value_or<int64_t>(flat, "model.attention_heads", 2);
  if (options.fusion != "classical") {
    CircuitConfig& circuit = options.quantum.circuit;
    circuit.qubits = value_or<int>(flat, "quantum.qubits", 4);
    circuit.layers = value_or<int>(flat, "quantum.layers", 2);
    circuit.ansatz = value_or<std::string>(flat, "quantum.ansatz", "hardware_efficient");
    circuit.embedding = value_or<std::string>(flat, "quantum.embedding", "angle_ry");
    circuit.reupload = value_or<bool>(flat, "quantum.reupload", false);
    circuit.measure = value_or<std::string>(flat, "quantum.measure", "z");
    options.quantum.trainable =
        options.fusion != "shf" && value_or<bool>(flat, "quantum.trainable", true);
    options.quantum.seed = value_or<uint64_t>(flat, "seed", 0);
    options.quantum.shots = value_or<int64_t>(flat, "quantum.shots", 0);
    options.scaling = value_or<std::string>(flat, "quantum.scaling", "pi_tanh");
  }
  return options;
}

BuiltModel build_model(const nlohmann::json& config, const InputShape& input, int threads) {
  HybridModelOptions options = model_options(config, input);
  options.quantum.threads = threads;
  BuiltModel built;
  built.model = HybridModel(options);
  const FlatConfig flat = flatten_config(canonical_config(config));
  const std::string weights = value_or<std::string>(flat, "model.weights", "");
  if (!weights.empty()) load_backbone_weights(built.model, weights);
  built.summary = built.model->summary();
  return built;
}

}  // namespace hqsweep
