// Circuit construction and the embedding and ansatz templates.
#include "simulator/circuit.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace hqsweep {

Angle Angle::constant(double value) {
  return {Source::constant, 0, 0, 0, value};
}
Angle Angle::parameter(int index, double scale) {
  return {Source::parameter, index, 0, scale, 0};
}
Angle Angle::input(int index, double scale) {
  return {Source::input, index, 0, scale, 0};
}
Angle Angle::input_product(int index, int index2, double scale) {
  return {Source::input_product, index, index2, scale, 0};
}

Circuit::Circuit(int qubits) : qubits_(qubits) {
  if (qubits < 1 || qubits > 20) {
    throw Error("circuit: " + std::to_string(qubits) + " qubits is out of range 1..20");
  }
}

int Circuit::output_count() const {
  switch (measurement_) {
    case Measurement::z:
      return qubits_;
    case Measurement::z_and_neighbour_zz:
      return 2 * qubits_ - 1;
    case Measurement::probabilities:
      return 1 << qubits_;
  }
  return 0;
}

void Circuit::use_amplitude_input() {
  amplitude_input_ = true;
  input_count_ = std::max(input_count_, 1 << qubits_);
}

void Circuit::add(const Gate& gate) {
  auto check_wire = [&](int wire, const char* what) {
    if (wire < 0 || wire >= qubits_) {
      throw Error("circuit: " + std::string(what) + " qubit " + std::to_string(wire) +
                  " is outside 0.." + std::to_string(qubits_ - 1));
    }
  };
  check_wire(gate.target, "target");
  const bool controlled = gate.kind == GateKind::cnot || gate.kind == GateKind::cz ||
                          gate.kind == GateKind::crx || gate.kind == GateKind::cry ||
                          gate.kind == GateKind::crz || gate.kind == GateKind::cphase;
  if (controlled) {
    check_wire(gate.control, "control");
    if (gate.control == gate.target) throw Error("circuit: control and target are the same qubit");
  } else if (gate.control != -1) {
    throw Error("circuit: this gate takes no control qubit");
  }
  if (gate.angle.source == Angle::Source::parameter && gate.angle.index >= parameter_count_) {
    throw Error("circuit: parameter " + std::to_string(gate.angle.index) + " was never added");
  }
  if (gate.angle.source == Angle::Source::input ||
      gate.angle.source == Angle::Source::input_product) {
    input_count_ =
        std::max({input_count_, gate.angle.index + 1,
                  gate.angle.source == Angle::Source::input_product ? gate.angle.index2 + 1 : 0});
  }
  gates_.push_back(gate);
}

void Circuit::rot(int target, Angle phi, Angle theta, Angle omega) {
  rz(target, phi);
  ry(target, theta);
  rz(target, omega);
}

void Circuit::swap(int a, int b) {
  cnot(a, b);
  cnot(b, a);
  cnot(a, b);
}

void Circuit::matrix(int target, const std::array<std::complex<double>, 4>& m) {
  Gate gate{GateKind::matrix, -1, target, {}, m};
  add(gate);
}

bool is_differentiable(const Gate& gate) {
  return gate.angle.source != Angle::Source::constant &&
         (gate.kind == GateKind::rx || gate.kind == GateKind::ry || gate.kind == GateKind::rz ||
          gate.kind == GateKind::phase_shift || gate.kind == GateKind::crx ||
          gate.kind == GateKind::cry || gate.kind == GateKind::crz ||
          gate.kind == GateKind::cphase);
}

namespace {

void embed(Circuit& c, const std::string& embedding) {
  const int n = c.qubits();
  if (embedding == "angle_rx" || embedding == "angle_ry" || embedding == "angle_rz") {
    for (int q = 0; q < n; ++q) {
      if (embedding == "angle_rx") c.rx(q, Angle::input(q));
      if (embedding == "angle_ry") c.ry(q, Angle::input(q));
      if (embedding == "angle_rz") {
        c.h(q);  // RZ on |0> would only add a global phase
        c.rz(q, Angle::input(q));
      }
    }
  } else if (embedding == "zz_feature_map") {
    // Havlicek et al. (Nature 2019) with linear entanglement and one repetition.
    for (int q = 0; q < n; ++q) {
      c.h(q);
      c.rz(q, Angle::input(q, 2));
    }
    for (int q = 0; q + 1 < n; ++q) {
      c.cnot(q, q + 1);
      c.rz(q + 1, Angle::input_product(q, q + 1, 2));
      c.cnot(q, q + 1);
    }
  } else {
    throw Error("circuit: unknown embedding \"" + embedding +
                "\"; use angle_rx, angle_ry, angle_rz, amplitude or zz_feature_map");
  }
}

void cnot_ring(Circuit& c) {
  const int n = c.qubits();
  if (n == 2) c.cnot(0, 1);
  if (n > 2) {
    for (int q = 0; q < n; ++q) c.cnot(q, (q + 1) % n);
  }
}

void qft_block(Circuit& c) {
  const int n = c.qubits();
  for (int q = 0; q < n; ++q) {
    c.h(q);
    for (int k = q + 1; k < n; ++k) c.cphase(k, q, Angle::constant(M_PI / double(1 << (k - q))));
  }
  for (int q = 0; q < n / 2; ++q) c.swap(q, n - 1 - q);
}

void ansatz_layer(Circuit& c, const std::string& ansatz, int layer) {
  const int n = c.qubits();
  if (ansatz == "hardware_efficient") {
    // RY and RZ on every qubit, then a CNOT ring (the HQCNN design).
    for (int q = 0; q < n; ++q) {
      c.ry(q, Angle::parameter(c.add_parameter()));
      c.rz(q, Angle::parameter(c.add_parameter()));
    }
    cnot_ring(c);
  } else if (ansatz == "basic_entangler") {
    // RX on every qubit, then a CNOT ring (PennyLane's BasicEntanglerLayers).
    for (int q = 0; q < n; ++q) c.rx(q, Angle::parameter(c.add_parameter()));
    cnot_ring(c);
  } else if (ansatz == "strongly_entangling") {
    // Rot on every qubit, then CNOTs of range (layer mod (n-1)) + 1 (PennyLane's
    // StronglyEntanglingLayers).
    for (int q = 0; q < n; ++q) {
      int phi = c.add_parameter(), theta = c.add_parameter(), omega = c.add_parameter();
      c.rot(q, Angle::parameter(phi), Angle::parameter(theta), Angle::parameter(omega));
    }
    if (n > 1) {
      int range = layer % (n - 1) + 1;
      for (int q = 0; q < n; ++q) c.cnot(q, (q + range) % n);
    }
  } else if (ansatz == "qft") {
    // Trainable RY on every qubit, then a quantum Fourier transform (HQCNN's Fourier variant).
    for (int q = 0; q < n; ++q) c.ry(q, Angle::parameter(c.add_parameter()));
    qft_block(c);
  } else {
    throw Error("circuit: unknown ansatz \"" + ansatz +
                "\"; use hardware_efficient, strongly_entangling, basic_entangler or qft");
  }
}

}  // namespace

Circuit build_circuit(const CircuitConfig& config) {
  Circuit c(config.qubits);
  if (config.layers < 1) throw Error("circuit: layers must be at least 1");
  const bool amplitude = config.embedding == "amplitude";
  if (amplitude) {
    if (config.reupload) throw Error("circuit: amplitude embedding cannot be re-uploaded");
    c.use_amplitude_input();
  }
  for (int layer = 0; layer < config.layers; ++layer) {
    if (!amplitude && (layer == 0 || config.reupload)) embed(c, config.embedding);
    ansatz_layer(c, config.ansatz, layer);
  }
  if (config.measure == "z") {
    c.set_measurement(Measurement::z);
  } else if (config.measure == "z_zz") {
    c.set_measurement(Measurement::z_and_neighbour_zz);
  } else {
    throw Error("circuit: unknown measurement \"" + config.measure + "\"; use z or z_zz");
  }
  return c;
}

}  // namespace hqsweep
