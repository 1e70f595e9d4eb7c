// The CPU geometry the simulator plans by: the override's parsing and refusals, and the rules that
// turn a geometry into lanes and tiles.
#include "simulator/cpu.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "common/error.h"
#include "simulator/simulator.h"
#include "simulator/tiles.h"

namespace hqsweep {
namespace {

std::string error_of(const std::string& text) {
  try {
    apply_cpu_override(CpuGeometry{}, text, "HQSWEEP_SIMULATOR_CPU");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(CpuGeometryTest, OverrideSetsEveryKey) {
  const CpuGeometry cpu =
      apply_cpu_override(CpuGeometry{}, "l1d=48K,l2=2M,l3=16M,vector=512", "test");
  EXPECT_EQ(cpu.l1d_bytes, 48u * 1024);
  EXPECT_EQ(cpu.l2_bytes, 2u * 1024 * 1024);
  EXPECT_EQ(cpu.l3_share_bytes, 16u * 1024 * 1024);
  EXPECT_EQ(cpu.vector_bits, 512);
  EXPECT_EQ(apply_cpu_override(cpu, "l3=0", "test").l3_share_bytes, 0u);
  EXPECT_EQ(apply_cpu_override(cpu, "", "test").l2_bytes, cpu.l2_bytes);
}

TEST(CpuGeometryTest, OverrideRefusesWhatIsNotASetting) {
  for (const std::string bad :
       {"l2", "l2=big", "l2=1K", "vector=384", "l4=1M", "l1d=-4K", "l2=99999999999K"}) {
    const std::string message = error_of(bad);
    EXPECT_NE(message.find("HQSWEEP_SIMULATOR_CPU"), std::string::npos) << bad << ": " << message;
    EXPECT_NE(message.find(bad), std::string::npos) << bad << ": " << message;
    EXPECT_NE(message.find("expected"), std::string::npos) << message;
  }
}

// The environment is read once per process: the death test's child (a fresh process, "threadsafe"
// style) sets it before its first simulator.
TEST(CpuGeometryTest, InvalidEnvironmentOverrideStopsTheSimulatorWithItsName) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("HQSWEEP_SIMULATOR_CPU", "l2=lots", 1);
        try {
          BatchedSimulator<float> sim(
              build_circuit({4, 1, "hardware_efficient", "angle_ry", false, "z"}));
        } catch (const Error& e) {
          std::fprintf(stderr, "%s\n", e.what());
          std::exit(3);
        }
        std::exit(0);
      },
      ::testing::ExitedWithCode(3), "HQSWEEP_SIMULATOR_CPU: 'l2=lots' is not a CPU setting");
}

TEST(CpuGeometryTest, DetectedGeometryIsPlausible) {
  const CpuGeometry& cpu = cpu_geometry();
  EXPECT_GE(cpu.l1d_bytes, 1024u);
  EXPECT_GE(cpu.l2_bytes, cpu.l1d_bytes);
  EXPECT_TRUE(cpu.vector_bits == 128 || cpu.vector_bits == 256 || cpu.vector_bits == 512);
  EXPECT_NE(describe(cpu).find("KiB"), std::string::npos);
}

TEST(CpuGeometryTest, LanesFollowTheVectorWidth) {
  CpuGeometry wide, narrow;
  wide.vector_bits = 512;
  narrow.vector_bits = 256;
  EXPECT_EQ(default_lanes(12, sizeof(float), wide), 16);
  EXPECT_EQ(default_lanes(12, sizeof(double), wide), 8);
  EXPECT_EQ(default_lanes(12, sizeof(float), narrow), 8);
  EXPECT_EQ(default_lanes(20, sizeof(float), wide), 8);  // a block stays within 2^20 x 8 lanes
  // 16 qubits with 16 MiB of cache: the adjoint pass's 4 states fit with 8 lanes (4 MiB each),
  // not with 16; beyond, neither fits and 16 lanes win again.
  wide.l2_bytes = 1024 * 1024;
  wide.l3_share_bytes = 16 * 1024 * 1024;
  EXPECT_EQ(default_lanes(15, sizeof(float), wide), 16);
  EXPECT_EQ(default_lanes(16, sizeof(float), wide), 8);
  EXPECT_EQ(default_lanes(18, sizeof(float), wide), 16);
  EXPECT_EQ(default_lanes(24, sizeof(float), wide), 1);
}

TEST(CpuGeometryTest, TilesFollowTheCaches) {
  CpuGeometry cpu;
  cpu.l2_bytes = 1024 * 1024;
  cpu.l3_share_bytes = 16 * 1024 * 1024;
  const std::size_t sixteen_float_lanes = 2 * 16 * sizeof(float);  // 128 bytes an amplitude
  // Whole-state passes while the pass's states fit the L3 share: at 16 qubits a state is 8 MiB,
  // so the forward pass (2 states) takes the whole state and the adjoint pass (4) tiles.
  EXPECT_EQ(tiles::chosen_tile_qubits(16, sixteen_float_lanes, 2, cpu), 16);
  // A tile holds half of L2: 2^12 x 128 bytes = 512 KiB.
  EXPECT_EQ(tiles::chosen_tile_qubits(16, sixteen_float_lanes, 4, cpu), 12);
  EXPECT_EQ(tiles::chosen_tile_qubits(18, sixteen_float_lanes, 2, cpu), 12);
  // Without an L3, L2 decides.
  cpu.l3_share_bytes = 0;
  EXPECT_EQ(tiles::chosen_tile_qubits(11, sixteen_float_lanes, 2, cpu), 11);
  EXPECT_EQ(tiles::chosen_tile_qubits(13, sixteen_float_lanes, 2, cpu), 12);
  cpu.l2_bytes = 512 * 1024;
  EXPECT_EQ(tiles::chosen_tile_qubits(13, sixteen_float_lanes, 2, cpu), 11);
  // Never more wires than the state has.
  EXPECT_EQ(tiles::chosen_tile_qubits(12, sixteen_float_lanes, 4, cpu), 11);
  EXPECT_EQ(tiles::chosen_tile_qubits(10, sixteen_float_lanes, 4, cpu), 10);
}

}  // namespace
}  // namespace hqsweep
