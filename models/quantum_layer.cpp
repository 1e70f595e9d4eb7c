// The autograd function that joins the simulator to LibTorch, and the quantum layer module.
#include "models/quantum_layer.h"

#include <cmath>
#include <memory>
#include <random>

#include <torch/torch.h>

#include "common/error.h"
#include "simulator/simulator.h"

namespace hqsweep {

namespace {

// Keeps one forward call's simulator (and with it the final states) until backward.
template <typename T>
struct SimulationHolder : torch::CustomClassHolder {
  explicit SimulationHolder(BatchedSimulator<T> s) : simulator(std::move(s)) {}
  BatchedSimulator<T> simulator;
};

template <typename T>
torch::ScalarType scalar_type_of() {
  return std::is_same_v<T, float> ? torch::kFloat32 : torch::kFloat64;
}

struct QuantumFunction : public torch::autograd::Function<QuantumFunction> {
  template <typename T>
  static torch::Tensor run(torch::autograd::AutogradContext* ctx, const torch::Tensor& angles,
                           const torch::Tensor& weights, const Circuit& circuit, int threads) {
    torch::Tensor x = angles.contiguous();
    torch::Tensor w = weights.to(scalar_type_of<T>()).contiguous();
    const std::int64_t batch = x.size(0);
    torch::Tensor out = torch::empty({batch, circuit.output_count()}, x.options());
    SimulatorOptions options;
    options.threads = threads;
    auto holder = c10::make_intrusive<SimulationHolder<T>>(BatchedSimulator<T>(circuit, options));
    holder->simulator.forward(x.data_ptr<T>(), static_cast<std::size_t>(batch), w.data_ptr<T>(),
                              out.data_ptr<T>());
    ctx->saved_data["simulation"] = c10::IValue::make_capsule(holder);
    ctx->saved_data["weights_dtype"] = static_cast<std::int64_t>(weights.scalar_type());
    return out;
  }

  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& angles,
                               const torch::Tensor& weights, const Circuit* circuit,
                               std::int64_t threads) {
    if (angles.scalar_type() == torch::kFloat64)
      return run<double>(ctx, angles, weights, *circuit, threads);
    return run<float>(ctx, angles, weights, *circuit, threads);
  }

  template <typename T>
  static torch::autograd::variable_list run_backward(torch::autograd::AutogradContext* ctx,
                                                     const torch::Tensor& grad_out) {
    auto holder = c10::static_intrusive_pointer_cast<SimulationHolder<T>>(
        ctx->saved_data["simulation"].toCapsule());
    BatchedSimulator<T>& simulator = holder->simulator;
    const Circuit& circuit = simulator.circuit();
    torch::Tensor g = grad_out.to(scalar_type_of<T>()).contiguous();
    const std::int64_t batch = g.size(0);
    const bool want_inputs = ctx->needs_input_grad(0);
    const bool want_weights = ctx->needs_input_grad(1);
    torch::Tensor grad_inputs, grad_weights;
    if (want_inputs) grad_inputs = torch::empty({batch, circuit.input_count()}, g.options());
    if (want_weights) grad_weights = torch::empty({circuit.parameter_count()}, g.options());
    simulator.backward(g.data_ptr<T>(), want_weights ? grad_weights.data_ptr<T>() : nullptr,
                       want_inputs ? grad_inputs.data_ptr<T>() : nullptr);
    if (want_weights) {
      grad_weights =
          grad_weights.to(static_cast<torch::ScalarType>(ctx->saved_data["weights_dtype"].toInt()));
    }
    return {grad_inputs, grad_weights, torch::Tensor(), torch::Tensor()};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    if (grads[0].scalar_type() == torch::kFloat64) return run_backward<double>(ctx, grads[0]);
    return run_backward<float>(ctx, grads[0]);
  }
};

}  // namespace

QuantumLayerImpl::QuantumLayerImpl(QuantumLayerOptions options)
    : options_(std::move(options)), circuit_(build_circuit(options_.circuit)) {
  // Drawn with our own generator so that a seed gives the same circuit on every machine.
  std::mt19937_64 rng(options_.seed);
  std::vector<float> initial(circuit_.parameter_count());
  for (float& v : initial)
    v = static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-53 * 2 * M_PI);
  torch::Tensor w = torch::tensor(initial, torch::kFloat32);
  if (options_.trainable) {
    weights_ = register_parameter("weights", w);
  } else {
    weights_ = register_buffer("weights", w);
  }
}

torch::Tensor QuantumLayerImpl::forward(const torch::Tensor& angles) {
  if (angles.dim() != 2 || angles.size(1) != circuit_.input_count()) {
    throw Error("quantum layer: expected angles of shape [batch, " +
                std::to_string(circuit_.input_count()) + "], got " + c10::str(angles.sizes()));
  }
  if (angles.scalar_type() != torch::kFloat32 && angles.scalar_type() != torch::kFloat64) {
    throw Error("quantum layer: angles must be float32 or float64");
  }
  torch::Tensor exact = QuantumFunction::apply(angles, weights_, &circuit_,
                                               static_cast<std::int64_t>(options_.threads));
  if (options_.shots == 0 || is_training()) return exact;
  // k of S shots give +1 with probability (1 + <O>) / 2; the estimate is 2 k / S - 1.
  torch::NoGradGuard no_gradient;
  const double shots = static_cast<double>(options_.shots);
  torch::Tensor p = ((exact.detach() + 1) / 2).clamp(0, 1);
  torch::Tensor k = torch::binomial(torch::full_like(p, shots), p);
  return 2 * k / shots - 1;
}

}  // namespace hqsweep
