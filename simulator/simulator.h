// A batched state-vector simulator: runs one circuit on B states at once (one per sample, with
// per-sample input angles and shared parameters) and differentiates it by the adjoint method
// (Jones & Gacon, arXiv:2009.02823) as a vector-Jacobian product.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "simulator/circuit.h"
#include "simulator/cpu.h"

namespace hqsweep {

struct SimulatorOptions {
  int threads = 1;  // over blocks of the batch
  int lanes = 0;    // states per block: 1, 8 or 16; 0 chooses (default_lanes)
  // Forward pass: apply consecutive one-qubit gates on a wire as one 2x2 matrix. Auto fuses where
  // it pays (from kSmallestFusedQubits qubits: below, building per-lane matrices costs more than
  // the passes it saves; docs/benchmarks.md).
  enum class Fusion { automatic, always, never };
  Fusion fusion = Fusion::automatic;
  // Wires per cache tile (simulator/tiles.h): runs of gates on at most this many wires are applied
  // tile by tile. 0 chooses from the caches (tiles::chosen_tile_qubits); the qubit count or more
  // gives whole-state passes (one per operation; a run of CNOTs is one gather).
  int tile_qubits = 0;
  // With whole-state passes a run of CNOTs is one gather; false: one pass per CNOT (for
  // comparison, docs/benchmarks.md). Within tiles a gather measured slower than the passes.
  bool gather_cnots = true;
  // Forward pass: two fused one-qubit matrices on different wires, one after the other, share one
  // sweep over the state; false: one sweep each (for comparison). The adjoint pass keeps one wire
  // per sweep: two wires' rotation pairs in one sweep measured no faster (docs/benchmarks.md).
  bool pair_wires = true;
  // The CPU to plan for; unset: the one the process runs on (cpu_geometry()).
  std::optional<CpuGeometry> cpu;
};

constexpr int kSmallestFusedQubits = 8;

// The lane count chosen when SimulatorOptions::lanes is 0: one vector register of values per
// amplitude (16 floats with 512-bit vectors, else 8), 8 lanes for double, 8 where only 8 keep the
// adjoint pass in cache, and fewer lanes where a block would outgrow memory (docs/simulator.md).
int default_lanes(int qubits, std::size_t value_bytes, const CpuGeometry& cpu);

// The memory traffic of one block's passes as planned, for benchmarks (the roofline of
// docs/benchmarks.md). "Level" bytes are read or written where a whole state lives (L2, L3 or
// memory by its size); "tile" bytes stay inside a tile held in L2 (none without tiles).
struct PlanTraffic {
  int lanes = 0;
  int forward_tile_qubits = 0;  // the qubit count: whole-state passes
  int backward_tile_qubits = 0;
  std::size_t state_bytes = 0;  // one block's state, real and imaginary parts
  double forward_level_bytes = 0, forward_tile_bytes = 0;
  double backward_level_bytes = 0, backward_tile_bytes = 0;  // of the last backward(); 0 before
};

template <typename T>
class BatchedSimulator {
 public:
  explicit BatchedSimulator(Circuit circuit, SimulatorOptions options = {});
  ~BatchedSimulator();
  BatchedSimulator(BatchedSimulator&&) noexcept;
  BatchedSimulator& operator=(BatchedSimulator&&) noexcept;

  const Circuit& circuit() const;
  int lanes() const;

  // inputs: [batch][input_count], params: [parameter_count], outputs: [batch][output_count], all
  // row-major. Keeps the final states for backward() and sample_outputs().
  void forward(const T* inputs, std::size_t batch, const T* params, T* outputs);

  // Given dL/d(outputs) of the last forward ([batch][output_count]), writes dL/d(params)
  // ([parameter_count]) and dL/d(inputs) ([batch][input_count]); either may be null to skip it.
  // Costs a few forward passes, independent of the number of outputs.
  void backward(const T* grad_outputs, T* grad_params, T* grad_inputs);

  // The outputs of the last forward estimated from `shots` measurement samples per state,
  // reproducible from seed.
  void sample_outputs(std::uint64_t shots, std::uint64_t seed, T* outputs) const;

  PlanTraffic traffic() const;

  // The amplitudes of sample b after the last forward.
  std::vector<std::complex<T>> state(std::size_t b) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class BatchedSimulator<float>;
extern template class BatchedSimulator<double>;

}  // namespace hqsweep
