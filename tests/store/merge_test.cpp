// merge_results: shards into one file, each run once; the better copy wins; conflicts reported;
// refusals change nothing.
#include "store/merge.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "store/result_store.h"
#include "tests/error_text.h"
#include "tests/store/store_test_util.h"

namespace hqsweep {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using testing::make_result;
using testing::TemporaryDirectory;

RunResult with_status(RunResult result, RunStatus status) {
  result.status = status;
  result.error = status == RunStatus::done ? "" : "stopped";
  return result;
}

void write_file(const std::string& path, const std::vector<RunResult>& runs) {
  ResultStore store = ResultStore::open_for_writing(path);
  SweepRecord record;
  record.name = "study";
  record.source = "study.json";
  record.text = "{}";
  record.run_count = static_cast<int64_t>(runs.size());
  record.command_line = "hqsweep run study.json --shard " + path;
  store.record_sweep(record);
  for (const RunResult& run : runs) store.append(run, AppendMode::retry);
}

TEST(MergeTest, ShardsBecomeOneFileWithEveryRunOnce) {
  TemporaryDirectory dir;
  write_file(dir.file("s0.h5"), {make_result("a", 1), make_result("b", 2)});
  write_file(dir.file("s1.h5"),
             {make_result("c", 3), with_status(make_result("d", 4), RunStatus::cancelled)});
  // A retry elsewhere: "d" finished in the third file, "a" is there again, the same.
  write_file(dir.file("s2.h5"), {make_result("d", 4), make_result("a", 1)});
  const MergeSummary summary =
      merge_results(dir.file("all.h5"), {dir.file("s0.h5"), dir.file("s1.h5"), dir.file("s2.h5")});
  EXPECT_EQ(summary.added, 4);
  EXPECT_EQ(summary.already_there, 0);
  EXPECT_EQ(summary.duplicate_copies, 2);
  EXPECT_TRUE(summary.conflicts.empty());

  ResultStore merged = ResultStore::open_for_reading(dir.file("all.h5"));
  ASSERT_EQ(merged.list().size(), 4u);
  for (const RunSummary& run : merged.list()) EXPECT_EQ(run.status, RunStatus::done) << run.run_id;
  RunResult d = merged.get("d");
  RunResult expected = make_result("d", 4);
  EXPECT_EQ(d.test_probabilities, expected.test_probabilities);
  EXPECT_EQ(d.curves, expected.curves);
  EXPECT_EQ(merged.sweeps().size(), 3u);  // each shard's record
}

TEST(MergeTest, MergingAgainAddsOnlyWhatIsNewOrBetter) {
  TemporaryDirectory dir;
  write_file(dir.file("s0.h5"),
             {make_result("a", 1), with_status(make_result("b", 2), RunStatus::failed)});
  merge_results(dir.file("all.h5"), {dir.file("s0.h5")});
  // Later the shard retried "b" and ran "c".
  {
    ResultStore shard = ResultStore::open_for_writing(dir.file("s0.h5"));
    shard.append(make_result("b", 2), AppendMode::retry);
    shard.append(make_result("c", 3));
  }
  const MergeSummary again = merge_results(dir.file("all.h5"), {dir.file("s0.h5")});
  EXPECT_EQ(again.added, 2);
  EXPECT_EQ(again.already_there, 1);
  {
    ResultStore merged = ResultStore::open_for_reading(dir.file("all.h5"));
    EXPECT_EQ(merged.list().size(), 3u);
    EXPECT_EQ(merged.status("b"), RunStatus::done);
  }
  // A worse copy never replaces a finished run.
  write_file(dir.file("old.h5"), {with_status(make_result("a", 1), RunStatus::cancelled)});
  const MergeSummary worse = merge_results(dir.file("all.h5"), {dir.file("old.h5")});
  EXPECT_EQ(worse.added, 0);
  EXPECT_EQ(ResultStore::open_for_reading(dir.file("all.h5")).status("a"), RunStatus::done);
}

TEST(MergeTest, FinishedCopiesThatDisagreeAreConflicts) {
  TemporaryDirectory dir;
  RunResult other = make_result("a", 1);
  other.metrics["test_acc"] += 0.125;
  write_file(dir.file("s0.h5"), {make_result("a", 1), make_result("b", 2)});
  write_file(dir.file("s1.h5"), {other, with_status(make_result("b", 2), RunStatus::diverged)});
  const MergeSummary summary =
      merge_results(dir.file("all.h5"), {dir.file("s0.h5"), dir.file("s1.h5")});
  ASSERT_EQ(summary.conflicts.size(), 2u);
  EXPECT_EQ(summary.conflicts[0].run_id, "a");
  EXPECT_EQ(summary.conflicts[0].kept_file, dir.file("s0.h5"));
  EXPECT_EQ(summary.conflicts[0].other_file, dir.file("s1.h5"));
  EXPECT_NE(summary.conflicts[0].difference.find("test_acc"), std::string::npos);
  EXPECT_EQ(summary.conflicts[1].difference, "done vs diverged");
  EXPECT_EQ(summary.added, 2);  // the first file's copies
  ResultStore merged = ResultStore::open_for_reading(dir.file("all.h5"));
  EXPECT_EQ(merged.get("a").metrics.at("test_acc"), make_result("a", 1).metrics.at("test_acc"));
}

TEST(MergeTest, RefusalsLeaveTheMergedFileAlone) {
  TemporaryDirectory dir;
  write_file(dir.file("s0.h5"), {make_result("a", 1)});
  EXPECT_NE(error_of([&] {
              merge_results(dir.file("s0.h5"), {dir.file("s0.h5")});
            }).find("is both an input and the merged file"),
            std::string::npos);
  { std::ofstream(dir.file("notes.h5")) << "not HDF5"; }
  const std::string bad = error_of([&] {
    merge_results(dir.file("all.h5"), {dir.file("s0.h5"), dir.file("notes.h5")});
  });
  EXPECT_NE(bad.find(dir.file("notes.h5")), std::string::npos) << bad;
  EXPECT_FALSE(fs::exists(dir.file("all.h5")));
  EXPECT_NE(error_of([&] {
              merge_results(dir.file("all.h5"), {dir.file("missing.h5")});
            }).find("missing.h5"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(dir.file("all.h5")));
}

}  // namespace
}  // namespace hqsweep
