// Cache tiles: a run of kernel applications whose wires all lie in one set of t wires is applied
// tile by tile (the 2^t amplitudes that share the other wires' values), so that a tile stays in
// the L1 cache for the whole run instead of the state streaming through the cache once per gate.
#pragma once

#include <array>
#include <cstddef>
#include <cstring>
#include <vector>

#include "simulator/cpu.h"

namespace hqsweep::tiles {

// The wires one kernel application touches; control = -1 means none.
struct OpWires {
  int control = -1;
  int target = 0;
};

// Operations applied together, tile by tile. A tile is a state of `qubits` local wires: the
// circuit's wires `wires` (ascending) keep their order, so local wire j is wires[j].
struct Segment {
  std::vector<std::size_t> ops;  // indices into the planned list, in the order to apply them
  int qubits = 0;
  std::vector<int> local;                // local wire of each circuit wire, -1 outside the tile
  std::size_t run = 0;                   // a tile is made of runs of `run` consecutive amplitudes
  std::vector<std::size_t> run_offsets;  // first amplitude of each run, from the tile's base
  std::vector<std::size_t> bases;        // first amplitude of each tile

  bool contiguous() const { return run_offsets.size() == 1; }
};

// Splits ops (in the order they act) into segments of at most tile_qubits wires. An operation may
// move ahead of earlier ones on other wires (they commute); none moves past one sharing a wire.
// Segments are padded with the lowest-order wires up to tile_qubits, so tiles are long runs.
std::vector<Segment> plan_segments(const std::vector<OpWires>& ops, int qubits, int tile_qubits);

// Tile wires for a pass over a state of `qubits` wires, given the bytes of one amplitude of one
// state (real and imaginary parts, every lane) and how many such states the pass holds: all of
// them (whole-state passes) while those states fit the larger of L2 and the CPU's share of L3,
// else as many as fill half of L2 with one state (docs/simulator.md).
int chosen_tile_qubits(int qubits, std::size_t bytes_per_amplitude, int states_held,
                       const CpuGeometry& cpu);

// Whether those states fit the larger of L2 and the CPU's share of L3 (chosen_tile_qubits's test).
bool states_fit_cache(int qubits, std::size_t bytes_per_amplitude, int states_held,
                      const CpuGeometry& cpu);

// Calls apply(tile_planes) for every tile of segment, where planes are `Planes` arrays of
// [2^n][W] values (real and imaginary parts of one or more states). A contiguous tile is used in
// place; otherwise it is gathered into buffer and scattered back.
template <typename T, int W, std::size_t Planes, typename F>
void for_each_tile(const Segment& segment, const std::array<T*, Planes>& planes,
                   std::vector<T>& buffer, F&& apply) {
  std::array<T*, Planes> tile;
  if (segment.contiguous()) {
    for (std::size_t base : segment.bases) {
      for (std::size_t p = 0; p < Planes; ++p) tile[p] = planes[p] + base * W;
      apply(tile);
    }
    return;
  }
  const std::size_t values = (std::size_t{1} << segment.qubits) * W;
  const std::size_t run = segment.run * W;
  buffer.resize(Planes * values);
  for (std::size_t p = 0; p < Planes; ++p) tile[p] = buffer.data() + p * values;
  for (std::size_t base : segment.bases) {
    for (std::size_t p = 0; p < Planes; ++p) {
      T* to = tile[p];
      for (std::size_t offset : segment.run_offsets) {
        std::memcpy(to, planes[p] + (base + offset) * W, run * sizeof(T));
        to += run;
      }
    }
    apply(tile);
    for (std::size_t p = 0; p < Planes; ++p) {
      const T* from = tile[p];
      for (std::size_t offset : segment.run_offsets) {
        std::memcpy(planes[p] + (base + offset) * W, from, run * sizeof(T));
        from += run;
      }
    }
  }
}

}  // namespace hqsweep::tiles
