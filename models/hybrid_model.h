// A classifier built from a config: classical backbone, quantum branch and one fusion strategy
// (docs/models.md gives each as a diagram and a formula).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <torch/nn.h>

#include "common/catalogue.h"
#include "models/backbone.h"
#include "models/quantum_layer.h"

namespace hqsweep {

struct HybridModelOptions {
  Fusion fusion = Fusion::classical;
  BackboneOptions backbone;  // unused by fusion quantum
  bool freeze_backbone = false;
  QuantumLayerOptions quantum;      // unused by fusion classical
  std::string scaling = "pi_tanh";  // pi_tanh, arctan, none: projected features -> angles
  int64_t classes = 2;
  int64_t head_hidden = 32;  // 0: a linear head
  double dropout = 0.1;
  int64_t attention_heads = 2;  // cross_attention
  int64_t parallel_units = 32;  // parallel: units of the classical side branch s
};

// Sizes of the pieces and trainable parameter counts by part (frozen and fixed ones excluded).
struct ModelSummary {
  int64_t backbone_features = 0;
  int64_t quantum_features = 0;
  int64_t fused_features = 0;        // what the head reads
  int64_t classical_parameters = 0;  // the backbone
  int64_t quantum_parameters = 0;    // projection into the circuit and circuit parameters
  int64_t fusion_parameters = 0;     // head, attention, temperature, side branches
  int64_t frozen_parameters = 0;     // frozen backbone, fixed circuit, SHF extraction
  int64_t trainable() const {
    return classical_parameters + quantum_parameters + fusion_parameters;
  }
};

class HybridModelImpl : public torch::nn::Module {
 public:
  explicit HybridModelImpl(HybridModelOptions options);

  // [batch, ...input] -> logits [batch, classes].
  torch::Tensor forward(const torch::Tensor& input);
  // What the head reads (SHF caches these): [batch, fused_features] for shf, dhf, tshf;
  // for the other fusions, the backbone's features.
  torch::Tensor extract_features(const torch::Tensor& input);
  // SHF: the head alone over cached [classical ; quantum] features.
  torch::Tensor head_forward(const torch::Tensor& features);

  // TSHF's learned temperature T (empty for other fusions).
  std::optional<double> temperature() const;
  // Trainable circuit parameters (for their own learning rate); empty for fixed circuits.
  std::vector<torch::Tensor> circuit_parameters() const;
  // Keeps a frozen backbone (and SHF's extraction) in evaluation mode.
  void train(bool on = true) override;

  const HybridModelOptions& options() const { return options_; }
  ModelSummary summary() const;
  // A readable tree of the modules with their parameter counts.
  std::string describe() const;

 private:
  void build_quantum_branch();  // projection and circuit
  void build_fusion();          // what joins the branches, and fused_features_
  torch::Tensor quantum_features(const torch::Tensor& classical_features);

  HybridModelOptions options_;
  std::shared_ptr<BackboneImpl> backbone_;
  torch::nn::Sequential projection_{nullptr};  // features -> circuit inputs
  QuantumLayer circuit_{nullptr};
  torch::nn::Sequential side_{nullptr};      // parallel: s = ReLU(Linear(f))
  torch::nn::Linear query_{nullptr};         // cross_attention
  torch::Tensor token_weight_, token_bias_;  // cross_attention: quantum outputs -> tokens
  torch::nn::MultiheadAttention attention_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
  torch::Tensor log_temperature_;  // tshf
  torch::nn::Sequential head_{nullptr};
  int64_t backbone_features_ = 0;
  int64_t quantum_outputs_ = 0;
  int64_t fused_features_ = 0;
};
TORCH_MODULE(HybridModel);

// LibTorch's own serialisation of every parameter and buffer.
void save_model(const HybridModel& model, const std::string& path);
void load_model(HybridModel& model, const std::string& path);
// Loads only the backbone, from a whole-model checkpoint (its "backbone" part) or from a
// backbone-only one; throws naming the file when shapes or names do not match.
void load_backbone_weights(HybridModel& model, const std::string& path);

}  // namespace hqsweep
