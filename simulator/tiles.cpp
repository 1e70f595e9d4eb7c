// Planning cache tiles: which operations run together and which amplitudes make up each tile.
#include "simulator/tiles.h"

#include <algorithm>
#include <cstdint>

#include "common/error.h"

namespace hqsweep::tiles {

namespace {

// Whole-state passes (no tiles; a run of CNOTs is one gather) while the states a pass holds fit
// the larger of L2 and this CPU's share of L3: there they stay between gates. Beyond, a tile
// holds half of L2 of each state: the largest tile measured fastest for both passes (the adjoint
// pass tiles phi and lambda together). Measured in docs/benchmarks.md; L1-sized tiles (the first
// rule) lost to both on every size measured on this project's EPYC.
constexpr std::size_t kTileShareOfL2 = 2;

// At most this many of a tile's wires lie outside the state's lowest-order wires, so a tile is
// made of runs of at least 2^(t - 3) consecutive amplitudes, copied at memory speed.
constexpr int kScatteredWires = 3;

std::uint32_t wire_mask(const OpWires& op) {
  std::uint32_t mask = std::uint32_t{1} << op.target;
  if (op.control >= 0) mask |= std::uint32_t{1} << op.control;
  return mask;
}

// The amplitude offsets spanned by the given wires (ascending), in the order of their bits.
std::vector<std::size_t> spanned_offsets(const std::vector<int>& wires, int qubits) {
  std::vector<std::size_t> offsets(std::size_t{1} << wires.size(), 0);
  const int count = static_cast<int>(wires.size());
  for (std::size_t index = 0; index < offsets.size(); ++index) {
    std::size_t offset = 0;
    for (int j = 0; j < count; ++j) {
      if ((index >> (count - 1 - j)) & 1) offset |= std::size_t{1} << (qubits - 1 - wires[j]);
    }
    offsets[index] = offset;
  }
  return offsets;
}

Segment make_segment(std::vector<std::size_t> ops, std::uint32_t mask, int qubits,
                     int tile_qubits) {
  // Pad with the lowest-order wires: longer runs to copy, fewer tiles.
  for (int w = qubits - 1; w >= 0 && __builtin_popcount(mask) < tile_qubits; --w)
    mask |= std::uint32_t{1} << w;
  Segment s;
  s.ops = std::move(ops);
  s.local.assign(qubits, -1);
  std::vector<int> inside, outside;
  for (int w = 0; w < qubits; ++w) {
    if (mask & (std::uint32_t{1} << w)) {
      s.local[w] = static_cast<int>(inside.size());
      inside.push_back(w);
    } else {
      outside.push_back(w);
    }
  }
  s.qubits = static_cast<int>(inside.size());
  // The lowest-order wires of the tile that are also the state's lowest make contiguous runs.
  int run_wires = 0;
  while (run_wires < s.qubits && inside[s.qubits - 1 - run_wires] == qubits - 1 - run_wires)
    ++run_wires;
  s.run = std::size_t{1} << run_wires;
  s.run_offsets =
      spanned_offsets(std::vector<int>(inside.begin(), inside.end() - run_wires), qubits);
  s.bases = spanned_offsets(outside, qubits);
  return s;
}

}  // namespace

std::vector<Segment> plan_segments(const std::vector<OpWires>& ops, int qubits, int tile_qubits) {
  HQSWEEP_CHECK(qubits >= 1 && qubits <= 30, "tiles: qubit count " << qubits << " out of range");
  HQSWEEP_CHECK(tile_qubits >= std::min(2, qubits),
                "tiles: a tile needs at least 2 wires, got " << tile_qubits);
  tile_qubits = std::min(tile_qubits, qubits);
  const std::uint32_t all = (std::uint32_t{1} << qubits) - 1;
  std::vector<bool> placed(ops.size(), false);
  std::vector<Segment> segments;
  std::size_t first = 0;
  while (first < ops.size()) {
    std::uint32_t mask = 0, blocked = 0;
    for (int w = qubits - 1; w >= qubits - (tile_qubits - kScatteredWires) && w >= 0; --w)
      mask |= std::uint32_t{1} << w;
    std::vector<std::size_t> chosen;
    for (std::size_t i = first; i < ops.size() && blocked != all; ++i) {
      if (placed[i]) continue;
      const std::uint32_t wires = wire_mask(ops[i]);
      if (!(wires & blocked) && __builtin_popcount(mask | wires) <= tile_qubits) {
        mask |= wires;
        placed[i] = true;
        chosen.push_back(i);
      } else {
        blocked |= wires;  // later operations on these wires must wait for this one
      }
    }
    segments.push_back(make_segment(std::move(chosen), mask, qubits, tile_qubits));
    while (first < ops.size() && placed[first]) ++first;
  }
  return segments;
}

bool states_fit_cache(int qubits, std::size_t bytes_per_amplitude, int states_held,
                      const CpuGeometry& cpu) {
  const std::size_t cache = std::max(cpu.l2_bytes, cpu.l3_share_bytes);
  return (std::size_t{1} << qubits) * bytes_per_amplitude * states_held <= cache;
}

int chosen_tile_qubits(int qubits, std::size_t bytes_per_amplitude, int states_held,
                       const CpuGeometry& cpu) {
  if (states_fit_cache(qubits, bytes_per_amplitude, states_held, cpu)) return qubits;
  int tile = 2;
  while ((std::size_t{2} << tile) * bytes_per_amplitude <= cpu.l2_bytes / kTileShareOfL2) ++tile;
  return std::min(tile, qubits);
}

}  // namespace hqsweep::tiles
