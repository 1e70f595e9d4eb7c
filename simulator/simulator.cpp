// The batched simulator: blocks of W lanes, gates applied by the kernels, adjoint backward pass.
#include "simulator/simulator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <random>

#include "common/error.h"
#include "simulator/kernels.h"

namespace hqsweep {

namespace {

constexpr int kMaxLanes = 8;
// With fused forward runs and one-sweep adjoint steps, 8 lanes beat 1 lane at every size measured
// (4..16 qubits, docs/benchmarks.md); 1 lane remains for small batches and for comparison.
constexpr int kLargestEightLaneQubits = 20;

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
      case Angle::Source::Constant:
        value = a.offset;
        break;
      case Angle::Source::Parameter:
        value = a.scale * params[a.index] + a.offset;
        break;
      case Angle::Source::Input:
        value = b < batch ? a.scale * inputs[b * input_count + a.index] + a.offset : 0;
        break;
      case Angle::Source::InputProduct:
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
    case GateKind::RX:
    case GateKind::CRX:
      return kernels::Generator::X;
    case GateKind::RY:
    case GateKind::CRY:
      return kernels::Generator::Y;
    case GateKind::RZ:
    case GateKind::CRZ:
      return kernels::Generator::Z;
    default:
      return kernels::Generator::MinusTwoP1;
  }
}

// Whether a gate's angle is the same for every sample (a constant or a circuit parameter).
bool shared_angle(const Gate& gate) {
  return gate.angle.source == Angle::Source::Constant ||
         gate.angle.source == Angle::Source::Parameter;
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
    return kernels::PairOp::Diagonal;
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
    return kernels::PairOp::Matrix;
  };
  switch (gate.kind) {
    case GateKind::RX:
    case GateKind::CRX:
      half_angles();
      return kernels::PairOp::RX;
    case GateKind::RY:
    case GateKind::CRY:
      half_angles();
      return kernels::PairOp::RY;
    case GateKind::RZ:
    case GateKind::CRZ:
      return diagonal([&](int l) { return -0.5 * angles[l]; },
                      [&](int l) { return 0.5 * angles[l]; });
    case GateKind::PhaseShift:
    case GateKind::CPhase:
      return diagonal([](int) { return 0.0; }, [&](int l) { return double(angles[l]); });
    case GateKind::Z:
    case GateKind::CZ:
      return diagonal([](int) { return 0.0; }, [](int) { return M_PI; });
    case GateKind::S:
      return diagonal([](int) { return 0.0; }, [](int) { return M_PI / 2; });
    case GateKind::T:
      return diagonal([](int) { return 0.0; }, [](int) { return M_PI / 4; });
    case GateKind::X:
    case GateKind::CNOT:
      return kernels::PairOp::X;
    case GateKind::H: {
      const double r = 1 / std::sqrt(2.0);
      return matrix({r, r, r, -r});
    }
    case GateKind::Y:
      return matrix({0, std::complex<double>(0, -1), std::complex<double>(0, 1), 0});
    case GateKind::Matrix:
      return matrix(gate.matrix);
  }
  HQSWEEP_CHECK(false, "simulator: unknown gate kind " << int(gate.kind));
  return kernels::PairOp::X;
}

// Applies gate (or its inverse) with per-lane angles to one block.
template <typename T, int W>
void apply_gate(T* re, T* im, int qubits, const Gate& gate, const T* angles, bool inverse) {
  Coefficients<T> k;
  const kernels::PairOp op = gate_coefficients<T, W>(gate, angles, inverse, k);
  kernels::apply_pair_op<T, W>(re, im, qubits, gate.control, gate.target, op, k.a);
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
    case GateKind::RX:
      return {c, -i * s, -i * s, c};
    case GateKind::RY:
      return {c, -s, s, c};
    case GateKind::RZ:
      return {std::exp(-i * a / 2.0), 0, 0, std::exp(i * a / 2.0)};
    case GateKind::PhaseShift:
      return {1, 0, 0, std::exp(i * a)};
    case GateKind::H:
      return {r, r, r, -r};
    case GateKind::X:
      return {0, 1, 1, 0};
    case GateKind::Y:
      return {0, -i, i, 0};
    case GateKind::Z:
      return {1, 0, 0, -1};
    case GateKind::S:
      return {1, 0, 0, i};
    case GateKind::T:
      return {1, 0, 0, std::exp(i * M_PI / 4.0)};
    case GateKind::Matrix:
      return gate.matrix;
    default:
      break;
  }
  HQSWEEP_CHECK(false, "simulator: gate kind " << int(gate.kind) << " is not a one-qubit gate");
  return {};
}

// Gates waiting on one wire to be applied as one pass (forward fusion).
template <typename T>
struct PendingWire {
  int count = 0;
  bool shared = true;  // every waiting gate has the same angle in all lanes
  const Gate* first = nullptr;
  T first_angles[kMaxLanes];
  std::array<std::complex<double>, 4> product[kMaxLanes];  // per lane, the later gates on the left
};

}  // namespace

int default_lanes(int qubits) {
  return qubits <= kLargestEightLaneQubits ? 8 : 1;
}

template <typename T>
struct BatchedSimulator<T>::Impl {
  Circuit circuit;
  SimulatorOptions options;
  int lanes;
  std::size_t amplitudes;
  std::size_t batch = 0;
  std::size_t blocks = 0;
  std::vector<T> inputs;  // of the last forward
  std::vector<T> params;
  std::vector<T> states;  // final states, blocks x (re, im) x amplitudes x lanes
  std::vector<T> norms;   // amplitude embedding: |x| per sample

  Impl(Circuit c, SimulatorOptions o)
      : circuit(std::move(c)),
        options(o),
        lanes(o.lanes == 0 ? default_lanes(circuit.qubits()) : o.lanes),
        amplitudes(std::size_t{1} << circuit.qubits()) {
    if (lanes != 1 && lanes != 8)
      throw Error("simulator: lanes must be 1 or 8, got " + std::to_string(lanes));
    if (options.threads < 1) throw Error("simulator: threads must be at least 1");
  }

  std::size_t block_size() const { return 2 * amplitudes * lanes; }
  T* block_re(std::size_t block) { return states.data() + block * block_size(); }

  template <int W>
  void forward_block(std::size_t block, T* outputs, std::vector<T>& scratch);
  template <int W>
  void measure_block(const T* re, const T* im, std::size_t block, T* outputs,
                     std::vector<T>& probabilities);
  template <int W>
  void backward_block(std::size_t block, const T* grad_outputs, T* grad_params, T* grad_inputs,
                      std::vector<T>& scratch);
};

template <typename T>
template <int W>
void BatchedSimulator<T>::Impl::forward_block(std::size_t block, T* outputs,
                                              std::vector<T>& scratch) {
  const int n = circuit.qubits();
  const int input_count = circuit.input_count();
  T* re = block_re(block);
  T* im = re + amplitudes * W;
  std::fill(re, re + 2 * amplitudes * W, T(0));
  const std::size_t first = block * W;
  if (circuit.amplitude_input()) {
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
    for (int l = 0; l < W; ++l) re[l] = 1;
  }
  alignas(64) T angles[kMaxLanes];
  const bool fuse = options.fusion == SimulatorOptions::Fusion::Always ||
                    (options.fusion == SimulatorOptions::Fusion::Auto && n >= kSmallestFusedQubits);
  if (!fuse) {
    for (const Gate& gate : circuit.gates()) {
      gate_angles(gate, inputs.data(), input_count, first, batch, W, params.data(), angles);
      apply_gate<T, W>(re, im, n, gate, angles, /*inverse=*/false);
    }
    measure_block<W>(re, im, block, outputs, scratch);
    return;
  }
  // One pass per run of one-qubit gates on a wire: a lone gate keeps its own kernel, two or more
  // become one 2x2 matrix per lane. Gates on other wires commute with the waiting ones.
  std::array<PendingWire<T>, 20> pending;  // at most 20 qubits
  auto flush = [&](int wire) {
    PendingWire<T>& p = pending[wire];
    if (p.count == 1) {
      apply_gate<T, W>(re, im, n, *p.first, p.first_angles, /*inverse=*/false);
    } else if (p.count > 1) {
      alignas(64) T m[8 * kMaxLanes];
      for (int l = 0; l < W; ++l) {
        for (int e = 0; e < 4; ++e) {
          m[(2 * e) * W + l] = T(p.product[l][e].real());
          m[(2 * e + 1) * W + l] = T(p.product[l][e].imag());
        }
      }
      kernels::apply_pair_op<T, W>(re, im, n, -1, wire, kernels::PairOp::Matrix, m);
    }
    p.count = 0;
  };
  auto multiply = [](const std::array<std::complex<double>, 4>& a,
                     const std::array<std::complex<double>, 4>& b) {
    return std::array<std::complex<double>, 4>{a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
                                               a[2] * b[0] + a[3] * b[2],
                                               a[2] * b[1] + a[3] * b[3]};
  };
  for (const Gate& gate : circuit.gates()) {
    gate_angles(gate, inputs.data(), input_count, first, batch, W, params.data(), angles);
    if (gate.control >= 0) {
      flush(gate.control);
      flush(gate.target);
      apply_gate<T, W>(re, im, n, gate, angles, /*inverse=*/false);
      continue;
    }
    PendingWire<T>& p = pending[gate.target];
    if (p.count == 0) {
      p.first = &gate;
      p.shared = shared_angle(gate);
      std::copy(angles, angles + W, p.first_angles);
    } else {
      const bool was_shared = p.shared;
      p.shared = p.shared && shared_angle(gate);
      for (int l = 0; l < W; ++l) {
        if (p.count == 1)
          p.product[l] = one_qubit_matrix(*p.first, p.first_angles[was_shared ? 0 : l]);
        p.product[l] = p.shared && l > 0
                           ? p.product[0]
                           : multiply(one_qubit_matrix(gate, angles[l]), p.product[l]);
      }
    }
    ++p.count;
  }
  for (int wire = 0; wire < n; ++wire) flush(wire);
  measure_block<W>(re, im, block, outputs, scratch);
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
  if (circuit.measurement() == Measurement::Probabilities) {
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
  if (circuit.measurement() == Measurement::ZAndNeighbourZZ) {
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
                                               T* grad_params, T* grad_inputs,
                                               std::vector<T>& scratch) {
  const int n = circuit.qubits();
  const int input_count = circuit.input_count();
  const int output_count = circuit.output_count();
  const std::size_t first = block * W;
  const std::size_t size = amplitudes * W;
  scratch.resize(4 * size);
  T* phi_re = scratch.data();
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
  if (circuit.measurement() == Measurement::Probabilities) {
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
    if (circuit.measurement() == Measurement::ZAndNeighbourZZ) {
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

  // Walk the gates backwards as far as anything still needs a gradient.
  const std::vector<Gate>& gates = circuit.gates();
  std::ptrdiff_t stop = circuit.amplitude_input() && grad_inputs ? 0 : -1;
  if (stop < 0) {
    for (std::size_t i = 0; i < gates.size(); ++i) {
      if (is_differentiable(gates[i])) {
        stop = static_cast<std::ptrdiff_t>(i);
        break;
      }
    }
  }
  alignas(64) T angles[kMaxLanes];
  const bool walk_to_start = circuit.amplitude_input() && grad_inputs;
  for (std::ptrdiff_t gi = static_cast<std::ptrdiff_t>(gates.size()) - 1; gi >= 0 && gi >= stop;
       --gi) {
    const Gate& gate = gates[gi];
    const Angle& a = gate.angle;
    const bool wanted =
        is_differentiable(gate) && ((a.source == Angle::Source::Parameter && grad_params) ||
                                    (a.source != Angle::Source::Parameter && grad_inputs));
    T d_angle[kMaxLanes] = {};
    const kernels::Generator generator = generator_of(gate.kind);
    if (gi == stop && !walk_to_start) {
      // The last step: only the gradient, nothing earlier needs the states.
      if (wanted) {
        kernels::generator_overlap<T, W>(lambda_re, lambda_im, phi_re, phi_im, n, gate.control,
                                         gate.target, generator, d_angle);
      }
    } else {
      // Gradient and undo of the gate on both states in one sweep.
      gate_angles(gate, inputs.data(), input_count, first, batch, W, params.data(), angles);
      Coefficients<T> k;
      const kernels::PairOp op = gate_coefficients<T, W>(gate, angles, /*inverse=*/true, k);
      kernels::adjoint_step<T, W>(phi_re, phi_im, lambda_re, lambda_im, n, gate.control,
                                  gate.target, op, k.a, wanted ? &generator : nullptr, d_angle);
    }
    if (!wanted) continue;
    for (int l = 0; l < W; ++l) {
      const std::size_t b = first + l;
      if (b >= batch) continue;
      switch (a.source) {
        case Angle::Source::Parameter:
          grad_params[a.index] += T(a.scale) * d_angle[l];
          break;
        case Angle::Source::Input:
          grad_inputs[b * input_count + a.index] += T(a.scale) * d_angle[l];
          break;
        case Angle::Source::InputProduct: {
          const T* x = inputs.data() + b * input_count;
          grad_inputs[b * input_count + a.index] -=
              T(a.scale) * (T(M_PI) - x[a.index2]) * d_angle[l];
          grad_inputs[b * input_count + a.index2] -=
              T(a.scale) * (T(M_PI) - x[a.index]) * d_angle[l];
          break;
        }
        case Angle::Source::Constant:
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
  const auto blocks = static_cast<std::ptrdiff_t>(s.blocks);
#pragma omp parallel num_threads(s.options.threads)
  {
    std::vector<T> scratch;
#pragma omp for schedule(dynamic)
    for (std::ptrdiff_t block = 0; block < blocks; ++block) {
      if (s.lanes == 8) {
        s.template forward_block<8>(block, outputs, scratch);
      } else {
        s.template forward_block<1>(block, outputs, scratch);
      }
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
  const auto blocks = static_cast<std::ptrdiff_t>(s.blocks);
#pragma omp parallel num_threads(s.options.threads)
  {
    std::vector<T> scratch;
#pragma omp for schedule(dynamic)
    for (std::ptrdiff_t block = 0; block < blocks; ++block) {
      T* row = grad_params ? per_block.data() + block * params : nullptr;
      if (s.lanes == 8) {
        s.template backward_block<8>(block, grad_outputs, row, grad_inputs, scratch);
      } else {
        s.template backward_block<1>(block, grad_outputs, row, grad_inputs, scratch);
      }
    }
  }
  if (grad_params) {
    std::fill(grad_params, grad_params + params, T(0));
    for (std::size_t block = 0; block < s.blocks; ++block) {
      for (std::size_t p = 0; p < params; ++p) grad_params[p] += per_block[block * params + p];
    }
  }
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
      if (c.measurement() == Measurement::Probabilities) {
        out[i] = frequency;
        continue;
      }
      for (int q = 0; q < n; ++q) out[q] += ((i >> (n - 1 - q)) & 1) ? -frequency : frequency;
      if (c.measurement() == Measurement::ZAndNeighbourZZ) {
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
