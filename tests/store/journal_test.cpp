// Journal: records come back in order; torn tails are cut, corruption and foreign files refused;
// one writer at a time.
#include "store/journal.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "tests/store/store_test_util.h"

namespace hqsweep {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> payloads(const std::string& path) {
  std::vector<std::string> out;
  Journal::scan(path, [&](const JournalRecord& record) { out.push_back(record.payload); });
  return out;
}

TEST(JournalTest, RecordsComeBackInOrderAfterReopen) {
  testing::TemporaryDirectory dir;
  const std::string path = dir.file("j");
  {
    Journal journal = Journal::open_for_append(path);
    journal.append(JournalRecordType::run, "first");
    journal.append(JournalRecordType::sweep, std::string(100000, 'x'));
  }
  {
    Journal journal = Journal::open_for_append(path);
    journal.append(JournalRecordType::run, "");
  }
  EXPECT_EQ(payloads(path), (std::vector<std::string>{"first", std::string(100000, 'x'), ""}));
  JournalRecord second = Journal::read_at(path, 32 + 24 + 5);
  EXPECT_EQ(second.type, JournalRecordType::sweep);
  EXPECT_EQ(second.payload.size(), 100000u);
}

TEST(JournalTest, TornLastRecordIsCutOnOpenForAppend) {
  testing::TemporaryDirectory dir;
  // Cut inside the second record's header, and inside its payload.
  for (uint64_t cut_into_second : {3, 24 + 4}) {
    const std::string path = dir.file("j" + std::to_string(cut_into_second));
    uint64_t end_of_first = 0;
    {
      Journal journal = Journal::open_for_append(path);
      end_of_first = journal.append(JournalRecordType::run, "kept");
      journal.append(JournalRecordType::run, "torn away");
    }
    fs::resize_file(path, end_of_first + cut_into_second);
    EXPECT_EQ(payloads(path), (std::vector<std::string>{"kept"})) << "readers stop quietly";
    EXPECT_EQ(fs::file_size(path), end_of_first + cut_into_second) << "readers change nothing";
    Journal journal = Journal::open_for_append(path);
    EXPECT_EQ(journal.size(), end_of_first);
    journal.append(JournalRecordType::run, "next");
    EXPECT_EQ(payloads(path), (std::vector<std::string>{"kept", "next"}));
  }
}

TEST(JournalTest, ZeroFilledTailIsTornNotCorrupt) {
  testing::TemporaryDirectory dir;
  const std::string path = dir.file("j");
  { Journal::open_for_append(path).append(JournalRecordType::run, "kept"); }
  fs::resize_file(path, fs::file_size(path) + 4096);  // what a power loss can leave
  EXPECT_EQ(Journal::open_for_append(path).size(), 32u + 24u + 4u);
}

TEST(JournalTest, DamageWithRecordsAfterItIsRefused) {
  testing::TemporaryDirectory dir;
  const std::string path = dir.file("j");
  {
    Journal journal = Journal::open_for_append(path);
    journal.append(JournalRecordType::run, "one");
    journal.append(JournalRecordType::run, "two");
  }
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(32 + 24);
  file.put('X');
  file.close();
  EXPECT_THROW(payloads(path), Error);
  try {
    Journal::open_for_append(path);
    FAIL() << "opened a corrupt journal";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("is corrupt at byte 32 (payload checksum mismatch)"),
              std::string::npos)
        << error.what();
  }
}

TEST(JournalTest, OnlyOneWriterHoldsTheLock) {
  testing::TemporaryDirectory dir;
  const std::string path = dir.file("j");
  EXPECT_FALSE(Journal::is_locked(path));
  {
    Journal writer = Journal::open_for_append(path);
    EXPECT_TRUE(Journal::is_locked(path));
    EXPECT_THROW(Journal::open_for_append(path), Error);
  }
  EXPECT_FALSE(Journal::is_locked(path));
  EXPECT_NO_THROW(Journal::open_for_append(path));
}

TEST(JournalTest, ForeignOrNewerFilesAreRefused) {
  testing::TemporaryDirectory dir;
  const std::string foreign = dir.file("foreign");
  std::ofstream(foreign) << "this is a text file that is long enough to hold a header";
  try {
    Journal::open_for_append(foreign);
    FAIL();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("is not an hqsweep journal"), std::string::npos);
  }
  const std::string newer = dir.file("newer");
  { Journal::open_for_append(newer); }
  std::fstream file(newer, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(16);
  file.put(9);
  file.close();
  try {
    Journal::open_for_append(newer);
    FAIL();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("has version 9"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace hqsweep
