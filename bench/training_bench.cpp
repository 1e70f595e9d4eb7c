// Training throughput: one optimiser step (forward, backward, Adam) on a batch of 32, one thread,
// for every backbone at 28x28 and 64x64 (classical fusion, full width), for every fusion with 4
// and 8 qubits (hqcnn at 28x28), and the quantum layer's own forward+backward on the same batch,
// to read its share of a step. Results and the command line: docs/benchmarks.md.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <string>

#include "models/model_factory.h"
#include "models/quantum_layer.h"

namespace {

using nlohmann::json;

constexpr int64_t kBatch = 32;

json image_config(const std::string& backbone, const std::string& fusion, int qubits) {
  json config = {{"dataset", {{"name", "breastmnist"}}},
                 {"model", {{"backbone", backbone}, {"fusion", fusion}}}};
  if (fusion != "classical") {
    config["quantum"] = {{"qubits", qubits}, {"trainable", fusion != "shf"}};
  }
  return config;
}

void train_steps(benchmark::State& state, const json& config, int64_t channels, int64_t size) {
  torch::set_num_threads(1);
  torch::manual_seed(0);
  hqsweep::InputShape input{channels, size, 0, 2};
  hqsweep::BuiltModel built = hqsweep::build_model(hqsweep::make_run_config(config), input);
  hqsweep::HybridModel model = built.model;
  model->train();
  std::vector<torch::Tensor> trainable;
  for (const auto& p : model->parameters()) {
    if (p.requires_grad()) trainable.push_back(p);
  }
  torch::optim::Adam optimizer(trainable, torch::optim::AdamOptions(1e-3));
  // SHF trains its head on cached features: that is its training step.
  const bool head_only = config["model"]["fusion"] == "shf";
  torch::Tensor x = head_only ? torch::randn({kBatch, built.summary.fused_features})
                              : torch::randn({kBatch, channels, size, size});
  torch::Tensor y = torch::randint(0, 2, {kBatch}, torch::kInt64);
  for (auto _ : state) {
    optimizer.zero_grad();
    torch::Tensor logits = head_only ? model->head_forward(x) : model->forward(x);
    torch::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
    loss.backward();
    optimizer.step();
  }
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["parameters"] = static_cast<double>(built.summary.trainable());
}

// The circuit a fusion's quantum branch runs, forward and backward alone, on the batch.
void quantum_layer_steps(benchmark::State& state, int qubits) {
  torch::set_num_threads(1);
  hqsweep::QuantumLayerOptions options;
  options.circuit = {qubits, 2, "hardware_efficient", "angle_ry", false, "z"};
  hqsweep::QuantumLayer layer(options);
  torch::Tensor angles = torch::rand({kBatch, layer->input_count()}).requires_grad_(true);
  for (auto _ : state) {
    torch::Tensor out = layer->forward(angles);
    out.sum().backward();
    angles.mutable_grad().reset();
  }
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  for (const char* backbone : {"hqcnn", "cnn5", "resnet18", "resnet50", "efficientnet_b0",
                               "efficientnet_b5", "efficientnetv2_s"}) {
    for (int64_t size : {28, 64}) {
      const json config = image_config(backbone, "classical", 0);
      benchmark::RegisterBenchmark(
          ("backbone/" + std::string(backbone) + "/" + std::to_string(size)).c_str(),
          [config, size](benchmark::State& state) { train_steps(state, config, 1, size); })
          ->Unit(benchmark::kMillisecond)
          ->MinTime(1.0);
    }
  }
  for (const char* fusion : {"classical", "quantum", "sequential", "parallel", "shf", "dhf", "tshf",
                             "cross_attention"}) {
    for (int qubits : {4, 8}) {
      if (std::string(fusion) == "classical" && qubits == 8) continue;
      const json config = image_config("hqcnn", fusion, qubits);
      benchmark::RegisterBenchmark(
          ("fusion/" + std::string(fusion) + "/" + std::to_string(qubits)).c_str(),
          [config](benchmark::State& state) { train_steps(state, config, 1, 28); })
          ->Unit(benchmark::kMillisecond)
          ->MinTime(1.0);
    }
  }
  for (int qubits : {4, 8}) {
    benchmark::RegisterBenchmark(
        ("quantum_layer/" + std::to_string(qubits)).c_str(),
        [qubits](benchmark::State& state) { quantum_layer_steps(state, qubits); })
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
