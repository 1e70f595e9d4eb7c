// Runs the hqsweep executable as a user would: help, exit codes, validate.
#include <stdlib.h>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "store/result_store.h"
#include "tests/eventually.h"
#include "tests/store/store_test_util.h"

namespace {

struct Outcome {
  int exit_code;
  std::string output;  // stdout and stderr together
};

Outcome run_hqsweep_command(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 4096> buffer;
  while (std::size_t n = fread(buffer.data(), 1, buffer.size(), pipe))
    output.append(buffer.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

Outcome run_hqsweep(const std::string& arguments) {
  return run_hqsweep_command(std::string(HQSWEEP_EXECUTABLE) + " " + arguments + " 2>&1");
}

// With PATH replaced, for commands that look for programs (sbatch).
Outcome run_hqsweep_with_path(const std::string& path, const std::string& arguments) {
  return run_hqsweep_command("PATH=" + path + " " + std::string(HQSWEEP_EXECUTABLE) + " " +
                             arguments + " 2>&1");
}

std::string write_temp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path.string();
}

TEST(CliTest, HelpListsEveryCommand) {
  Outcome out = run_hqsweep("--help");
  EXPECT_EQ(out.exit_code, 0);
  for (const char* command : {"run", "validate", "train", "report", "submit", "status", "merge",
                              "describe", "ls", "cache"}) {
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

// A results file and cache directory written by the C++ store (tests/store/make_results_fixture).
// Each in its own directory: ctest runs tests in parallel processes.
struct Fixture {
  std::string dir = make_directory();
  std::string results = dir + "/results.h5";
  std::string caches = dir + "/caches";
  static std::string make_directory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "hqsweep-cli-XXXXXX").string();
    return ::mkdtemp(pattern.data());
  }
  Fixture() {
    std::string command = std::string(HQSWEEP_RESULTS_FIXTURE) + " " + results + " " + dir +
                          "/expected.json " + caches;
    EXPECT_EQ(std::system(command.c_str()), 0);
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
};

TEST(CliTest, LsListsRunsWithStatusMetricsAndVaryingKeys) {
  Fixture fixture;
  Outcome out = run_hqsweep("ls " + fixture.results);
  EXPECT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find("model.fusion"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("run3    done    1    dhf"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("5 runs (4 done, 1 failed)"), std::string::npos) << out.output;
  EXPECT_EQ(out.output.find("Segmentation fault"), std::string::npos) << "errors only on request";
}

TEST(CliTest, LsStatusFailedShowsTheErrors) {
  Fixture fixture;
  Outcome out = run_hqsweep("ls " + fixture.results + " --status failed");
  EXPECT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find("1 shown"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("  task killed by signal 11 (Segmentation fault)\n  stderr tail: boom"),
            std::string::npos)
      << out.output;
  EXPECT_EQ(out.output.find("run0"), std::string::npos);
  Outcome bad = run_hqsweep("ls " + fixture.results + " --status broken");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("unknown run status 'broken'"), std::string::npos) << bad.output;
}

TEST(CliTest, LsJsonHasEveryRun) {
  Fixture fixture;
  Outcome out = run_hqsweep("ls " + fixture.results + " --json 2>/dev/null");
  ASSERT_EQ(out.exit_code, 0) << out.output;
  nlohmann::json runs = nlohmann::json::parse(out.output);
  ASSERT_EQ(runs.size(), 5u);
  EXPECT_EQ(runs[1]["cache_key"], "keep1");
  EXPECT_EQ(runs[4]["status"], "failed");
  EXPECT_EQ(runs[0]["config"]["model"]["backbone"], "hqcnn");
}

TEST(CliTest, LsRefusesFilesThatAreNotResults) {
  std::string text = write_temp("hqsweep_cli_not_results.h5", "hello");
  Outcome out = run_hqsweep("ls " + text);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.output.find("is not an HDF5 file"), std::string::npos) << out.output;
  Outcome missing = run_hqsweep("ls /nonexistent/results.h5");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("no results file /nonexistent/results.h5"), std::string::npos);
}

TEST(CliTest, ReportPrintsATableOrWritesAFileAndRefusesBadInput) {
  Fixture fixture;
  Outcome table = run_hqsweep("report " + fixture.results + " --compare fusion=classical");
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("(baseline)"), std::string::npos) << table.output;
  std::string out = fixture.dir + "/report.json";
  Outcome written = run_hqsweep("report " + fixture.results + " --format json --out " + out);
  EXPECT_EQ(written.exit_code, 0) << written.output;
  std::ifstream file(out);
  EXPECT_GT(nlohmann::json::parse(file)["groups"].size(), 0u);
  EXPECT_EQ(run_hqsweep("report").exit_code, 2) << "a results file is required";
  Outcome metric = run_hqsweep("report " + fixture.results + " --metrics nonsense");
  EXPECT_EQ(metric.exit_code, 1);
  EXPECT_NE(metric.output.find("no done run has a metric 'nonsense'"), std::string::npos);
  Outcome format = run_hqsweep("report " + fixture.results + " --format html");
  EXPECT_EQ(format.exit_code, 1);
  EXPECT_NE(format.output.find("unknown format 'html'"), std::string::npos);
  Outcome text = run_hqsweep("report " + write_temp("hqsweep_cli_report.h5", "hello"));
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_NE(text.output.find("is not an HDF5 file"), std::string::npos) << text.output;
}

TEST(CliTest, SubmitDryRunPrintsTheScriptOfSectionAndOptionsAndWritesNothing) {
  Fixture f;
  const std::string sweep = f.dir + "/study.json";
  std::ofstream(sweep) << R"({"name": "study", "base": {"model": {"backbone": "probe"}},
    "seeds": 3, "slurm": {"partition": "cpu", "time": "01:00:00", "requeue": 2,
                          "setup": ["module load openmpi"]}})";
  Outcome out = run_hqsweep("submit " + sweep + " --out " + f.dir + "/r/study.h5 --dry-run" +
                            " --time 02:00:00 --array 3 --set train.epochs=2 -- --retries=1");
  EXPECT_EQ(out.exit_code, 0) << out.output;
  for (const char* line :
       {"#SBATCH --partition=cpu\n", "#SBATCH --time=02:00:00\n", "#SBATCH --array=0-2\n",
        "#SBATCH --requeue\n", "#SBATCH --job-name=study\n", "module load openmpi\n",
        "'--set=train.epochs=2' '--retries=1'"}) {
    EXPECT_NE(out.output.find(line), std::string::npos) << line << out.output;
  }
  EXPECT_NE(out.output.find("#SBATCH --output=" + f.dir + "/r/slurm/%x-%A_%a.out"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(f.dir + "/r"));  // no script, no jobs file
}

TEST(CliTest, SubmitRefusesBadSettingsAndKeepsTheScriptWhenSbatchFails) {
  Fixture f;
  const std::string sweep = f.dir + "/study.json";
  std::ofstream(sweep) << "{\"base\": {\"model\": {\"backbone\": \"probe\"}},\n"
                          " \"slurm\": {\"nodes\": 2,\n \"tme\": \"1:00\"}}";
  Outcome unknown = run_hqsweep("submit " + sweep + " --dry-run");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find(sweep + ":3: slurm.tme: unknown Slurm setting"), std::string::npos)
      << unknown.output;
  std::ofstream(sweep) << R"({"base": {"model": {"backbone": "probe"}}})";
  Outcome option = run_hqsweep("submit " + sweep + " --dry-run --ntasks-per-node many");
  EXPECT_EQ(option.exit_code, 1);
  EXPECT_NE(option.output.find("--ntasks-per-node: expected an integer >= 1, found \"many\""),
            std::string::npos)
      << option.output;
  EXPECT_EQ(run_hqsweep("submit " + sweep + " --dry-run --no-such-option").exit_code, 2);
  Outcome no_template =
      run_hqsweep("submit " + sweep + " --dry-run --template " + f.dir + "/absent.sbatch.in");
  EXPECT_EQ(no_template.exit_code, 1);
  EXPECT_NE(no_template.output.find(f.dir + "/absent.sbatch.in: cannot read the batch script"),
            std::string::npos)
      << no_template.output;
  std::ofstream(f.dir + "/short.sbatch.in") << "#!/bin/bash\n{{SBATCH_LINES}}\n";
  Outcome short_template =
      run_hqsweep("submit " + sweep + " --dry-run --template " + f.dir + "/short.sbatch.in");
  EXPECT_EQ(short_template.exit_code, 1);
  EXPECT_NE(short_template.output.find(f.dir + "/short.sbatch.in: batch script template: no "
                                               "{{EXECUTABLE}} in it"),
            std::string::npos)
      << short_template.output;
  // No sbatch on PATH: the error says so and the written script stays for a manual sbatch.
  Outcome missing =
      run_hqsweep_with_path("/nonexistent", "submit " + sweep + " --out " + f.dir + "/r/x.h5");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("cannot run sbatch"), std::string::npos) << missing.output;
  int scripts = 0;
  for (const auto& entry : std::filesystem::directory_iterator(f.dir + "/r/slurm"))
    scripts += entry.path().extension() == ".sbatch";
  EXPECT_EQ(scripts, 1);
  EXPECT_FALSE(std::filesystem::exists(f.dir + "/r/x.slurm-jobs"));  // no job was recorded
  // sbatch refuses the job (a cluster's policy, a wrong partition): its exit code and the script.
  std::filesystem::create_directories(f.dir + "/bin");
  std::ofstream(f.dir + "/bin/sbatch")
      << "#!/bin/sh\necho 'sbatch: error: invalid partition specified: gpu' >&2\nexit 1\n";
  std::filesystem::permissions(f.dir + "/bin/sbatch", std::filesystem::perms::owner_all);
  Outcome refused = run_hqsweep_with_path(f.dir + "/bin:/usr/bin:/bin",
                                          "submit " + sweep + " --out " + f.dir + "/r/x.h5");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.output.find("invalid partition specified"), std::string::npos)
      << refused.output;
  EXPECT_NE(refused.output.find("failed (exit code 1); the script stays there"), std::string::npos)
      << refused.output;
  EXPECT_FALSE(std::filesystem::exists(f.dir + "/r/x.slurm-jobs"));
}

TEST(CliTest, StatusCountsRunsOfTheSweepAndSaysWhenNoJobsAreRecorded) {
  Fixture f;
  const std::string sweep = f.dir + "/study.json";
  std::ofstream(sweep)
      << R"({"name": "study", "base": {"model": {"backbone": "probe"}}, "seeds": 4})";
  Outcome none = run_hqsweep("status " + sweep + " --out " + f.dir + "/study.h5");
  EXPECT_EQ(none.exit_code, 0) << none.output;
  EXPECT_NE(none.output.find("0 of 4 runs finished (0%)"), std::string::npos) << none.output;
  EXPECT_NE(none.output.find("4 not started"), std::string::npos) << none.output;
  EXPECT_NE(none.output.find("Slurm: no jobs recorded"), std::string::npos) << none.output;
  ASSERT_EQ(run_hqsweep("run " + sweep + " --out " + f.dir + "/study.h5 --workers 2 --set seed=0")
                .exit_code,
            0);
  Outcome one = run_hqsweep("status " + sweep + " --out " + f.dir + "/study.h5");
  EXPECT_NE(one.output.find("1 of 4 runs finished (25%): 1 done"), std::string::npos) << one.output;
  Outcome file = run_hqsweep("status " + f.dir + "/study.h5");
  EXPECT_NE(file.output.find("1 of 1 runs finished"), std::string::npos) << file.output;
  Outcome missing = run_hqsweep("status " + f.dir + "/absent.h5");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find(f.dir + "/absent.h5: no such results file"), std::string::npos)
      << missing.output;
}

using hqsweep::testing::eventually;

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(CliTest, StatusShowsRunningRunsEpochsWhileASweepRunsAndProgressKeepsFailedApart) {
  Fixture f;
  const std::string sweep = f.dir + "/long.json";
  std::ofstream(sweep) << R"({"name": "long",
      "base": {"model": {"backbone": "probe"}, "probe": {"duration_ms": 4000, "epochs": 20}},
      "grid": {"probe.failure": ["none", "error"]}, "seeds": 2})";
  const std::string out = f.dir + "/long.h5", log = f.dir + "/run.log";
  ASSERT_EQ(std::system((std::string(HQSWEEP_EXECUTABLE) + " run " + sweep + " --out " + out +
                         " --workers 2 --progress-interval 1 > " + log + " 2>&1 &")
                            .c_str()),
            0);
  Outcome status;
  EXPECT_TRUE(eventually([&] {
    status = run_hqsweep("status " + out);
    // While the first two run, each worker holds the next one queued: not running.
    return status.output.find("running now") != std::string::npos &&
           status.output.find("/20  ") != std::string::npos &&
           status.output.find("2 running, 2 queued, 0 waiting") != std::string::npos;
  })) << status.output;
  EXPECT_NE(status.output.find("probe_objective"), std::string::npos) << status.output;
  EXPECT_TRUE(eventually([&] {
    return file_text(log).find("runs finished this time") != std::string::npos;
  })) << file_text(log);
  const std::string text = file_text(log);
  EXPECT_NE(text.find("] 2/4 done, 2 failed | 0 running, 0 queued, 0 waiting"), std::string::npos)
      << "failed runs are not done: " << text;
  EXPECT_NE(text.find(" epoch "), std::string::npos) << text;
  EXPECT_FALSE(std::filesystem::exists(out + ".progress")) << "the sweep ended";
  EXPECT_EQ(run_hqsweep("status " + out).output.find("running now"), std::string::npos);
}

TEST(CliTest, StopRequestFileStopsASweepGracefullyAtStartOrWhileItRuns) {
  // A Slurm warning that reaches mpirun before its ranks run is lost; the batch script's stop file
  // is not: a sweep that finds RESULTS.h5.stop at start, or later, stops as at one signal.
  Fixture f;
  const std::string sweep = f.dir + "/stop.json";
  std::ofstream(sweep) << R"({"name": "stop",
      "base": {"model": {"backbone": "probe"}, "probe": {"duration_ms": 1000, "epochs": 4}},
      "seeds": 16})";
  const std::string out = f.dir + "/stop.h5", log = f.dir + "/run.log";
  std::ofstream(out + ".stop").flush();
  Outcome at_start = run_hqsweep("run " + sweep + " --out " + out + " --workers 2");
  EXPECT_EQ(at_start.exit_code, 4) << at_start.output;
  EXPECT_NE(at_start.output.find(out + ".stop asks for a graceful stop"), std::string::npos)
      << at_start.output;
  EXPECT_FALSE(std::filesystem::exists(out + ".stop")) << "honoured, so removed";
  ASSERT_EQ(std::system(("(" + std::string(HQSWEEP_EXECUTABLE) + " run " + sweep + " --out " + out +
                         " --workers 2 --progress-interval 1 > " + log + " 2>&1; echo $? >> " +
                         log + ") &")
                            .c_str()),
            0);
  EXPECT_TRUE(eventually([&] { return file_text(log).find(" epoch ") != std::string::npos; }))
      << file_text(log);
  std::ofstream(out + ".stop").flush();
  EXPECT_TRUE(eventually([&] {
    return file_text(log).find("runs finished this time") != std::string::npos;
  })) << file_text(log);
  EXPECT_TRUE(eventually([&] { return file_text(log).find("\n4\n") != std::string::npos; }))
      << "exit code 4, stopped: " << file_text(log);
  EXPECT_NE(file_text(log).find("stopped early: run the same command again to resume"),
            std::string::npos);
  Outcome resumed = run_hqsweep("run " + sweep + " --out " + out + " --workers 2");
  EXPECT_EQ(resumed.exit_code, 0) << "the next run goes on: " << resumed.output;
}

TEST(CliTest, MergeFindsShardsExitsThreeOnConflictsAndRefusesNoInput) {
  Fixture f;
  const std::string sweep = f.dir + "/study.json";
  std::ofstream(sweep)
      << R"({"name": "study", "base": {"model": {"backbone": "probe"}}, "seeds": 6})";
  for (int shard = 0; shard < 2; ++shard) {
    ASSERT_EQ(
        run_hqsweep("run " + sweep + " --workers 2 --shard " + std::to_string(shard) + "/2 --out " +
                    f.dir + "/study.shard-" + std::to_string(shard) + "-of-2.h5")
            .exit_code,
        0);
  }
  Outcome merged = run_hqsweep("merge " + f.dir + "/study.h5");
  EXPECT_EQ(merged.exit_code, 0) << merged.output;
  EXPECT_NE(merged.output.find("6 runs added from 2 files, 0 already there"), std::string::npos)
      << merged.output;
  // Two files with different finished copies of one run: reported, the first kept, exit 3.
  {
    hqsweep::ResultStore a = hqsweep::ResultStore::open_for_writing(f.dir + "/a.h5");
    a.append(hqsweep::testing::make_result("r1", 1));
    hqsweep::RunResult other = hqsweep::testing::make_result("r1", 1);
    other.metrics["test_acc"] = 0.5;
    hqsweep::ResultStore b = hqsweep::ResultStore::open_for_writing(f.dir + "/b.h5");
    b.append(other);
  }
  Outcome conflict = run_hqsweep("merge " + f.dir + "/ab.h5 " + f.dir + "/a.h5 " + f.dir + "/b.h5");
  EXPECT_EQ(conflict.exit_code, 3) << conflict.output;
  EXPECT_NE(conflict.output.find("conflict: run r1: test_acc"), std::string::npos)
      << conflict.output;
  EXPECT_NE(conflict.output.find("1 runs added from 2 files, 0 already there, 1 duplicate copies "
                                 "skipped, 1 conflicts"),
            std::string::npos)
      << conflict.output;
  Outcome refused = run_hqsweep("merge " + f.dir + "/nothing.h5");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.output.find("no shard files nothing.shard-I-of-N.h5"), std::string::npos)
      << refused.output;
  EXPECT_EQ(run_hqsweep("merge " + f.dir + "/study.h5 " + f.dir + "/study.h5").exit_code, 1);
}

TEST(CliTest, StatusOfAFileHoldingShardRecordsCountsEveryShardsRuns) {
  // A merged file whose latest sweep records are its shards' (as merges of files whose sweep no
  // longer expands leave it): its plan is the sum over the shards, not the last shard's.
  Fixture f;
  const std::string merged = f.dir + "/merged.h5";
  {
    hqsweep::ResultStore store = hqsweep::ResultStore::open_for_writing(merged);
    for (int shard = 0; shard < 2; ++shard) {
      hqsweep::SweepRecord record;
      record.name = "study";
      record.source = "study.json";
      record.text = "{}";
      record.run_count = 4;
      record.shard_index = shard;
      record.shard_count = 2;
      store.record_sweep(record);
    }
    for (int i = 0; i < 8; ++i)
      store.append(hqsweep::testing::make_result("r" + std::to_string(i), i));
  }
  Outcome status = run_hqsweep("status " + merged);
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("8 of 8 runs finished (100%)"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("merged.h5  8     8"), std::string::npos) << status.output;
}

TEST(CliTest, MergeRefusesShardsThatDoNotBelongTogetherAndWarnsOfMissingOnes) {
  Fixture f;
  const std::string sweep = f.dir + "/study.json";
  std::ofstream(sweep)
      << R"({"name": "study", "base": {"model": {"backbone": "probe"}}, "seeds": 6})";
  const std::string other = f.dir + "/other.json";
  std::ofstream(other)
      << R"({"name": "other", "base": {"model": {"backbone": "probe"}}, "seeds": 4})";
  auto shard = [&](const std::string& file, const std::string& part, const std::string& out) {
    const Outcome run =
        run_hqsweep("run " + file + " --workers 2 --shard " + part + " --out " + f.dir + "/" + out);
    ASSERT_EQ(run.exit_code, 0) << run.output;
  };
  shard(sweep, "0/2", "s0of2.h5");
  shard(sweep, "1/3", "s1of3.h5");
  shard(other, "1/2", "o1of2.h5");
  // 0/2 with 1/3: exited 0 holding 5 of 6 runs before.
  Outcome mixed =
      run_hqsweep("merge " + f.dir + "/m1.h5 " + f.dir + "/s0of2.h5 " + f.dir + "/s1of3.h5");
  EXPECT_EQ(mixed.exit_code, 1) << mixed.output;
  EXPECT_NE(mixed.output.find("s1of3.h5 is shard 1/3, but " + f.dir + "/s0of2.h5 is shard 0/2"),
            std::string::npos)
      << mixed.output;
  EXPECT_FALSE(std::filesystem::exists(f.dir + "/m1.h5")) << "nothing written";
  // Shards of two different sweeps.
  Outcome two =
      run_hqsweep("merge " + f.dir + "/m2.h5 " + f.dir + "/s0of2.h5 " + f.dir + "/o1of2.h5");
  EXPECT_EQ(two.exit_code, 1) << two.output;
  EXPECT_NE(two.output.find("o1of2.h5 holds runs of the sweep " + other), std::string::npos)
      << two.output;
  // One shard of two: merged, with a warning naming the missing shard; status counts the sweep.
  Outcome partial = run_hqsweep("merge " + f.dir + "/m3.h5 " + f.dir + "/s0of2.h5");
  EXPECT_EQ(partial.exit_code, 0) << partial.output;
  EXPECT_NE(partial.output.find("warning: shard 1 of 2 missing"), std::string::npos)
      << partial.output;
  Outcome status = run_hqsweep("status " + f.dir + "/m3.h5");
  EXPECT_NE(status.output.find("of 6 runs finished"), std::string::npos) << status.output;
  // --force merges anyway.
  EXPECT_EQ(
      run_hqsweep("merge --force " + f.dir + "/m4.h5 " + f.dir + "/s0of2.h5 " + f.dir + "/o1of2.h5")
          .exit_code,
      0);
}

TEST(CliTest, CacheLsRmAndGcKeepWhatResultsReferTo) {
  Fixture fixture;
  Outcome listed = run_hqsweep("cache ls " + fixture.caches);
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_NE(listed.output.find("keep1"), std::string::npos);
  // The data set, backbone and qubits of the extraction each cache records.
  const std::size_t row = listed.output.find("keep1");
  const std::string line = listed.output.substr(row, listed.output.find('\n', row) - row);
  EXPECT_NE(line.find(" breastmnist "), std::string::npos) << listed.output;
  EXPECT_NE(line.find(" resnet18 "), std::string::npos) << listed.output;
  EXPECT_EQ(line.back(), '4') << listed.output;
  EXPECT_NE(listed.output.find("2 caches"), std::string::npos) << listed.output;

  Outcome refused = run_hqsweep("cache gc " + fixture.caches);
  EXPECT_EQ(refused.exit_code, 2) << "gc without results files would remove everything";
  Outcome dry = run_hqsweep("cache gc " + fixture.caches + " " + fixture.results + " --dry-run");
  EXPECT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_NE(dry.output.find("would remove " + fixture.caches + "/orphan.h5"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(fixture.caches + "/orphan.h5"));
  Outcome gc = run_hqsweep("cache gc " + fixture.caches + " " + fixture.results);
  EXPECT_EQ(gc.exit_code, 0) << gc.output;
  EXPECT_FALSE(std::filesystem::exists(fixture.caches + "/orphan.h5"));
  EXPECT_TRUE(std::filesystem::exists(fixture.caches + "/keep1.h5"));

  EXPECT_EQ(run_hqsweep("cache rm " + fixture.caches + " keep1").exit_code, 0);
  Outcome again = run_hqsweep("cache rm " + fixture.caches + " keep1");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("cannot remove feature cache"), std::string::npos) << again.output;
  EXPECT_EQ(run_hqsweep("cache frob " + fixture.caches).exit_code, 2);
}
TEST(CliTest, DescribeShowsTheModelOfOneConfigByPart) {
  std::string path = write_temp("hqsweep_cli_config.json", R"({
    "dataset": {"name": "breastmnist"},
    "model": {"backbone": "hqcnn", "fusion": "tshf"}, "seed": 1})");
  Outcome out = run_hqsweep("describe " + path);
  EXPECT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find("1x28x28 images, 2 classes"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("backbone: Hqcnn  105216 parameters"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("classical (backbone)            105216"), std::string::npos)
      << out.output;
}

TEST(CliTest, DescribeSweepListsEachDistinctModelOnce) {
  Outcome out = run_hqsweep("describe " + std::string(HQSWEEP_SOURCE_DIR) +
                            "/sweeps/tabular-fusion-quick.json");
  EXPECT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find("8 runs, 4 distinct models"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("wine     mlp       dhf        4"), std::string::npos) << out.output;
}

TEST(CliTest, DescribeRefusesImpossibleModelsAndUnknownShapes) {
  std::string images_on_table = write_temp("hqsweep_cli_images_on_table.json", R"({
    "dataset": {"name": "wdbc"}, "model": {"backbone": "resnet18", "fusion": "dhf"}})");
  Outcome out = run_hqsweep("describe " + images_on_table);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.output.find("\"resnet18\" takes images, but dataset \"wdbc\" is tabular"),
            std::string::npos)
      << out.output;
  std::string csv = write_temp("hqsweep_cli_csv.json", R"({
    "dataset": {"name": "csv", "path": "x.csv"}, "model": {"backbone": "mlp"}})");
  out = run_hqsweep("describe " + csv);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.output.find("give --features N and --classes K"), std::string::npos) << out.output;
  EXPECT_EQ(run_hqsweep("describe " + csv + " --features 7 --classes 3").exit_code, 0);
  std::string folder = write_temp("hqsweep_cli_folder.json", R"({
    "dataset": {"name": "image_folder", "path": "breakhis"}, "model": {"backbone": "hqcnn"}})");
  out = run_hqsweep("describe " + folder);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.output.find("dataset image_folder: its class count comes from the file; give "
                            "--classes K"),
            std::string::npos)
      << out.output;
  out = run_hqsweep("describe " + std::string(HQSWEEP_SOURCE_DIR) +
                    "/sweeps/tabular-fusion-quick.json --run 9");
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.output.find("has 8 runs; --run 9 does not exist"), std::string::npos) << out.output;
  std::string bad = write_temp("hqsweep_cli_badkey.json", R"({
    "dataset": {"name": "wdbc"}, "model": {"backbone": "mlp", "fusoin": "dhf"}})");
  out = run_hqsweep("describe " + bad);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.output.find("fusoin"), std::string::npos) << out.output;
}

TEST(CliTest, EveryCommandThatExpandsASweepTakesMaxRuns) {
  const std::string sweep =
      write_temp("hqsweep_cli_max_runs.json",
                 R"({"base": {"model": {"backbone": "probe"}}, "seeds": [0, 1, 2]})");
  for (const std::string command : {"validate", "run", "train", "describe", "status", "submit"}) {
    SCOPED_TRACE(command);
    const Outcome out = run_hqsweep(command + " " + sweep + " --max-runs 2" +
                                    (command == "submit" ? " --dry-run" : ""));
    EXPECT_EQ(out.exit_code, 1) << out.output;
    EXPECT_NE(out.output.find("over the limit of 2"), std::string::npos) << out.output;
  }
}

TEST(CliTest, OptionsOutsideTheirRangeAreRefusedNamingTheRange) {
  const std::string sweep =
      write_temp("hqsweep_cli_ranges.json", R"({"base": {"model": {"backbone": "probe"}}})");
  const struct {
    const char* option;
    const char* range;
  } cases[] = {{"--task-timeout -1", "'--task-timeout' is invalid: expected 0..1e+09"},
               {"--retries -2", "'--retries' is invalid: expected 0..1000"},
               {"--grace -5", "'--grace' is invalid: expected 0..1e+09"},
               {"--max-tasks-per-runner -1", "'--max-tasks-per-runner' is invalid: expected 0.."},
               {"--workers 0", "'--workers' is invalid: expected 1..100000"},
               {"--threads-per-task 0", "'--threads-per-task' is invalid: expected 1..1024"},
               {"--checkpoint-interval -3", "'--checkpoint-interval' is invalid: expected -1.."}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.option);
    const Outcome out = run_hqsweep("run " + sweep + " --out /nonexistent/never.h5 " + c.option);
    EXPECT_EQ(out.exit_code, 2) << out.output;
    EXPECT_NE(out.output.find(c.range), std::string::npos) << out.output;
  }
  const Outcome threads = run_hqsweep("train " + sweep + " --threads 0");
  EXPECT_EQ(threads.exit_code, 2) << threads.output;
  EXPECT_NE(threads.output.find("'--threads' is invalid: expected 1..1024"), std::string::npos)
      << threads.output;
}

}  // namespace

TEST(CliTest, TrainPrintsTheResultAndAppendsItOnce) {
  const std::string dir = Fixture::make_directory();
  {
    std::ofstream csv(dir + "/tiny.csv");
    csv << "40,2,a,b\n";
    for (int i = 0; i < 40; ++i)
      csv << (i % 2) * 3 + (i % 7) * 0.1 << "," << i % 5 << "," << i % 2 << "\n";
  }
  std::ofstream(dir + "/config.json") << R"({
    "dataset": {"name": "csv", "path": "tiny.csv"}, "model": {"backbone": "mlp"},
    "train": {"epochs": 2}})";
  const std::string args =
      "train " + dir + "/config.json --data-dir " + dir + " --out " + dir + "/results.h5";
  Outcome out = run_hqsweep(args + " --quiet");
  ASSERT_EQ(out.exit_code, 0) << out.output;
  nlohmann::json result = nlohmann::json::parse(out.output);
  EXPECT_EQ(result["status"], "done");
  EXPECT_TRUE(result["metrics"].contains("test_acc"));
  EXPECT_FALSE(result.contains("curves")) << "curves only with --full";
  EXPECT_NE(run_hqsweep("ls " + dir + "/results.h5").output.find("1 runs (1 done)"),
            std::string::npos);

  Outcome again = run_hqsweep(args);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("is already done there"), std::string::npos) << again.output;
  Outcome progress = run_hqsweep(args + " --set train.epochs=3");
  EXPECT_EQ(progress.exit_code, 0) << progress.output;
  EXPECT_NE(progress.output.find("epoch 3/3"), std::string::npos) << "progress on stderr";
  std::filesystem::remove_all(dir);
}

TEST(CliTest, TrainKilledMidRunContinuesFromItsCheckpoint) {
  const std::string dir = Fixture::make_directory();
  {
    std::ofstream csv(dir + "/rows.csv");
    csv << "400,2,a,b\n";
    for (int i = 0; i < 400; ++i)
      csv << (i % 2) * 0.8 + (i % 13) * 0.1 << "," << (i % 7) * 0.2 << "," << i % 2 << "\n";
  }
  std::ofstream(dir + "/config.json") << R"({
    "dataset": {"name": "csv", "path": "rows.csv"}, "model": {"backbone": "mlp"},
    "train": {"epochs": 600}})";
  const std::string checkpoints = dir + "/cache/checkpoints";
  pid_t pid = fork();
  if (pid == 0) {
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    const std::string config = dir + "/config.json", cache = dir + "/cache";
    execl(HQSWEEP_EXECUTABLE, HQSWEEP_EXECUTABLE, "train", config.c_str(), "--data-dir",
          dir.c_str(), "--cache-dir", cache.c_str(), "--checkpoint-interval", "0", "-q", nullptr);
    _exit(127);
  }
  bool checkpointed = false;
  for (int i = 0; i < 2400 && !checkpointed; ++i) {  // up to 120 s on a busy machine
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    // A finished checkpoint (NAME.pt), not one still being written (NAME.pt.tmp).
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(checkpoints, error)) {
      checkpointed = checkpointed || entry.path().extension() == ".pt";
    }
  }
  ASSERT_TRUE(checkpointed) << "no checkpoint in " << checkpoints;
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before it could be killed; make it longer";

  Outcome resumed = run_hqsweep("train " + dir + "/config.json --data-dir " + dir +
                                " --cache-dir " + dir + "/cache --checkpoint-interval 0");
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed after epoch"), std::string::npos) << resumed.output;
  EXPECT_EQ(resumed.output.find("epoch 1/600"), std::string::npos) << "not started over";
  EXPECT_NE(resumed.output.find("epoch 600/600"), std::string::npos);
  EXPECT_TRUE(std::filesystem::is_empty(checkpoints)) << "removed once the run is over";
  std::filesystem::remove_all(dir);
}

TEST(CliTest, TrainRefusesBadConfigsAndExitsThreeOnDivergence) {
  std::string bad = write_temp("hqsweep_cli_bad_train.json",
                               R"({"dataset": {"name": "wdbc"}, "model": {"backbone": "mlp"},
                                   "train": {"lr": -1}})");
  Outcome refused = run_hqsweep("train " + bad);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.output.find("hqsweep_cli_bad_train.json:2: train.lr: -1 is out of range"),
            std::string::npos)
      << refused.output;
  std::string diverge = write_temp("hqsweep_cli_diverge.json",
                                   R"({"model": {"backbone": "probe"},
                                       "probe": {"failure": "diverge"}})");
  Outcome diverged = run_hqsweep("train " + diverge + " -q");
  EXPECT_EQ(diverged.exit_code, 3) << diverged.output;
  EXPECT_NE(diverged.output.find("\"status\": \"diverged\""), std::string::npos);
  std::string sweep = write_temp("hqsweep_cli_train_sweep.json",
                                 R"({"base": {"model": {"backbone": "probe"}},
                                     "grid": {"probe.duration_ms": [1, 2]}})");
  Outcome ambiguous = run_hqsweep("train " + sweep);
  EXPECT_EQ(ambiguous.exit_code, 1);
  EXPECT_NE(ambiguous.output.find("is a sweep of 2 runs; choose one with --run N"),
            std::string::npos);
  EXPECT_EQ(run_hqsweep("train " + sweep + " --run 2 -q").exit_code, 0);
  std::string good = write_temp("hqsweep_cli_good_train.json",
                                R"({"dataset": {"name": "wdbc"}, "model": {"backbone": "mlp"}})");
  Outcome missing = run_hqsweep("train " + good + " --data-dir /nonexistent");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("/nonexistent/breast_cancer.csv: not found"), std::string::npos)
      << missing.output;
}
