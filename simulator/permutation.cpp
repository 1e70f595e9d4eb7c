// Index maps of CNOT runs and the gather that applies one.
#include "simulator/permutation.h"

#include <cstring>

#include "common/error.h"

namespace hqsweep {

IndexPermutation::IndexPermutation(int qubits, const std::vector<std::pair<int, int>>& cnots)
    : low_bits_(qubits / 2), low_mask_((std::size_t{1} << (qubits / 2)) - 1) {
  HQSWEEP_CHECK(qubits >= 1 && qubits <= 30,
                "simulator: a CNOT run on " << qubits << " qubits is out of range");
  for (const auto& [control, target] : cnots) {
    HQSWEEP_CHECK(
        control >= 0 && control < qubits && target >= 0 && target < qubits && control != target,
        "simulator: CNOT(" << control << ", " << target << ") on " << qubits << " qubits");
  }
  // After gates g1..gk, amplitude i comes from g1(g2(...gk(i))): the last gate's map first.
  auto source_of = [&](std::uint32_t index) {
    for (auto it = cnots.rbegin(); it != cnots.rend(); ++it) {
      const int control_shift = qubits - 1 - it->first, target_shift = qubits - 1 - it->second;
      index ^= ((index >> control_shift) & 1u) << target_shift;
    }
    return index;
  };
  low_.resize(std::size_t{1} << low_bits_);
  for (std::size_t j = 0; j < low_.size(); ++j) low_[j] = source_of(static_cast<std::uint32_t>(j));
  high_.resize(std::size_t{1} << (qubits - low_bits_));
  for (std::size_t j = 0; j < high_.size(); ++j)
    high_[j] = source_of(static_cast<std::uint32_t>(j << low_bits_));
}

template <typename T, int W, std::size_t Planes>
void IndexPermutation::gather(const std::array<T*, Planes>& from,
                              const std::array<T*, Planes>& to) const {
  const std::size_t lows = low_.size();
  for (std::size_t hi = 0; hi < high_.size(); ++hi) {
    const std::size_t base = high_[hi];
    const std::size_t first = hi * lows;
    for (std::size_t lo = 0; lo < lows; ++lo) {
      const std::size_t src = (base ^ low_[lo]) * W, dst = (first + lo) * W;
      for (std::size_t p = 0; p < Planes; ++p)
        std::memcpy(to[p] + dst, from[p] + src, W * sizeof(T));
    }
  }
}

#define HQSWEEP_INSTANTIATE(T, W, PLANES)                                             \
  template void IndexPermutation::gather<T, W, PLANES>(const std::array<T*, PLANES>&, \
                                                       const std::array<T*, PLANES>&) const;
HQSWEEP_INSTANTIATE(float, 1, 2)
HQSWEEP_INSTANTIATE(float, 8, 2)
HQSWEEP_INSTANTIATE(float, 16, 2)
HQSWEEP_INSTANTIATE(double, 1, 2)
HQSWEEP_INSTANTIATE(double, 8, 2)
HQSWEEP_INSTANTIATE(double, 16, 2)
HQSWEEP_INSTANTIATE(float, 1, 4)
HQSWEEP_INSTANTIATE(float, 8, 4)
HQSWEEP_INSTANTIATE(float, 16, 4)
HQSWEEP_INSTANTIATE(double, 1, 4)
HQSWEEP_INSTANTIATE(double, 8, 4)
HQSWEEP_INSTANTIATE(double, 16, 4)
#undef HQSWEEP_INSTANTIATE

}  // namespace hqsweep
