// The search and stopping blocks of a sweep file: what they give, and each refusal with its file,
// line and key.
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/json_source.h"
#include "orchestrator/sweep/sweep.h"

namespace hqsweep {
namespace {

std::string error_of(const std::string& text) {
  try {
    expand_sweep(JsonSource::from_text(text, "study.json"));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const char* kBase = R"("base": {"dataset.name": "wdbc", "model.backbone": "mlp"})";

std::string study(const std::string& search, const std::string& rest = "") {
  return std::string("{") + kBase + ",\n \"search\": " + search + rest + "}";
}

TEST(StudySpecTest, SearchBlockGivesTheSpaceAndSettings) {
  const Sweep sweep = expand_sweep(JsonSource::from_text(
      study(R"({"trials": 30, "metric": "val_auc", "startup_trials": 5, "seed": 7,
        "space": {"train.lr": {"loguniform": [1e-4, 0.1]}, "quantum.qubits": {"int": [2, 6]},
                  "model.fusion": {"choice": ["classical", "dhf"]},
                  "model.head_hidden": {"logint": [8, 256]}}})",
            R"(, "seeds": 3, "stopping": {"algorithm": "asha", "reduction_factor": 4})"),
      "study.json"));
  ASSERT_TRUE(sweep.study);
  const SearchSpec& search = sweep.study->search;
  EXPECT_EQ(search.algorithm, SearchAlgorithm::tpe);
  EXPECT_EQ(search.trials, 30);
  EXPECT_EQ(search.mode, MetricMode::max);
  EXPECT_EQ(search.startup_trials, 5);
  EXPECT_EQ(search.seed, 7u);
  EXPECT_TRUE(search.multivariate);
  ASSERT_EQ(search.space.size(), 4u);
  EXPECT_EQ(sweep.study->runs_per_trial, 3u);
  EXPECT_TRUE(sweep.runs.empty());
  EXPECT_EQ(sweep.stopping.algorithm, StoppingAlgorithm::asha);
  EXPECT_EQ(sweep.stopping.metric, "val_auc");
  EXPECT_EQ(sweep.stopping.reduction_factor, 4);
  // A trial's runs: one per seed, the sampled values in their configs.
  const std::vector<RunSpec> runs = sweep.study->runs_of({{"train.lr", 0.01},
                                                          {"model.fusion", "dhf"},
                                                          {"quantum.qubits", 4},
                                                          {"model.head_hidden", 16}});
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].config["quantum"]["qubits"], 4);
  EXPECT_NE(runs[0].run_id, runs[1].run_id);
}

TEST(StudySpecTest, KeysThatDoNotApplyAreNotSampled) {
  const Sweep sweep =
      expand_sweep(JsonSource::from_text(study(R"({"trials": 10, "metric": "val_acc",
        "space": {"quantum.qubits": {"int": [2, 6]},
                  "model.fusion": {"choice": ["classical", "dhf"]}}})"),
                                         "study.json"));
  int classical = 0, hybrid = 0;
  for (int64_t n = 0; n < 40; ++n) {
    const Params p = propose(sweep.study->search, {}, n, sweep.study->applies);
    if (p.at("model.fusion") == "classical") {
      EXPECT_EQ(p.count("quantum.qubits"), 0u);
      ++classical;
    } else {
      EXPECT_EQ(p.count("quantum.qubits"), 1u);
      ++hybrid;
    }
  }
  EXPECT_GT(classical, 0);
  EXPECT_GT(hybrid, 0);
}

TEST(StudySpecTest, StoppingWorksWithoutSearch) {
  const Sweep sweep = expand_sweep(JsonSource::from_text(
      std::string("{") + kBase +
          R"(, "grid": {"train.lr": [0.1, 0.01]}, "stopping": {"algorithm": "median", "metric": "val_loss"}})",
      "grid.json"));
  EXPECT_FALSE(sweep.study);
  EXPECT_EQ(sweep.runs.size(), 2u);
  EXPECT_EQ(sweep.stopping.algorithm, StoppingAlgorithm::median);
  EXPECT_EQ(sweep.stopping.mode, MetricMode::min);
}

TEST(StudySpecTest, EachBadBlockGetsItsMessage) {
  static const struct {
    std::string text;
    const char* message;
  } cases[] = {
      {study(R"({"metric": "val_acc", "space": {"train.lr": {"uniform": [0, 1]}}})"),
       "study.json:2: search: trials is required"},
      {study(R"({"trials": 0, "metric": "val_acc", "space": {"train.lr": {"uniform": [0, 1]}}})"),
       "search.trials: expected the trial count (an integer of at least 1), found 0"},
      {study(R"({"trials": 5, "metric": "test_acc", "space": {"train.lr": {"uniform": [0, 1]}}})"),
       "search.metric: expected one of val_acc, val_auc, val_f1, val_loss, probe_objective"},
      {study(R"({"trials": 5, "metric": "val_acc", "mode": "up",
                 "space": {"train.lr": {"uniform": [0, 1]}}})"),
       "search.mode: expected \"max\" or \"min\", found \"up\""},
      {study(R"({"trials": 5, "algorithm": "cmaes", "metric": "val_acc",
                 "space": {"train.lr": {"uniform": [0, 1]}}})"),
       "search.algorithm: expected \"tpe\" or \"random\", found \"cmaes\""},
      {study(R"({"trials": 5, "metric": "val_acc", "multivariate": "yes",
                 "space": {"train.lr": {"uniform": [0.1, 1]}}})"),
       "search.multivariate: expected true or false, found \"yes\""},
      {study(R"({"trials": 5, "metric": "val_acc", "space": {}})"),
       "search.space: expected an object of key -> distribution"},
      {study(R"({"trials": 5, "metric": "val_acc", "space": {"train.lrr": {"uniform": [0, 1]}}})"),
       "search.space.\"train.lrr\": unknown key \"train.lrr\"; did you mean \"train.lr\"?"},
      {study(R"({"trials": 5, "metric": "val_acc", "space": {"train.lr": {"normal": [0, 1]}}})"),
       "unknown distribution \"normal\"; use choice, uniform, loguniform, int or logint"},
      {study(
           R"({"trials": 5, "metric": "val_acc", "space": {"quantum.qubits": {"int": [30, 40]}}})"),
       "search.space.\"quantum.qubits\".int[0]: 30 is out of range 1..20"},
      {study(
           R"({"trials": 5, "metric": "val_acc", "space": {"train.lr": {"loguniform": [0, 1]}}})"),
       "loguniform needs low > 0"},
      {study(R"({"trials": 5, "metric": "val_acc", "space": {"seed": {"int": [0, 9]}}})"),
       "seed is not searched; give seeds beside search"},
      {study(R"({"trials": 5, "metric": "val_acc", "sampler": "tpe",
                 "space": {"train.lr": {"uniform": [0.1, 1]}}})"),
       "search.sampler: unknown key; search takes algorithm, trials, metric, mode, space"},
      {study(R"({"trials": 5, "metric": "val_acc", "space": {"train.lr": {"uniform": [0.1, 1]}}})",
             R"(, "grid": {"train.epochs": [1, 2]})"),
       "grid: a study (search) proposes its trials itself"},
      {study(R"({"trials": 5, "metric": "val_acc", "space": {"train.lr": {"uniform": [0.1, 1]}}})",
             R"(, "stopping": {"algorithm": "sha"})"),
       "stopping.algorithm: expected asha, hyperband, median or none, found \"sha\""},
      {study(R"({"trials": 5, "metric": "val_acc", "space": {"train.lr": {"uniform": [0.1, 1]}}})",
             R"(, "stopping": {"algorithm": "asha", "reduction_factor": 1})"),
       "stopping.reduction_factor: expected the reduction factor (an integer of at least 2)"},
      {study(R"({"trials": 5, "metric": "val_acc", "space": {"train.lr": {"uniform": [0.1, 1]}}})",
             R"(, "stopping": {"algorithm": "asha", "metric": "val_loss"})"),
       "the study optimises val_acc; stopping watches the same metric"},
      {std::string("{") + kBase + R"(, "stopping": {"algorithm": "asha"}})",
       "stopping: metric is required without a search block"},
      // A base that no trial can run with is found before anything runs.
      {R"({"base": {"dataset.name": "wdbc", "model.backbone": "resnet18"},
           "search": {"trials": 5, "metric": "val_acc", "space": {"train.lr": {"uniform": [0.1, 1]}}}})",
       "study.json: search trial (train.lr="},
  };
  for (const auto& c : cases) {
    const std::string error = error_of(c.text);
    EXPECT_NE(error.find(c.message), std::string::npos)
        << "input:\n"
        << c.text << "\nerror: " << error << "\nexpected: " << c.message;
  }
}

}  // namespace
}  // namespace hqsweep
