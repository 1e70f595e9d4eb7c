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

}  // namespace
}  // namespace hqsweep
