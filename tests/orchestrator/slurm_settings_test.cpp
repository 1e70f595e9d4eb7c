// Slurm settings from a sweep file's "slurm" section and options, and the batch script they make.
#include "orchestrator/slurm/slurm.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "common/json_source.h"
#include "store/results_paths.h"
#include "tests/error_text.h"

namespace hqsweep {
namespace {

using nlohmann::json;
using testing::error_of;

SlurmSettings settings_of(const std::string& text, const json& overrides = json::object()) {
  return read_slurm_settings(JsonSource::from_text(text, "sweep.json"), overrides);
}

BatchJob job_with(const SlurmSettings& settings) {
  BatchJob job;
  job.settings = settings;
  job.executable = "/opt/hq sweep/bin/hqsweep";
  job.sweep_path = "/home/ada/it's.json";
  job.results_path = "/scratch/ada/results/study.h5";
  job.script_path = "/scratch/ada/results/slurm/study-1.sbatch";
  job.jobs_path = slurm_jobs_path(job.results_path);
  job.working_directory = "/home/ada";
  job.run_args = {"--retries=1", "--set=train.epochs=3"};
  return job;
}

TEST(SlurmSettingsTest, SectionThenOptionsWithDefaultsForTheRest) {
  const SlurmSettings s = settings_of(R"({"base": {}, "slurm": {
      "nodes": 2, "ntasks_per_node": 4, "time": "01:00:00", "partition": "cpu",
      "sbatch": ["--constraint=avx2"], "setup": "module load openmpi", "requeue": 3}})",
                                      {{"time", "02:00:00"}, {"nodes", "3"}, {"array", "5"}});
  EXPECT_EQ(s.nodes, 3);  // the option's string, read as an integer
  EXPECT_EQ(s.ntasks_per_node, 4);
  EXPECT_EQ(s.cpus_per_task, 1);
  EXPECT_EQ(s.time, "02:00:00");
  EXPECT_EQ(s.partition, "cpu");
  EXPECT_EQ(s.sbatch, std::vector<std::string>{"--constraint=avx2"});
  EXPECT_EQ(s.setup, std::vector<std::string>{"module load openmpi"});  // one line as a list
  EXPECT_EQ(s.requeue, 3);
  EXPECT_EQ(s.array, 5);
  EXPECT_EQ(s.launcher, "mpirun");
  EXPECT_EQ(s.signal_seconds, 300);
  EXPECT_EQ(settings_of(R"({"base": {}})").nodes, 1);  // no section: defaults
}

TEST(SlurmSettingsTest, BadSettingsNameTheFileLineAndKeyOrTheOption) {
  const std::string unknown =
      error_of([] { settings_of("{\"base\": {},\n \"slurm\": {\n  \"nodez\": 2}}"); });
  EXPECT_NE(unknown.find("sweep.json:3"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("slurm.nodez"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("expected one of nodes, ntasks_per_node"), std::string::npos) << unknown;
  EXPECT_NE(error_of([] {
              settings_of(R"({"slurm": {"nodes": 0}})");
            }).find("expected an integer >= 1, found 0"),
            std::string::npos);
  EXPECT_NE(error_of([] { settings_of(R"({"slurm": {"time": 60}})"); }).find("expected a string"),
            std::string::npos);
  EXPECT_NE(
      error_of([] { settings_of(R"({"slurm": {"setup": ["a", 1]}})"); }).find("list of strings"),
      std::string::npos);
  EXPECT_NE(error_of([] { settings_of(R"({"slurm": "big"})"); }).find("expected an object"),
            std::string::npos);
  EXPECT_NE(error_of([] { settings_of(R"({"slurm": {"partition": "a\nb"}})"); }).find("line break"),
            std::string::npos);
  const std::string option = error_of([] { settings_of("{}", {{"requeue", "twice"}}); });
  EXPECT_NE(option.find("--requeue: expected an integer >= 0, found \"twice\""), std::string::npos)
      << option;
  const std::string launcher =
      error_of([] { settings_of("{\"slurm\": {\n\"launcher\": \"none\", \"nodes\": 2}}"); });
  EXPECT_NE(launcher.find("sweep.json:2"), std::string::npos) << launcher;
  EXPECT_NE(launcher.find("launcher none runs embedded on one node"), std::string::npos)
      << launcher;
  EXPECT_NE(error_of([] {
              settings_of("{}", {{"launcher", "aprun"}});
            }).find("--launcher: expected mpirun, srun or none, found \"aprun\""),
            std::string::npos);
}

TEST(SlurmSettingsTest, BatchScriptHasTheSbatchLinesAndQuotedPaths) {
  SlurmSettings s = settings_of(R"({"slurm": {"nodes": 2, "ntasks_per_node": 8, "cpus_per_task": 4,
      "mem": "32G", "time": "12:00:00", "partition": "cpu", "account": "qml", "qos": "long",
      "job_name": "bm", "output": "logs/%x-%j.out", "sbatch": ["--exclusive", "#SBATCH --gres=gpu:1"],
      "setup": ["module load openmpi/4.1", "source ~/venv/bin/activate"], "requeue": 2,
      "signal_seconds": 600}})");
  const std::string script = make_batch_script(job_with(s));
  for (const char* line : {"#SBATCH --job-name=bm\n",
                           "#SBATCH --nodes=2\n",
                           "#SBATCH --ntasks-per-node=8\n",
                           "#SBATCH --cpus-per-task=4\n",
                           "#SBATCH --mem=32G\n",
                           "#SBATCH --time=12:00:00\n",
                           "#SBATCH --partition=cpu\n",
                           "#SBATCH --account=qml\n",
                           "#SBATCH --qos=long\n",
                           "#SBATCH --output=logs/%x-%j.out\n",
                           "#SBATCH --signal=B:USR1@600\n",
                           "#SBATCH --requeue\n",
                           "#SBATCH --exclusive\n",
                           "#SBATCH --gres=gpu:1\n",
                           "module load openmpi/4.1\nsource ~/venv/bin/activate\n",
                           "hqsweep='/opt/hq sweep/bin/hqsweep'\n",
                           "sweep='/home/ada/it'\\''s.json'\n",
                           "jobs_file='/scratch/ada/results/study.slurm-jobs'\n",
                           "launcher=mpirun\n",
                           "max_requeues=2\n",
                           "array_size=0\n",
                           "run_args=('--grace=540' '--retries=1' '--set=train.epochs=3')\n"}) {
    EXPECT_NE(script.find(line), std::string::npos) << line;
  }
  EXPECT_EQ(script.find("{{"), std::string::npos);
  EXPECT_EQ(script.find("#SBATCH --array"), std::string::npos);
  EXPECT_EQ(script.find("#SBATCH --error"), std::string::npos);  // unset settings stay out

  s.array = 4;
  s.requeue = 0;
  s.signal_seconds = 0;
  s.grace = 20;
  const std::string array = make_batch_script(job_with(s));
  EXPECT_NE(array.find("#SBATCH --array=0-3\n"), std::string::npos);
  EXPECT_NE(array.find("#SBATCH --no-requeue\n"), std::string::npos);
  EXPECT_EQ(array.find("#SBATCH --signal"), std::string::npos);
  EXPECT_NE(array.find("run_args=('--grace=20' "), std::string::npos);
}

TEST(SlurmSettingsTest, TemplateWithoutAPlaceholderIsRefused) {
  const SlurmSettings s = settings_of("{}");
  EXPECT_NE(error_of([&] {
              make_batch_script(job_with(s), "#!/bin/bash\n{{SBATCH_LINES}}\n");
            }).find("no {{EXECUTABLE}} in it"),
            std::string::npos);
}

TEST(SlurmSettingsTest, JobIdsAreReadOnceEachFromTheJobsFile) {
  const std::string path = ::testing::TempDir() + "/hqsweep-jobs-test.slurm-jobs";
  {
    std::ofstream out(path);
    out << "12\t2026-11-21T10:00:00\ta.sbatch\n13\t2026-11-21T11:00:00\ta.sbatch\n12\tx\ty\n";
  }
  EXPECT_EQ(read_job_ids(path), (std::vector<std::string>{"12", "13"}));
  EXPECT_TRUE(read_job_ids(path + ".absent").empty());
  EXPECT_EQ(slurm_jobs_path("results/x.h5"), "results/x.slurm-jobs");
}

}  // namespace
}  // namespace hqsweep
