// Tests for program runs (worker/program_task.h) with real programs: shell scripts and Python.
#include "worker/program_task.h"

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/error.h"
#include "tests/eventually.h"
#include "worker_test_data.h"

namespace hqsweep {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using testing::eventually;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Whether process `pid` has ended (gone, or a zombie nobody reaped yet).
bool process_ended(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return true;
  const std::size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

class ProgramTaskTest : public testing::TempDirectoryTest {
 protected:
  void SetUp() override {
    TempDirectoryTest::SetUp();
    options_.cache_directory = dir_ + "/cache";
    options_.threads = 3;
    options_.grace = 0.3;
  }

  // A shell script in the test's folder, run as the program with `args` after its path.
  json script(const std::string& body, json extra = json::object()) {
    const std::string path = dir_ + "/program.sh";
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    fs::permissions(path, fs::perms::owner_all);
    json config = {{"program", {{"command", {path}}}}, {"params", {{"lr", 0.5}}}};
    config.merge_patch(extra);
    return config;
  }

  RunResult run(const json& config, const EpochHooks& hooks = {}) {
    return execute_run(config, options_, hooks);
  }

  std::string error_of(const json& config, const EpochHooks& hooks = {}) {
    try {
      run(config, hooks);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  // Hooks that stop the run once it has reported its first epoch.
  EpochHooks prune_after_first_epoch() {
    EpochHooks hooks;
    hooks.on_epoch = [this](int64_t, const std::map<std::string, double>&) { reported_ = true; };
    hooks.should_stop = [this] { return reported_.load(); };
    return hooks;
  }

  WorkerOptions options_;
  std::atomic<bool> reported_{false};
};

TEST_F(ProgramTaskTest, EpochReportsBecomeCurvesAndTheFinalReportMetrics) {
  std::vector<int64_t> heard;
  EpochHooks hooks;
  hooks.on_epoch = [&](int64_t epoch, const std::map<std::string, double>& values) {
    heard.push_back(epoch);
    EXPECT_EQ(values.count("val_loss"), 1u);
  };
  const RunResult result = run(script(R"(
echo "hello from the program"
echo 'hqsweep: {"epoch": 1, "val_loss": 0.9, "val_acc": 0.5}'
echo 'hqsweep: {"epoch": 2, "val_loss": 0.4, "val_acc": 0.75}'
echo 'hqsweep: {"final": {"test_acc": 0.8, "val_acc": 0.75}}')"),
                               hooks);
  EXPECT_EQ(result.status, RunStatus::done);
  EXPECT_EQ(heard, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(result.curves.at("val_loss"), (std::vector<double>{0.9, 0.4}));
  EXPECT_EQ(result.curves.at("val_acc"), (std::vector<double>{0.5, 0.75}));
  EXPECT_DOUBLE_EQ(result.metrics.at("test_acc"), 0.8);
  EXPECT_DOUBLE_EQ(result.metrics.at("epochs_run"), 2);
  const std::string log =
      read_file(program_run_directory(options_.cache_directory, result.run_id) + "/output.log");
  EXPECT_NE(log.find("hello from the program"), std::string::npos) << log;
}

TEST_F(ProgramTaskTest, MalformedReportLinesAreLoggedAndIgnored) {
  const RunResult result = run(script(R"(
echo 'hqsweep: {"epoch": 1, "val_loss": .5}'
echo 'hqsweep: {"epoch": 0, "val_loss": 0.5}'
echo 'hqsweep: {"epoch": 1, "val_loss": "low"}'
echo 'hqsweep: {"final": 3}'
echo 'hqsweep: {"epoch": 1, "val_loss": 0.25}'
echo 'hqsweep: {"final": {"val_loss": 0.25}}')"));
  EXPECT_EQ(result.status, RunStatus::done);
  EXPECT_EQ(result.curves.at("val_loss"), (std::vector<double>{0.25}));
  const std::string log =
      read_file(program_run_directory(options_.cache_directory, result.run_id) + "/output.log");
  EXPECT_NE(log.find("ignored a malformed report line (not a JSON object)"), std::string::npos);
  EXPECT_NE(log.find("(expected \"epoch\": N (an integer from 1) or \"final\": {...})"),
            std::string::npos);
  EXPECT_NE(log.find("(\"val_loss\" is not a finite number)"), std::string::npos);
  EXPECT_NE(log.find("(\"final\" takes an object of metrics, alone)"), std::string::npos);
}

TEST_F(ProgramTaskTest, MetricsFileReportsCountLikeOutputLines) {
  const RunResult result = run(script(R"(
echo '{"epoch": 1, "objective": 3}' >> "$HQSWEEP_METRICS"
echo 'not json' >> "$HQSWEEP_METRICS"
echo 'hqsweep: {"epoch": 2, "objective": 2}' >> "$HQSWEEP_METRICS"
printf '{"final": {"objective": 2}}\n' >> "$HQSWEEP_METRICS")"));
  EXPECT_EQ(result.status, RunStatus::done);
  EXPECT_EQ(result.curves.at("objective"), (std::vector<double>{3, 2}));
  EXPECT_DOUBLE_EQ(result.metrics.at("objective"), 2);
}

TEST_F(ProgramTaskTest, PlaceholdersAndEnvironmentReachTheProgram) {
  const json config =
      script(R"(
printf '%s\n' "$@" > "$HQSWEEP_RUN_DIR/args"
env | grep -E '^(HQSWEEP_|MY_)' | sort > "$HQSWEEP_RUN_DIR/env"
pwd > "$HQSWEEP_RUN_DIR/cwd"
echo 'hqsweep: {"final": {"x": 1}}')",
             {{"seed", 7}, {"program", {{"cwd", dir_}, {"env", {{"MY_THREADS", "{threads}"}}}}}});
  json with_args = config;
  with_args["program"]["command"] = {config["program"]["command"][0], "--lr={params.lr}", "{seed}",
                                     "{{literal}}"};
  const RunResult result = run(with_args);
  const std::string run_dir = program_run_directory(options_.cache_directory, result.run_id);
  EXPECT_EQ(read_file(run_dir + "/args"), "--lr=0.5\n7\n{literal}\n");
  const std::string env = read_file(run_dir + "/env");
  EXPECT_NE(env.find("HQSWEEP_CONFIG=" + run_dir + "/config.json\n"), std::string::npos) << env;
  EXPECT_NE(env.find("HQSWEEP_RUN_DIR=" + run_dir + "\n"), std::string::npos) << env;
  EXPECT_NE(env.find("HQSWEEP_SEED=7\n"), std::string::npos) << env;
  EXPECT_NE(env.find("HQSWEEP_THREADS=3\n"), std::string::npos) << env;
  EXPECT_NE(env.find("MY_THREADS=3\n"), std::string::npos) << env;
  EXPECT_EQ(read_file(run_dir + "/cwd"), fs::canonical(dir_).string() + "\n");
  EXPECT_EQ(json::parse(read_file(run_dir + "/config.json"))["params"]["lr"], 0.5);
}

TEST_F(ProgramTaskTest, NonZeroExitFailsWithTheOutputTail) {
  const std::string error = error_of(script("echo 'CUDA? no'; echo 'trace line' >&2; exit 3"));
  EXPECT_EQ(error.rfind("the program exited with status 3; its output ended with:\n", 0), 0u)
      << error;
  EXPECT_NE(error.find("trace line"), std::string::npos) << error;
}

TEST_F(ProgramTaskTest, CrashFailsNamingTheSignal) {
  EXPECT_EQ(error_of(script("kill -SEGV $$"))
                .rfind("the program was killed by signal 11 (Segmentation fault)", 0),
            0u);
}

TEST_F(ProgramTaskTest, ExitWithoutFinalReportFails) {
  EXPECT_EQ(error_of(script(R"(echo 'hqsweep: {"epoch": 1, "v": 1}')"))
                .rfind("the program exited 0 without a final report", 0),
            0u);
}

TEST_F(ProgramTaskTest, MissingExecutableAndDirectoryFailBeforeStarting) {
  json missing = script("true");
  missing["program"]["command"] = {"no-such-program-hqsweep"};
  EXPECT_EQ(error_of(missing),
            "program.command[0]: \"no-such-program-hqsweep\" is not an executable on the PATH");
  EXPECT_EQ(error_of(script("true", {{"program", {{"cwd", dir_ + "/nowhere"}}}})),
            "program.cwd: \"" + dir_ + "/nowhere\" is not a directory");
}

TEST_F(ProgramTaskTest, PrunedProgramEndsPrunedWithTheFinalReportItWritesOnSigterm) {
  const RunResult result = run(script(R"(
trap 'echo "hqsweep: {\"final\": {\"val_loss\": 0.7, \"stopped\": 1}}"; exit 0' TERM
echo 'hqsweep: {"epoch": 1, "val_loss": 0.7}'
while :; do sleep 0.05; done)"),
                               prune_after_first_epoch());
  EXPECT_EQ(result.status, RunStatus::pruned);
  EXPECT_DOUBLE_EQ(result.metrics.at("stopped"), 1);
  EXPECT_DOUBLE_EQ(result.metrics.at("epochs_run"), 1);
}

TEST_F(ProgramTaskTest, ProgramIgnoringSigtermIsKilledAfterTheGraceWithItsLastEpoch) {
  const RunResult result = run(script(R"(
trap '' TERM
echo 'hqsweep: {"epoch": 1, "val_loss": 0.6}'
while :; do sleep 0.05; done)"),
                               prune_after_first_epoch());
  EXPECT_EQ(result.status, RunStatus::pruned);
  EXPECT_DOUBLE_EQ(result.metrics.at("val_loss"), 0.6);
  EXPECT_GE(result.duration(), options_.grace);
}

TEST_F(ProgramTaskTest, PrunedProgramTakesItsChildrenAlong) {
  int group = 0;
  EpochHooks hooks = prune_after_first_epoch();
  hooks.on_process_group = [&](int g) { group = g; };
  const json config = script(R"(
sleep 300 &
echo $! > "$HQSWEEP_RUN_DIR/child.pid"
echo 'hqsweep: {"epoch": 1, "val_loss": 0.6}'
wait)");
  const RunResult result = run(config, hooks);
  EXPECT_EQ(result.status, RunStatus::pruned);
  EXPECT_GT(group, 1);
  const std::string pid =
      read_file(program_run_directory(options_.cache_directory, result.run_id) + "/child.pid");
  ASSERT_FALSE(pid.empty());
  EXPECT_TRUE(eventually([&] { return process_ended(pid.substr(0, pid.size() - 1)); }))
      << "the program's child " << pid << " outlived it";
}

TEST_F(ProgramTaskTest, BackgroundChildOfAFinishedProgramGoesToo) {
  const RunResult result = run(script(R"(
sleep 300 &
echo $! > "$HQSWEEP_RUN_DIR/child.pid"
echo 'hqsweep: {"final": {"x": 1}}')"));
  EXPECT_EQ(result.status, RunStatus::done);
  const std::string pid =
      read_file(program_run_directory(options_.cache_directory, result.run_id) + "/child.pid");
  EXPECT_TRUE(eventually([&] { return process_ended(pid.substr(0, pid.size() - 1)); }));
}

TEST_F(ProgramTaskTest, ProgramOverItsMemoryLimitFailsAlone) {
  json config = script("true", {{"program", {{"memory", 64}}}});
  config["program"]["command"] = {
      "python3", "-c",
      "import time\nblock = b'x' * (256 << 20)\nprint('allocated', flush=True)\ntime.sleep(600)"};
  const std::string error = error_of(config);
  EXPECT_NE(error.find("MiB, over program.memory (64 MiB): killed"), std::string::npos) << error;
}

TEST_F(ProgramTaskTest, RunDirectoryIsKeptAcrossAttempts) {
  const json config = script(R"(
if [ -f "$HQSWEEP_RUN_DIR/first" ]; then
  echo 'hqsweep: {"final": {"attempt": 2}}'
else
  touch "$HQSWEEP_RUN_DIR/first"; exit 1
fi)");
  EXPECT_NE(error_of(config), "");
  EXPECT_DOUBLE_EQ(run(config).metrics.at("attempt"), 2);
}

TEST(ProgramReportTest, ParsesEpochAndFinalReports) {
  std::string problem;
  const auto epoch = parse_program_report(R"({"epoch": 3, "val_acc": 0.81})", problem);
  ASSERT_TRUE(epoch);
  EXPECT_FALSE(epoch->final);
  EXPECT_EQ(epoch->epoch, 3);
  EXPECT_EQ(epoch->values, (std::map<std::string, double>{{"val_acc", 0.81}}));
  const auto final = parse_program_report(R"( {"final": {"test_acc": 0.86}} )", problem);
  ASSERT_TRUE(final);
  EXPECT_TRUE(final->final);
  EXPECT_FALSE(parse_program_report(R"({"epoch": 1.5})", problem));
  EXPECT_FALSE(parse_program_report(R"({"final": {"a": 1}, "epoch": 2})", problem));
  EXPECT_FALSE(parse_program_report(R"([1, 2])", problem));
  EXPECT_EQ(problem, "not a JSON object");
}

}  // namespace
}  // namespace hqsweep
