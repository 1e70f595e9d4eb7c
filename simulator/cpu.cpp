// Reading the CPU's cache sizes and vector width, once, with an override for experiments and for
// machines whose sysfs says nothing (some containers).
#include "simulator/cpu.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace hqsweep {

namespace {

// "48K", "1024K", "32M" (sysfs's form; the override takes the same) -> bytes; 0 when malformed.
std::size_t parse_size(const std::string& text) {
  if (text.empty()) return 0;
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return 0;
  std::size_t value = std::stoul(text.substr(0, digits));
  const std::string suffix = text.substr(digits);
  if (suffix == "K" || suffix == "k") return value * 1024;
  if (suffix == "M" || suffix == "m") return value * 1024 * 1024;
  if (suffix.empty()) return value;
  return 0;
}

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// How many CPUs a sysfs list such as "0-3,8-11" names; at least 1.
std::size_t count_cpus(const std::string& list) {
  std::size_t count = 0;
  std::stringstream ranges(list);
  std::string range;
  while (std::getline(ranges, range, ',')) {
    const std::size_t dash = range.find('-');
    try {
      if (dash == std::string::npos) {
        std::stoul(range);
        ++count;
      } else {
        const std::size_t first = std::stoul(range.substr(0, dash));
        const std::size_t last = std::stoul(range.substr(dash + 1));
        if (last >= first) count += last - first + 1;
      }
    } catch (const std::exception&) {  // not a list: count what was readable
    }
  }
  return std::max<std::size_t>(count, 1);
}

// The data caches of CPU 0 as sysfs lists them; leaves a size alone when sysfs has none. The
// level-3 cache is shared: each CPU sharing it counts on its share.
void read_sysfs_caches(CpuGeometry& cpu) {
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    const std::string level = read_line(dir + "/level"), type = read_line(dir + "/type");
    const std::size_t size = parse_size(read_line(dir + "/size"));
    if (size == 0) continue;
    if (level == "1" && type == "Data") cpu.l1d_bytes = size;
    if (level == "2" && (type == "Unified" || type == "Data")) cpu.l2_bytes = size;
    if (level == "3" && type == "Unified")
      cpu.l3_share_bytes = size / count_cpus(read_line(dir + "/shared_cpu_list"));
  }
}

int build_vector_bits() {
#if defined(__AVX512F__)
  return 512;
#elif defined(__AVX2__)
  return 256;
#else
  return 128;
#endif
}

int cpu_vector_bits() {
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx512f")) return 512;
  if (__builtin_cpu_supports("avx2")) return 256;
#endif
  return 128;
}

CpuGeometry detect() {
  CpuGeometry cpu;
  // sysconf's level 3 may be the whole package's (384 MiB on a 2-vCPU slice here): sysfs only.
  const long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (l1 > 0) cpu.l1d_bytes = static_cast<std::size_t>(l1);
  if (l2 > 0) cpu.l2_bytes = static_cast<std::size_t>(l2);
  read_sysfs_caches(cpu);
  cpu.vector_bits = std::min(build_vector_bits(), cpu_vector_bits());
  if (const char* text = std::getenv("HQSWEEP_SIMULATOR_CPU"))
    cpu = apply_cpu_override(cpu, text, "HQSWEEP_SIMULATOR_CPU");
  return cpu;
}

}  // namespace

CpuGeometry apply_cpu_override(CpuGeometry base, const std::string& text,
                               const std::string& source) {
  std::stringstream pairs(text);
  std::string pair;
  while (std::getline(pairs, pair, ',')) {
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    const std::string key = eq == std::string::npos ? pair : pair.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
    const std::size_t size = parse_size(value);
    if (key == "l1d" && size >= 1024) {
      base.l1d_bytes = size;
    } else if (key == "l2" && size >= 16 * 1024) {
      base.l2_bytes = size;
    } else if (key == "l3" && (size > 0 || value == "0")) {
      base.l3_share_bytes = size;
    } else if (key == "vector" && (value == "128" || value == "256" || value == "512")) {
      base.vector_bits = std::stoi(value);
    } else {
      throw Error(source + ": '" + pair +
                  "' is not a CPU setting; expected l1d=SIZE (at least 1K), l2=SIZE (at least "
                  "16K), l3=SIZE (the share of one CPU, 0 for none) or vector=128|256|512, "
                  "comma-separated, sizes like 48K or 1M");
    }
  }
  return base;
}

const CpuGeometry& cpu_geometry() {
  static const CpuGeometry cpu = detect();
  return cpu;
}

std::string describe(const CpuGeometry& cpu) {
  return "L1d " + std::to_string(cpu.l1d_bytes / 1024) + " KiB, L2 " +
         std::to_string(cpu.l2_bytes / 1024) + " KiB, L3 share " +
         std::to_string(cpu.l3_share_bytes / 1024) + " KiB, " + std::to_string(cpu.vector_bits) +
         "-bit vectors";
}

}  // namespace hqsweep
