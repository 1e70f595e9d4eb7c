// Tests for the batched simulator against a dense-matrix reference written here, finite
// differences and the parameter-shift rule.
#include "simulator/simulator.h"

#include <cmath>
#include <complex>
#include <random>

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/product_state.h"
#include "simulator/tiles.h"

namespace hqsweep {
namespace {

using cd = std::complex<double>;

// Every block width the simulator has.
constexpr int kLaneCounts[] = {1, 8, 16};

SimulatorOptions options_for(
    int threads, int lanes, SimulatorOptions::Fusion fusion = SimulatorOptions::Fusion::automatic) {
  SimulatorOptions options;
  options.threads = threads;
  options.lanes = lanes;
  options.fusion = fusion;
  return options;
}
using Dense = std::vector<cd>;  // row-major 2^n x 2^n

// The full-register matrix of a 2x2 gate u on target (optionally controlled), qubit 0 = MSB.
Dense full_matrix(int n, int control, int target, const std::array<cd, 4>& u) {
  const std::size_t dim = std::size_t{1} << n;
  Dense m(dim * dim, 0);
  for (std::size_t col = 0; col < dim; ++col) {
    const bool control_on = control < 0 || ((col >> (n - 1 - control)) & 1);
    if (!control_on) {
      m[col * dim + col] = 1;
      continue;
    }
    const int bit = (col >> (n - 1 - target)) & 1;
    const std::size_t base = col & ~(std::size_t{1} << (n - 1 - target));
    const std::size_t row0 = base, row1 = base | (std::size_t{1} << (n - 1 - target));
    m[row0 * dim + col] += u[0 * 2 + bit];
    m[row1 * dim + col] += u[1 * 2 + bit];
  }
  return m;
}

std::array<cd, 4> gate_matrix(GateKind kind, double a) {
  const cd i(0, 1);
  const double c = std::cos(a / 2), s = std::sin(a / 2), r = 1 / std::sqrt(2.0);
  switch (kind) {
    case GateKind::rx:
    case GateKind::crx:
      return {c, -i * s, -i * s, c};
    case GateKind::ry:
    case GateKind::cry:
      return {c, -s, s, c};
    case GateKind::rz:
    case GateKind::crz:
      return {std::exp(-i * a / 2.0), 0, 0, std::exp(i * a / 2.0)};
    case GateKind::phase_shift:
    case GateKind::cphase:
      return {1, 0, 0, std::exp(i * a)};
    case GateKind::h:
      return {r, r, r, -r};
    case GateKind::x:
    case GateKind::cnot:
      return {0, 1, 1, 0};
    case GateKind::y:
      return {0, -i, i, 0};
    case GateKind::z:
    case GateKind::cz:
      return {1, 0, 0, -1};
    case GateKind::s:
      return {1, 0, 0, i};
    case GateKind::t:
      return {1, 0, 0, std::exp(i * M_PI / 4.0)};
    case GateKind::matrix:
      break;
  }
  return {};
}

std::vector<cd> multiply(const Dense& m, const std::vector<cd>& v) {
  std::vector<cd> out(v.size(), 0);
  for (std::size_t r = 0; r < v.size(); ++r) {
    for (std::size_t c = 0; c < v.size(); ++c) out[r] += m[r * v.size() + c] * v[c];
  }
  return out;
}

template <typename T>
class SimulatorTest : public ::testing::Test {
 protected:
  static double tolerance() { return std::is_same_v<T, float> ? 2e-5 : 1e-12; }
};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(SimulatorTest, Precisions);

// A random complex state is made by an amplitude embedding followed by RX/RZ on every qubit.
TYPED_TEST(SimulatorTest, EveryGateMatchesItsDenseMatrix) {
  using T = TypeParam;
  const int n = 3;
  const std::size_t dim = 8;
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> u(-1, 1);
  const std::vector<GateKind> kinds = {
      GateKind::rx,     GateKind::ry,    GateKind::rz,  GateKind::phase_shift, GateKind::h,
      GateKind::x,      GateKind::y,     GateKind::z,   GateKind::s,           GateKind::t,
      GateKind::cnot,   GateKind::cz,    GateKind::crx, GateKind::cry,         GateKind::crz,
      GateKind::cphase, GateKind::matrix};
  for (int lanes : kLaneCounts) {
    for (GateKind kind : kinds) {
      for (auto [control, target] : {std::pair{0, 2}, std::pair{2, 0}, std::pair{1, 1}}) {
        const bool controlled = kind == GateKind::cnot || kind == GateKind::cz ||
                                kind == GateKind::crx || kind == GateKind::cry ||
                                kind == GateKind::crz || kind == GateKind::cphase;
        if (controlled && control == target) continue;
        if (!controlled) control = -1;
        Circuit c(n);
        c.use_amplitude_input();
        std::vector<double> prep;
        for (int q = 0; q < n; ++q) {
          prep.push_back(u(rng) * 3);
          c.rx(q, Angle::constant(prep.back()));
          prep.push_back(u(rng) * 3);
          c.rz(q, Angle::constant(prep.back()));
        }
        const double angle = u(rng) * 3;
        std::array<cd, 4> m = gate_matrix(kind, angle);
        if (kind == GateKind::matrix) {
          // A random unitary: RZ RY RZ with a global phase.
          const cd i(0, 1);
          double a = u(rng), b = u(rng), g = u(rng), ph = u(rng);
          m = {std::exp(i * (ph - a / 2 - g / 2)) * std::cos(b / 2),
               -std::exp(i * (ph - a / 2 + g / 2)) * std::sin(b / 2),
               std::exp(i * (ph + a / 2 - g / 2)) * std::sin(b / 2),
               std::exp(i * (ph + a / 2 + g / 2)) * std::cos(b / 2)};
          c.matrix(target, m);
        } else {
          c.add({kind, control, target, Angle::constant(angle), {}});
        }
        std::vector<T> x(dim);
        for (auto& v : x) v = T(u(rng));
        BatchedSimulator<T> sim(c, options_for(1, lanes));
        std::vector<T> out(c.output_count());
        sim.forward(x.data(), 1, nullptr, out.data());

        double norm = 0;
        for (T v : x) norm += double(v) * v;
        std::vector<cd> expected(dim);
        for (std::size_t k = 0; k < dim; ++k) expected[k] = double(x[k]) / std::sqrt(norm);
        for (int q = 0; q < n; ++q) {
          expected =
              multiply(full_matrix(n, -1, q, gate_matrix(GateKind::rx, prep[2 * q])), expected);
          expected =
              multiply(full_matrix(n, -1, q, gate_matrix(GateKind::rz, prep[2 * q + 1])), expected);
        }
        expected = multiply(full_matrix(n, control, target, m), expected);
        std::vector<std::complex<T>> got = sim.state(0);
        for (std::size_t k = 0; k < dim; ++k) {
          EXPECT_NEAR(got[k].real(), expected[k].real(), this->tolerance() * 10)
              << "gate " << int(kind) << " control " << control << " target " << target << " lanes "
              << lanes;
          EXPECT_NEAR(got[k].imag(), expected[k].imag(), this->tolerance() * 10);
        }
      }
    }
  }
}

TYPED_TEST(SimulatorTest, BellStateAndQubitOrder) {
  using T = TypeParam;
  Circuit bell(2);
  bell.h(0);
  bell.cnot(0, 1);
  bell.set_measurement(Measurement::probabilities);
  BatchedSimulator<T> sim(bell);
  std::vector<T> out(4);
  sim.forward(nullptr, 1, nullptr, out.data());
  EXPECT_NEAR(out[0], 0.5, this->tolerance());
  EXPECT_NEAR(out[3], 0.5, this->tolerance());
  // X on qubit 0 of 3 flips the most significant bit: |100> = index 4.
  Circuit flip(3);
  flip.x(0);
  flip.set_measurement(Measurement::probabilities);
  BatchedSimulator<T> flip_sim(flip);
  std::vector<T> probabilities(8);
  flip_sim.forward(nullptr, 1, nullptr, probabilities.data());
  EXPECT_NEAR(probabilities[4], 1, this->tolerance());
}

TYPED_TEST(SimulatorTest, ExpectationOfZAfterRyIsCosine) {
  using T = TypeParam;
  Circuit c(1);
  c.ry(0, Angle::input(0));
  for (int lanes : kLaneCounts) {
    BatchedSimulator<T> sim(c, options_for(1, lanes));
    std::vector<T> angles = {T(0),    T(0.3), T(1.2), T(M_PI / 2), T(2.5),
                             T(-0.7), T(3.0), T(1.0), T(0.1),      T(-2.0)};
    std::vector<T> out(angles.size());
    sim.forward(angles.data(), angles.size(), nullptr, out.data());
    for (std::size_t b = 0; b < angles.size(); ++b)
      EXPECT_NEAR(out[b], std::cos(angles[b]), this->tolerance());
  }
}

// A random circuit with every differentiable gate kind, inputs, products and parameters.
Circuit random_circuit(int n, std::mt19937& rng) {
  Circuit c(n);
  std::uniform_int_distribution<int> wire(0, n - 1);
  std::uniform_real_distribution<double> scale(0.5, 1.5);
  for (int q = 0; q < n; ++q) c.ry(q, Angle::input(q, scale(rng)));
  if (n > 1) c.rz(1, Angle::input_product(0, 1, 0.3));
  const GateKind kinds[] = {GateKind::rx,   GateKind::ry,  GateKind::rz,  GateKind::phase_shift,
                            GateKind::crx,  GateKind::cry, GateKind::crz, GateKind::cphase,
                            GateKind::cnot, GateKind::h,   GateKind::s};
  for (int g = 0; g < 6 * n; ++g) {
    GateKind kind = kinds[rng() % (n > 1 ? 11 : 4)];
    if (kind == GateKind::h || kind == GateKind::s) kind = rng() % 2 ? GateKind::h : GateKind::s;
    int target = wire(rng), control = -1;
    const bool controlled = kind == GateKind::crx || kind == GateKind::cry ||
                            kind == GateKind::crz || kind == GateKind::cphase ||
                            kind == GateKind::cnot;
    if (controlled) {
      do control = wire(rng);
      while (control == target);
    }
    Angle angle = rng() % 4 == 0 ? Angle::input(rng() % n, scale(rng))
                                 : Angle::parameter(c.add_parameter(), scale(rng));
    c.add({kind, control, target, angle, {}});
  }
  c.set_measurement(n > 1 ? Measurement::z_and_neighbour_zz : Measurement::z);
  return c;
}

TYPED_TEST(SimulatorTest, AdjointGradientsMatchFiniteDifferences) {
  using T = TypeParam;
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-1.5, 1.5);
  const double step = std::is_same_v<T, float> ? 1e-2 : 1e-6;
  const double tolerance = std::is_same_v<T, float> ? 5e-3 : 1e-7;
  for (int n = 1; n <= 8; ++n) {
    Circuit c = random_circuit(n, rng);
    const std::size_t batch = 3;
    std::vector<double> x(batch * c.input_count()), p(c.parameter_count()),
        g(batch * c.output_count());
    for (auto& v : x) v = u(rng);
    for (auto& v : p) v = u(rng);
    for (auto& v : g) v = u(rng);
    for (int lanes : kLaneCounts) {
      BatchedSimulator<T> sim(c, options_for(1, lanes));
      auto loss = [&](const std::vector<double>& xs, const std::vector<double>& ps) {
        std::vector<T> xt(xs.begin(), xs.end()), pt(ps.begin(), ps.end()), out(g.size());
        sim.forward(xt.data(), batch, pt.data(), out.data());
        double total = 0;
        for (std::size_t k = 0; k < g.size(); ++k) total += g[k] * out[k];
        return total;
      };
      loss(x, p);
      std::vector<T> gt(g.begin(), g.end()), grad_p(p.size()), grad_x(x.size());
      sim.backward(gt.data(), grad_p.data(), grad_x.data());
      for (std::size_t k = 0; k < p.size(); ++k) {
        auto plus = p, minus = p;
        plus[k] += step;
        minus[k] -= step;
        EXPECT_NEAR(grad_p[k], (loss(x, plus) - loss(x, minus)) / (2 * step), tolerance)
            << "n=" << n << " lanes=" << lanes << " parameter " << k;
      }
      for (std::size_t k = 0; k < x.size(); ++k) {
        auto plus = x, minus = x;
        plus[k] += step;
        minus[k] -= step;
        EXPECT_NEAR(grad_x[k], (loss(plus, p) - loss(minus, p)) / (2 * step), tolerance)
            << "n=" << n << " lanes=" << lanes << " input " << k;
      }
    }
  }
}

TYPED_TEST(SimulatorTest, AdjointGradientsMatchTheParameterShiftRule) {
  using T = TypeParam;
  for (const char* ansatz : {"hardware_efficient", "basic_entangler", "strongly_entangling"}) {
    Circuit c = build_circuit({5, 3, ansatz, "angle_rx", true, "z"});
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> u(-2, 2);
    std::vector<T> x(c.input_count()), p(c.parameter_count()), out(c.output_count()),
        g(c.output_count());
    for (auto& v : x) v = T(u(rng));
    for (auto& v : p) v = T(u(rng));
    for (auto& v : g) v = T(u(rng));
    BatchedSimulator<T> sim(c);
    auto loss = [&](const std::vector<T>& ps) {
      sim.forward(x.data(), 1, ps.data(), out.data());
      double total = 0;
      for (std::size_t k = 0; k < g.size(); ++k) total += double(g[k]) * out[k];
      return total;
    };
    loss(p);
    std::vector<T> grad(p.size());
    sim.backward(g.data(), grad.data(), nullptr);
    for (std::size_t k = 0; k < p.size(); ++k) {
      auto plus = p, minus = p;
      plus[k] += T(M_PI / 2);
      minus[k] -= T(M_PI / 2);
      EXPECT_NEAR(grad[k], (loss(plus) - loss(minus)) / 2, this->tolerance() * 50)
          << ansatz << " parameter " << k;
    }
  }
}

TYPED_TEST(SimulatorTest, AmplitudeEmbeddingGradientMatchesFiniteDifferences) {
  using T = TypeParam;
  Circuit c = build_circuit({3, 2, "hardware_efficient", "amplitude", false, "z_zz"});
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> x(2 * c.input_count()), p(c.parameter_count()), g(2 * c.output_count());
  for (auto& v : x) v = u(rng);
  for (auto& v : p) v = u(rng);
  for (auto& v : g) v = u(rng);
  BatchedSimulator<T> sim(c);
  auto loss = [&](const std::vector<double>& xs) {
    std::vector<T> xt(xs.begin(), xs.end()), pt(p.begin(), p.end()), out(g.size());
    sim.forward(xt.data(), 2, pt.data(), out.data());
    double total = 0;
    for (std::size_t k = 0; k < g.size(); ++k) total += g[k] * out[k];
    return total;
  };
  loss(x);
  std::vector<T> gt(g.begin(), g.end()), grad_x(x.size());
  sim.backward(gt.data(), nullptr, grad_x.data());
  const double step = std::is_same_v<T, float> ? 1e-2 : 1e-6;
  for (std::size_t k = 0; k < x.size(); ++k) {
    auto plus = x, minus = x;
    plus[k] += step;
    minus[k] -= step;
    EXPECT_NEAR(grad_x[k], (loss(plus) - loss(minus)) / (2 * step),
                (std::is_same_v<T, float> ? 5e-3 : 1e-7));
  }
}

TYPED_TEST(SimulatorTest, BatchResultsEqualPerSampleResultsForAnyLanesAndThreads) {
  using T = TypeParam;
  Circuit c = build_circuit({6, 2, "strongly_entangling", "angle_ry", false, "z_zz"});
  const std::size_t batch = 13;  // not a multiple of 8: the last block is partly empty
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-2, 2);
  std::vector<T> x(batch * c.input_count()), p(c.parameter_count()), g(batch * c.output_count());
  for (auto& v : x) v = T(u(rng));
  for (auto& v : p) v = T(u(rng));
  for (auto& v : g) v = T(u(rng));
  std::vector<T> single(batch * c.output_count());
  std::vector<T> single_grad_x(x.size()), single_grad_p(p.size(), T(0));
  BatchedSimulator<T> one(c, options_for(1, 1));
  for (std::size_t b = 0; b < batch; ++b) {
    one.forward(x.data() + b * c.input_count(), 1, p.data(), single.data() + b * c.output_count());
    std::vector<T> gp(p.size());
    one.backward(g.data() + b * c.output_count(), gp.data(),
                 single_grad_x.data() + b * c.input_count());
    for (std::size_t k = 0; k < p.size(); ++k) single_grad_p[k] += gp[k];
  }
  for (int lanes : kLaneCounts) {
    for (int threads : {1, 2}) {
      BatchedSimulator<T> sim(c, options_for(threads, lanes));
      std::vector<T> out(single.size()), grad_x(x.size()), grad_p(p.size());
      sim.forward(x.data(), batch, p.data(), out.data());
      sim.backward(g.data(), grad_p.data(), grad_x.data());
      for (std::size_t k = 0; k < out.size(); ++k)
        EXPECT_NEAR(out[k], single[k], this->tolerance());
      for (std::size_t k = 0; k < grad_x.size(); ++k)
        EXPECT_NEAR(grad_x[k], single_grad_x[k], this->tolerance() * 10);
      for (std::size_t k = 0; k < grad_p.size(); ++k)
        EXPECT_NEAR(grad_p[k], single_grad_p[k], this->tolerance() * 50);
    }
  }
}

TYPED_TEST(SimulatorTest, FusedAndUnfusedForwardPassesAgree) {
  using T = TypeParam;
  for (const char* ansatz : {"hardware_efficient", "strongly_entangling", "qft"}) {
    Circuit c = build_circuit({5, 3, ansatz, "angle_ry", true, "z_zz"});
    c.h(2);  // a run of constant, per-sample and shared gates on one wire
    c.ry(2, Angle::input(1));
    c.rz(2, Angle::parameter(0));
    c.set_measurement(Measurement::z_and_neighbour_zz);
    const std::size_t batch = 11;
    std::mt19937 rng(2);
    std::uniform_real_distribution<double> u(-2, 2);
    std::vector<T> x(batch * c.input_count()), p(c.parameter_count());
    for (auto& v : x) v = T(u(rng));
    for (auto& v : p) v = T(u(rng));
    for (int lanes : kLaneCounts) {
      std::vector<T> fused(batch * c.output_count()), plain(fused.size());
      BatchedSimulator<T> a(c, options_for(1, lanes, SimulatorOptions::Fusion::always)),
          b(c, options_for(1, lanes, SimulatorOptions::Fusion::never));
      a.forward(x.data(), batch, p.data(), fused.data());
      b.forward(x.data(), batch, p.data(), plain.data());
      for (std::size_t k = 0; k < fused.size(); ++k)
        EXPECT_NEAR(fused[k], plain[k], this->tolerance() * 10) << ansatz;
    }
  }
}

// The state of sample 0 after circuit c, one dense matrix per gate (angle embeddings and
// parameters only).
std::vector<cd> dense_state(const Circuit& c, const std::vector<double>& x,
                            const std::vector<double>& p) {
  const int n = c.qubits();
  std::vector<cd> state(std::size_t{1} << n, 0);
  state[0] = 1;
  for (const Gate& gate : c.gates()) {
    const Angle& a = gate.angle;
    double angle = a.offset;
    if (a.source == Angle::Source::parameter) angle += a.scale * p[a.index];
    if (a.source == Angle::Source::input) angle += a.scale * x[a.index];
    const std::array<cd, 4> m =
        gate.kind == GateKind::matrix ? gate.matrix : gate_matrix(gate.kind, angle);
    state = multiply(full_matrix(n, gate.control, gate.target, m), state);
  }
  return state;
}

// The templates' CNOT rings and ranges run as one gather per run of CNOTs (forward and adjoint).
TYPED_TEST(SimulatorTest, CnotRunsMatchTheDenseReference) {
  using T = TypeParam;
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-2, 2);
  for (const char* ansatz :
       {"hardware_efficient", "basic_entangler", "strongly_entangling", "qft"}) {
    Circuit c = build_circuit({5, 3, ansatz, "angle_ry", false, "z"});
    c.cnot(4, 0);  // a run that closes the circuit, after the last layer's ring
    c.cnot(2, 3);
    std::vector<double> x(c.input_count()), p(c.parameter_count());
    for (auto& v : x) v = u(rng);
    for (auto& v : p) v = u(rng);
    const std::vector<cd> expected = dense_state(c, x, p);
    std::vector<T> xt(x.begin(), x.end()), pt(p.begin(), p.end()), out(c.output_count());
    for (int lanes : kLaneCounts) {
      for (auto fusion : {SimulatorOptions::Fusion::always, SimulatorOptions::Fusion::never}) {
        BatchedSimulator<T> sim(c, options_for(1, lanes, fusion));
        sim.forward(xt.data(), 1, pt.data(), out.data());
        const std::vector<std::complex<T>> got = sim.state(0);
        for (std::size_t k = 0; k < expected.size(); ++k) {
          EXPECT_NEAR(got[k].real(), expected[k].real(), this->tolerance() * 10)
              << ansatz << " lanes " << lanes << " amplitude " << k;
          EXPECT_NEAR(got[k].imag(), expected[k].imag(), this->tolerance() * 10)
              << ansatz << " lanes " << lanes << " amplitude " << k;
        }
      }
    }
  }
}

TYPED_TEST(SimulatorTest, TiledPassesMatchWholeStatePasses) {
  using T = TypeParam;
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(-1.5, 1.5);
  std::vector<Circuit> circuits = {
      random_circuit(6, rng), random_circuit(9, rng),
      build_circuit({7, 2, "strongly_entangling", "amplitude", false, "z_zz"}),
      // The benchmark's circuit, with its CNOT rings.
      build_circuit({8, 3, "hardware_efficient", "angle_ry", false, "z"})};
  for (const Circuit& c : circuits) {
    const std::size_t batch = 10;
    std::vector<T> x(batch * c.input_count()), p(c.parameter_count()), g(batch * c.output_count());
    for (auto* v : {&x, &p, &g}) {
      for (T& e : *v) e = T(u(rng));
    }
    for (int lanes : kLaneCounts) {
      for (auto fusion : {SimulatorOptions::Fusion::always, SimulatorOptions::Fusion::never}) {
        auto run = [&](int tile_qubits, bool gather_cnots, std::vector<T>& out,
                       std::vector<T>& grad_p, std::vector<T>& grad_x) {
          SimulatorOptions options = options_for(1, lanes, fusion);
          options.tile_qubits = tile_qubits;
          options.gather_cnots = gather_cnots;
          options.pair_wires = gather_cnots;  // the reference pairs; the unpaired run must agree
          BatchedSimulator<T> sim(c, options);
          out.resize(g.size());
          grad_p.resize(p.size());
          grad_x.resize(x.size());
          sim.forward(x.data(), batch, p.data(), out.data());
          sim.backward(g.data(), grad_p.data(), grad_x.data());
        };
        std::vector<T> out0, grad_p0, grad_x0;
        run(30, true, out0, grad_p0, grad_x0);  // whole-state passes, CNOT runs gathered
        // Tiles (one pass per CNOT within them), and whole-state passes without gathers and
        // with one wire per sweep.
        for (auto [tile_qubits, gather] :
             std::vector<std::pair<int, bool>>{{2, true}, {3, true}, {5, true}, {30, false}}) {
          std::vector<T> out, grad_p, grad_x;
          run(tile_qubits, gather, out, grad_p, grad_x);
          const std::string where =
              "n=" + std::to_string(c.qubits()) + " lanes=" + std::to_string(lanes) +
              " tile=" + std::to_string(tile_qubits) + " gathers=" + std::to_string(gather);
          for (std::size_t k = 0; k < out.size(); ++k)
            EXPECT_NEAR(out[k], out0[k], this->tolerance() * 10) << where << " output " << k;
          for (std::size_t k = 0; k < grad_p.size(); ++k)
            EXPECT_NEAR(grad_p[k], grad_p0[k], this->tolerance() * 100) << where << " param " << k;
          for (std::size_t k = 0; k < grad_x.size(); ++k)
            EXPECT_NEAR(grad_x[k], grad_x0[k], this->tolerance() * 100) << where << " input " << k;
        }
      }
    }
  }
}

TYPED_TEST(SimulatorTest, ShotEstimatesConvergeToExactValues) {
  using T = TypeParam;
  Circuit c = build_circuit({4, 2, "hardware_efficient", "angle_ry", false, "z_zz"});
  std::vector<T> x = {T(0.3), T(1.1), T(-0.4), T(2.0)}, p(c.parameter_count(), T(0.7)),
                 exact(c.output_count());
  BatchedSimulator<T> sim(c);
  sim.forward(x.data(), 1, p.data(), exact.data());
  double previous_error = 1e9;
  for (std::uint64_t shots : {100, 10000, 1000000}) {
    std::vector<T> estimate(c.output_count());
    sim.sample_outputs(shots, 42, estimate.data());
    double error = 0;
    for (std::size_t k = 0; k < exact.size(); ++k)
      error = std::max(error, std::fabs(double(estimate[k]) - exact[k]));
    EXPECT_LT(error, 5 / std::sqrt(double(shots))) << shots << " shots";
    EXPECT_LT(error, previous_error * 1.5);
    previous_error = error;
  }
  std::vector<T> a(c.output_count()), b(c.output_count());
  sim.sample_outputs(500, 9, a.data());
  sim.sample_outputs(500, 9, b.data());
  EXPECT_EQ(a, b) << "the same seed draws the same shots";
}

// build is the Kronecker product of the wire vectors, and the contraction gives
// <lambda | G_w | product> for every wire w and any G.
template <int W>
void check_product_state(int n, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1, 1);
  const std::size_t dim = std::size_t{1} << n;
  std::vector<double> wire_re(2 * n * W), wire_im(2 * n * W), lambda_re(dim * W),
      lambda_im(dim * W);
  for (auto* v : {&wire_re, &wire_im, &lambda_re, &lambda_im}) {
    for (double& e : *v) e = u(rng);
  }
  std::vector<double> state_re(dim * W), state_im(dim * W), reduced_re(2 * n * W),
      reduced_im(2 * n * W), work;
  product::build<double, W>(wire_re.data(), wire_im.data(), n, state_re.data(), state_im.data());
  product::contract_all_but_one<double, W>(wire_re.data(), wire_im.data(), lambda_re.data(),
                                           lambda_im.data(), n, reduced_re.data(),
                                           reduced_im.data(), work);
  auto a = [&](int w, int b, int l) {
    return cd(wire_re[(2 * w + b) * W + l], wire_im[(2 * w + b) * W + l]);
  };
  for (int l = 0; l < W; ++l) {
    std::vector<cd> product(dim), lambda(dim);
    for (std::size_t i = 0; i < dim; ++i) {
      product[i] = 1;
      for (int w = 0; w < n; ++w) product[i] *= a(w, (i >> (n - 1 - w)) & 1, l);
      lambda[i] = cd(lambda_re[i * W + l], lambda_im[i * W + l]);
      EXPECT_NEAR(state_re[i * W + l], product[i].real(), 1e-12) << "n=" << n << " index " << i;
      EXPECT_NEAR(state_im[i * W + l], product[i].imag(), 1e-12) << "n=" << n << " index " << i;
    }
    for (int w = 0; w < n; ++w) {
      const std::array<cd, 4> g = {cd(u(rng), u(rng)), cd(u(rng), u(rng)), cd(u(rng), u(rng)),
                                   cd(u(rng), u(rng))};
      const std::vector<cd> g_product = multiply(full_matrix(n, -1, w, g), product);
      cd expected = 0;
      for (std::size_t i = 0; i < dim; ++i) expected += std::conj(lambda[i]) * g_product[i];
      cd got = 0;
      for (int b = 0; b < 2; ++b) {
        const cd r(reduced_re[(2 * w + b) * W + l], reduced_im[(2 * w + b) * W + l]);
        got += std::conj(r) * (g[2 * b] * a(w, 0, l) + g[2 * b + 1] * a(w, 1, l));
      }
      EXPECT_NEAR(got.real(), expected.real(), 1e-11) << "n=" << n << " wire " << w;
      EXPECT_NEAR(got.imag(), expected.imag(), 1e-11) << "n=" << n << " wire " << w;
    }
  }
}

TEST(ProductStateTest, ContractionGivesEveryWiresInnerProduct) {
  std::mt19937 rng(17);
  for (int n = 1; n <= 7; ++n) {
    check_product_state<1>(n, rng);
    check_product_state<8>(n, rng);
  }
}

TEST(CircuitTest, TemplatesHaveTheirParameterCounts) {
  EXPECT_EQ(build_circuit({4, 3, "hardware_efficient", "angle_ry", false, "z"}).parameter_count(),
            24);
  EXPECT_EQ(build_circuit({4, 3, "strongly_entangling", "angle_ry", false, "z"}).parameter_count(),
            36);
  EXPECT_EQ(build_circuit({4, 2, "basic_entangler", "angle_rx", false, "z"}).parameter_count(), 8);
  EXPECT_EQ(build_circuit({4, 2, "qft", "angle_ry", false, "z"}).parameter_count(), 8);
  EXPECT_EQ(build_circuit({4, 2, "basic_entangler", "angle_rx", false, "z"}).input_count(), 4);
  EXPECT_EQ(build_circuit({3, 1, "basic_entangler", "amplitude", false, "z"}).input_count(), 8);
  EXPECT_EQ(
      build_circuit({5, 1, "basic_entangler", "zz_feature_map", false, "z_zz"}).output_count(), 9);
}

TEST(SimulatorOptionsTest, TileOfOneWireIsRefused) {
  SimulatorOptions options;
  options.tile_qubits = 1;
  EXPECT_THROW(
      {
        try {
          BatchedSimulator<float> sim(
              build_circuit({4, 1, "basic_entangler", "angle_rx", false, "z"}), options);
        } catch (const hqsweep::Error& e) {
          EXPECT_NE(std::string(e.what()).find("tile_qubits"), std::string::npos) << e.what();
          throw;
        }
      },
      hqsweep::Error);
}

TEST(TilesTest, SegmentsKeepEveryWiresOrderAndCoverEveryAmplitudeOnce) {
  std::mt19937 rng(5);
  for (int n : {3, 6, 10}) {
    std::vector<hqsweep::tiles::OpWires> ops;
    for (int i = 0; i < 20 * n; ++i) {
      const int target = int(rng() % n);
      int control = rng() % 2 ? int(rng() % n) : -1;
      if (control == target) control = -1;
      ops.push_back({control, target});
    }
    for (int tile : {2, 4, 7}) {
      const auto segments = hqsweep::tiles::plan_segments(ops, n, tile);
      std::vector<std::size_t> order;  // the operations in the order the segments apply them
      for (const auto& s : segments) {
        EXPECT_LE(s.qubits, std::max(tile, 2));
        for (std::size_t i : s.ops) {
          order.push_back(i);
          EXPECT_GE(s.local[ops[i].target], 0) << "operation " << i << " outside its tile";
          if (ops[i].control >= 0) {
            EXPECT_GE(s.local[ops[i].control], 0);
          }
        }
        std::vector<int> seen(std::size_t{1} << n, 0);
        for (std::size_t base : s.bases) {
          for (std::size_t offset : s.run_offsets) {
            for (std::size_t k = 0; k < s.run; ++k) seen[base + offset + k]++;
          }
        }
        EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), std::ptrdiff_t(seen.size()));
      }
      ASSERT_EQ(order.size(), ops.size());
      for (int w = 0; w < n; ++w) {  // on every wire, operations keep their relative order
        std::vector<std::size_t> on_wire;
        for (std::size_t i : order) {
          if (ops[i].target == w || ops[i].control == w) on_wire.push_back(i);
        }
        EXPECT_TRUE(std::is_sorted(on_wire.begin(), on_wire.end())) << "n=" << n << " wire " << w;
      }
    }
  }
}

TEST(CircuitTest, BadDescriptionsAreRefusedWithTheReason) {
  auto message = [](auto&& make) {
    try {
      make();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(message([] { Circuit(21); }), "circuit: 21 qubits is out of range 1..20");
  EXPECT_EQ(message([] {
              build_circuit({4, 1, "ring", "angle_ry", false, "z"});
            }),
            "circuit: unknown ansatz \"ring\"; use hardware_efficient, strongly_entangling, "
            "basic_entangler or qft");
  EXPECT_EQ(message([] {
              build_circuit({4, 1, "qft", "angle_xy", false, "z"});
            }),
            "circuit: unknown embedding \"angle_xy\"; use angle_rx, angle_ry, angle_rz, amplitude "
            "or zz_feature_map");
  EXPECT_EQ(message([] {
              Circuit c(2);
              c.cnot(1, 1);
            }),
            "circuit: control and target are the same qubit");
  EXPECT_EQ(message([] {
              Circuit c(2);
              c.x(2);
            }),
            "circuit: target qubit 2 is outside 0..1");
}

}  // namespace
}  // namespace hqsweep
