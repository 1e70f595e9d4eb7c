// Runs the hqsweep executable as a user would: help, exit codes, validate.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <nlohmann/json.hpp>

namespace {

struct Outcome {
  int exit_code;
  std::string output;  // stdout and stderr together
};

Outcome run_hqsweep(const std::string& arguments) {
  std::string command = std::string(HQSWEEP_EXECUTABLE) + " " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 4096> buffer;
  while (std::size_t n = fread(buffer.data(), 1, buffer.size(), pipe))
    output.append(buffer.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string write_temp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path.string();
}

TEST(CliTest, HelpListsEveryCommand) {
  Outcome out = run_hqsweep("--help");
  EXPECT_EQ(out.exit_code, 0);
  for (const char* command : {"run", "validate", "train", "report", "submit", "describe", "ls"}) {
    EXPECT_NE(out.output.find(std::string("  ") + command + " "), std::string::npos) << command;
  }
  EXPECT_EQ(run_hqsweep("validate --help").exit_code, 0);
  EXPECT_NE(run_hqsweep("validate --help").output.find("--set"), std::string::npos);
}

TEST(CliTest, VersionPrints) {
  Outcome out = run_hqsweep("--version");
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.output.rfind("hqsweep ", 0), 0u);
}

TEST(CliTest, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run_hqsweep("").exit_code, 2);
  Outcome unknown = run_hqsweep("frobnicate");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.output.find("unknown command \"frobnicate\""), std::string::npos);
  Outcome bad_option = run_hqsweep("validate --frob x.json");
  EXPECT_EQ(bad_option.exit_code, 2);
  EXPECT_NE(bad_option.output.find("frob"), std::string::npos);
  EXPECT_EQ(run_hqsweep("validate").exit_code, 2) << "the sweep file is required";
}

TEST(CliTest, CommandsNotAvailableYetSaySoWithExitTwo) {
  for (const char* command : {"run", "train", "report", "submit", "describe", "ls"}) {
    Outcome out = run_hqsweep(command);
    EXPECT_EQ(out.exit_code, 2) << command;
    EXPECT_NE(out.output.find("not available yet"), std::string::npos) << command;
  }
}

TEST(CliTest, ValidatePrintsCountVaryingKeysAndTable) {
  std::string path = write_temp("hqsweep_cli_ok.json", R"({
    // comments are allowed
    "base": {"dataset": {"name": "wdbc"}, "model": {"backbone": "mlp"}},
    "grid": {"model.fusion": ["classical", "dhf"], "quantum.qubits": [4, 8]},
    "seeds": [0, 1]})");
  Outcome out = run_hqsweep("validate " + path);
  EXPECT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find(": 6 runs (8 combinations"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("varying keys: model.fusion, quantum.qubits, seed"), std::string::npos)
      << out.output;
  EXPECT_NE(out.output.find("run_id"), std::string::npos);

  Outcome json_out = run_hqsweep("validate " + path + " --json --set train.epochs=2");
  ASSERT_EQ(json_out.exit_code, 0) << json_out.output;
  nlohmann::json runs = nlohmann::json::parse(json_out.output);
  ASSERT_EQ(runs.size(), 6u);
  EXPECT_EQ(runs[0]["config"]["train"]["epochs"], 2);
  EXPECT_EQ(runs[0]["run_id"].get<std::string>().size(), 16u);
}

TEST(CliTest, ValidateOfBadFileExitsOneNamingFileAndLine) {
  std::string path =
      write_temp("hqsweep_cli_bad.json", "{\n  \"grid\": {\n    \"quantum.qubits\": [4, 99]}}");
  Outcome out = run_hqsweep("validate " + path);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.output.find(path + ":3: grid.\"quantum.qubits\"[1]: 99 is out of range 1..20"),
            std::string::npos)
      << out.output;
}

}  // namespace
