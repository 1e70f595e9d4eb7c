// The quantum layer: a LibTorch module whose forward runs the batched simulator and whose
// backward is the simulator's adjoint vector-Jacobian product, so loss.backward() reaches the
// circuit parameters and every layer that feeds the encoded angles.
#pragma once

#include <cstdint>

#include <torch/nn.h>

#include "simulator/circuit.h"

namespace hqsweep {

struct QuantumLayerOptions {
  CircuitConfig circuit;
  bool trainable = true;   // false: a fixed circuit whose angles are drawn from seed
  std::uint64_t seed = 0;  // initial (or fixed) circuit parameters, uniform in [0, 2 pi)
  int threads = 1;         // simulator threads over the batch
  // > 0: outside training each measured observable (+-1 valued) is estimated from this many
  // shots instead of exactly, as hardware would; training stays exact (adjoint gradients).
  std::int64_t shots = 0;
};

class QuantumLayerImpl : public torch::nn::Module {
 public:
  explicit QuantumLayerImpl(QuantumLayerOptions options);

  // angles: [batch, input_count], float or double -> [batch, output_count] of the same type.
  torch::Tensor forward(const torch::Tensor& angles);

  std::int64_t input_count() const { return circuit_.input_count(); }
  std::int64_t output_count() const { return circuit_.output_count(); }
  const Circuit& circuit() const { return circuit_; }
  // The circuit parameters: a trainable parameter, or a buffer for fixed circuits.
  const torch::Tensor& weights() const { return weights_; }

 private:
  QuantumLayerOptions options_;
  Circuit circuit_;
  torch::Tensor weights_;
};
TORCH_MODULE(QuantumLayer);

}  // namespace hqsweep
