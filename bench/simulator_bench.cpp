// Simulator benchmarks: the reference circuit (RY angle embedding, 4 hardware-efficient layers of
// RY, RZ and a CNOT ring, <Z_i> on every qubit; batch 64; one thread) forward and forward+backward,
// side by side with the same circuit written in LibTorch tensor ops with autograd (the
// TorchQuantum way), and a peak-FLOP probe to read the figures as a share of this core's peak.
// Results and the command line: docs/benchmarks.md.
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <torch/torch.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "simulator/simulator.h"

namespace {

using hqsweep::BatchedSimulator;
using hqsweep::Circuit;
using hqsweep::Gate;
using hqsweep::GateKind;

constexpr int kBatch = 64;
constexpr int kLayers = 4;

Circuit reference_circuit(int qubits) {
  return hqsweep::build_circuit({qubits, kLayers, "hardware_efficient", "angle_ry", false, "z"});
}

// Real floating-point operations of the circuit's gates applied one at a time, for one state: RY
// and RZ cost 6 per amplitude (a real 2x2 rotation, a complex phase), CNOT none; measuring costs 3
// per amplitude (|a|^2) plus a sum per qubit over half the amplitudes. The simulator does less
// (fused runs, the product-state start; docs/benchmarks.md estimates what it executes), so GFLOPS
// is the rate of this gate-by-gate work.
double forward_flops(const Circuit& c) {
  const double amplitudes = std::ldexp(1.0, c.qubits());
  double flops = 0;
  for (const Gate& g : c.gates()) {
    if (g.kind == GateKind::ry || g.kind == GateKind::rz) flops += 6 * amplitudes;
  }
  return flops + 3 * amplitudes + c.qubits() * amplitudes / 2;
}

void set_counters(benchmark::State& state, const Circuit& c, double flops_per_state) {
  const double gate_amplitudes = double(c.gates().size()) * std::ldexp(1.0, c.qubits()) * kBatch;
  state.counters["ns_per_gate_amplitude"] =
      benchmark::Counter(gate_amplitudes * 1e-9, benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
  state.counters["GFLOPS"] = benchmark::Counter(flops_per_state * kBatch * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

struct Problem {
  Circuit circuit;
  std::vector<float> inputs, params, outputs, grad_outputs, grad_params, grad_inputs;
  explicit Problem(int qubits) : circuit(reference_circuit(qubits)) {
    std::mt19937 rng(0);
    std::uniform_real_distribution<float> u(-1, 1);
    inputs.resize(kBatch * circuit.input_count());
    params.resize(circuit.parameter_count());
    grad_outputs.resize(kBatch * circuit.output_count());
    for (auto* v : {&inputs, &params, &grad_outputs}) {
      for (float& x : *v) x = u(rng);
    }
    outputs.resize(kBatch * circuit.output_count());
    grad_params.resize(params.size());
    grad_inputs.resize(inputs.size());
  }
};

// Arguments: qubits, lanes (1, 8 or 16), fusion (0 never, 1 always).
void BM_SimulatorForward(benchmark::State& state) {
  Problem p(static_cast<int>(state.range(0)));
  using Fusion = hqsweep::SimulatorOptions::Fusion;
  hqsweep::SimulatorOptions options;
  options.lanes = static_cast<int>(state.range(1));
  options.fusion = state.range(2) ? Fusion::always : Fusion::never;
  BatchedSimulator<float> sim(p.circuit, options);
  for (auto _ : state) {
    sim.forward(p.inputs.data(), kBatch, p.params.data(), p.outputs.data());
    benchmark::DoNotOptimize(p.outputs.data());
  }
  set_counters(state, p.circuit, forward_flops(p.circuit));
}

void BM_SimulatorForwardBackward(benchmark::State& state) {
  Problem p(static_cast<int>(state.range(0)));
  hqsweep::SimulatorOptions options;
  options.lanes = static_cast<int>(state.range(1));
  BatchedSimulator<float> sim(p.circuit, options);
  for (auto _ : state) {
    sim.forward(p.inputs.data(), kBatch, p.params.data(), p.outputs.data());
    sim.backward(p.grad_outputs.data(), p.grad_params.data(), p.grad_inputs.data());
    benchmark::DoNotOptimize(p.grad_params.data());
  }
  set_counters(state, p.circuit, forward_flops(p.circuit));
}

// Times forward (state.range(2) == 0) or forward and backward of the reference circuit on
// state.range(0) qubits with the given options; returns the simulator for its plan's figures.
BatchedSimulator<float> time_passes(benchmark::State& state,
                                    const hqsweep::SimulatorOptions& options) {
  Problem p(static_cast<int>(state.range(0)));
  BatchedSimulator<float> sim(p.circuit, options);
  for (auto _ : state) {
    sim.forward(p.inputs.data(), kBatch, p.params.data(), p.outputs.data());
    if (state.range(2))
      sim.backward(p.grad_outputs.data(), p.grad_params.data(), p.grad_inputs.data());
    benchmark::DoNotOptimize(p.outputs.data());
  }
  set_counters(state, p.circuit, forward_flops(p.circuit));
  return sim;
}

// The defaults (lanes, fusion and tiles chosen for this CPU). Arguments: qubits, threads, forward
// only (0) or forward and backward (1).
void BM_SimulatorDefaults(benchmark::State& state) {
  hqsweep::SimulatorOptions options;
  options.threads = static_cast<int>(state.range(1));
  const BatchedSimulator<float> sim = time_passes(state, options);
  // The traffic the plan implies (simulator.h's PlanTraffic), as rates, against BM_Bandwidth.
  const hqsweep::PlanTraffic t = sim.traffic();
  const double blocks = double((kBatch + t.lanes - 1) / t.lanes);
  const bool backward = state.range(2) != 0;
  const double level = blocks * (t.forward_level_bytes + (backward ? t.backward_level_bytes : 0));
  const double tile = blocks * (t.forward_tile_bytes + (backward ? t.backward_tile_bytes : 0));
  state.counters["level_GBps"] =
      benchmark::Counter(level * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tile_GBps"] =
      benchmark::Counter(tile * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["state_KiB"] = double(t.state_bytes) / 1024;
  state.SetLabel("lanes " + std::to_string(t.lanes) + " tiles " +
                 std::to_string(t.forward_tile_qubits) + "/" +
                 std::to_string(t.backward_tile_qubits));
}

// CNOT runs as gathers or one pass per CNOT, defaults otherwise. Arguments: qubits, gathers (0 or
// 1), forward only (0) or forward and backward (1).
void BM_SimulatorCnotGathers(benchmark::State& state) {
  hqsweep::SimulatorOptions options;
  options.gather_cnots = state.range(1) != 0;
  time_passes(state, options);
}

// Two wires' one-qubit matrices in one forward sweep or one sweep each, defaults otherwise.
// Arguments: qubits, paired (0 or 1), forward only (0) or forward and backward (1).
void BM_SimulatorPairedWires(benchmark::State& state) {
  hqsweep::SimulatorOptions options;
  options.pair_wires = state.range(1) != 0;
  time_passes(state, options);
}

// Bandwidth probe (STREAM-like, for the roofline): a rotation of the pairs (re[i], im[i]) over two
// float arrays of `KiB / 2` each, in place, the way a gate pass reads and writes a state; bytes =
// reads + writes. Sizes chosen to sit in L1, L2, L3 and memory (docs/benchmarks.md).
void BM_Bandwidth(benchmark::State& state) {
  const std::size_t values = static_cast<std::size_t>(state.range(0)) * 1024 / sizeof(float) / 2;
  std::vector<float> re(values, 0.5f), im(values, 0.25f);
  const float c = 0.99995f, s = 0.0099998f;
  for (auto _ : state) {
    float* __restrict a = re.data();
    float* __restrict b = im.data();
    for (std::size_t i = 0; i < values; ++i) {
      const float x = a[i], y = b[i];
      a[i] = c * x - s * y;
      b[i] = s * x + c * y;
    }
    benchmark::DoNotOptimize(re.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(4 * values * sizeof(float)));
}

// Arguments: qubits, tile wires (0: chosen from the cache size; 30: no tiles, whole-state passes),
// forward only (0) or forward and backward (1). Defaults otherwise.
void BM_SimulatorTiles(benchmark::State& state) {
  hqsweep::SimulatorOptions options;
  options.tile_qubits = static_cast<int>(state.range(1));
  time_passes(state, options);
}

// The baseline: state as a complex tensor [B, 2, ..., 2]; a one-qubit gate is a 2x2 matmul on its
// axis (per-sample matrices for the embedding), CNOT flips the target axis where the control is 1.
torch::Tensor apply_one_qubit(const torch::Tensor& state, const torch::Tensor& u, int qubit) {
  // u: [2, 2] or [B, 2, 2]; the state's axis qubit+1 is contracted with u's column index.
  torch::Tensor moved = state.movedim(qubit + 1, -1);  // [B, ..., 2]
  torch::Tensor out;
  if (u.dim() == 2) {
    out = torch::matmul(moved, u.transpose(0, 1));
  } else {
    auto shape = moved.sizes().vec();
    torch::Tensor flat = moved.reshape({shape[0], -1, 2});
    out = torch::matmul(flat, u.transpose(1, 2)).reshape(shape);
  }
  return out.movedim(-1, qubit + 1);
}

torch::Tensor apply_cnot(const torch::Tensor& state, int control, int target) {
  torch::Tensor off = state.select(control + 1, 0);
  torch::Tensor on = state.select(control + 1, 1).flip({target < control ? target + 1 : target});
  return torch::stack({off, on}, control + 1);
}

torch::Tensor ry_matrix(const torch::Tensor& angle) {  // angle: scalar or [B]
  torch::Tensor c = torch::cos(angle / 2), s = torch::sin(angle / 2);
  torch::Tensor m = torch::stack({torch::stack({c, -s}, -1), torch::stack({s, c}, -1)}, -2);
  return torch::complex(m, torch::zeros_like(m));
}

torch::Tensor rz_matrix(const torch::Tensor& angle) {
  torch::Tensor c = torch::cos(angle / 2), s = torch::sin(angle / 2), z = torch::zeros_like(c);
  torch::Tensor re = torch::stack({torch::stack({c, z}, -1), torch::stack({z, c}, -1)}, -2);
  torch::Tensor im = torch::stack({torch::stack({-s, z}, -1), torch::stack({z, s}, -1)}, -2);
  return torch::complex(re, im);
}

torch::Tensor torch_reference_forward(const torch::Tensor& x, const torch::Tensor& params, int n) {
  std::vector<int64_t> shape(n + 1, 2);
  shape[0] = x.size(0);
  torch::Tensor state = torch::zeros(shape, torch::kComplexFloat);
  state.view({x.size(0), -1}).select(1, 0).fill_(1);
  for (int q = 0; q < n; ++q) state = apply_one_qubit(state, ry_matrix(x.select(1, q)), q);
  int p = 0;
  for (int layer = 0; layer < kLayers; ++layer) {
    for (int q = 0; q < n; ++q) {
      state = apply_one_qubit(state, ry_matrix(params[p++]), q);
      state = apply_one_qubit(state, rz_matrix(params[p++]), q);
    }
    if (n == 2) state = apply_cnot(state, 0, 1);
    if (n > 2) {
      for (int q = 0; q < n; ++q) state = apply_cnot(state, q, (q + 1) % n);
    }
  }
  torch::Tensor probabilities = torch::real(state).square() + torch::imag(state).square();
  std::vector<torch::Tensor> z;
  for (int q = 0; q < n; ++q) {
    torch::Tensor marginal = probabilities.movedim(q + 1, 1).reshape({x.size(0), 2, -1}).sum(2);
    z.push_back(marginal.select(1, 0) - marginal.select(1, 1));
  }
  return torch::stack(z, 1);
}

void BM_TorchOpsForwardBackward(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  torch::set_num_threads(1);
  Problem p(n);
  torch::Tensor x = torch::tensor(p.inputs).reshape({kBatch, n});
  torch::Tensor g = torch::tensor(p.grad_outputs).reshape({kBatch, n});
  torch::Tensor params = torch::tensor(p.params).requires_grad_(true);
  {  // one untimed pass: the first call pays LibTorch's and the allocator's start-up
    torch::Tensor out = torch_reference_forward(x, params, n);
    (out * g).sum().backward();
    params.mutable_grad().zero_();
  }
  for (auto _ : state) {
    torch::Tensor out = torch_reference_forward(x, params, n);
    (out * g).sum().backward();
    params.mutable_grad().zero_();
  }
  set_counters(state, p.circuit, forward_flops(p.circuit));
}

// Peak probe: 12 independent chains of dependent FMAs (acc = acc * m + a), enough to cover the
// FMA latency on both ports; 2 flops per lane per FMA.
#define HQSWEEP_PEAK_PROBE(NAME, VEC, SET1, FMA, LANES)                                           \
  void NAME(benchmark::State& state) {                                                            \
    VEC acc[12];                                                                                  \
    for (int i = 0; i < 12; ++i) acc[i] = SET1(1.0 + i * 1e-3);                                   \
    const VEC m = SET1(0.9999999), a = SET1(1e-7);                                                \
    for (auto _ : state) {                                                                        \
      for (int rep = 0; rep < 1000; ++rep) {                                                      \
        for (int i = 0; i < 12; ++i) acc[i] = FMA(acc[i], m, a);                                  \
      }                                                                                           \
      benchmark::DoNotOptimize(acc);                                                              \
    }                                                                                             \
    state.counters["GFLOPS"] = benchmark::Counter(12.0 * 1000 * LANES * 2 * 1e-9,                 \
                                                  benchmark::Counter::kIsIterationInvariantRate); \
  }                                                                                               \
  BENCHMARK(NAME);

#if defined(__FMA__)
HQSWEEP_PEAK_PROBE(BM_PeakFmaFloat256, __m256, _mm256_set1_ps, _mm256_fmadd_ps, 8)
HQSWEEP_PEAK_PROBE(BM_PeakFmaDouble256, __m256d, _mm256_set1_pd, _mm256_fmadd_pd, 4)
#endif
#if defined(__AVX512F__)
HQSWEEP_PEAK_PROBE(BM_PeakFmaFloat512, __m512, _mm512_set1_ps, _mm512_fmadd_ps, 16)
HQSWEEP_PEAK_PROBE(BM_PeakFmaDouble512, __m512d, _mm512_set1_pd, _mm512_fmadd_pd, 8)
#endif

}  // namespace

BENCHMARK(BM_SimulatorForward)
    ->ArgsProduct({{4, 8, 10, 12, 16}, {1, 8, 16}, {0, 1}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimulatorForwardBackward)
    ->ArgsProduct({{4, 8, 10, 12, 14, 15, 16, 18}, {1, 8, 16}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimulatorTiles)
    ->ArgsProduct({{12, 13, 14, 16, 18}, {0, 7, 8, 9, 10, 11, 12, 30}, {0, 1}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimulatorDefaults)
    ->ArgsProduct({benchmark::CreateDenseRange(4, 16, 1), {1, 2}, {0, 1}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimulatorCnotGathers)
    ->ArgsProduct({{12, 14, 16}, {0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimulatorPairedWires)
    ->ArgsProduct({{4, 8, 10, 12, 14, 16}, {0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Bandwidth)
    ->Arg(16)
    ->Arg(32)
    ->Arg(256)
    ->Arg(512)
    ->Arg(4 * 1024)
    ->Arg(8 * 1024)
    ->Arg(256 * 1024)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TorchOpsForwardBackward)->DenseRange(4, 12, 1)->Unit(benchmark::kMillisecond);
// One iteration from 13 qubits (about 21 s at 16 here, plus the untimed first pass; several GB of
// autograd intermediates).
BENCHMARK(BM_TorchOpsForwardBackward)
    ->DenseRange(13, 16, 1)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// The CPU geometry the simulator planned by goes into the output's header.
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("simulator_cpu", hqsweep::describe(hqsweep::cpu_geometry()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
