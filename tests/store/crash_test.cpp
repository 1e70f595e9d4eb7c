// Kills a process that appends results with SIGKILL at random moments (during recovery, journal
// appends and HDF5 updates alike) and checks, after every kill, that the store opens, holds every
// acknowledged run exactly once and accepts new appends. HQSWEEP_STORE_KILLS sets the number of
// kills (ctest: 12; scripts/store-kill-test.sh: 60).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "store/hdf5.h"
#include "store/result_store.h"
#include "store/results_file.h"
#include "tests/store/store_test_util.h"

namespace hqsweep {
namespace {

struct KilledWriter {
  std::vector<std::string> acknowledged;
  bool killed = false;
  bool opened = false;
};

// Starts the writer, kills it after `delay`, and returns what it acknowledged before dying.
// after_open: the delay counts from the store's "open" line (kills land in appends and HDF5
// updates); otherwise from the start (kills also land in the recovery of the previous kill).
KilledWriter run_and_kill(const std::string& path, const std::string& prefix,
                          std::chrono::microseconds delay, bool deferred, bool after_open) {
  int out[2];
  EXPECT_EQ(::pipe(out), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    ::execl(HQSWEEP_CRASH_WRITER, HQSWEEP_CRASH_WRITER, path.c_str(), prefix.c_str(), "100000",
            deferred ? "deferred" : "now", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  char buffer[4096];
  if (after_open) {
    // Wait for the condition, not a time: the store has opened (recovery done), however long
    // that takes on a busy machine; a writer that dies first ends the wait too.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (text.find("open\n") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      const ssize_t got = ::read(out[0], buffer, sizeof buffer);
      if (got <= 0) break;
      text.append(buffer, static_cast<std::size_t>(got));
    }
  }
  std::this_thread::sleep_for(delay);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  for (ssize_t got; (got = ::read(out[0], buffer, sizeof(buffer))) > 0;) text.append(buffer, got);
  ::close(out[0]);
  KilledWriter result;
  result.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  // Only whole lines count: a line cut by the kill was not acknowledged.
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    std::string line = text.substr(start, end - start);
    if (line == "open") {
      result.opened = true;
    } else {
      result.acknowledged.push_back(line);
    }
  }
  return result;
}

// What a reader that knows nothing of the journal sees in the HDF5 file: every index row has its
// run group with its datasets (all rows when `every_run`, else the last 50), nothing else is there.
void expect_file_agrees_with_its_index(const std::string& path, std::size_t stored,
                                       bool every_run) {
  hdf5::Handle file = hdf5::open_file(path, hdf5::Access::read_only);
  const std::vector<RunSummary> index = results_file::read_index(file);
  ASSERT_EQ(index.size(), stored);
  ASSERT_EQ(hdf5::list_links(hdf5::open_group(file, "runs")).size(), stored);
  for (std::size_t i = every_run || index.size() < 50 ? 0 : index.size() - 50; i < index.size();
       ++i) {
    const RunSummary& row = index[i];
    const RunResult run = results_file::read_run(file, row.run_id);  // throws when absent
    for (const auto& [name, value] : row.metrics) {  // the index holds some of the metrics
      ASSERT_EQ(run.metrics.count(name), 1u) << row.run_id << " " << name;
      ASSERT_EQ(run.metrics.at(name), value) << row.run_id << " " << name;
    }
    ASSERT_FALSE(run.curves.empty()) << row.run_id;
  }
}

// immediate: each append updates the HDF5 file; deferred: as `hqsweep run` stores results, the
// file written in slices behind the journal.
class StoreCrashTest : public ::testing::TestWithParam<bool> {};

TEST_P(StoreCrashTest, EveryAcknowledgedRunSurvivesRandomKills) {
  const bool deferred = GetParam();
  int kills = 12;
  if (const char* value = std::getenv("HQSWEEP_STORE_KILLS")) kills = std::atoi(value);
  testing::TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  std::mt19937 random(20261121);
  std::uniform_int_distribution<int> delay_us(2000, 120000);
  std::set<std::string> acknowledged;
  int killed_while_appending = 0;
  int killed_in_hdf5_update = 0;
  for (int kill = 0; kill < kills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill));
    KilledWriter writer =
        run_and_kill(path, "k" + std::to_string(kill), std::chrono::microseconds(delay_us(random)),
                     deferred, /*after_open=*/kill % 2 == 0);
    ASSERT_TRUE(writer.killed) << "the writer ended before it was killed";
    if (writer.opened) ++killed_while_appending;
    if (std::filesystem::exists(path + ".writing")) ++killed_in_hdf5_update;
    acknowledged.insert(writer.acknowledged.begin(), writer.acknowledged.end());

    // A reader right after the kill, before any recovery: every acknowledged run listed, and
    // this writer's runs readable whole.
    if (writer.opened) {
      ResultStore reader = ResultStore::open_for_reading(path);
      std::set<std::string> listed;
      for (const RunSummary& run : reader.list()) listed.insert(run.run_id);
      for (const std::string& id : acknowledged)
        ASSERT_TRUE(listed.count(id)) << "a reader misses " << id;
      for (const std::string& id : writer.acknowledged) ASSERT_EQ(reader.get(id).run_id, id);
    }
    std::size_t stored = 0;
    {
      ResultStore store = ResultStore::open_for_writing(path);
      std::vector<RunSummary> runs = store.list();
      std::set<std::string> unique;
      for (const RunSummary& run : runs) unique.insert(run.run_id);
      ASSERT_EQ(unique.size(), runs.size()) << "a run is stored twice";
      for (const std::string& id : acknowledged) ASSERT_TRUE(unique.count(id)) << "lost " << id;
      std::string probe = "probe-" + std::to_string(kill);
      store.append(testing::make_result(probe, kill));
      acknowledged.insert(probe);
      stored = runs.size() + 1;
    }
    // With no writer the reader uses the HDF5 file itself: it must hold the same runs.
    ResultStore reader = ResultStore::open_for_reading(path);
    ASSERT_EQ(reader.list().size(), stored);
    expect_file_agrees_with_its_index(path, stored, /*every_run=*/kill + 1 == kills);
  }
  std::cout << kills << " kills, " << killed_while_appending << " after the store had opened, "
            << killed_in_hdf5_update << " in the middle of an HDF5 update, " << acknowledged.size()
            << " acknowledged runs, all present once\n";
  EXPECT_GE(killed_while_appending, kills / 2) << "every other kill waits for the store to open";
}

INSTANTIATE_TEST_SUITE_P(FileUpdates, StoreCrashTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Deferred" : "Immediate";
                         });

// Two writers started at the same moment on a results file whose journal is not there yet (a file
// copied or merged from elsewhere, the case where the journal is made first): one may refuse, but
// no acknowledged run of either may be lost. 40 trials.
TEST(WriterRaceTest, TwoWritersOnAFileWithoutJournalNeverLoseRuns) {
  int refused_trials = 0;
  for (int trial = 0; trial < 40; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    testing::TemporaryDirectory dir;
    const std::string path = dir.file("copied.h5");
    {
      ResultStore store = ResultStore::open_for_writing(path);
      store.append(testing::make_result("before-0", 0));
      store.append(testing::make_result("before-1", 1));
    }
    std::filesystem::remove(path + ".journal");  // as if copied without it
    int gate[2];
    ASSERT_EQ(::pipe(gate), 0);
    struct Writer {
      pid_t pid;
      int out;
    } writers[2];
    for (int w = 0; w < 2; ++w) {
      int out[2];
      ASSERT_EQ(::pipe(out), 0);
      const pid_t child = ::fork();
      if (child == 0) {
        ::dup2(out[1], 1);
        ::dup2(out[1], 2);
        ::close(gate[1]);
        char go;
        [[maybe_unused]] const ssize_t got = ::read(gate[0], &go, 1);  // both start together
        const std::string prefix = w == 0 ? "a" : "b";
        ::execl(HQSWEEP_CRASH_WRITER, HQSWEEP_CRASH_WRITER, path.c_str(), prefix.c_str(), "30",
                static_cast<char*>(nullptr));
        ::_exit(127);
      }
      ::close(out[1]);
      writers[w] = {child, out[0]};
    }
    ::close(gate[0]);
    ::close(gate[1]);  // releases both
    std::set<std::string> acknowledged = {"before-0", "before-1"};
    int refused = 0;
    for (const Writer& writer : writers) {
      std::string text;
      char buffer[4096];
      for (ssize_t got; (got = ::read(writer.out, buffer, sizeof buffer)) > 0;)
        text.append(buffer, got);
      ::close(writer.out);
      int status = 0;
      ::waitpid(writer.pid, &status, 0);
      ASSERT_TRUE(WIFEXITED(status)) << text;
      if (WEXITSTATUS(status) != 0) {
        ASSERT_NE(text.find("is being written by "), std::string::npos) << text;
        ++refused;
      }
      std::size_t start = 0;
      for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
        const std::string line = text.substr(start, end - start);
        if (line.rfind("a-", 0) == 0 || line.rfind("b-", 0) == 0) acknowledged.insert(line);
      }
    }
    if (refused > 0) ++refused_trials;
    ResultStore store = ResultStore::open_for_reading(path);
    std::set<std::string> stored;
    for (const RunSummary& run : store.list()) stored.insert(run.run_id);
    for (const std::string& id : acknowledged) ASSERT_TRUE(stored.count(id)) << "lost " << id;
  }
  std::cout << refused_trials << " of 40 trials had a writer refused while the other wrote\n";
  EXPECT_GT(refused_trials, 0) << "the writers never overlapped: the race was not tested";
}

}  // namespace
}  // namespace hqsweep
