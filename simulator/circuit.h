// Circuit descriptions: gates whose angles come from constants, trainable parameters or
// per-sample inputs, a measurement, and the templates (embeddings, ansatze) built from config.
#pragma once

#include <array>
#include <complex>
#include <string>
#include <vector>

namespace hqsweep {

// Where a gate's angle comes from: angle = scale * source + offset.
struct Angle {
  enum class Source { constant, parameter, input, input_product };
  Source source = Source::constant;
  int index = 0;   // parameter or input index
  int index2 = 0;  // InputProduct: (pi - x[index]) * (pi - x[index2]), the ZZ feature map's angle
  double scale = 1;
  double offset = 0;

  static Angle constant(double value);
  static Angle parameter(int index, double scale = 1);
  static Angle input(int index, double scale = 1);
  static Angle input_product(int index, int index2, double scale = 1);
};

enum class GateKind {
  rx,
  ry,
  rz,
  phase_shift,
  h,
  x,
  y,
  z,
  s,
  t,
  cnot,
  cz,
  crx,
  cry,
  crz,
  cphase,
  matrix
};

struct Gate {
  GateKind kind;
  int control = -1;
  int target = 0;
  Angle angle;                                   // rotations and phase shifts
  std::array<std::complex<double>, 4> matrix{};  // Matrix: row-major 2x2
};

// What a circuit returns per sample: <Z_i> for each qubit; those then <Z_i Z_i+1> for
// neighbouring qubits; or the 2^n basis-state probabilities.
enum class Measurement { z, z_and_neighbour_zz, probabilities };

class Circuit {
 public:
  explicit Circuit(int qubits);

  int qubits() const { return qubits_; }
  int parameter_count() const { return parameter_count_; }
  int input_count() const { return input_count_; }
  bool amplitude_input() const { return amplitude_input_; }
  Measurement measurement() const { return measurement_; }
  int output_count() const;
  const std::vector<Gate>& gates() const { return gates_; }

  // The first 2^n inputs, normalised, are the initial state (amplitude embedding) instead of |0>.
  void use_amplitude_input();
  void set_measurement(Measurement measurement) { measurement_ = measurement; }
  // A new trainable parameter's index.
  int add_parameter() { return parameter_count_++; }

  void add(const Gate& gate);
  void rx(int target, Angle angle) { add({GateKind::rx, -1, target, angle, {}}); }
  void ry(int target, Angle angle) { add({GateKind::ry, -1, target, angle, {}}); }
  void rz(int target, Angle angle) { add({GateKind::rz, -1, target, angle, {}}); }
  void phase_shift(int target, Angle angle) { add({GateKind::phase_shift, -1, target, angle, {}}); }
  // Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi), as PennyLane defines it.
  void rot(int target, Angle phi, Angle theta, Angle omega);
  void h(int target) { add({GateKind::h, -1, target, {}, {}}); }
  void x(int target) { add({GateKind::x, -1, target, {}, {}}); }
  void y(int target) { add({GateKind::y, -1, target, {}, {}}); }
  void z(int target) { add({GateKind::z, -1, target, {}, {}}); }
  void s(int target) { add({GateKind::s, -1, target, {}, {}}); }
  void t(int target) { add({GateKind::t, -1, target, {}, {}}); }
  void cnot(int control, int target) { add({GateKind::cnot, control, target, {}, {}}); }
  void cz(int control, int target) { add({GateKind::cz, control, target, {}, {}}); }
  void crx(int control, int target, Angle angle) {
    add({GateKind::crx, control, target, angle, {}});
  }
  void cry(int control, int target, Angle angle) {
    add({GateKind::cry, control, target, angle, {}});
  }
  void crz(int control, int target, Angle angle) {
    add({GateKind::crz, control, target, angle, {}});
  }
  void cphase(int control, int target, Angle angle) {
    add({GateKind::cphase, control, target, angle, {}});
  }
  // SWAP as three CNOTs.
  void swap(int a, int b);
  void matrix(int target, const std::array<std::complex<double>, 4>& m);

 private:
  int qubits_;
  int parameter_count_ = 0;
  int input_count_ = 0;
  bool amplitude_input_ = false;
  Measurement measurement_ = Measurement::z;
  std::vector<Gate> gates_;
};

// A circuit from the names used in configs (docs/sweep-format.md, quantum.*):
// embedding angle_rx|angle_ry|angle_rz|amplitude|zz_feature_map, ansatz hardware_efficient|
// strongly_entangling|basic_entangler|qft, `layers` layers, re-uploading of the inputs before every
// layer, measure z|z_zz. Throws Error for unknown names or impossible sizes.
struct CircuitConfig {
  int qubits = 4;
  int layers = 2;
  std::string ansatz = "hardware_efficient";
  std::string embedding = "angle_ry";
  bool reupload = false;
  std::string measure = "z";
};
Circuit build_circuit(const CircuitConfig& config);

// Whether a gate's angle depends on parameters or inputs (so the adjoint pass differentiates it).
bool is_differentiable(const Gate& gate);

}  // namespace hqsweep
