// ResultStore: append and read back, refusal of duplicates, recovery from the journal, and every
// error path with the file that reaches it.
#include "store/result_store.h"
#include "store/writer_lock.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "store/hdf5.h"
#include "store/journal.h"
#include "tests/error_text.h"
#include "tests/store/store_test_util.h"

namespace hqsweep {
namespace {

namespace fs = std::filesystem;
using testing::make_result;
using testing::TemporaryDirectory;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::vector<std::string> ids(const std::vector<RunSummary>& runs) {
  std::vector<std::string> out;
  for (const RunSummary& run : runs) out.push_back(run.run_id);
  return out;
}

// Expects the two results to be equal in everything the store keeps (attempt aside).
void expect_same_result(RunResult actual, RunResult expected) {
  actual.attempt = expected.attempt = 0;
  EXPECT_EQ(to_json(actual), to_json(expected));
}

using testing::error_of;

TEST(ResultStoreTest, AppendedRunReadsBackWhole) {
  TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  RunResult expected = make_result("a1", 7);
  {
    ResultStore store = ResultStore::open_for_writing(path);
    store.append(expected);
    expect_same_result(store.get("a1"), expected);
  }
  ResultStore reader = ResultStore::open_for_reading(path);
  ASSERT_TRUE(reader.contains("a1"));
  EXPECT_EQ(reader.status("a1"), RunStatus::done);
  expect_same_result(reader.get("a1"), expected);
  std::vector<RunSummary> runs = reader.list();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].config, expected.config);
  EXPECT_DOUBLE_EQ(runs[0].metrics.at("test_auc"), expected.metrics.at("test_auc"));
  EXPECT_EQ(runs[0].metrics.count("test_precision"), 0u) << "list carries the index metrics";
  EXPECT_NEAR(runs[0].duration, expected.duration(), 1e-9);
  EXPECT_FALSE(reader.contains("a2"));
  EXPECT_FALSE(reader.status("a2").has_value());
}

TEST(ResultStoreTest, ListKeepsFirstAppendOrderAcrossReopens) {
  TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  {
    ResultStore store = ResultStore::open_for_writing(path);
    for (const char* id : {"c", "a", "b"}) store.append(make_result(id, 1));
  }
  {
    ResultStore store = ResultStore::open_for_writing(path);
    store.append(make_result("d", 2));
  }
  EXPECT_EQ(ids(ResultStore::open_for_reading(path).list()),
            (std::vector<std::string>{"c", "a", "b", "d"}));
}

TEST(ResultStoreTest, DoneRunIsRefusedUnlessRetried) {
  TemporaryDirectory dir;
  ResultStore store = ResultStore::open_for_writing(dir.file("results.h5"));
  store.append(make_result("r", 1));
  EXPECT_NE(error_of([&] { store.append(make_result("r", 2)); }).find("r is already done"),
            std::string::npos);
  store.append(make_result("r", 3), AppendMode::retry);
  EXPECT_EQ(store.get("r").attempt, 2);
  expect_same_result(store.get("r"), make_result("r", 3));
  EXPECT_EQ(store.list().size(), 1u);
}

TEST(ResultStoreTest, FailedRunIsReplacedByItsNextAttempt) {
  TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  {
    ResultStore store = ResultStore::open_for_writing(path);
    RunResult failed = make_result("f", 1);
    failed.status = RunStatus::failed;
    failed.error = "killed by signal 11 (Segmentation fault)";
    failed.metrics.clear();
    store.append(failed);
    store.append(make_result("f", 1));
  }
  ResultStore reader = ResultStore::open_for_reading(path);
  ASSERT_EQ(reader.list().size(), 1u);
  EXPECT_EQ(reader.list()[0].status, RunStatus::done);
  EXPECT_EQ(reader.list()[0].attempt, 2);
}

TEST(ResultStoreTest, ReaderSeesEveryAcknowledgedRunWhileWriterIsActive) {
  TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  ResultStore writer = ResultStore::open_for_writing(path);
  writer.append(make_result("x", 1));
  writer.append(make_result("y", 2));
  ResultStore reader = ResultStore::open_for_reading(path);
  EXPECT_EQ(ids(reader.list()), (std::vector<std::string>{"x", "y"}));
  expect_same_result(reader.get("y"), make_result("y", 2));
}

TEST(ResultStoreTest, DeferredAppendsAreDurableAndReachTheFileLater) {
  TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  {
    ResultStore writer = ResultStore::open_for_writing(path);
    writer.append_all({make_result("p", 1), make_result("q", 2)}, AppendMode::normal,
                      FileUpdate::deferred);
    expect_same_result(writer.get("q"), make_result("q", 2));
    // A reader meanwhile reads the journal, so it sees both.
    ResultStore reader = ResultStore::open_for_reading(path);
    EXPECT_EQ(ids(reader.list()), (std::vector<std::string>{"p", "q"}));
    writer.append(make_result("r", 3));  // an immediate append writes the deferred ones too
  }
  // The writer is gone: the HDF5 file alone has all three, attempts counted once.
  ResultStore reader = ResultStore::open_for_reading(path);
  EXPECT_EQ(ids(reader.list()), (std::vector<std::string>{"p", "q", "r"}));
  expect_same_result(reader.get("p"), make_result("p", 1));
  EXPECT_EQ(reader.get("p").attempt, 1);
}

TEST(ResultStoreTest, FileUpdatesInSlicesWriteTheOldestRunsFirst) {
  TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  {
    ResultStore writer = ResultStore::open_for_writing(path);
    EXPECT_FALSE(writer.update_file(0));  // nothing deferred
    writer.append_all({make_result("p", 1), make_result("q", 2), make_result("r", 3)},
                      AppendMode::normal, FileUpdate::deferred);
    // No time at all: still one run per call, oldest first, and it says when runs are left.
    EXPECT_TRUE(writer.update_file(0));
    EXPECT_TRUE(writer.update_file(0));
    EXPECT_FALSE(writer.update_file(0));
    EXPECT_FALSE(writer.update_file(0));
    writer.append_all({make_result("s", 4)}, AppendMode::normal, FileUpdate::deferred);
    EXPECT_FALSE(writer.update_file(60));  // time enough for everything
  }
  ResultStore reader = ResultStore::open_for_reading(path);
  EXPECT_EQ(ids(reader.list()), (std::vector<std::string>{"p", "q", "r", "s"}));
  expect_same_result(reader.get("r"), make_result("r", 3));
}

TEST(ResultStoreTest, SweepRecordsBecomeIndexColumns) {
  TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  {
    ResultStore store = ResultStore::open_for_writing(path);
    store.append(make_result("before", 1));
    SweepRecord sweep;
    sweep.name = "demo";
    sweep.source = "sweeps/demo.json";
    sweep.text = "{\"grid\": {}}";
    sweep.run_count = 2;
    sweep.command_line = "hqsweep run demo.json";
    sweep.varying_keys = {"model.fusion", "seed"};
    sweep.recorded_time = 1.7e9;
    sweep.overrides = {"train.epochs=2"};
    store.record_sweep(sweep);
    store.record_sweep(sweep);  // a resume records nothing new
    store.append(make_result("after", 2));
  }
  ResultStore reader = ResultStore::open_for_reading(path);
  ASSERT_EQ(reader.sweeps().size(), 1u);
  EXPECT_EQ(reader.sweeps()[0].command_line, "hqsweep run demo.json");
  EXPECT_EQ(reader.sweeps()[0].overrides, (std::vector<std::string>{"train.epochs=2"}));
  hdf5::Handle file = hdf5::open_file(path, hdf5::Access::read_only);
  EXPECT_EQ(hdf5::read_text_column(file, "index", "model.fusion"),
            (std::vector<std::string>{"dhf", "classical"}));
  EXPECT_EQ(hdf5::read_number_column(file, "index", "seed"), (std::vector<double>{1, 2}));
  EXPECT_EQ(hdf5::read_string_dataset(hdf5::open_group(file, "sweep"), "text"), "{\"grid\": {}}");
}

TEST(ResultStoreTest, MissingHdf5FileIsRebuiltFromTheJournal) {
  TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  {
    ResultStore store = ResultStore::open_for_writing(path);
    store.append(make_result("a", 1));
    store.append(make_result("b", 2));
  }
  fs::remove(path);
  EXPECT_EQ(ids(ResultStore::open_for_reading(path).list()), (std::vector<std::string>{"a", "b"}))
      << "a reader falls back to the journal";
  ResultStore::open_for_writing(path);
  ASSERT_TRUE(fs::exists(path));
  ResultStore reader = ResultStore::open_for_reading(path);
  EXPECT_EQ(ids(reader.list()), (std::vector<std::string>{"a", "b"}));
  expect_same_result(reader.get("b"), make_result("b", 2));
}

TEST(ResultStoreTest, HalfWrittenHdf5FileIsRebuiltFromTheJournal) {
  TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  {
    ResultStore store = ResultStore::open_for_writing(path);
    store.append(make_result("a", 1));
  }
  // What a writer killed mid-update leaves: its marker and a damaged file.
  std::string bytes = read_bytes(path);
  write_bytes(path, bytes.substr(0, bytes.size() / 2));
  write_bytes(path + ".writing", "");
  ResultStore::open_for_writing(path).append(make_result("b", 2));
  EXPECT_FALSE(fs::exists(path + ".writing"));
  ResultStore reader = ResultStore::open_for_reading(path);
  EXPECT_EQ(ids(reader.list()), (std::vector<std::string>{"a", "b"}));
}

TEST(ResultStoreTest, FileLeftWithoutItsMetaByAKilledWriterIsRebuilt) {
  TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  { ResultStore::open_for_writing(path).append(make_result("a", 1)); }
  // Killed while /meta was being rewritten: the file looks foreign, but the marker says it is ours.
  {
    hdf5::Handle file = hdf5::create_file(path);
    hdf5::create_group(file, "meta");
  }
  write_bytes(path + ".writing", "");
  EXPECT_EQ(ids(ResultStore::open_for_reading(path).list()), (std::vector<std::string>{"a"}));
  ResultStore::open_for_writing(path).append(make_result("b", 2));
  EXPECT_EQ(ids(ResultStore::open_for_reading(path).list()), (std::vector<std::string>{"a", "b"}));
}

TEST(ResultStoreTest, StaleHdf5FileGetsTheJournalsLaterRecords) {
  TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  std::string older;
  {
    ResultStore store = ResultStore::open_for_writing(path);
    store.append(make_result("a", 1));
    older = read_bytes(path);
    store.append(make_result("b", 2));
  }
  write_bytes(path, older);  // as if the writer died between the journal and the HDF5 update
  EXPECT_EQ(ResultStore::open_for_reading(path).list().size(), 2u);
  ResultStore::open_for_writing(path);
  ResultStore reader = ResultStore::open_for_reading(path);
  EXPECT_EQ(ids(reader.list()), (std::vector<std::string>{"a", "b"}));
  hdf5::Handle file = hdf5::open_file(path, hdf5::Access::read_only);
  EXPECT_EQ(hdf5::table_rows(file, "index"), 2u);
}

TEST(ResultStoreTest, ResultsFileWithoutJournalGetsOneAndKeepsItsRuns) {
  TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  {
    ResultStore store = ResultStore::open_for_writing(path);
    store.append(make_result("a", 1));
  }
  fs::remove(path + ".journal");
  ResultStore::open_for_writing(path).append(make_result("b", 2));
  EXPECT_TRUE(fs::exists(path + ".journal"));
  ResultStore reader = ResultStore::open_for_reading(path);
  EXPECT_EQ(ids(reader.list()), (std::vector<std::string>{"a", "b"}));
  expect_same_result(reader.get("a"), make_result("a", 1));
}

TEST(ResultStoreTest, SecondWriterIsRefused) {
  TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  ResultStore writer = ResultStore::open_for_writing(path);
  writer.append(make_result("a", 1));
  std::string before = read_bytes(path);
  const std::string refusal = error_of([&] { ResultStore::open_for_writing(path); });
  EXPECT_NE(refusal.find(path + " is being written by pid " + std::to_string(::getpid()) + " on "),
            std::string::npos)
      << refusal;
  EXPECT_NE(refusal.find("nothing was changed"), std::string::npos) << refusal;
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_NE(WriterLock::holder(path).find("pid " + std::to_string(::getpid())), std::string::npos);
}

TEST(ResultStoreTest, ForeignHdf5FileIsRefusedAndLeftAlone) {
  TemporaryDirectory dir;
  const std::string path = dir.file("other.h5");
  {
    hdf5::Handle file = hdf5::create_file(path);
    hdf5::create_group(file, "images");
  }
  std::string before = read_bytes(path);
  for (bool writing : {true, false}) {
    std::string message = error_of([&] {
      writing ? ResultStore::open_for_writing(path) : ResultStore::open_for_reading(path);
    });
    EXPECT_NE(message.find("other.h5 is an HDF5 file but not an hqsweep results file"),
              std::string::npos)
        << message;
  }
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_FALSE(fs::exists(path + ".journal"));
}

TEST(ResultStoreTest, FileThatIsNotHdf5IsRefusedAndLeftAlone) {
  TemporaryDirectory dir;
  const std::string path = dir.file("notes.h5");
  write_bytes(path, "run_id,acc\nabc,0.9\n");
  std::string message = error_of([&] { ResultStore::open_for_writing(path); });
  EXPECT_NE(message.find("notes.h5 is not an HDF5 file"), std::string::npos) << message;
  EXPECT_EQ(read_bytes(path), "run_id,acc\nabc,0.9\n");
  EXPECT_FALSE(fs::exists(path + ".journal"));
  EXPECT_NE(error_of([&] {
              ResultStore::open_for_reading(dir.file("absent.h5"));
            }).find("no results file"),
            std::string::npos);
}

TEST(ResultStoreTest, NewerSchemaIsRefusedAndLeftAlone) {
  TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  { ResultStore::open_for_writing(path).append(make_result("a", 1)); }
  {
    hdf5::Handle file = hdf5::open_file(path, hdf5::Access::read_write);
    hdf5::write_attribute(hdf5::open_group(file, "meta"), "schema_version",
                          int64_t{ResultStore::kSchemaVersion + 1});
  }
  std::string before = read_bytes(path);
  std::string journal_before = read_bytes(path + ".journal");
  std::string message = error_of([&] { ResultStore::open_for_writing(path); });
  EXPECT_NE(message.find("has results schema version 3; this hqsweep knows up to version 2"),
            std::string::npos)
      << message;
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(read_bytes(path + ".journal"), journal_before);
}

TEST(ResultStoreTest, CorruptJournalMiddleIsRefusedAndLeftAlone) {
  TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  {
    ResultStore store = ResultStore::open_for_writing(path);
    store.append(make_result("a", 1));
    store.append(make_result("b", 2));
  }
  std::string journal = read_bytes(path + ".journal");
  journal[40] = static_cast<char>(journal[40] ^ 0xff);  // inside the first record's payload
  write_bytes(path + ".journal", journal);
  std::string message = error_of([&] { ResultStore::open_for_writing(path); });
  EXPECT_NE(message.find("is corrupt at byte 32"), std::string::npos) << message;
  EXPECT_EQ(read_bytes(path + ".journal"), journal);
}

TEST(ResultStoreTest, TornLastJournalRecordIsCutAndEarlierRunsKept) {
  TemporaryDirectory dir;
  const std::string path = dir.file("results.h5");
  uint64_t after_first = 0;
  {
    ResultStore store = ResultStore::open_for_writing(path);
    store.append(make_result("a", 1));
    after_first = fs::file_size(path + ".journal");
    store.append(make_result("b", 2));
  }
  fs::resize_file(path + ".journal", after_first + 100);  // "b" cut short by a crash
  fs::remove(path);
  {
    ResultStore store = ResultStore::open_for_writing(path);
    EXPECT_EQ(ids(store.list()), (std::vector<std::string>{"a"}));
    store.append(make_result("c", 3));
  }
  EXPECT_EQ(ids(ResultStore::open_for_reading(path).list()), (std::vector<std::string>{"a", "c"}));
}

// A small tmpfs gives a real ENOSPC; mounting needs root (CI runs as root; elsewhere: skipped).
class ScratchMount {
 public:
  explicit ScratchMount(const std::string& options) {
    std::string pattern = (fs::temp_directory_path() / "hqsweep-mount-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
    mounted_ = ::mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~ScratchMount() {
    if (mounted_) ::umount(path_.c_str());
    ::rmdir(path_.c_str());
  }
  bool mounted() const { return mounted_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void remount(unsigned long flags, const std::string& options) {
    ASSERT_EQ(::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT | flags, options.c_str()), 0);
  }

 private:
  std::string path_;
  bool mounted_ = false;
};

TEST(ResultStoreTest, FullDiskGivesClearErrorAndKeepsAcknowledgedRuns) {
  ScratchMount disk("size=1m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root); ENOSPC untested";
  const std::string path = disk.file("results.h5");
  std::vector<std::string> acknowledged;
  std::string message;
  {
    ResultStore store = ResultStore::open_for_writing(path);
    for (int i = 0; i < 1000 && message.empty(); ++i) {
      std::string id = "run" + std::to_string(i);
      try {
        store.append(make_result(id, i, 2000));
        acknowledged.push_back(id);
      } catch (const Error& error) {
        message = error.what();
      }
    }
  }
  ASSERT_FALSE(acknowledged.empty());
  EXPECT_NE(message.find("No space left on device"), std::string::npos) << message;
  // With the disk still full, a reader sees exactly the acknowledged runs.
  std::vector<std::string> seen = ids(ResultStore::open_for_reading(path).list());
  for (const std::string& id : acknowledged)
    EXPECT_NE(std::find(seen.begin(), seen.end(), id), seen.end()) << id;
  EXPECT_LE(seen.size(), acknowledged.size() + 1);
}

TEST(ResultStoreTest, ReadOnlyDirectoryGivesClearError) {
  ScratchMount disk("size=1m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root); EROFS untested";
  const std::string path = disk.file("results.h5");
  { ResultStore::open_for_writing(path).append(make_result("a", 1)); }
  disk.remount(MS_RDONLY, "size=1m");
  std::string message = error_of([&] { ResultStore::open_for_writing(path); });
  EXPECT_NE(message.find("Read-only file system"), std::string::npos) << message;
  EXPECT_EQ(ids(ResultStore::open_for_reading(path).list()), (std::vector<std::string>{"a"}));
  message = error_of([&] { ResultStore::open_for_writing(disk.file("new.h5")); });
  EXPECT_NE(message.find("new.h5.lock"), std::string::npos) << message;  // the first file made
  EXPECT_NE(message.find("Read-only file system"), std::string::npos) << message;
}

}  // namespace
}  // namespace hqsweep
