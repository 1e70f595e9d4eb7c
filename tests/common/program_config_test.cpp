// Tests for program runs' configs (program.*, params.*) and the placeholder rule they use.
#include <gtest/gtest.h>

#include "common/config_schema.h"
#include "common/error.h"
#include "common/placeholders.h"
#include "common/run_config.h"
#include "tests/error_text.h"

namespace hqsweep {
namespace {

using nlohmann::json;

json program(json extra = json::object()) {
  json config = {{"program", {{"command", {"python3", "train.py", "--lr", "{params.lr}"}}}},
                 {"params", {{"lr", 0.01}, {"layers", 2}, {"ansatz", "strongly"}}}};
  config.merge_patch(extra);
  return config;
}

std::string error_of(const json& config) {
  return testing::error_of([&] { canonical_config(config); });
}

TEST(ProgramConfigTest, CanonicalFormHoldsSeedProgramAndParamsTypedByValue) {
  const json canonical = canonical_config(program({{"params", {{"shape", {4, 4}}}}}));
  EXPECT_EQ(canonical["seed"], 0);
  EXPECT_EQ(canonical["program"]["cwd"], ".");
  EXPECT_EQ(canonical["program"]["memory"], 0);
  EXPECT_TRUE(canonical["params"]["lr"].is_number_float());
  EXPECT_TRUE(canonical["params"]["layers"].is_number_integer());
  EXPECT_EQ(canonical["params"]["ansatz"], "strongly");
  EXPECT_EQ(canonical["params"]["shape"], json({4, 4}));
  EXPECT_FALSE(canonical.contains("train")) << "no built-in defaults in a program run";
  const RunConfig config = run_config_from_canonical(canonical);
  EXPECT_TRUE(config.is_program);
  EXPECT_FALSE(config.uses_backbone());
  EXPECT_EQ(config.program.command.at(3), "{params.lr}");
}

TEST(ProgramConfigTest, SameProgramRunWrittenDifferentlyHasOneId) {
  const json nested = program();
  const json dotted = json::parse(R"({"params.ansatz": "strongly", "params.layers": 2,
      "params.lr": 0.01, "program.command": ["python3", "train.py", "--lr", "{params.lr}"]})");
  EXPECT_EQ(run_id(canonical_config(nested)), run_id(canonical_config(dotted)));
}

TEST(ProgramConfigTest, RefusesMixingBuiltInKeysAndParamsWithoutProgram) {
  EXPECT_EQ(error_of(program({{"train", {{"epochs", 3}}}})),
            "train.epochs: a program run (program.command) has no built-in model keys; give the "
            "program's own settings as params.* (docs/programs.md)");
  EXPECT_EQ(error_of({{"dataset", {{"name", "wdbc"}}},
                      {"model", {{"backbone", "mlp"}}},
                      {"params", {{"lr", 0.1}}}}),
            "params.lr: params.* are a program run's settings; give program.command too "
            "(docs/programs.md)");
  EXPECT_EQ(error_of({{"program", {{"cwd", "."}}}}).substr(0, 42),
            "program.command: required, but not given (");
}

TEST(ProgramConfigTest, RefusesBadProgramValues) {
  EXPECT_EQ(error_of(program({{"program", {{"command", "python3 train.py"}}}})),
            "program.command: expected a non-empty list of strings, found \"python3 train.py\"");
  EXPECT_EQ(error_of(program({{"program", {{"command", json::array()}}}})),
            "program.command: expected a non-empty list of strings, found []");
  EXPECT_EQ(error_of(program({{"program", {{"command", {"python3", 3}}}}})),
            "program.command: element 1: expected a string, found 3");
  EXPECT_EQ(error_of(program({{"program", {{"command", {""}}}}})),
            "program.command: the program's name is empty");
  EXPECT_EQ(error_of(program({{"program", {{"memory", -1}}}})),
            "program.memory: -1 is out of range 0..1000000000");
  json null_lr = program();
  null_lr["params"]["lr"] = nullptr;  // merge_patch would remove it
  EXPECT_EQ(error_of(null_lr),
            "params.lr: expected a number, boolean, string or list of them, found null");
  EXPECT_EQ(error_of(program({{"params", {{"grid", {{1, 2}, {3}}}}}})),
            "params.grid: expected a number, boolean, string or list of them, found [[1,2],[3]]");
  EXPECT_EQ(error_of(program({{"program", {{"env", {{"1ABC", "x"}}}}}})),
            "program.env.1ABC: \"1ABC\" is not an environment variable name");
  EXPECT_EQ(error_of(program({{"program", {{"env", {{"HQSWEEP_CONFIG", "x"}}}}}})),
            "program.env.HQSWEEP_CONFIG: HQSWEEP_* variables are set by hqsweep "
            "(docs/programs.md)");
  EXPECT_EQ(error_of(program({{"program", {{"env", {{"THREADS", 4}}}}}})),
            "program.env.THREADS: expected a string, found 4");
}

TEST(ProgramConfigTest, RefusesUnknownPlaceholdersNamingThem) {
  EXPECT_EQ(error_of(program({{"program", {{"command", {"python3", "{params.lrr}"}}}}})),
            "program.command[1]: unknown placeholder {params.lrr}; known: {run_id}, {run_dir}, "
            "{seed}, {threads}, {config_file}, {params.ansatz}, {params.layers}, {params.lr}");
  EXPECT_EQ(error_of(program({{"program", {{"env", {{"OUT", "{rundir}"}}}}}})).substr(0, 54),
            "program.env.OUT: unknown placeholder {rundir}; known: ");
  EXPECT_EQ(error_of(program({{"program", {{"cwd", "{run_dir"}}}})),
            "program.cwd: \"{run_dir\": a \"{\" without its \"}\" (write \"{{\" for a brace)");
  EXPECT_EQ(error_of(program({{"program", {{"command", {"echo", "}"}}}}})),
            "program.command[1]: \"}\": a \"}\" without its \"{\" (write \"}}\" for a brace)");
  EXPECT_EQ(error_of(program({{"program", {{"command", {"echo", "{}"}}}}})),
            "program.command[1]: \"{}\": \"{}\" is not a placeholder name");
  EXPECT_EQ(error_of(program({{"program", {{"command", {"echo", "{seed} {threads} {{x}}"}}}}})),
            "(no error)");
}

TEST(ProgramConfigTest, KeysApplyOnlyToTheirKindOfRun) {
  const FlatConfig program_run = {{"program.command", json({"x"})}};
  const FlatConfig builtin = {{"dataset.name", "wdbc"}, {"model.backbone", "mlp"}};
  EXPECT_TRUE(key_applies("params.lr", program_run));
  EXPECT_FALSE(key_applies("train.lr", program_run));
  EXPECT_FALSE(key_applies("params.lr", builtin));
  EXPECT_TRUE(key_applies("train.lr", builtin));
  EXPECT_NE(find_config_key("params.any.depth"), nullptr);
  EXPECT_EQ(find_config_key("params."), nullptr);
}

TEST(PlaceholdersTest, FillsNamesAndLiteralBraces) {
  EXPECT_EQ(placeholders_in("--lr={params.lr} --out {run_dir}/x"),
            (std::vector<std::string>{"params.lr", "run_dir"}));
  EXPECT_EQ(expand_placeholders("{{json}} {a}-{b}", {{"a", "1"}, {"b", "two"}}), "{json} 1-two");
  EXPECT_THROW(expand_placeholders("{c}", {{"a", "1"}}), Error);
}

}  // namespace
}  // namespace hqsweep
