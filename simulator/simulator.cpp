// The batched simulator: blocks of W lanes, gates applied by the kernels, adjoint backward pass.
#include "simulator/simulator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <random>
#include <type_traits>

#include "common/error.h"
#include "simulator/kernels.h"
#include "simulator/permutation.h"
#include "simulator/product_state.h"
#include "simulator/tiles.h"

namespace hqsweep {

namespace {

constexpr int kMaxLanes = 16;
// With fused forward runs and one-sweep adjoint steps, 8 lanes beat 1 lane at every size measured
// (4..16 qubits, docs/benchmarks.md); 1 lane remains for small batches and for comparison.
// 16 lanes stop a qubit earlier: a block stays at most 2^20 amplitudes x 8 lanes.
constexpr int kLargestEightLaneQubits = 20;

// Calls f(std::integral_constant<int, W>) for the block width W = lanes (1, 8 or 16).
template <typename F>
decltype(auto) with_lanes(int lanes, F&& f) {
  switch (lanes) {
    case 16:
      return f(std::integral_constant<int, 16>{});
    case 8:
      return f(std::integral_constant<int, 8>{});
    default:
      return f(std::integral_constant<int, 1>{});
  }
}

template <typename T>
struct Coefficients {
  alignas(64) T a[8 * kMaxLanes];
};

// Angle of `gate` for every lane of a block; lanes past the batch get angle 0.
template <typename T>
void gate_angles(const Gate& gate, const T* inputs, int input_count, std::size_t first_sample,
                 std::size_t batch, int lanes, const T* params, T* out) {
  const Angle& a = gate.angle;
  for (int l = 0; l < lanes; ++l) {
    const std::size_t b = first_sample + l;
    double value = 0;
    switch (a.source) {
      case Angle::Source::constant:
        value = a.offset;
        break;
      case Angle::Source::parameter:
        value = a.scale * params[a.index] + a.offset;
        break;
      case Angle::Source::input:
        value = b < batch ? a.scale * inputs[b * input_count + a.index] + a.offset : 0;
        break;
      case Angle::Source::input_product:
        value = b < batch ? a.scale * (M_PI - inputs[b * input_count + a.index]) *
                                    (M_PI - inputs[b * input_count + a.index2]) +
                                a.offset
                          : 0;
        break;
    }
    out[l] = static_cast<T>(value);
  }
}

kernels::Generator generator_of(GateKind kind) {
  switch (kind) {
    case GateKind::rx:
    case GateKind::crx:
      return kernels::Generator::x;
    case GateKind::ry:
    case GateKind::cry:
      return kernels::Generator::y;
    case GateKind::rz:
    case GateKind::crz:
      return kernels::Generator::z;
    default:
      return kernels::Generator::minus_two_p1;
  }
}

// Whether a gate's angle is the same for every sample (a constant or a circuit parameter).
bool shared_angle(const Gate& gate) {
  return gate.angle.source == Angle::Source::constant ||
         gate.angle.source == Angle::Source::parameter;
}

// The pair operation of gate (or its inverse) for one block and its per-lane coefficients (in k,
// laid out as kernels::PairOp says). Trigonometry is computed once when the angle is shared by all
// lanes: at small n it costs more than the gate itself.
template <typename T, int W>
kernels::PairOp gate_coefficients(const Gate& gate, const T* angles, bool inverse,
                                  Coefficients<T>& k) {
  const int distinct = shared_angle(gate) ? 1 : W;
  const T sign = inverse ? T(-1) : T(1);
  auto diagonal = [&](auto phase0, auto phase1) {  // diag(e^{i phase0}, e^{i phase1}) per lane
    for (int l = 0; l < W; ++l) {
      if (l >= distinct) {
        for (int r = 0; r < 4; ++r) k.a[r * W + l] = k.a[r * W];
        continue;
      }
      const double p0 = sign * phase0(l), p1 = sign * phase1(l);
      k.a[l] = T(std::cos(p0));
      k.a[W + l] = T(std::sin(p0));
      k.a[2 * W + l] = T(std::cos(p1));
      k.a[3 * W + l] = T(std::sin(p1));
    }
    return kernels::PairOp::diagonal;
  };
  auto half_angles = [&]() {
    for (int l = 0; l < W; ++l) {
      const int from = l < distinct ? l : 0;
      k.a[l] = l < distinct ? std::cos(angles[l] / 2) : k.a[from];
      k.a[W + l] = l < distinct ? sign * std::sin(angles[l] / 2) : k.a[W + from];
    }
  };
  auto matrix = [&](const std::array<std::complex<double>, 4>& m) {
    std::array<std::complex<double>, 4> u = m;
    if (inverse) u = {std::conj(m[0]), std::conj(m[2]), std::conj(m[1]), std::conj(m[3])};
    for (int e = 0; e < 4; ++e) {
      for (int l = 0; l < W; ++l) {
        k.a[(2 * e) * W + l] = T(u[e].real());
        k.a[(2 * e + 1) * W + l] = T(u[e].imag());
      }
    }
    return kernels::PairOp::matrix;
  };
  switch (gate.kind) {
    case GateKind::rx:
    case GateKind::crx:
      half_angles();
      return kernels::PairOp::rx;
    case GateKind::ry:
    case GateKind::cry:
      half_angles();
      return kernels::PairOp::ry;
    case GateKind::rz:
    case GateKind::crz:
      return diagonal([&](int l) { return -0.5 * angles[l]; },
                      [&](int l) { return 0.5 * angles[l]; });
    case GateKind::phase_shift:
    case GateKind::cphase:
      return diagonal([](int) { return 0.0; }, [&](int l) { return double(angles[l]); });
    case GateKind::z:
    case GateKind::cz:
      return diagonal([](int) { return 0.0; }, [](int) { return M_PI; });
    case GateKind::s:
      return diagonal([](int) { return 0.0; }, [](int) { return M_PI / 2; });
    case GateKind::t:
      return diagonal([](int) { return 0.0; }, [](int) { return M_PI / 4; });
    case GateKind::x:
    case GateKind::cnot:
      return kernels::PairOp::x;
    case GateKind::h: {
      const double r = 1 / std::sqrt(2.0);
      return matrix({r, r, r, -r});
    }
    case GateKind::y:
      return matrix({0, std::complex<double>(0, -1), std::complex<double>(0, 1), 0});
    case GateKind::matrix:
      return matrix(gate.matrix);
  }
  HQSWEEP_CHECK(false, "simulator: unknown gate kind " << int(gate.kind));
  return kernels::PairOp::x;
}

// Per-lane sums of p over the amplitude runs [hi + start, hi + start + length) for hi = 0, period,
// ...
template <typename T, int W>
void sum_runs(const T* p, std::size_t amplitudes, std::size_t start, std::size_t length,
              std::size_t period, T* sums) {
  for (std::size_t hi = 0; hi < amplitudes; hi += period) {
    const T* run = p + (hi + start) * W;
    if constexpr (W == 1) {
      T sum = 0;
#pragma omp simd reduction(+ : sum)
      for (std::size_t k = 0; k < length; ++k) sum += run[k];
      sums[0] += sum;
    } else {
      for (std::size_t k = 0; k < length; ++k) {
#pragma omp simd
        for (int l = 0; l < W; ++l) sums[l] += run[k * W + l];
      }
    }
  }
}

// Adds value[l] to w over the same runs.
template <typename T, int W>
void add_on_runs(T* w, std::size_t amplitudes, std::size_t start, std::size_t length,
                 std::size_t period, const T* value) {
  for (std::size_t hi = 0; hi < amplitudes; hi += period) {
    T* run = w + (hi + start) * W;
    for (std::size_t k = 0; k < length; ++k) {
#pragma omp simd
      for (int l = 0; l < W; ++l) run[k * W + l] += value[l];
    }
  }
}

// The 2x2 matrix of a one-qubit gate at angle a.
std::array<std::complex<double>, 4> one_qubit_matrix(const Gate& gate, double a) {
  const std::complex<double> i(0, 1);
  const double c = std::cos(a / 2), s = std::sin(a / 2), r = 1 / std::sqrt(2.0);
  switch (gate.kind) {
    case GateKind::rx:
      return {c, -i * s, -i * s, c};
    case GateKind::ry:
      return {c, -s, s, c};
    case GateKind::rz:
      return {std::complex<double>(c, -std::sin(a / 2)), 0, 0, std::complex<double>(c, s)};
    case GateKind::phase_shift:
      return {1, 0, 0, std::polar(1.0, a)};
    case GateKind::h:
      return {r, r, r, -r};
    case GateKind::x:
      return {0, 1, 1, 0};
    case GateKind::y:
      return {0, -i, i, 0};
    case GateKind::z:
      return {1, 0, 0, -1};
    case GateKind::s:
      return {1, 0, 0, i};
    case GateKind::t:
      return {1, 0, 0, std::exp(i * M_PI / 4.0)};
    case GateKind::matrix:
      return gate.matrix;
    default:
      break;
  }
  HQSWEEP_CHECK(false, "simulator: gate kind " << int(gate.kind) << " is not a one-qubit gate");
  return {};
}

// A kernel application of the forward pass, planned once per circuit: one gate, or a run of
// one-qubit gates on one wire fused into one 2x2 matrix per lane.
struct PlannedOp {
  int control = -1;
  int target = 0;
  std::vector<std::size_t> gates;  // in the order they act
  int permutation = -1;            // a run of CNOTs: index of its IndexPermutation
};

// With fusion, a run of one-qubit gates on a wire (up to the next gate that touches it with a
// control) becomes one operation; gates on other wires commute with the waiting ones.
std::vector<PlannedOp> plan_forward(const Circuit& circuit, bool fuse) {
  const std::vector<Gate>& gates = circuit.gates();
  std::vector<PlannedOp> ops;
  if (!fuse) {
    for (std::size_t i = 0; i < gates.size(); ++i)
      ops.push_back({gates[i].control, gates[i].target, {i}});
    return ops;
  }
  std::vector<std::vector<std::size_t>> pending(circuit.qubits());
  auto flush = [&](int wire) {
    if (pending[wire].empty()) return;
    ops.push_back({-1, wire, std::move(pending[wire])});
    pending[wire].clear();
  };
  for (std::size_t i = 0; i < gates.size(); ++i) {
    const Gate& gate = gates[i];
    if (gate.control < 0) {
      pending[gate.target].push_back(i);
      continue;
    }
    flush(gate.control);
    flush(gate.target);
    ops.push_back({gate.control, gate.target, {i}});
  }
  for (int wire = 0; wire < circuit.qubits(); ++wire) flush(wire);
  return ops;
}

bool is_cnot(const std::vector<Gate>& gates, const PlannedOp& op) {
  return op.gates.size() == 1 && gates[op.gates[0]].kind == GateKind::cnot;
}

std::uint32_t wire_mask(const std::vector<Gate>& gates, const PlannedOp& op) {
  std::uint32_t mask = 0;
  for (std::size_t g : op.gates) {
    mask |= std::uint32_t{1} << gates[g].target;
    if (gates[g].control >= 0) mask |= std::uint32_t{1} << gates[g].control;
  }
  return mask;
}

// Moves CNOTs together: an operation moves ahead of a run of CNOTs on other wires (they commute).
// The fused forward plan interleaves a CNOT ring with the one-qubit runs each CNOT waits for; this
// makes the ring one run.
std::vector<PlannedOp> bring_cnots_together(const std::vector<Gate>& gates,
                                            std::vector<PlannedOp> ops) {
  std::vector<PlannedOp> out;
  std::size_t run_start = 0;  // the trailing run of CNOTs in out is [run_start, out.size())
  std::uint32_t run_wires = 0;
  for (PlannedOp& op : ops) {
    if (is_cnot(gates, op)) {
      if (run_wires == 0) run_start = out.size();
      run_wires |= wire_mask(gates, op);
      out.push_back(std::move(op));
      continue;
    }
    const std::uint32_t wires = wire_mask(gates, op);
    if (run_wires != 0 && !(wires & run_wires)) {
      out.insert(out.begin() + static_cast<std::ptrdiff_t>(run_start), std::move(op));
      ++run_start;
      continue;
    }
    run_wires = 0;
    out.push_back(std::move(op));
  }
  return out;
}

// The (control, target) pairs of the CNOTs ops[first, first + count), in that order.
std::vector<std::pair<int, int>> cnot_wires(const std::vector<Gate>& gates,
                                            const std::vector<PlannedOp>& ops, std::size_t first,
                                            std::size_t count) {
  std::vector<std::pair<int, int>> wires;
  for (std::size_t i = first; i < first + count; ++i) {
    for (std::size_t g : ops[i].gates) wires.emplace_back(gates[g].control, gates[g].target);
  }
  return wires;
}

// How many CNOTs follow from ops[first] on (0 when it is not one).
std::size_t cnot_run_length(const std::vector<Gate>& gates, const std::vector<PlannedOp>& ops,
                            std::size_t first) {
  std::size_t count = 0;
  while (first + count < ops.size() && is_cnot(gates, ops[first + count])) ++count;
  return count;
}

template <typename Op>
std::vector<tiles::OpWires> wires_of(const std::vector<Op>& ops) {
  std::vector<tiles::OpWires> wires;
  for (const Op& op : ops) wires.push_back({op.control, op.target});
  return wires;
}

// The adjoint pass undoes gates [stop, end) from the last one.
struct BackwardPlan {
  std::ptrdiff_t stop = -1;
  std::vector<PlannedOp> ops;                  // one gate each, last gate first
  std::vector<kernels::Generator> generators;  // per operation
  // What one sweep does: `count` operations from `first`; two consecutive rotations on one wire
  // share a sweep (kernels::adjoint_step_pair), a run of CNOTs is one gather (permutation >= 0,
  // an index into permutations).
  struct Unit {
    std::size_t first = 0, count = 1;
    int control = -1, target = 0;
    int permutation = -1;
  };
  std::vector<IndexPermutation> permutations;
  std::vector<Unit> units;               // over ops[0, tail_first)
  std::vector<tiles::Segment> segments;  // over units
  // The product tail: ops[tail_first, end) are one-qubit gates acting on a product state (the
  // circuit starts with |0...0> and gates [0, stop) are one-qubit gates too), differentiated on
  // one 2-vector per wire (product_state.h). Per wire, the tail's gates in the order they act,
  // each with its operation (-1 for gates before stop).
  std::size_t tail_first = 0;
  struct TailGate {
    std::size_t gate = 0;
    std::ptrdiff_t op = -1;
  };
  std::vector<std::vector<TailGate>> tail;
};

bool is_rotation(const Gate& gate) {
  return gate.control < 0 &&
         (gate.kind == GateKind::rx || gate.kind == GateKind::ry || gate.kind == GateKind::rz);
}

// Per-thread buffers, reused from block to block.
template <typename T>
struct Scratch {
  std::vector<T> states;   // backward: phi and lambda
  std::vector<T> tile;     // a gathered tile
  std::vector<T> spare;    // forward: the other state of a gather
  std::vector<T> wires;    // one-qubit states of a product state, [2][qubits][2][W]
  std::vector<T> reduced;  // backward: the product tail's contractions, [2][qubits][2][W]
  std::vector<T> work;     // backward: product::contract_all_but_one's working space
  std::vector<T> probabilities;
  std::vector<Coefficients<T>> coefficients;  // per planned operation whose angles vary by sample
  std::vector<kernels::PairOp> kinds;
  std::vector<const T*> coefficient_of;  // per planned operation: this block's or the shared ones
  std::vector<T> gradients;              // backward: dL/d(angle) per operation and lane
};

// Every wire's one-qubit state set to |0>, in scratch.wires; returns the real parts, [qubits][2][W]
// (the imaginary parts follow).
template <typename T, int W>
T* wires_at_zero(Scratch<T>& scratch, int qubits) {
  scratch.wires.assign(4 * qubits * W, T(0));
  T* wire_re = scratch.wires.data();
  for (int w = 0; w < qubits; ++w) std::fill(wire_re + 2 * w * W, wire_re + (2 * w + 1) * W, T(1));
  return wire_re;
}

}  // namespace

int default_lanes(int qubits, std::size_t value_bytes, const CpuGeometry& cpu) {
  if (qubits > kLargestEightLaneQubits) return 1;
  const bool one_register = cpu.vector_bits >= 512 && value_bytes <= 4;
  if (!one_register || qubits >= kLargestEightLaneQubits) return 8;
  // Where the adjoint pass's states of 8 lanes fit the cache and those of 16 do not, 8 lanes
  // keep whole-state passes (16 qubits here: fwd+bwd 156 against 206 ms, docs/benchmarks.md).
  auto adjoint_fits = [&](int lanes) {
    return tiles::states_fit_cache(qubits, 2 * lanes * value_bytes, 4, cpu);
  };
  return !adjoint_fits(16) && adjoint_fits(8) ? 8 : 16;
}

template <typename T>
struct BatchedSimulator<T>::Impl {
  Circuit circuit;
  SimulatorOptions options;
  CpuGeometry cpu;
  int lanes;
  std::size_t amplitudes;
  std::vector<PlannedOp> forward_ops;
  // Operations that act before any two-qubit gate on their wire: the forward pass starts from the
  // product state they make (none with an amplitude embedding).
  std::vector<char> forward_initial;
  std::vector<IndexPermutation> forward_permutations;
  std::vector<tiles::Segment> forward_segments;
  // Per operation: it and the next one of its segment (one-qubit matrices on two wires) share a
  // sweep (kernels::apply_matrix_pair).
  std::vector<char> forward_pairs_next;
  BackwardPlan backward_plan;
  // Planned operations whose angles are the same in every sample (circuit parameters,
  // constants) get their coefficients once per call rather than once per block: at small n the
  // trigonometry costs more than the gates.
  struct SharedCoefficients {
    std::vector<char> shared;  // per operation
    std::vector<Coefficients<T>> coefficients;
    std::vector<kernels::PairOp> kinds;
  };
  SharedCoefficients forward_shared, backward_shared;
  std::size_t batch = 0;
  std::size_t blocks = 0;
  std::vector<T> inputs;  // of the last forward
  std::vector<T> params;
  std::vector<T> states;  // final states, blocks x (re, im) x amplitudes x lanes
  std::vector<T> norms;   // amplitude embedding: |x| per sample

  Impl(Circuit c, SimulatorOptions o)
      : circuit(std::move(c)),
        options(o),
        cpu(o.cpu ? *o.cpu : cpu_geometry()),
        lanes(o.lanes == 0 ? default_lanes(circuit.qubits(), sizeof(T), cpu) : o.lanes),
        amplitudes(std::size_t{1} << circuit.qubits()) {
    if (lanes != 1 && lanes != 8 && lanes != 16)
      throw Error("simulator: lanes must be 1, 8 or 16, got " + std::to_string(lanes));
    if (options.threads < 1) throw Error("simulator: threads must be at least 1");
    if (options.tile_qubits != 0 && options.tile_qubits < 2) {
      throw Error(
          "simulator: tile_qubits must be 0 (chosen from the cache size) or at least 2, got " +
          std::to_string(options.tile_qubits));
    }
    const int n = circuit.qubits();
    const bool fuse =
        options.fusion == SimulatorOptions::Fusion::always ||
        (options.fusion == SimulatorOptions::Fusion::automatic && n >= kSmallestFusedQubits);
    forward_ops = plan_forward(circuit, fuse);
    if (options.gather_cnots && whole_state_passes(Pass::forward)) {
      // Each run of CNOTs becomes one operation.
      const std::vector<Gate>& gates = circuit.gates();
      std::vector<PlannedOp> ops = bring_cnots_together(gates, std::move(forward_ops));
      forward_ops.clear();
      for (std::size_t i = 0; i < ops.size(); ++i) {
        const std::size_t count = cnot_run_length(gates, ops, i);
        if (count < 2) {
          forward_ops.push_back(std::move(ops[i]));
          continue;
        }
        PlannedOp run;
        for (std::size_t j = i; j < i + count; ++j) run.gates.push_back(ops[j].gates[0]);
        run.permutation = static_cast<int>(forward_permutations.size());
        forward_permutations.emplace_back(n, cnot_wires(gates, ops, i, count));
        forward_ops.push_back(std::move(run));
        i += count - 1;
      }
    }
    forward_segments = tiles::plan_segments(wires_of(forward_ops), n, tile_qubits(Pass::forward));
    if (!circuit.amplitude_input()) {
      const std::vector<Gate>& gates = circuit.gates();
      std::uint32_t entangled = 0;
      for (const PlannedOp& op : forward_ops) {
        const bool one_qubit = op.permutation < 0 && op.control < 0;
        forward_initial.push_back(one_qubit && !(entangled & (std::uint32_t{1} << op.target)));
        if (!one_qubit) entangled |= wire_mask(gates, op);
      }
    }
    plan_forward_pairs();
  }

  // Pairs consecutive operations of a segment that are one-qubit matrices on different wires
  // (fused runs, or H, Y and matrix gates: what gate_coefficients makes a PairOp::matrix), after
  // forward_initial is known: operations in the start state take no sweep.
  void plan_forward_pairs() {
    const std::vector<Gate>& gates = circuit.gates();
    auto is_matrix = [&](std::size_t i) {
      const PlannedOp& op = forward_ops[i];
      if (op.control >= 0 || op.permutation >= 0) return false;
      if (!forward_initial.empty() && forward_initial[i]) return false;
      if (op.gates.size() > 1) return true;
      const GateKind kind = gates[op.gates[0]].kind;
      return kind == GateKind::h || kind == GateKind::y || kind == GateKind::matrix;
    };
    forward_pairs_next.assign(forward_ops.size(), 0);
    if (!options.pair_wires) return;
    for (const tiles::Segment& segment : forward_segments) {
      for (std::size_t k = 0; k + 1 < segment.ops.size(); ++k) {
        const std::size_t i = segment.ops[k], j = segment.ops[k + 1];
        if (is_matrix(i) && is_matrix(j) && forward_ops[i].target != forward_ops[j].target) {
          forward_pairs_next[i] = 1;
          ++k;
        }
      }
    }
  }

  // Without tiles every operation sweeps the whole state, so a run of CNOTs can be one gather
  // (which touches every wire, so cannot be tiled).
  enum class Pass { forward, backward };
  bool whole_state_passes(Pass pass) const { return tile_qubits(pass) >= circuit.qubits(); }

  // The forward pass holds a state and a gather's second buffer; the adjoint pass phi, lambda and
  // their second buffers.
  int tile_qubits(Pass pass) const {
    if (options.tile_qubits != 0) return options.tile_qubits;
    return tiles::chosen_tile_qubits(circuit.qubits(), 2 * lanes * sizeof(T),
                                     pass == Pass::forward ? 2 : 4, cpu);
  }

  void plan_backward(std::ptrdiff_t stop) {
    if (backward_plan.stop == stop) return;
    const std::vector<Gate>& gates = circuit.gates();
    backward_plan.stop = stop;
    backward_plan.ops.clear();
    for (auto gi = static_cast<std::ptrdiff_t>(gates.size()) - 1; gi >= stop; --gi) {
      backward_plan.ops.push_back(
          {gates[gi].control, gates[gi].target, {static_cast<std::size_t>(gi)}});
    }
    const bool gather_cnots = options.gather_cnots && whole_state_passes(Pass::backward);
    if (gather_cnots) backward_plan.ops = bring_cnots_together(gates, std::move(backward_plan.ops));
    backward_plan.permutations.clear();
    plan_tail();
    backward_plan.generators.clear();
    for (const PlannedOp& op : backward_plan.ops)
      backward_plan.generators.push_back(generator_of(gates[op.gates[0]].kind));
    auto& units = backward_plan.units;
    units.clear();
    const auto& ops = backward_plan.ops;
    const std::size_t end = backward_plan.tail_first;
    for (std::size_t i = 0; i < end; ++i) {
      const Gate& gate = gates[ops[i].gates[0]];
      const std::size_t cnots = gather_cnots ? cnot_run_length(gates, ops, i) : 0;
      if (cnots >= 2) {
        const int permutation = static_cast<int>(backward_plan.permutations.size());
        backward_plan.permutations.emplace_back(circuit.qubits(), cnot_wires(gates, ops, i, cnots));
        units.push_back({i, cnots, -1, 0, permutation});
        i += cnots - 1;
        continue;
      }
      if (i + 1 < end && is_rotation(gate) && is_rotation(gates[ops[i + 1].gates[0]]) &&
          gates[ops[i + 1].gates[0]].target == gate.target) {
        units.push_back({i, 2, -1, gate.target});
        ++i;
      } else {
        units.push_back({i, 1, gate.control, gate.target});
      }
    }
    backward_plan.segments =
        tiles::plan_segments(wires_of(units), circuit.qubits(), tile_qubits(Pass::backward));
  }

  // Finds the product tail of backward_plan (see BackwardPlan).
  void plan_tail() {
    const std::vector<Gate>& gates = circuit.gates();
    const std::vector<PlannedOp>& ops = backward_plan.ops;
    backward_plan.tail_first = ops.size();
    backward_plan.tail.assign(circuit.qubits(), {});
    if (circuit.amplitude_input()) return;
    for (std::ptrdiff_t g = 0; g < backward_plan.stop; ++g) {
      if (gates[g].control >= 0) return;
    }
    std::size_t& first = backward_plan.tail_first;
    while (first > 0 && gates[ops[first - 1].gates[0]].control < 0) --first;
    for (std::ptrdiff_t g = 0; g < backward_plan.stop; ++g)
      backward_plan.tail[gates[g].target].push_back({static_cast<std::size_t>(g), -1});
    // ops run backwards; per wire they keep the circuit's order (bring_cnots_together moves
    // operations only past others on other wires).
    for (std::size_t i = ops.size(); i-- > first;) {
      const std::size_t g = ops[i].gates[0];
      backward_plan.tail[gates[g].target].push_back({g, static_cast<std::ptrdiff_t>(i)});
    }
  }

  // Computes the coefficients of every operation whose gates all have shared angles, with
  // compute(i, k) (which must give the same for every block then).
  template <typename F>
  void share_coefficients(const std::vector<PlannedOp>& ops, SharedCoefficients& out, F&& compute) {
    const std::vector<Gate>& gates = circuit.gates();
    out.shared.assign(ops.size(), 1);
    out.coefficients.resize(ops.size());
    out.kinds.resize(ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) {
      for (std::size_t g : ops[i].gates) out.shared[i] = out.shared[i] && shared_angle(gates[g]);
      if (out.shared[i]) out.kinds[i] = compute(i, out.coefficients[i]);
    }
  }

  // Points scratch at every operation's coefficients for one block: the shared ones, or the
  // block's own from compute(i, k).
  template <typename F>
  void collect_coefficients(const std::vector<PlannedOp>& ops, const SharedCoefficients& shared,
                            Scratch<T>& scratch, F&& compute) const {
    scratch.coefficients.resize(ops.size());
    scratch.kinds.resize(ops.size());
    scratch.coefficient_of.resize(ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (shared.shared[i]) {
        scratch.kinds[i] = shared.kinds[i];
        scratch.coefficient_of[i] = shared.coefficients[i].a;
      } else {
        scratch.kinds[i] = compute(i, scratch.coefficients[i]);
        scratch.coefficient_of[i] = scratch.coefficients[i].a;
      }
    }
  }

  std::size_t block_size() const { return 2 * amplitudes * lanes; }
  T* block_re(std::size_t block) { return states.data() + block * block_size(); }

  template <int W>
  kernels::PairOp forward_coefficients(const PlannedOp& op, std::size_t first,
                                       Coefficients<T>& k) const;
  template <int W>
  void forward_block(std::size_t block, T* outputs, Scratch<T>& scratch);
  template <int W>
  void measure_block(const T* re, const T* im, std::size_t block, T* outputs,
                     std::vector<T>& probabilities);
  template <int W>
  void backward_block(std::size_t block, const T* grad_outputs, const std::vector<char>& wanted,
                      T* grad_params, T* grad_inputs, Scratch<T>& scratch);
};

// The pair operation of a planned forward operation for the block starting at sample `first`.
template <typename T>
template <int W>
kernels::PairOp BatchedSimulator<T>::Impl::forward_coefficients(const PlannedOp& op,
                                                                std::size_t first,
                                                                Coefficients<T>& k) const {
  if (op.permutation >= 0) return kernels::PairOp::x;  // a gather, without coefficients
  const std::vector<Gate>& gates = circuit.gates();
  alignas(64) T angles[kMaxLanes];
  if (op.gates.size() == 1) {
    const Gate& gate = gates[op.gates[0]];
    gate_angles(gate, inputs.data(), circuit.input_count(), first, batch, W, params.data(), angles);
    return gate_coefficients<T, W>(gate, angles, /*inverse=*/false, k);
  }
  auto multiply = [](const std::array<std::complex<double>, 4>& a,
                     const std::array<std::complex<double>, 4>& b) {
    return std::array<std::complex<double>, 4>{a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
                                               a[2] * b[0] + a[3] * b[2],
                                               a[2] * b[1] + a[3] * b[3]};
  };
  std::array<std::complex<double>, 4> product[kMaxLanes];  // per lane, later gates on the left
  bool shared = true;  // every gate so far has the same angle in all lanes
  for (std::size_t j = 0; j < op.gates.size(); ++j) {
    const Gate& gate = gates[op.gates[j]];
    gate_angles(gate, inputs.data(), circuit.input_count(), first, batch, W, params.data(), angles);
    const bool gate_shared = shared_angle(gate);
    const std::array<std::complex<double>, 4> first_matrix = one_qubit_matrix(gate, angles[0]);
    for (int l = 0; l < W; ++l) {
      if (shared && gate_shared && l > 0) {
        product[l] = product[0];
        continue;
      }
      const auto m = gate_shared || l == 0 ? first_matrix : one_qubit_matrix(gate, angles[l]);
      product[l] = j == 0 ? m : multiply(m, product[l]);
    }
    shared = shared && gate_shared;
  }
  for (int l = 0; l < W; ++l) {
    for (int e = 0; e < 4; ++e) {
      k.a[(2 * e) * W + l] = T(product[l][e].real());
      k.a[(2 * e + 1) * W + l] = T(product[l][e].imag());
    }
  }
  return kernels::PairOp::matrix;
}

template <typename T>
template <int W>
void BatchedSimulator<T>::Impl::forward_block(std::size_t block, T* outputs, Scratch<T>& scratch) {
  const int input_count = circuit.input_count();
  T* re = block_re(block);
  T* im = re + amplitudes * W;
  const std::size_t first = block * W;
  collect_coefficients(forward_ops, forward_shared, scratch,
                       [&](std::size_t i, Coefficients<T>& k) {
                         return forward_coefficients<W>(forward_ops[i], first, k);
                       });
  if (circuit.amplitude_input()) {
    std::fill(re, re + 2 * amplitudes * W, T(0));
    for (int l = 0; l < W; ++l) {
      const std::size_t b = first + l;
      if (b >= batch) continue;
      const T* x = inputs.data() + b * input_count;
      double norm = 0;
      for (std::size_t i = 0; i < amplitudes; ++i) norm += double(x[i]) * x[i];
      norm = std::sqrt(norm);
      norms[b] = T(norm);
      if (norm == 0) {
        re[l] = 1;  // an all-zero input embeds as |0>
        continue;
      }
      for (std::size_t i = 0; i < amplitudes; ++i) re[i * W + l] = T(x[i] / norm);
    }
  } else {
    const int n = circuit.qubits();
    T* wire_re = wires_at_zero<T, W>(scratch, n);
    T* wire_im = wire_re + 2 * n * W;
    for (std::size_t i = 0; i < forward_ops.size(); ++i) {
      if (!forward_initial[i]) continue;
      const int w = forward_ops[i].target;
      kernels::apply_pair_op<T, W>(wire_re + 2 * w * W, wire_im + 2 * w * W, 1, -1, 0,
                                   scratch.kinds[i], scratch.coefficient_of[i]);
    }
    product::build<T, W>(wire_re, wire_im, n, re, im);
  }
  if (!forward_permutations.empty()) scratch.spare.resize(2 * amplitudes * W);
  for (const tiles::Segment& segment : forward_segments) {
    tiles::for_each_tile<T, W, 2>(segment, {re, im}, scratch.tile, [&](const std::array<T*, 2>& t) {
      // A gather writes to the other buffer (of the block's state and the spare), then continues
      // there; operations of CNOT runs exist only when the tile is the whole state.
      std::array<T*, 2> state = t;
      // A fused one-qubit matrix that can share its sweep with the next operation's (another wire).
      for (std::size_t k = 0; k < segment.ops.size(); ++k) {
        const std::size_t i = segment.ops[k];
        const PlannedOp& op = forward_ops[i];
        if (!forward_initial.empty() && forward_initial[i]) continue;  // in the start state
        if (forward_pairs_next[i]) {
          const std::size_t j = segment.ops[++k];
          kernels::apply_matrix_pair<T, W>(state[0], state[1], segment.qubits,
                                           segment.local[op.target], scratch.coefficient_of[i],
                                           segment.local[forward_ops[j].target],
                                           scratch.coefficient_of[j]);
          continue;
        }
        if (op.permutation >= 0) {
          const std::array<T*, 2> other =
              state[0] == t[0]
                  ? std::array<T*, 2>{scratch.spare.data(), scratch.spare.data() + amplitudes * W}
                  : t;
          forward_permutations[op.permutation].gather<T, W, 2>(state, other);
          state = other;
          continue;
        }
        kernels::apply_pair_op<T, W>(
            state[0], state[1], segment.qubits, op.control < 0 ? -1 : segment.local[op.control],
            segment.local[op.target], scratch.kinds[i], scratch.coefficient_of[i]);
      }
      if (state[0] != t[0]) std::memcpy(t[0], state[0], 2 * amplitudes * W * sizeof(T));
    });
  }
  measure_block<W>(re, im, block, outputs, scratch.probabilities);
}

template <typename T>
template <int W>
void BatchedSimulator<T>::Impl::measure_block(const T* re, const T* im, std::size_t block,
                                              T* outputs, std::vector<T>& probabilities) {
  const int n = circuit.qubits();
  const int output_count = circuit.output_count();
  probabilities.resize(amplitudes * W);
  T* p = probabilities.data();
#pragma omp simd
  for (std::size_t j = 0; j < amplitudes * W; ++j) p[j] = re[j] * re[j] + im[j] * im[j];
  T out[kMaxLanes * 64];  // used for Z-type outputs: at most 2n - 1 <= 39 per lane
  if (circuit.measurement() == Measurement::probabilities) {
    for (int l = 0; l < W; ++l) {
      const std::size_t b = block * W + l;
      if (b >= batch) continue;
      for (std::size_t i = 0; i < amplitudes; ++i) outputs[b * output_count + i] = p[i * W + l];
    }
    return;
  }
  // <Z_q> = 1 - 2 P(bit q = 1): bit q is set on the upper half of every period of 2 strides.
  for (int q = 0; q < n; ++q) {
    const std::size_t stride = std::size_t{1} << (n - 1 - q);
    T ones[kMaxLanes] = {};
    sum_runs<T, W>(p, amplitudes, stride, stride, 2 * stride, ones);
    for (int l = 0; l < W; ++l) out[q * W + l] = 1 - 2 * ones[l];
  }
  if (circuit.measurement() == Measurement::z_and_neighbour_zz) {
    // <Z_q Z_q+1> = 1 - 2 P(bit q != bit q+1): those indices are the run [s/2, 3s/2) of every
    // period 2s, s being qubit q's stride.
    for (int q = 0; q + 1 < n; ++q) {
      const std::size_t stride = std::size_t{1} << (n - 1 - q);
      T odd[kMaxLanes] = {};
      sum_runs<T, W>(p, amplitudes, stride / 2, stride, 2 * stride, odd);
      for (int l = 0; l < W; ++l) out[(n + q) * W + l] = 1 - 2 * odd[l];
    }
  }
  for (int l = 0; l < W; ++l) {
    const std::size_t b = block * W + l;
    if (b >= batch) continue;
    for (int k = 0; k < output_count; ++k) outputs[b * output_count + k] = out[k * W + l];
  }
}

template <typename T>
template <int W>
void BatchedSimulator<T>::Impl::backward_block(std::size_t block, const T* grad_outputs,
                                               const std::vector<char>& wanted, T* grad_params,
                                               T* grad_inputs, Scratch<T>& scratch) {
  const int n = circuit.qubits();
  const int input_count = circuit.input_count();
  const int output_count = circuit.output_count();
  const std::size_t first = block * W;
  const std::size_t size = amplitudes * W;
  // phi and lambda, and room for a gather of both (a run of CNOTs) to land in
  scratch.states.resize((backward_plan.permutations.empty() ? 4 : 8) * size);
  T* phi_re = scratch.states.data();
  T* phi_im = phi_re + size;
  T* lambda_re = phi_im + size;
  T* lambda_im = lambda_re + size;
  std::memcpy(phi_re, block_re(block), 2 * size * sizeof(T));

  // lambda = (sum_k g_k O_k) phi; every O_k is diagonal, so this is a real weight per amplitude.
  T* weight = lambda_re;  // built in place, then multiplied by phi
  auto g = [&](int l, int k) -> T {
    const std::size_t b = first + l;
    return b < batch ? grad_outputs[b * output_count + k] : T(0);
  };
  if (circuit.measurement() == Measurement::probabilities) {
    for (std::size_t i = 0; i < amplitudes; ++i) {
      for (int l = 0; l < W; ++l) weight[i * W + l] = g(l, static_cast<int>(i));
    }
  } else {
    // sum_q g_q (1 - 2 bit_q), built by doubling: each qubit's bit splits the index range.
    for (int l = 0; l < W; ++l) {
      T total = 0;
      for (int q = 0; q < n; ++q) total += g(l, q);
      weight[l] = total;
    }
    for (int q = n - 1; q >= 0; --q) {
      const std::size_t half = std::size_t{1} << (n - 1 - q);
      for (std::size_t i = 0; i < half; ++i) {
        for (int l = 0; l < W; ++l) weight[(i + half) * W + l] = weight[i * W + l] - 2 * g(l, q);
      }
    }
    if (circuit.measurement() == Measurement::z_and_neighbour_zz) {
      // + h_q everywhere, - 2 h_q where bit q != bit q+1 (the runs measure_block sums).
      for (int q = 0; q + 1 < n; ++q) {
        const std::size_t stride = std::size_t{1} << (n - 1 - q);
        T h[kMaxLanes], minus_two_h[kMaxLanes];
        for (int l = 0; l < W; ++l) {
          h[l] = g(l, n + q);
          minus_two_h[l] = -2 * h[l];
        }
        add_on_runs<T, W>(weight, amplitudes, 0, amplitudes, amplitudes, h);
        add_on_runs<T, W>(weight, amplitudes, stride / 2, stride, 2 * stride, minus_two_h);
      }
    }
  }
#pragma omp simd
  for (std::size_t j = 0; j < size; ++j) {
    lambda_im[j] = weight[j] * phi_im[j];
    lambda_re[j] = weight[j] * phi_re[j];
  }

  // Walk the gates backwards as planned: each step takes the gradient of a gate from the states
  // after it and undoes it on both, tile by tile.
  const std::vector<Gate>& gates = circuit.gates();
  const std::vector<PlannedOp>& ops = backward_plan.ops;
  alignas(64) T angles[kMaxLanes];
  scratch.gradients.assign(ops.size() * W, T(0));
  collect_coefficients(ops, backward_shared, scratch, [&](std::size_t i, Coefficients<T>& k) {
    const Gate& gate = gates[ops[i].gates[0]];
    gate_angles(gate, inputs.data(), input_count, first, batch, W, params.data(), angles);
    return gate_coefficients<T, W>(gate, angles, /*inverse=*/true, k);
  });
  std::array<T*, 4> states = {phi_re, phi_im, lambda_re, lambda_im};
  auto sweep_units = [&](const tiles::Segment& segment, const std::array<T*, 4>& tile) {
    std::array<T*, 4> t = tile;
    for (std::size_t u : segment.ops) {
      const BackwardPlan::Unit& unit = backward_plan.units[u];
      const int target = segment.local[unit.target];
      const std::size_t i = unit.first;
      if (unit.permutation >= 0) {  // only when the tile is the whole state (plan_backward)
        const std::array<T*, 4> other = {t[0] == phi_re ? phi_re + 4 * size : phi_re,
                                         t[0] == phi_re ? phi_im + 4 * size : phi_im,
                                         t[0] == phi_re ? lambda_re + 4 * size : lambda_re,
                                         t[0] == phi_re ? lambda_im + 4 * size : lambda_im};
        backward_plan.permutations[unit.permutation].gather<T, W, 4>(t, other);
        t = other;
        states = other;
        continue;
      }
      if (unit.count == 2) {
        kernels::adjoint_step_pair<T, W>(
            t[0], t[1], t[2], t[3], segment.qubits, target, scratch.kinds[i],
            scratch.coefficient_of[i], backward_plan.generators[i],
            scratch.gradients.data() + i * W, scratch.kinds[i + 1], scratch.coefficient_of[i + 1],
            backward_plan.generators[i + 1], scratch.gradients.data() + (i + 1) * W);
        continue;
      }
      kernels::adjoint_step<T, W>(t[0], t[1], t[2], t[3], segment.qubits,
                                  unit.control < 0 ? -1 : segment.local[unit.control], target,
                                  scratch.kinds[i], scratch.coefficient_of[i],
                                  wanted[i] ? &backward_plan.generators[i] : nullptr,
                                  scratch.gradients.data() + i * W);
    }
  };
  for (const tiles::Segment& segment : backward_plan.segments) {
    const std::array<T*, 4> planes = states;  // sweep_units may move states by a gather
    tiles::for_each_tile<T, W, 4>(segment, planes, scratch.tile,
                                  [&](const std::array<T*, 4>& t) { sweep_units(segment, t); });
  }
  lambda_re = states[2];
  if (backward_plan.tail_first < ops.size()) {
    // The product tail: walk each wire's one-qubit state a_w and lambda contracted with the other
    // wires' states, instead of the whole state.
    T* wire_re = wires_at_zero<T, W>(scratch, n);
    T* wire_im = wire_re + 2 * n * W;
    Coefficients<T> k;
    for (int w = 0; w < n; ++w) {
      for (const BackwardPlan::TailGate& t : backward_plan.tail[w]) {
        const Gate& gate = gates[t.gate];
        gate_angles(gate, inputs.data(), input_count, first, batch, W, params.data(), angles);
        const kernels::PairOp op = gate_coefficients<T, W>(gate, angles, /*inverse=*/false, k);
        kernels::apply_pair_op<T, W>(wire_re + 2 * w * W, wire_im + 2 * w * W, 1, -1, 0, op, k.a);
      }
    }
    scratch.reduced.resize(4 * n * W);
    T* reduced_re = scratch.reduced.data();
    T* reduced_im = reduced_re + 2 * n * W;
    product::contract_all_but_one<T, W>(wire_re, wire_im, states[2], states[3], n, reduced_re,
                                        reduced_im, scratch.work);
    for (int w = 0; w < n; ++w) {
      const auto& tail = backward_plan.tail[w];
      for (auto t = tail.rbegin(); t != tail.rend() && t->op >= 0; ++t) {
        const std::size_t i = static_cast<std::size_t>(t->op);
        kernels::adjoint_step<T, W>(
            wire_re + 2 * w * W, wire_im + 2 * w * W, reduced_re + 2 * w * W,
            reduced_im + 2 * w * W, 1, -1, 0, scratch.kinds[i], scratch.coefficient_of[i],
            wanted[i] ? &backward_plan.generators[i] : nullptr, scratch.gradients.data() + i * W);
      }
    }
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (!wanted[i]) continue;
    const Angle& a = gates[ops[i].gates[0]].angle;
    const T* d_angle = scratch.gradients.data() + i * W;
    for (int l = 0; l < W; ++l) {
      const std::size_t b = first + l;
      if (b >= batch) continue;
      switch (a.source) {
        case Angle::Source::parameter:
          grad_params[a.index] += T(a.scale) * d_angle[l];
          break;
        case Angle::Source::input:
          grad_inputs[b * input_count + a.index] += T(a.scale) * d_angle[l];
          break;
        case Angle::Source::input_product: {
          const T* x = inputs.data() + b * input_count;
          grad_inputs[b * input_count + a.index] -=
              T(a.scale) * (T(M_PI) - x[a.index2]) * d_angle[l];
          grad_inputs[b * input_count + a.index2] -=
              T(a.scale) * (T(M_PI) - x[a.index]) * d_angle[l];
          break;
        }
        case Angle::Source::constant:
          break;
      }
    }
  }

  if (circuit.amplitude_input() && grad_inputs) {
    // psi0 = x / |x|: dL/dx_i = 2/|x| (Re lambda_i - psi0_i sum_j psi0_j Re lambda_j).
    for (int l = 0; l < W; ++l) {
      const std::size_t b = first + l;
      if (b >= batch || norms[b] == 0) continue;
      const T* x = inputs.data() + b * input_count;
      double dot = 0;
      for (std::size_t i = 0; i < amplitudes; ++i)
        dot += double(x[i]) / norms[b] * lambda_re[i * W + l];
      for (std::size_t i = 0; i < amplitudes; ++i) {
        grad_inputs[b * input_count + i] +=
            T(2 / double(norms[b]) * (lambda_re[i * W + l] - double(x[i]) / norms[b] * dot));
      }
    }
  }
}

template <typename T>
BatchedSimulator<T>::BatchedSimulator(Circuit circuit, SimulatorOptions options)
    : impl_(std::make_unique<Impl>(std::move(circuit), options)) {}

template <typename T>
BatchedSimulator<T>::~BatchedSimulator() = default;
template <typename T>
BatchedSimulator<T>::BatchedSimulator(BatchedSimulator&&) noexcept = default;
template <typename T>
BatchedSimulator<T>& BatchedSimulator<T>::operator=(BatchedSimulator&&) noexcept = default;

template <typename T>
const Circuit& BatchedSimulator<T>::circuit() const {
  return impl_->circuit;
}

template <typename T>
int BatchedSimulator<T>::lanes() const {
  return impl_->lanes;
}

template <typename T>
void BatchedSimulator<T>::forward(const T* inputs, std::size_t batch, const T* params, T* outputs) {
  Impl& s = *impl_;
  const Circuit& c = s.circuit;
  s.batch = batch;
  s.blocks = (batch + s.lanes - 1) / s.lanes;
  s.inputs.assign(inputs, inputs + batch * c.input_count());
  s.params.assign(params, params + c.parameter_count());
  s.states.resize(s.blocks * s.block_size());
  s.norms.assign(batch, T(0));
  auto forward_shared = [&s](std::size_t i, Coefficients<T>& k) {
    return with_lanes(s.lanes, [&](auto w) {
      return s.template forward_coefficients<decltype(w)::value>(s.forward_ops[i], 0, k);
    });
  };
  s.share_coefficients(s.forward_ops, s.forward_shared, forward_shared);
  const auto blocks = static_cast<std::ptrdiff_t>(s.blocks);
#pragma omp parallel num_threads(s.options.threads)
  {
    Scratch<T> scratch;
#pragma omp for schedule(dynamic)
    for (std::ptrdiff_t block = 0; block < blocks; ++block) {
      with_lanes(s.lanes, [&](auto w) {
        s.template forward_block<decltype(w)::value>(block, outputs, scratch);
      });
    }
  }
}

template <typename T>
void BatchedSimulator<T>::backward(const T* grad_outputs, T* grad_params, T* grad_inputs) {
  Impl& s = *impl_;
  const Circuit& c = s.circuit;
  HQSWEEP_CHECK(s.blocks > 0, "simulator: backward() before forward()");
  const std::size_t params = c.parameter_count();
  if (grad_inputs) std::fill(grad_inputs, grad_inputs + s.batch * c.input_count(), T(0));
  // One parameter-gradient row per block, summed in block order: the same result for any thread
  // count.
  std::vector<T> per_block(grad_params ? s.blocks * params : 0, T(0));
  // Walk back as far as anything still needs a gradient: to the first differentiable gate, or to
  // the start when the amplitude embedding's inputs need one.
  const std::vector<Gate>& gates = c.gates();
  std::ptrdiff_t stop = static_cast<std::ptrdiff_t>(gates.size());
  if (c.amplitude_input() && grad_inputs) {
    stop = 0;
  } else {
    for (std::size_t i = 0; i < gates.size(); ++i) {
      if (is_differentiable(gates[i])) {
        stop = static_cast<std::ptrdiff_t>(i);
        break;
      }
    }
  }
  s.plan_backward(stop);
  auto backward_shared = [&s, &gates](std::size_t i, Coefficients<T>& k) {
    const Gate& gate = gates[s.backward_plan.ops[i].gates[0]];
    alignas(64) T angles[kMaxLanes];
    gate_angles(gate, s.inputs.data(), s.circuit.input_count(), 0, s.batch, s.lanes,
                s.params.data(), angles);
    return with_lanes(s.lanes, [&](auto w) {
      return gate_coefficients<T, decltype(w)::value>(gate, angles, /*inverse=*/true, k);
    });
  };
  s.share_coefficients(s.backward_plan.ops, s.backward_shared, backward_shared);
  std::vector<char> wanted;
  for (const PlannedOp& op : s.backward_plan.ops) {
    const Gate& gate = gates[op.gates[0]];
    const bool parameter = gate.angle.source == Angle::Source::parameter;
    wanted.push_back(is_differentiable(gate) &&
                     ((parameter && grad_params) || (!parameter && grad_inputs)));
  }
  const auto blocks = static_cast<std::ptrdiff_t>(s.blocks);
#pragma omp parallel num_threads(s.options.threads)
  {
    Scratch<T> scratch;
#pragma omp for schedule(dynamic)
    for (std::ptrdiff_t block = 0; block < blocks; ++block) {
      T* row = grad_params ? per_block.data() + block * params : nullptr;
      with_lanes(s.lanes, [&](auto w) {
        s.template backward_block<decltype(w)::value>(block, grad_outputs, wanted, row, grad_inputs,
                                                      scratch);
      });
    }
  }
  if (grad_params) {
    std::fill(grad_params, grad_params + params, T(0));
    for (std::size_t block = 0; block < s.blocks; ++block) {
      for (std::size_t p = 0; p < params; ++p) grad_params[p] += per_block[block * params + p];
    }
  }
}

// Counts what forward_block and backward_block read and write, pass by pass: a pass over a state
// reads and writes it; a segment of tiles brings every tile in and out once (a contiguous one is
// used in place, which costs its first and last operation the same); the measurement reads the
// state, writes the probabilities (half a state) and reads a quarter of a state per qubit.
template <typename T>
PlanTraffic BatchedSimulator<T>::traffic() const {
  const Impl& s = *impl_;
  const int n = s.circuit.qubits();
  PlanTraffic t;
  t.lanes = s.lanes;
  t.forward_tile_qubits = std::min(s.tile_qubits(Impl::Pass::forward), n);
  t.backward_tile_qubits = std::min(s.tile_qubits(Impl::Pass::backward), n);
  t.state_bytes = 2 * s.amplitudes * s.lanes * sizeof(T);
  const double state = double(t.state_bytes);
  auto count = [&](const std::vector<tiles::Segment>& segments, double states, double& level,
                   double& tile, auto&& skipped) {
    const bool tiled =
        !s.whole_state_passes(states == 1 ? Impl::Pass::forward : Impl::Pass::backward);
    for (const tiles::Segment& segment : segments) {
      std::size_t applied = 0;
      for (std::size_t i : segment.ops) applied += skipped(i) ? 0 : 1;
      if (applied == 0) continue;
      if (tiled) {
        level += 2 * states * state;
        tile += 2 * states * state * double(applied);
      } else {
        level += 2 * states * state * double(applied);
      }
    }
  };
  const bool product_start = !s.forward_initial.empty();
  if (product_start) t.forward_level_bytes += state;  // the state built from the wires' vectors
  // An operation in the start state takes no sweep, nor does the second of a pair.
  std::vector<char> no_sweep(s.forward_ops.size(), 0);
  for (std::size_t i = 0; i < s.forward_ops.size(); ++i) {
    if (product_start && s.forward_initial[i]) no_sweep[i] = 1;
  }
  for (const tiles::Segment& segment : s.forward_segments) {
    for (std::size_t k = 0; k + 1 < segment.ops.size(); ++k) {
      if (s.forward_pairs_next[segment.ops[k]]) no_sweep[segment.ops[++k]] = 1;
    }
  }
  count(s.forward_segments, 1, t.forward_level_bytes, t.forward_tile_bytes,
        [&](std::size_t i) { return no_sweep[i] != 0; });
  t.forward_level_bytes += 1.5 * state + 0.25 * state * n;
  if (s.backward_plan.stop >= 0) {
    // phi copied in, the weights written, lambda = weight * phi; then the units; then the product
    // tail's two passes over lambda.
    t.backward_level_bytes += 2 * state + 3 * state;
    count(s.backward_plan.segments, 2, t.backward_level_bytes, t.backward_tile_bytes,
          [](std::size_t) { return false; });
    if (s.backward_plan.tail_first < s.backward_plan.ops.size())
      t.backward_level_bytes += 2 * state;
  }
  return t;
}

template <typename T>
std::vector<std::complex<T>> BatchedSimulator<T>::state(std::size_t b) const {
  const Impl& s = *impl_;
  HQSWEEP_CHECK(b < s.batch, "simulator: sample " << b << " is outside the batch of " << s.batch);
  const std::size_t block = b / s.lanes, lane = b % s.lanes;
  const T* re = s.states.data() + block * s.block_size();
  const T* im = re + s.amplitudes * s.lanes;
  std::vector<std::complex<T>> out(s.amplitudes);
  for (std::size_t i = 0; i < s.amplitudes; ++i)
    out[i] = {re[i * s.lanes + lane], im[i * s.lanes + lane]};
  return out;
}

template <typename T>
void BatchedSimulator<T>::sample_outputs(std::uint64_t shots, std::uint64_t seed,
                                         T* outputs) const {
  const Impl& s = *impl_;
  const Circuit& c = s.circuit;
  HQSWEEP_CHECK(s.blocks > 0, "simulator: sample_outputs() before forward()");
  HQSWEEP_CHECK(shots > 0, "simulator: shots must be positive");
  const int n = c.qubits();
  const int output_count = c.output_count();
  std::vector<double> cdf(s.amplitudes);
  std::vector<std::uint64_t> counts(s.amplitudes);
  for (std::size_t b = 0; b < s.batch; ++b) {
    std::vector<std::complex<T>> amplitudes = state(b);
    double total = 0;
    for (std::size_t i = 0; i < s.amplitudes; ++i) {
      total += std::norm(std::complex<double>(amplitudes[i]));
      cdf[i] = total;
    }
    std::fill(counts.begin(), counts.end(), 0);
    std::mt19937_64 rng(seed ^ (0x9E3779B97F4A7C15ULL * (b + 1)));
    for (std::uint64_t shot = 0; shot < shots; ++shot) {
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * total;
      auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
      counts[std::min<std::size_t>(it - cdf.begin(), s.amplitudes - 1)]++;
    }
    T* out = outputs + b * output_count;
    std::fill(out, out + output_count, T(0));
    for (std::size_t i = 0; i < s.amplitudes; ++i) {
      if (counts[i] == 0) continue;
      const T frequency = T(double(counts[i]) / double(shots));
      if (c.measurement() == Measurement::probabilities) {
        out[i] = frequency;
        continue;
      }
      for (int q = 0; q < n; ++q) out[q] += ((i >> (n - 1 - q)) & 1) ? -frequency : frequency;
      if (c.measurement() == Measurement::z_and_neighbour_zz) {
        for (int q = 0; q + 1 < n; ++q) {
          out[n + q] += (((i ^ (i >> 1)) >> (n - 2 - q)) & 1) ? -frequency : frequency;
        }
      }
    }
  }
}

template class BatchedSimulator<float>;
template class BatchedSimulator<double>;

}  // namespace hqsweep
