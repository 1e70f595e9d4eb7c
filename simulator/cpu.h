// The CPU facts the simulator plans by: per-core data-cache sizes and the vector width, read once
// from the CPU the process runs on and overridable (HQSWEEP_SIMULATOR_CPU, SimulatorOptions).
#pragma once

#include <cstddef>
#include <string>

namespace hqsweep {

struct CpuGeometry {
  std::size_t l1d_bytes = 32 * 1024;  // per core
  std::size_t l2_bytes = 512 * 1024;  // per core
  std::size_t l3_share_bytes = 0;     // the last-level cache over the CPUs sharing it; 0: none
  int vector_bits = 256;              // the widest vectors both this build and the CPU have
};

// Detected on first use: sysfs (/sys/devices/system/cpu/cpu0/cache), else sysconf, else the
// defaults above; the vector width from the build's instruction set and the CPU's. The
// environment variable HQSWEEP_SIMULATOR_CPU overrides any of them, e.g.
// "l1d=32K,l2=512K,l3=4M,vector=256" (an invalid value is an error naming the variable).
const CpuGeometry& cpu_geometry();

// Applies an override text ("key=value" pairs separated by commas; keys l1d, l2, l3 (the share),
// vector; sizes with an optional K or M suffix) to base. Throws hqsweep::Error naming `source` and
// the bad pair.
CpuGeometry apply_cpu_override(CpuGeometry base, const std::string& text,
                               const std::string& source);

// One line for logs and benchmark headers: "L1d 48 KiB, L2 1024 KiB, L3 share 16384 KiB,
// 512-bit vectors".
std::string describe(const CpuGeometry& cpu);

}  // namespace hqsweep
