// A run of CNOT gates applied in one pass. A CNOT maps basis indices linearly over GF(2) (the
// target bit gains the control bit), so any run of them is one linear index map: a CNOT ring,
// n passes over the state with one gate each, becomes one gather.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace hqsweep {

class IndexPermutation {
 public:
  // cnots: (control, target) pairs in the order they act on a state of `qubits` wires (qubit 0 is
  // the most significant bit, as everywhere in the simulator).
  IndexPermutation(int qubits, const std::vector<std::pair<int, int>>& cnots);

  // The index whose amplitude lands on index i once the run has acted.
  std::size_t source(std::size_t i) const { return low_[i & low_mask_] ^ high_[i >> low_bits_]; }

  // to[i] = from[source(i)] for every amplitude i of each plane: planes are [2^n][W] values (real
  // or imaginary parts). from and to must not overlap.
  template <typename T, int W, std::size_t Planes>
  void gather(const std::array<T*, Planes>& from, const std::array<T*, Planes>& to) const;

 private:
  int low_bits_;
  std::size_t low_mask_;
  // source() is linear: the image of the low index bits plus that of the high ones.
  std::vector<std::uint32_t> low_, high_;
};

}  // namespace hqsweep
