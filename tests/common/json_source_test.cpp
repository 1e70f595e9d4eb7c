// Tests for JSON files with line numbers.
#include "common/json_source.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace hqsweep {
namespace {

TEST(JsonSourceTest, ReportsLineOfNestedValues) {
  JsonSource source = JsonSource::from_text(R"({
  // a comment
  "grid": {
    "quantum.qubits": [4,
                       8,
                       40]
  },
  /* block
     comment */ "base": {"train": {"lr": 0.1}}
})",
                                            "sweep.json");
  JsonPath grid = JsonPath().child("grid").child("quantum.qubits");
  EXPECT_EQ(source.where(grid), "sweep.json:4");
  EXPECT_EQ(source.where(grid.child(2)), "sweep.json:6");
  EXPECT_EQ(source.where(JsonPath().child("base").child("train").child("lr")), "sweep.json:9");
  EXPECT_EQ(source.describe(grid.child(2), "40 is out of range"),
            "sweep.json:6: grid.\"quantum.qubits\"[2]: 40 is out of range");
}

TEST(JsonSourceTest, UnknownPathFallsBackToFileName) {
  JsonSource source = JsonSource::from_text("{}", "x.json");
  EXPECT_EQ(source.where(JsonPath().child("nothing")), "x.json");
}

TEST(JsonSourceTest, SyntaxErrorNamesFileLineAndColumn) {
  try {
    JsonSource::from_text("{\n  \"a\": 1,\n  \"b\": [1, 2\n}", "bad.json");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json: not valid JSON"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("line 4"), std::string::npos) << e.what();
  }
}

TEST(JsonSourceTest, MissingFileIsNamed) {
  try {
    JsonSource::from_file("/nonexistent/sweep.json");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/sweep.json: cannot open file for reading");
  }
}

TEST(JsonSourceTest, KeysWithEscapesAndStringsWithBracesKeepLinesRight) {
  JsonSource source = JsonSource::from_text("{\"a\\\"b\": \"{[//\",\n\"c\": 1}", "e.json");
  EXPECT_EQ(source.where(JsonPath().child("a\"b")), "e.json:1");
  EXPECT_EQ(source.where(JsonPath().child("c")), "e.json:2");
}

std::string error_of_text(const std::string& text) {
  try {
    JsonSource::from_text(text, "sweep.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// From the reliability issue: each input once killed or exhausted the parser or named nothing.
TEST(JsonSourceTest, HostileDocumentsAreRefusedNamingFileAndLine) {
  // 35 000 nested arrays: 2.8 GB and SIGSEGV before; 65 levels are refused at once.
  const std::string deep = "{\"base\":\n" + std::string(35000, '[') + std::string(35000, ']') + "}";
  EXPECT_EQ(error_of_text(deep),
            "sweep.json:2: nested deeper than 64 levels; a sweep file needs a few");
  EXPECT_EQ(error_of_text("{\"a\": " + std::string(63, '[') + std::string(63, ']') + "}"),
            "(no error)")
      << "64 levels are allowed";
  // Brackets inside strings and comments do not count.
  EXPECT_EQ(error_of_text("{\"a\": \"" + std::string(100, '[') + "\" // " + std::string(100, '{') +
                          "\n}"),
            "(no error)");
  // A second "base" silently won before.
  EXPECT_EQ(error_of_text("{\"base\": {\"seed\": 1},\n \"grid\": {},\n \"base\": {\"seed\": 2}}"),
            "sweep.json:3: \"base\" appears twice in one object (first at line 1); give each key "
            "once");
  EXPECT_EQ(
      error_of_text("{\"base\": {\"train\": {\"lr\": 0.1,\n \"lr\": 0.2}}}"),
      "sweep.json:2: \"lr\" appears twice in one object (first at line 1); give each key once");
  EXPECT_EQ(error_of_text("{\"a\": {\"x\": 1}, \"b\": {\"x\": 1}}"), "(no error)")
      << "the same key in two objects is fine";
  // A NUL byte ended nlohmann's document early, and the line scanner then ran out of step with it
  // and out of memory (found by the sweep fuzzer).
  EXPECT_EQ(error_of_text(std::string("// x\n0\0 {\"a\": [1, 2]}", 19)),
            "sweep.json:2: a NUL byte (byte 7); a sweep file is text");
  // "unexpected error: number overflow parsing '1e400'" named no file before.
  EXPECT_EQ(error_of_text("{\"base\": {\"train\":\n {\"lr\": 1e400}}}"),
            "sweep.json:2: the number 1e400 does not fit a double (about 1.8e308 at most)");
}

}  // namespace
}  // namespace hqsweep
