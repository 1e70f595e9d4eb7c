// Config -> HybridModelOptions -> HybridModel.
#include "models/model_factory.h"

#include <torch/torch.h>

#include "common/error.h"

namespace hqsweep {

HybridModelOptions model_options(const RunConfig& config, const InputShape& input) {
  if (config.is_probe) {
    throw Error("model.backbone probe is a synthetic scheduler task and builds no model");
  }
  if (input.classes < 2) {
    throw Error("the data has " + std::to_string(input.classes) +
                " class(es); a classifier needs at least 2");
  }
  const ModelConfig& model = config.model;
  HybridModelOptions options;
  options.fusion = model.fusion;
  const std::string& fusion_name = fusion_info(model.fusion).name;
  if (config.uses_backbone()) {
    if (model.backbone_info == nullptr) {
      throw Error("model.backbone is required for fusion " + fusion_name);
    }
    const bool takes_images = model.backbone_info->kind == BackboneKind::image;
    if (takes_images && input.tabular()) {
      throw Error("model.backbone " + model.backbone + " needs images, but the data set is " +
                  "tabular (" + std::to_string(input.features) + " features); use mlp");
    }
    if (!takes_images && !input.tabular()) {
      throw Error("model.backbone " + model.backbone +
                  " needs tabular data, but the data set has images; use an image backbone such "
                  "as hqcnn or resnet18");
    }
  }
  options.backbone.name = model.backbone;
  options.backbone.channels = input.channels;
  options.backbone.image_size = input.image_size;
  options.backbone.input_features = input.features;
  options.backbone.width = model.width;
  options.backbone.small_input = model.small_input;
  options.backbone.hidden = model.hidden;
  options.freeze_backbone = model.freeze;
  options.classes = input.classes;
  options.head_hidden = model.head_hidden;
  options.dropout = model.dropout;
  options.attention_heads = model.attention_heads;
  if (config.uses_quantum()) {
    const QuantumConfig& quantum = config.quantum;
    CircuitConfig& circuit = options.quantum.circuit;
    circuit.qubits = quantum.qubits;
    circuit.layers = quantum.layers;
    circuit.ansatz = quantum.ansatz;
    circuit.embedding = quantum.embedding;
    circuit.reupload = quantum.reupload;
    circuit.measure = quantum.measure;
    options.quantum.trainable = quantum.trainable;
    options.quantum.seed = config.seed;
    options.quantum.shots = quantum.shots;
    options.scaling = quantum.scaling;
  }
  return options;
}

BuiltModel build_model(const RunConfig& config, const InputShape& input, int threads) {
  HybridModelOptions options = model_options(config, input);
  options.quantum.threads = threads;
  BuiltModel built;
  built.model = HybridModel(options);
  if (!config.model.weights.empty()) load_backbone_weights(built.model, config.model.weights);
  built.summary = built.model->summary();
  return built;
}

}  // namespace hqsweep
