// The progress line, its ETA and the progress file `hqsweep status` reads.
#include "orchestrator/run/progress.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/store/store_test_util.h"

namespace hqsweep {
namespace {

ProgressSnapshot long_runs() {
  ProgressSnapshot s;
  s.total = 6;
  s.done = 1;
  s.failed = 1;
  s.running = 2;
  s.queued = 1;
  s.waiting = 1;
  s.running_runs = {{"a1b2c3d4e5f60718", 23, 60, "val_acc", 0.81234},
                    {"ffff0000ffff0000", 0, 60, "", 0}};
  s.eta_seconds = 7560;
  return s;
}

TEST(ProgressTest, LineSaysEachRunningRunsEpochAndKeepsFailedApartFromDone) {
  EXPECT_EQ(progress_line(long_runs()),
            "1/6 done, 1 failed | 2 running, 1 queued, 1 waiting | a1b2c3d4 epoch 23/60 val_acc "
            "0.8123, ffff0000 | ETA 2.1h");
  EXPECT_EQ(progress_line(long_runs(), 1),
            "1/6 done, 1 failed | 2 running, 1 queued, 1 waiting | a1b2c3d4 epoch 23/60 val_acc "
            "0.8123, +1 more | ETA 2.1h");
  ProgressSnapshot fresh;
  fresh.total = 2;
  fresh.running = 2;
  EXPECT_EQ(progress_line(fresh, 0), "0/2 done | 2 running, 0 queued, 0 waiting | ETA ?");
}

TEST(ProgressTest, EtaComesFromTheRateOfTheWorkDoneSoFar) {
  EXPECT_LT(estimated_seconds_left(0, 100, 60), 0) << "nothing done: not known";
  // A quarter of the work (epochs of running runs count) in 10 minutes: 30 minutes left.
  EXPECT_DOUBLE_EQ(estimated_seconds_left(25, 75, 600), 1800);
}

TEST(ProgressTest, FileRoundTripsAndIsRemoved) {
  testing::TemporaryDirectory directory;
  const std::string results = directory.file("r.h5");
  EXPECT_FALSE(read_progress_file(results));
  ProgressSnapshot s = long_runs();
  s.running_runs[1].value = NAN;  // no value yet: null in the file
  write_progress_file(results, s);
  const std::optional<ProgressSnapshot> back = read_progress_file(results);
  ASSERT_TRUE(back);
  EXPECT_EQ(progress_line(*back), progress_line(s));
  remove_progress_file(results);
  EXPECT_FALSE(std::filesystem::exists(progress_path(results)));
  std::ofstream(progress_path(results)) << "{\"total\": \"many\"}";
  EXPECT_FALSE(read_progress_file(results)) << "a damaged file shows no progress";
}

}  // namespace
}  // namespace hqsweep
